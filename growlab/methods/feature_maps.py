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
import torch.nn.functional as F

from growlab.engine.activations import activation_fn
from growlab.engine.conv import CHANNELS_LAST, EVAL_CHUNK_BYTES
from growlab.methods.context import CycleContext
from growlab.methods.neurons import mean_abs
from growlab.methods.probe import Probe
from growlab.methods.scores import SCORE_ROWS


def grow_map(
    ctx: CycleContext,
    k: int,
    members: torch.Tensor,
    alpha: float,
    candidates: int,
    cause: str,
    probe: Probe | None = None,
) -> torch.Tensor:
    """Give each member in ``members`` (bool ``(P,)``) one new feature map in conv channel layer ``k``.

    The candidates are tried on the rows of ``probe`` (which then follows the birth), or
    without one on :data:`~growlab.methods.scores.SCORE_ROWS` sampled rows.

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
    if probe is None:
        probe = Probe(ctx, SCORE_ROWS)
    who, rows = born.nonzero().flatten().tolist(), unit.tolist()
    w_in, w_out = candidate_sets(ctx, k, into, out, who, rows, alpha, candidates)
    best = candidate_losses(net, probe, k, w_in, w_out, who, rows).argmin(dim=1).tolist()  # the first on a tie
    keep_in, keep_out = torch.zeros_like(net.weights[k - 1]), torch.zeros_like(net.weights[k])
    for p in who:
        keep_in[p, rows[p]] = w_in[best[p]][p]
        _out_slice(net, k, keep_out, p, rows[p])[...] = w_out[best[p]][p]
    alive = net.alive[k] | units
    _clear(net, k, units)  # stale edge masks must not wake with the channel
    ctx.set_units(k, alive, kind="neuron_grow", cause=cause)
    ctx.grow(k - 1, into, keep_in, cause)
    ctx.grow(k, out, keep_out, cause)
    _follow(net, probe, k, keep_in, who, rows)
    return born


def candidate_sets(
    ctx: CycleContext, k: int, into: torch.Tensor, out: torch.Tensor, who: list[int], unit: list[int], alpha: float, n: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` random kernel sets for the new map ``unit[p]`` of layer ``k`` of each member in
    ``who``, drawn in order from each member's own stream (a set's kernels, then its outgoing
    weights) from the layers' initializers: the kernels ``(n, P, C_in, kh, kw)`` at ``into``
    and the weights out of the map (:func:`_out_slice`) ``(n, P, out, …)`` at ``out``, each
    set rescaled to mean |w| α × that of the layer it joins (zero for the other members)."""
    net, P = ctx.net, ctx.net.population
    mask_in = torch.stack([into[p, unit[p]] for p in range(P)])  # (P, C_in, kh, kw)
    mask_out = torch.stack([_out_slice(net, k, out, p, unit[p]) for p in range(P)])  # (P, out, …)
    u_in, u_out = torch.zeros(n, *mask_in.shape), torch.zeros(n, *mask_out.shape)
    for p in who:
        g = ctx.streams[p]
        for c in range(n):
            u_in[c, p] = torch.rand(mask_in.shape[1:], generator=g)
            u_out[c, p] = torch.rand(mask_out.shape[1:], generator=g)
    return (
        _rescaled(net, k - 1, u_in.to(net.device), mask_in, _scales(net, k - 1, who, alpha)),
        _rescaled(net, k, u_out.to(net.device), mask_out, _scales(net, k, who, alpha)),
    )


