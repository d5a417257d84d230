"""Structure helpers shared by the parts: active/dormant sets, capacity, whole-network ranking.

Everything here works on the whole population at once: tensors carry the member axis ``P``
first, and loops run over layers only.
"""

from __future__ import annotations

from typing import Sequence

import torch

from growlab.engine import Network

#: float tolerance when turning a sparsity threshold into a connection count
_EPS = 1e-6


def active(net: Network, layer: int) -> torch.Tensor:
    """Active connections of ``layer`` (edge mask on, both neurons alive). ``(P, out, in)`` bool."""
    return net.effective_mask(layer)


def dormant(net: Network, layer: int) -> torch.Tensor:
    """Connections of ``layer`` that growth may activate: edge mask off, both neurons alive."""
    alive = net.alive[layer + 1][:, :, None] & net.alive[layer][:, None, :]
    return ~net.masks[layer] & alive  # (P, out, in)


def max_active(net: Network, sparsity: torch.Tensor) -> torch.Tensor:
    """Most active connections allowed at sparsity threshold ``sparsity`` ``(P,)``: ⌊(1 − T)·n⌋.

    Example:
        >>> net = Network((27, 16, 8, 1))
        >>> max_active(net, torch.tensor([0.9])).tolist()
        [56]
    """
    n = net.n_possible()
    return torch.floor((1 - sparsity.double()) * n + _EPS).long().to(net.device)  # (P,)


def room(net: Network, sparsity: torch.Tensor) -> torch.Tensor:
    """Connections growth may still add before density reaches 1 − T. ``(P,)`` long ≥ 0."""
    return (max_active(net, sparsity) - net.n_active()).clamp(min=0)


def flat(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """Per-layer ``(P, out, in)`` tensors side by side: ``(P, total)`` (layer 0 first, row-major)."""
    return torch.cat([t.flatten(1) for t in tensors], dim=1)


def unflat(net: Network, x: torch.Tensor) -> list[torch.Tensor]:
    """Inverse of :func:`flat`: ``(P, total)`` → one ``(P, out, in)`` tensor per layer."""
    shapes = [m.shape for m in net.masks]
    parts = torch.split(x, [s[1] * s[2] for s in shapes], dim=1)
    return [p.reshape(s) for p, s in zip(parts, shapes)]


def locate(net: Network, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Flat indices of :func:`flat` → ``(layer, target, source)``, each shaped like ``index``."""
    shapes = [m.shape for m in net.masks]
    sizes = torch.tensor([s[1] * s[2] for s in shapes], device=index.device)
    ins = torch.tensor([s[2] for s in shapes], device=index.device)
    ends = sizes.cumsum(0)
    layer = torch.searchsorted(ends, index, right=True)
    local = index - (ends - sizes)[layer]
    return layer, local // ins[layer], local % ins[layer]


def pick_top(scores: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """For each member, the ``counts[p]`` highest finite scores. Bool, like ``scores`` ``(P, n)``.

    Scores are finite or ``-inf`` (never chosen).

    Ties at the cut keep the lower indices, so the same scores always pick the same set. Runs
    in one ``topk`` of the largest count plus linear passes (no full sort: a cycle on a 266k
    connection network must stay a small fraction of an epoch).

    Example:
        >>> pick_top(torch.tensor([[3.0, 1.0, -float("inf"), 2.0]]), torch.tensor([2])).tolist()
        [[True, False, False, True]]
    """
    counts = counts.to(scores.device).clamp(min=0, max=scores.shape[1])
    k = int(counts.max()) if counts.numel() else 0
    if k == 0:
        return torch.zeros_like(scores, dtype=torch.bool)
    top = scores.topk(k, dim=1).values  # (P, k), descending
    cut = torch.gather(top, 1, (counts - 1).clamp(min=0)[:, None])  # (P, 1): the counts[p]-th best
    above = scores > cut  # (P, n); when cut is -inf (too few finite scores) this is every finite one
    ties = scores == cut
    need = torch.where(torch.isfinite(cut[:, 0]) & (counts > 0), counts - above.sum(dim=1), 0)  # (P,)
    if bool((ties.sum(dim=1) <= need).all()):  # the usual case: take every tie, no running count
        picked = above | ties
    else:
        picked = above | (ties & (ties.cumsum(dim=1) <= need[:, None]))
    return picked & (counts > 0)[:, None]


def member_generators(seeds: Sequence[int], salt: int) -> dict[int, torch.Generator]:
    """One CPU generator per distinct seed, so members sharing a seed draw the same numbers.

    Used for initial structures: the paper's methods start "the same 50 models" from the same
    sub-network whichever method then trains them.
    """
    return {s: torch.Generator().manual_seed((int(s) * 1_000_003 + salt) % (2**63)) for s in set(seeds)}
