"""Feature-map growth in conv layers (NeST, paper 003, §3.2.3, Policy 3).

"To add a new feature map to the convolutional layers, randomly generate sets of kernels, and
pick the set of kernels that reduces L the most." growlab's reading:

- a new map of conv channel layer ``k`` is the member's first dormant channel; a candidate is
  a full set of kernels into it (every tap from every alive channel of layer ``k − 1``) and its
  outgoing weights (every tap into each alive channel of the next conv layer, or its whole
  flatten block into each alive neuron), both drawn from the layers' initializers and scaled
  so their mean |w| is the birth strength α times the mean |w| of the layer they join (the
  scaling NeST's neuron growth uses, Eq. 7);
- a map's outgoing weights are part of the candidate: without them a new map changes nothing,
  so no set of kernels could reduce L;
- ``map_candidates`` sets are tried on the rows gradient scores use (256 training rows, each
  member its own sample), each member keeps the set with its lowest mean loss (the first on a
  tie), even when no set lowers L (the growth phase grows);
- NeST's pruning phase then trims the dense kernel sets back.

The birth is a ``neuron_grow`` event (the channel), its taps ``grow`` events.
"""

from __future__ import annotations

import torch

from growlab.engine import member_losses
from growlab.methods.context import CycleContext
from growlab.methods.neurons import mean_abs
from growlab.methods.scores import sample_rows
from growlab.methods.structure import members_like


def grow_map(ctx: CycleContext, k: int, members: torch.Tensor, alpha: float, candidates: int, cause: str) -> torch.Tensor:
    """Give each member in ``members`` (bool ``(P,)``) one new feature map in conv channel layer ``k``.

    Returns:
        Which members got a map ``(P,)`` (not those without dormant channel capacity).

    Example:
        >>> # born = grow_map(ctx, 1, torch.ones(P, dtype=torch.bool), 0.5, 8, "feature map")
    """
    net = ctx.net
    if not 0 < k <= net.n_conv:
        raise ValueError(f"feature maps grow in conv channel layers 1..{net.n_conv}, got {k}")
    dormant = ~net.alive[k]  # (P, cap[k])
    born = members.to(net.device) & dormant.any(dim=1)
    if not born.any():
        return born
    unit = dormant.float().argmax(dim=1)  # first dormant channel per member (P,)
    units = torch.zeros_like(dormant).scatter_(1, unit[:, None], True) & born[:, None]
    into, out = net.unit_weights(k, units)  # its kernels, its outgoing taps / flatten block
    into = into & _inputs_alive(net, k - 1)  # from every alive channel of layer k − 1
    out = out & _outputs_alive(net, k)  # to every alive node of layer k + 1
    X, y = sample_rows(ctx)
    who = born.nonzero().flatten().tolist()
    streams = ctx.streams.select(who)
    scale_in = _scales(net, k - 1, who, alpha)
    scale_out = _scales(net, k, who, alpha)
    best = torch.full((net.population,), float("inf"), dtype=torch.float64, device=net.device)
    keep_in, keep_out = torch.zeros_like(net.weights[k - 1]), torch.zeros_like(net.weights[k])
    for _ in range(candidates):
        w_in = _draw(net, k - 1, streams, who, into, scale_in)
        w_out = _draw(net, k, streams, who, out, scale_out)
        loss = _loss_with(net, k, w_in, w_out, X, y)  # (P,)
        better = born & (loss < best)
        best = torch.where(better, loss, best)
        keep_in = torch.where(members_like(better, w_in), w_in, keep_in)
        keep_out = torch.where(members_like(better, w_out), w_out, keep_out)
    alive = net.alive[k] | units
    _clear(net, k, units)  # stale edge masks must not wake with the channel
    ctx.set_units(k, alive, kind="neuron_grow", cause=cause)
    ctx.grow(k - 1, into, keep_in, cause)
    ctx.grow(k, out, keep_out, cause)
    return born


def _inputs_alive(net, l: int) -> torch.Tensor:
    """Weights of layer ``l`` whose input node is alive, shaped like its weights."""
    cols = net.in_alive(l)  # (P, in): a channel's columns after the flatten
    return cols.view(*cols.shape[:1], 1, cols.shape[1], *[1] * (net.masks[l].dim() - 3)).expand_as(net.masks[l])


def _outputs_alive(net, l: int) -> torch.Tensor:
    """Weights of layer ``l`` whose output node is alive, shaped like its weights."""
    rows = net.alive[l + 1]
    return rows.view(*rows.shape, *[1] * (net.masks[l].dim() - 2)).expand_as(net.masks[l])


def _scales(net, l: int, who: list[int], alpha: float) -> torch.Tensor:
    """α × mean |w| of layer ``l`` per member (the initializer's half-bound when empty). ``(P,)``"""
    out = torch.ones(net.population, dtype=net.weights[l].dtype, device=net.device)
    for p in who:
        out[p] = alpha * mean_abs(net.weights[l][p].detach(), net.init_bound(l) / 2)
    return out


def _draw(net, l: int, streams, who: list[int], where: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Initializer values of layer ``l`` at ``where`` for members ``who`` (each from its own
    stream), rescaled to mean |w| ``scale[p]``; zero elsewhere. Shaped like the layer's weights."""
    values = torch.zeros_like(net.weights[l].detach())
    u = streams.rand(*net.weight_shape(l)).to(net.device)  # (len(who), ...)
    draw = (u * 2 - 1) * net.init_bound(l)
    for row, p in enumerate(who):
        v = torch.where(where[p], draw[row], 0.0)
        values[p] = v * (scale[p] / mean_abs(v, 1.0))
    return values


@torch.no_grad()
def _loss_with(net, k: int, w_in: torch.Tensor, w_out: torch.Tensor, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Each member's mean loss on ``(X, y)`` with the dormant channel's weights set to the
    candidate (written into the parameters for one forward, then zeroed again). ``(P,)`` float64"""
    slots_in, slots_out = w_in != 0, w_out != 0
    net.weights[k - 1].add_(w_in)  # the slots are zero (dormant), so adding writes the candidate
    net.weights[k].add_(w_out)
    try:
        with net.conv_flags():
            loss = member_losses(net.forward(X), y, net.task).double()
    finally:
        net.weights[k - 1].masked_fill_(slots_in, 0.0)
        net.weights[k].masked_fill_(slots_out, 0.0)
    return loss


def _clear(net, k: int, units: torch.Tensor) -> None:
    """Switch off the edge masks into and out of dormant ``units`` of layer ``k``."""
    into, out = net.unit_weights(k, units)
    net.set_mask(k - 1, net.masks[k - 1] & ~into)
    net.set_mask(k, net.masks[k] & ~out)