def _rescaled(net, l: int, u: torch.Tensor, where: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Uniform numbers ``u`` ``(n, P, …)`` as layer ``l``'s initializer values at ``where``
    ``(P, …)``, each set scaled to mean |w| ``scale[p]`` over its non-zero values."""
    v = torch.where(where, (u * 2 - 1) * net.init_bound(l), 0.0)
    flat = v.flatten(2)
    mean = flat.abs().sum(dim=2) / (flat != 0).sum(dim=2).clamp(min=1)  # (n, P); 0 when empty
    factor = scale / torch.where(mean > 0, mean, 1.0)
    return v * factor.view(*factor.shape, *[1] * (v.dim() - 2))


def _out_slice(net, k: int, t: torch.Tensor, p: int, unit: int) -> torch.Tensor:
    """Member ``p``'s weights out of channel ``unit`` of layer ``k`` in ``t`` (shaped like layer
    ``k``'s weights), a view: the next conv layer's taps from it ``(out, kh, kw)``, or its
    flatten block ``(out, H·W)``."""
    if k < net.n_conv:
        return t[p, :, unit]
    fan = net.fan(k)
    return t[p, :, unit * fan : (unit + 1) * fan]


def candidate_losses(
    net, probe: Probe, k: int, w_in: torch.Tensor, w_out: torch.Tensor, who: list[int], unit: list[int]
) -> torch.Tensor:
    """Each member's mean loss on the probe's rows with each candidate ``(w_in[c], w_out[c])``
    (a member's kernels into the new map and weights out of it, :func:`_out_slice`) as the
    dormant channel ``unit[p]`` of layer ``k``. ``(P, candidates)`` float64 (+inf for
    members not in ``who``).

    Only what the new map changes is computed per candidate: its own map (a convolution of the
    kept input maps with the candidates' kernels, one output channel each), its contribution
    to the next layer's output (added to the kept output: the dormant channel contributed
    nothing), then the rest of the network, all candidates stacked along the rows."""
    tr = probe.trace()
    base = tr.pre[k]  # the next layer's output without the new map
    P, B = base.shape[:2]
    per_candidate = 4 * P * B * base[0, 0].numel() * base.element_size()  # the rest of the network, roughly
    chunk = max(1, min(len(w_in), EVAL_CHUNK_BYTES // max(per_candidate, 1)))
    found = []
    for lo in range(0, len(w_in), chunk):
        c = len(w_in[lo : lo + chunk])
        z = _stacked(base, c)  # (P, c, B, ...): the kept output, once per candidate
        for p in who:
            kernels = w_in[lo : lo + chunk, p]  # (c, C_in, kh, kw)
            maps = _new_maps(net, k, tr.inputs[k - 1][p], kernels, pool=True)  # (B, c, H, W)
            if k < net.n_conv:  # the next conv layer reads the map through its kernels' taps from it
                nxt = net.kernels[k]
                maps = maps.contiguous()
                with net.conv_flags():
                    for i in range(c):  # one convolution per candidate: a grouped one of one-channel
                        # groups, or unfolding the patches, is several times slower on the CPU
                        taps = w_out[lo + i, p][:, None]  # (C_out, 1, kh, kw)
                        z[p, i] += F.conv2d(maps[:, i : i + 1], taps, stride=nxt.stride, padding=nxt.padding)
            else:  # the flatten: the map's block of H·W columns into each neuron
                block = w_out[lo : lo + chunk, p]  # (c, out, H·W)
                z[p, ..., : block.shape[1]] += torch.einsum("bcj,coj->cbo", maps.flatten(2), block)
        found.append(probe.losses(k, z.flatten(1, 2), c))  # (P, c·B, …), a view
    losses = torch.cat(found, dim=1)
    skip = torch.ones(P, dtype=torch.bool)
    skip[who] = False
    return losses.masked_fill(skip.to(losses.device)[:, None], float("inf"))


def _stacked(base: torch.Tensor, c: int) -> torch.Tensor:
    """``c`` copies of a layer's output ``base`` ``(P, B, …)`` as ``(P, c, B, …)``; a conv
    output is laid out as the conv layers keep their maps (members and channels together,
    channels last), so resuming the network from it copies nothing."""
    P, B = base.shape[:2]
    if base.dim() == 5:
        C, h, w = base.shape[2:]
        buf = torch.empty((c * B, P * C, h, w), dtype=base.dtype, device=base.device, memory_format=CHANNELS_LAST)
        z = buf.unflatten(1, (P, C)).transpose(0, 1).unflatten(1, (c, B))  # (P, c, B, C, h, w), a view
    else:
        z = torch.empty((P, c, *base.shape[1:]), dtype=base.dtype, device=base.device)
    z.copy_(base.unsqueeze(1).expand_as(z))
    return z


def _new_maps(net, k: int, a: torch.Tensor, kernels: torch.Tensor, pool: bool) -> torch.Tensor:
    """Conv layer ``k − 1``'s output for one member's input maps ``a`` ``(B, C_in, H, W)`` through
    ``kernels`` ``(c, C_in, kh, kw)`` alone (no bias: a newborn's is zero), ``(B, c, H', W')``;
    with ``pool``, pooled and activated as the layer's maps are."""
    k0 = net.kernels[k - 1]
    a = a.contiguous(memory_format=CHANNELS_LAST)  # the same memory alone and in a population
    with net.conv_flags():
        z = F.conv2d(a, kernels.contiguous(memory_format=CHANNELS_LAST), stride=k0.stride, padding=k0.padding)
        if not pool:
            return z
        z = z.contiguous(memory_format=CHANNELS_LAST)  # one input channel gives NCHW: pooling it is slower
        return activation_fn(net.activation)(F.max_pool2d(z, k0.pool) if k0.pool > 1 else z)


def _follow(net, probe: Probe, k: int, w_in: torch.Tensor, who: list[int], unit: list[int]) -> None:
    """The probe after the births: conv layer ``k − 1``'s output gains each newborn's map."""
    tr = probe.trace()

    def output() -> torch.Tensor:
        z = tr.pre[k - 1].clone()  # (P, B, C, H', W')
        for p in who:
            z[p, :, unit[p]] = _new_maps(net, k, tr.inputs[k - 1][p], w_in[p, unit[p]][None], pool=False)[:, 0]
        return z

    probe.changed(k - 1, output)


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


def _clear(net, k: int, units: torch.Tensor) -> None:
    """Switch off the edge masks into and out of dormant ``units`` of layer ``k``."""
    into, out = net.unit_weights(k, units)
    net.set_mask(k - 1, net.masks[k - 1] & ~into)
    net.set_mask(k, net.masks[k] & ~out)
