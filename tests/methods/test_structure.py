"""Whole-network helpers: ranking with ties, flat layouts, capacity arithmetic."""

from __future__ import annotations

import torch

from growlab.engine import Network
from growlab.methods.structure import flat, locate, max_active, pick_top, room, unflat


def sorted_pick(scores: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """The oracle: a stable descending sort, the first counts[p] finite entries."""
    order = torch.sort(scores, dim=1, descending=True, stable=True).indices
    ranked = torch.gather(scores, 1, order)
    keep = (torch.arange(scores.shape[1])[None, :] < counts[:, None]) & torch.isfinite(ranked)
    return torch.zeros_like(keep).scatter_(1, order, keep)


def test_pick_top_matches_a_stable_sort_with_ties_and_minus_infinity():
    g = torch.Generator().manual_seed(0)
    for trial in range(400):
        n = int(torch.randint(1, 40, (1,), generator=g))
        scores = torch.randint(-3, 4, (3, n), generator=g).float() if trial % 2 else torch.rand(3, n, generator=g)
        scores[torch.rand(3, n, generator=g) < 0.2] = -float("inf")
        counts = torch.randint(0, n + 3, (3,), generator=g)
        assert torch.equal(pick_top(scores, counts), sorted_pick(scores, counts))


def test_flat_locate_and_unflat_round_trip():
    net = Network((4, 3, 2), population=2)
    tensors = [torch.arange(m.numel()).view(m.shape) + 100 * l for l, m in enumerate(net.masks)]
    x = flat(tensors)
    assert x.shape == (2, 4 * 3 + 3 * 2)
    assert all(torch.equal(a, b) for a, b in zip(unflat(net, x), tensors))
    layer, target, source = locate(net, torch.tensor([0, 5, 12, 17]))
    assert list(zip(layer.tolist(), target.tolist(), source.tolist())) == [(0, 0, 0), (0, 1, 1), (1, 0, 0), (1, 1, 2)]


def test_capacity_arithmetic():
    net = Network((27, 16, 8, 1), population=3)
    T = torch.tensor([0.8, 0.9, 0.99], dtype=torch.float64)
    assert max_active(net, T).tolist() == [113, 56, 5]
    assert room(net, T).tolist() == [0, 0, 0]  # dense: no room to grow
