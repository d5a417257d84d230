"""Structure helpers shared by the parts: active/dormant sets, capacity, whole-network ranking.

Everything here works on the whole population at once: tensors carry the member axis ``P``
first, and loops run over layers only.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from growlab.engine import Network

#: float tolerance when turning a sparsity threshold into a connection count
_EPS = 1e-6


def flat_nonzero(mask: torch.Tensor) -> torch.Tensor:
    """Positions of the true entries of ``mask.flatten()``, ascending (row-major ``nonzero`` order).

    On the CPU through a NumPy view, several times faster than torch for a 266k mask (a cycle
    finds the connections it changes this way, so it stays a small fraction of an epoch).

    Example:
        >>> flat_nonzero(torch.tensor([[False, True], [True, True]])).tolist()
        [1, 2, 3]
    """
    if mask.device.type != "cpu":
        return mask.flatten().nonzero().flatten()
    return torch.from_numpy(np.flatnonzero(mask.numpy()).astype(np.int64, copy=False))


def any_true(mask: torch.Tensor) -> bool:
    """``bool(mask.any())``, through a NumPy view on the CPU (torch's bool reduction is slow there)."""
    return bool(mask.numpy().any()) if mask.device.type == "cpu" else bool(mask.any())


def active(net: Network, layer: int) -> torch.Tensor:
    """Active connections of ``layer`` (edge mask on, both neurons alive). ``(P, out, in)`` bool."""
    return net.effective_mask(layer)


def dormant(net: Network, layer: int) -> torch.Tensor:
    """Connections of ``layer`` that growth may activate: edge mask off, both neurons alive.
    Shaped like the layer's masks (a conv layer's taps; a channel graph's edges)."""
    off = ~net.masks[layer]  # (P, out, in)
    if not (bool(net.alive[layer + 1].all()) and bool(net.alive[layer].all())):  # else skip two passes
        off = net.connected(layer, off)
    return off


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
    """Per-layer ``(P, out, in)`` tensors side by side: ``(P, total)`` (layer 0 first, row-major;
    conv layers' ``(P, out, in, k, k)`` taps too)."""
    return torch.cat([t.flatten(1) for t in tensors], dim=1)


def unflat(net: Network, x: torch.Tensor) -> list[torch.Tensor]:
    """Inverse of :func:`flat`: ``(P, total)`` → one tensor per layer, shaped like its masks."""
    shapes = [m.shape for m in net.masks]
    parts = torch.split(x, [m[0].numel() for m in net.masks], dim=1)
    return [p.reshape(s) for p, s in zip(parts, shapes)]


def per_member(t: torch.Tensor) -> torch.Tensor:
    """The sum of ``t`` over everything but the member axis ``(P,)`` (counts of a bool mask)."""
    return t.flatten(1).sum(dim=1)


def members_like(who: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A per-member ``who`` ``(P,)`` shaped to broadcast over ``like`` ``(P, …)`` (3-D, or conv 5-D)."""
    return who.view(-1, *[1] * (like.dim() - 1))


def locate(net: Network, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Flat indices of :func:`flat` → ``(layer, target, source)``, each shaped like ``index``
    (``net`` with ``(P, out, in)`` masks: an MLP or a channel graph)."""
    shapes = [m.shape for m in net.masks]
    sizes = torch.tensor([s[1] * s[2] for s in shapes], device=index.device)
    ins = torch.tensor([s[2] for s in shapes], device=index.device)
    ends = sizes.cumsum(0)
    layer = torch.searchsorted(ends, index, right=True)
    local = index - (ends - sizes)[layer]
    return layer, local // ins[layer], local % ins[layer]


def share(counts: torch.Tensor, sizes: torch.Tensor) -> torch.Tensor:
    """Split ``counts`` ``(P,)`` over layers in proportion to ``sizes`` ``(P, L)`` (largest remainder).

    Example:
        >>> share(torch.tensor([10]), torch.tensor([[432, 128, 8]])).tolist()
        [[8, 2, 0]]
    """
    total = sizes.sum(dim=1, keepdim=True).clamp(min=1)
    exact = counts[:, None].double() * sizes.double() / total  # (P, L)
    base = exact.floor().long()
    left = counts - base.sum(dim=1)  # (P,) at most L - 1
    order = torch.argsort(exact - base, dim=1, descending=True, stable=True)
    extra = (torch.arange(sizes.shape[1], device=sizes.device)[None, :] < left[:, None]).long()
    return base + torch.zeros_like(base).scatter_(1, order, extra)


def pick_top(scores: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """For each member, the ``counts[p]`` highest finite scores. Bool, like ``scores`` ``(P, n)``.

    Scores are finite or ``-inf`` (never chosen).

    Ties at the cut keep the lower indices, so the same scores always pick the same set. Runs
    in one selection of the ``counts[p]``-th best value plus linear passes (no full sort: a
    cycle on a 266k connection network must stay a small fraction of an epoch).

    Example:
        >>> pick_top(torch.tensor([[3.0, 1.0, -float("inf"), 2.0]]), torch.tensor([2])).tolist()
        [[True, False, False, True]]
    """
    counts = counts.to(scores.device).clamp(min=0, max=scores.shape[1])
    if counts.numel() == 0 or int(counts.max()) == 0:
        return torch.zeros_like(scores, dtype=torch.bool)
    if scores.device.type == "cpu" and len(scores) == 1:  # a single run (the app): NumPy is faster
        return torch.from_numpy(_pick_top_numpy(scores.detach().numpy(), counts.numpy()))
    return _pick_top_torch(scores, counts)


def _pick_top_torch(scores: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """:func:`pick_top` in torch ops (any device; ``counts`` clamped to ``[0, n]``, not all 0)."""
    k = int(counts.max())
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


def _pick_top_numpy(scores: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """:func:`pick_top` on NumPy arrays: the same picks, several times faster on the CPU (the
    counts[p]-th best value comes from a partial partition instead of ``topk``)."""
    cut = kth_largest(scores, np.maximum(counts, 1))[:, None]  # (P, 1): the counts[p]-th best
    if np.isfinite(cut).all():  # the usual case: no ties to split at the cut, one pass
        picked = scores >= cut
        if (_row_counts(picked) <= counts).all():
            return picked
    above = scores > cut
    ties = scores == cut
    need = np.where(np.isfinite(cut[:, 0]) & (counts > 0), counts - _row_counts(above), 0)
    if (_row_counts(ties) <= need).all():
        picked = above | ties
    else:
        picked = above | (ties & (np.cumsum(ties, axis=1) <= need[:, None]))
    if not (counts > 0).all():
        picked &= (counts > 0)[:, None]
    return picked


#: rows up to this long take a plain partition; longer ones bracket the value first
_SHORT_ROW = 16_384


def kth_largest(scores: np.ndarray, ks: np.ndarray) -> np.ndarray:
    """The ``ks[p]``-th largest value of each row of ``scores`` ``(P, n)`` (``1 ≤ ks[p] ≤ n``). ``(P,)``

    Example:
        >>> kth_largest(np.array([[3.0, 1.0, -np.inf, 2.0]]), np.array([2])).tolist()
        [2.0]
    """
    n = scores.shape[1]
    if n <= _SHORT_ROW:
        pos = n - ks  # ascending positions
        return np.partition(scores, np.unique(pos), axis=1)[np.arange(len(scores)), pos]
    return np.array([_kth_largest_row(row, int(k)) for row, k in zip(scores, ks)], dtype=scores.dtype)


def _kth_largest_row(a: np.ndarray, k: int):
    """The k-th largest value of a long row, bracketed from a strided sample.

    ``np.partition`` alone slows tenfold when a large block of equal values (the ``-inf`` of
    every ineligible connection, or exact zeros) lies below the wanted position; a sample's
    quantiles bracket the value instead, and only the few values inside the bracket are
    partitioned. Falls back to a plain partition if the bracket misses.
    """
    n, q = len(a), len(a) - k  # q: ascending position of the k-th largest
    sample = np.sort(a[:: max(n // 2048, 1)])
    m = len(sample)
    at, margin = q * m / n, 4 * np.sqrt(min(q, n - q) * m / n) + 8
    lo = sample[max(int(at - margin), 0)] if at - margin >= 0 else -np.inf
    hi = sample[min(int(at + margin) + 1, m - 1)] if at + margin + 1 <= m - 1 else np.inf
    low = a < lo
    below, above = np.count_nonzero(low), np.count_nonzero(a > hi) if hi < np.inf else 0
    if below <= q < n - above:  # the value lies in [lo, hi]
        if lo == hi and below + np.count_nonzero(a == lo) + above == n:  # a block of equal values
            return lo
        inside = a[~low & (a <= hi)] if hi < np.inf else a[~low]
        if below + len(inside) + above == n:  # else NaN, which sorts last: partition the row
            return np.partition(inside, q - below)[q - below]
    return np.partition(a, q)[q]


def _row_counts(mask: np.ndarray) -> np.ndarray:
    """True entries per row ``(P,)`` (one row counts several times faster without ``axis``)."""
    return np.count_nonzero(mask, axis=1) if len(mask) > 1 else np.array([np.count_nonzero(mask)])


def member_generators(seeds: Sequence[int], salt: int) -> dict[int, torch.Generator]:
    """One CPU generator per distinct seed, so members sharing a seed draw the same numbers.

    Used for initial structures: the paper's methods start "the same 50 models" from the same
    sub-network whichever method then trains them.
    """
    return {s: torch.Generator().manual_seed((int(s) * 1_000_003 + salt) % (2**63)) for s in set(seeds)}
