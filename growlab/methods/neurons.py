"""Neuron growth by bridging gradients (NeST, paper 003, Algorithm 2).

A new neuron in hidden layer ``k`` sits between layers ``k − 1`` and ``k + 1``. The bridging
gradient ``G[m, n] = Σ_b ∂L/∂u_m^{k+1} · x_n^{k−1}`` (summed over the rows of a batch, L the
mean loss) is the gradient of a direct connection from ``n`` to ``m`` that does not exist.
The top ``β·M·N`` pairs by ``|G|`` are joined through the newborn with weights of magnitude
``√|G|`` and a random sign ``r``:

    w_out[m] += r·√|G_mn|,   w_in[n] += r·√|G_mn|·s_mn

then both vectors are scaled so their mean |w| is α times the mean |w| of the layer they
join (the birth strength, Eq. 7).

growlab's interpretation, documented in ``docs/reproductions.md``: the paper's Algorithm 2
prints ``s = sgn(G)``, which makes the path weight ``w_out[m]·w_in[n] = |G|·sgn(G) = G``, the
direction that *raises* the loss, while its text (Policy 2, Eqs. 2–6) says the birth imitates
a back-propagation step that lowers it. growlab uses ``s = −sgn(G)`` (``descent=True``), so the
new path moves ``u^{k+1}`` like a gradient-descent step on the bridging connection would.
On a conv network the dense layer after the flatten grows neurons the same way, its inputs
being the flattened columns of the last conv layer's maps; conv layers grow feature maps
instead (:mod:`growlab.methods.feature_maps`). "Top β·M·N" is taken literally as the ``round(β·M·N)`` largest (at least one), not the
strict ``> thres`` of the printed pseudo-code, which would pick one fewer.
"""

from __future__ import annotations

import torch

from growlab.engine import Network, member_losses
from growlab.engine.products import member_linear
from growlab.methods.context import CycleContext
from growlab.methods.probe import Probe


