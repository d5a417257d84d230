"""Structured pruning: whole kernels or whole channels at a time (``granularity``).

- ``weight`` (default): single connections, one kernel tap at a time (what an MLP prunes).
- ``kernel``: whole edges of the channel graph — a conv kernel C_in → C_out (its k×k taps), a
  channel's block of H·W flattened columns into one neuron; a dense weight is its own kernel.
- ``channel``: whole hidden channels (a conv layer's output map) and hidden neurons (a dense
  neuron is a 1×1 channel), with every weight into and out of them; the channel mask switches
  them off (a removed channel takes its bias and its flatten block with it). Outputs are never
  removed, and a hidden layer always keeps its most important unit.

A group's importance is its criterion scores' mean over its active weights (magnitude: mean
|w|; taylor: mean |w·∂L/∂w|; obd: mean ½·F·w²): a group competes per weight it removes, so
groups of different sizes (a 5×5 kernel, a single weight, a channel's 2,000 weights) can be
ranked together. A group is eligible when every active weight in it is (old enough by
``min_age``, and not an output unit's strongest incoming connection). Groups are removed
lowest first, whole, until at least the requested number of weights is gone (the last group
may overshoot; weights two removed channels share count once, so a cycle may also end a few
short). ``per_layer`` splits the count over weight layers (kernels) or hidden channel layers
(channels) in proportion to the active weights their groups hold.
"""

from __future__ import annotations

import torch

from growlab.engine import Network
from growlab.methods.structure import share

GRANULARITIES = ("weight", "kernel", "channel")


def pick_groups(keyed: torch.Tensor, sizes: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Per member, the best-keyed groups (highest first, ties by position) until their sizes
    reach ``counts[p]``. ``keyed`` ``(P, G)`` finite or ``-inf`` (never), ``sizes`` ``(P, G)``.

    Example:
        >>> pick_groups(torch.tensor([[-1.0, -3.0, -2.0]]), torch.tensor([[4, 4, 4]]), torch.tensor([5])).tolist()
        [[True, False, True]]
    """
    order = torch.sort(keyed, dim=1, descending=True, stable=True).indices  # (P, G): lowest score first
    ok = torch.isfinite(keyed.gather(1, order))
    size = torch.where(ok, sizes.gather(1, order), 0)
    before = size.cumsum(dim=1) - size  # weights the better groups already remove
    take = ok & (size > 0) & (before < counts.to(keyed.device)[:, None])
    return torch.zeros_like(take).scatter_(1, order, take)


def _flat_groups(parts: list[torch.Tensor]) -> torch.Tensor:
    return torch.cat([p.flatten(1) for p in parts], dim=1)


def _split(net_parts: list[torch.Tensor], picked: torch.Tensor) -> list[torch.Tensor]:
    """Inverse of :func:`_flat_groups`: ``(P, G)`` → tensors shaped like ``net_parts``."""
    chunks = torch.split(picked, [p[0].numel() for p in net_parts], dim=1)
    return [c.reshape(p.shape) for c, p in zip(chunks, net_parts)]


def _select(keyed: list[torch.Tensor], sizes: list[torch.Tensor], counts: torch.Tensor, scope: str):
    """Picked groups per part (layer or channel layer), globally or per part."""
    if scope == "global":
        return _split(keyed, pick_groups(_flat_groups(keyed), _flat_groups(sizes), counts))
    held = torch.stack([s.flatten(1).sum(dim=1) for s in sizes], dim=1)  # (P, parts): active weights in its groups
    shares = share(counts, held)
    return [pick_groups(k.flatten(1), s.flatten(1), shares[:, i]).view_as(k) for i, (k, s) in enumerate(zip(keyed, sizes))]


def kernel_masks(
    net: Network, importance: list[torch.Tensor], acts: list[torch.Tensor], eligible: list[torch.Tensor],
    counts: torch.Tensor, scope: str,
) -> list[torch.Tensor]:  # fmt: skip
    """The taps of the kernels to prune, one bool per layer shaped like its weights."""
    keyed, sizes = [], []
    for l, (imp, act, ok) in enumerate(zip(importance, acts, eligible)):
        n = net.taps(l, act).sum(dim=-1)  # (P, out, in) active taps per kernel
        mean = net.taps(l, torch.where(act, imp.float(), 0.0)).sum(dim=-1) / n.clamp(min=1)
        whole = net.taps(l, ok | ~act).all(dim=-1) & (n > 0)
        keyed.append(torch.where(whole, -mean, float("-inf")))
        sizes.append(n)
    picked = _select(keyed, sizes, counts, scope)
    return [net.spread(l, p) & acts[l] for l, p in enumerate(picked)]


def channel_units(
    net: Network, importance: list[torch.Tensor], acts: list[torch.Tensor], eligible: list[torch.Tensor],
    counts: torch.Tensor, scope: str,
) -> dict[int, torch.Tensor]:  # fmt: skip
    """Hidden channels (and neurons) to remove: neuron layer k → bool ``(P, cap[k])``."""
    keyed, sizes = [], []
    hidden = range(1, net.n_layers)
    for k in hidden:
        n_in, s_in, ok_in = _rows(net, k - 1, importance, acts, eligible)
        n_out, s_out, ok_out = _cols(net, k, importance, acts, eligible)
        n = n_in + n_out
        mean = (s_in + s_out) / n.clamp(min=1)
        whole = ok_in & ok_out & (n > 0) & net.alive[k]
        best = torch.where(net.alive[k], mean, float("-inf")).argmax(dim=1, keepdim=True)  # (P, 1)
        whole &= ~torch.zeros_like(whole).scatter_(1, best, True)  # a layer keeps its most important unit
        keyed.append(torch.where(whole, -mean, float("-inf")))
        sizes.append(n)
    picked = _select(keyed, sizes, counts, scope) if keyed else []
    return {k: p for k, p in zip(hidden, picked)}


def _rows(net: Network, l: int, importance, acts, eligible):
    """Per output node of weight layer ``l``: active weights into it, their score sum, all eligible."""
    act, ok = acts[l].flatten(2), (eligible[l] | ~acts[l]).flatten(2)
    return act.sum(dim=2), torch.where(act, importance[l].float().flatten(2), 0.0).sum(dim=2), ok.all(dim=2)


def _cols(net: Network, l: int, importance, acts, eligible):
    """Per input node of weight layer ``l``: active weights out of it, their score sum, all eligible."""
    act, ok = net.taps(l, acts[l]), net.taps(l, eligible[l] | ~acts[l])
    imp = net.taps(l, torch.where(acts[l], importance[l].float(), 0.0))
    return act.sum(dim=(1, 3)), imp.sum(dim=(1, 3)), ok.all(dim=3).all(dim=1)