def layer_signals(net: Network, X: torch.Tensor, y: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Outputs of neuron layer ``k − 1`` and the loss gradient at the inputs of layer ``k + 1``,
    at the padded widths of :meth:`~growlab.engine.Network.trace` (crop with ``[..., :cap]``).

    Returns:
        ``x`` ``(P, B, pad(cap[k-1]))`` (the data itself for ``k = 1``) and
        ``δ = ∂L/∂u^{k+1}`` ``(P, B, pad(cap[k+1]))``, L each member's mean loss over the rows.
    """
    with torch.enable_grad(), net.conv_flags():  # deterministic cuDNN backward on CUDA
        tr = net.trace(X)
        (delta,) = torch.autograd.grad(member_losses(tr.outputs, y, net.task).sum(), tr.pre[k])
    return tr.inputs[k - 1].detach(), delta


def bridging_gradient(net: Network, X: torch.Tensor, y: torch.Tensor, k: int) -> torch.Tensor:
    """``G = δᵀ x`` between the alive neurons of layers ``k − 1`` and ``k + 1``. ``(P, cap[k+1], cap[k-1])``
    (after a flatten, ``k − 1`` is the last conv layer and ``G`` has its flattened columns).

    Example:
        >>> net = Network((3, 2, 1))
        >>> bridging_gradient(net, torch.randn(5, 3), torch.ones(5), 1).shape
        torch.Size([1, 1, 3])
    """
    _check_layer(net, k)
    return bridge(net, k, *layer_signals(net, X, y, k))


def _check_layer(net: Network, k: int) -> None:
    if not 0 < k < net.n_layers:
        raise ValueError(f"neurons grow in hidden layers 1..{net.n_layers - 1}, got {k}")
    if k <= net.n_conv:
        raise ValueError(f"layer {k} is a conv channel layer: it grows feature maps (growlab.methods.feature_maps)")


def bridge(net: Network, k: int, x: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """:func:`bridging_gradient` from the signals of :func:`layer_signals` (or of a
    :class:`~growlab.methods.probe.Probe`). ``(P, cap[k+1], cap[k-1])``"""
    G = torch.bmm(delta.transpose(1, 2), x)[:, : net.capacity[k + 1], : net.in_features(k - 1)]  # (P, out, in)
    pairs = net.alive[k + 1][:, :, None] & net.in_alive(k - 1)[:, None, :]  # after a flatten: its columns
    return G * pairs


def mean_abs(w: torch.Tensor, fallback: float) -> float:
    """Mean |w| over the non-zero entries (Algorithm 2's ``avg``), ``fallback`` when there are none."""
    nz = w[w != 0]
    return float(nz.abs().mean()) if nz.numel() else fallback


def birth_weights(
    G: torch.Tensor,
    beta: float,
    alpha: float,
    signs: torch.Tensor,
    mean_in: float,
    mean_out: float,
    descent: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Algorithm 2 for one member: the newborn's incoming and outgoing weights.

    Args:
        G: bridging gradient ``(M, N)``; zero entries are never picked.
        beta: growth ratio β, the fraction of the ``M·N`` pairs to join.
        alpha: birth strength α.
        signs: the ``rand{1, −1}`` of each pair ``(M, N)``.
        mean_in, mean_out: mean |w| of the existing layers ``W^k`` (into the newborn's layer) and
            ``W^{k+1}`` (out of it).
        descent: ``s = −sgn(G)`` (growlab) rather than the printed ``+sgn(G)``; see the module doc.

    Returns:
        ``w_in`` ``(N,)`` and ``w_out`` ``(M,)``; both zero when nothing could be joined.

    Example:
        >>> G = torch.tensor([[0.04, -0.01], [0.0, -0.09]])
        >>> w_in, w_out = birth_weights(G, 0.5, 0.5, torch.tensor([[1.0, 1.0], [1.0, -1.0]]), 0.1, 0.5)
        >>> [round(v, 4) for v in w_out.tolist()], [round(v, 4) for v in w_in.tolist()]
        ([0.2, -0.3], [-0.04, -0.06])
    """
    M, N = G.shape
    n_pick = max(1, round(beta * M * N))
    order = torch.sort(G.abs().flatten(), descending=True, stable=True).indices[:n_pick]
    picked = torch.zeros(M * N, dtype=torch.bool, device=G.device)
    picked[order] = True
    picked = picked.view(M, N) & (G != 0)
    dw = torch.where(picked, G.abs().sqrt() * signs, torch.zeros_like(G))  # δw per pair (M, N)
    s = -torch.sign(G) if descent else torch.sign(G)
    w_out, w_in = dw.sum(dim=1), (dw * s).sum(dim=0)
    if not bool((w_out != 0).any() and (w_in != 0).any()):
        return torch.zeros_like(w_in), torch.zeros_like(w_out)
    w_out = w_out * (alpha * mean_out / mean_abs(w_out, 1.0))
    w_in = w_in * (alpha * mean_in / mean_abs(w_in, 1.0))
    return w_in, w_out


def grow_neuron(
    ctx: CycleContext,
    k: int,
    members: torch.Tensor,
    beta: float,
    alpha: float,
    cause: str = "bridging gradient",
    probe: Probe | None = None,
) -> torch.Tensor:
    """Give each member in ``members`` (bool ``(P,)``) one new neuron in hidden layer ``k``.

    The newborn is the member's first dormant unit of layer ``k``; its weights come from
    :func:`birth_weights` on the bridging gradient over the rows of ``probe`` (which then
    follows the birth), or without one over the whole training set. The birth is a
    ``neuron_grow`` event, its connections ``grow`` events.

    Returns:
        Which members got a neuron ``(P,)`` (not those without dormant capacity).
    """
    net = ctx.net
    dormant = ~net.alive[k]  # (P, cap[k])
    born = members.to(net.device) & dormant.any(dim=1)
    if not born.any():
        return born
    unit = dormant.float().argmax(dim=1)  # first dormant unit per member (P,)
    if probe is None:
        G = bridging_gradient(net, ctx.X_train, ctx.y_train, k)  # (P, cap[k+1], cap[k-1])
    else:
        _check_layer(net, k)
        G = bridge(net, k, *probe.signals(k))
    # Algorithm 2's rand{1, −1}, drawn only by the members that grow, each from its own stream
    signs = ctx.streams.signs(*G.shape[1:], members=born.nonzero().flatten().tolist()).to(net.device)
    w_in = torch.zeros_like(net.weights[k - 1].detach())  # (P, cap[k], cap[k-1])
    w_out = torch.zeros_like(net.weights[k].detach())  # (P, cap[k+1], cap[k])
    for p in born.nonzero().flatten().tolist():
        mean_in = mean_abs(net.weights[k - 1][p].detach(), net.init_bound(k - 1) / 2)
        mean_out = mean_abs(net.weights[k][p].detach(), net.init_bound(k) / 2)
        vin, vout = birth_weights(G[p], beta, alpha, signs[p], mean_in, mean_out)
        born[p] = bool((vin != 0).any())
        w_in[p, unit[p], :], w_out[p, :, unit[p]] = vin, vout
    alive = net.alive[k].clone()
    alive[born, unit[born]] = True
    _clear_edges(net, k, alive & ~net.alive[k])  # stale edge masks must not wake with the unit
    ctx.set_units(k, alive, kind="neuron_grow", cause=cause)
    ctx.grow(k - 1, w_in != 0, w_in, cause)
    ctx.grow(k, w_out != 0, w_out, cause)
    if probe is not None and born.any():  # the newborn's layer outputs more; the rest follows
        h = probe.trace().inputs[k - 1]
        probe.changed(k - 1, lambda: member_linear(h, net.parameters()[k - 1].detach()))
    return born


def _clear_edges(net: Network, k: int, units: torch.Tensor) -> None:
    """Switch off the edge masks into and out of dormant ``units`` of layer ``k`` (bool ``(P, cap[k])``)."""
    into, out = net.unit_weights(k, units)
    net.set_mask(k - 1, net.masks[k - 1] & ~into)
    net.set_mask(k, net.masks[k] & ~out)
