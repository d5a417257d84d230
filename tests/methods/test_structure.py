"""Whole-network helpers: ranking with ties, flat layouts, capacity arithmetic."""

from __future__ import annotations

import numpy as np
import torch

from growlab.engine import Network
from growlab.methods.structure import (
    _pick_top_numpy, any_true, flat, flat_nonzero, kth_largest, locate, max_active, pick_top, room, unflat,
)


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
        want = sorted_pick(scores, counts)
        assert torch.equal(pick_top(scores, counts), want)  # populations: the torch path
        assert all(torch.equal(pick_top(scores[p : p + 1], counts[p : p + 1]), want[p : p + 1]) for p in range(3))
        if int(counts.clamp(max=n).max()) > 0:
            assert (_pick_top_numpy(scores.numpy(), counts.clamp(max=n).numpy()) == want.numpy()).all()


def test_kth_largest_of_long_rows_with_ties_and_blocks_of_equal_values():
    rng = np.random.default_rng(0)
    n = 40_000
    rows = [rng.standard_normal(n), np.sort(rng.random(n)), np.zeros(n), np.full(n, -np.inf)]
    block = -np.abs(rng.standard_normal(n))
    block[rng.random(n) < 0.9] = -np.inf
    rows.append(block)
    zeros = np.zeros(n)
    zeros[:500] = rng.random(500)
    rows += [zeros, -zeros, rng.integers(0, 4, n).astype(float), np.where(rng.random(n) < 0.5, np.nan, 1.0)]
    for row in rows:
        for k in (1, 2, 7, 400, 4_000, n // 2, n - 1, n):
            got = kth_largest(row[None].astype(np.float32), np.array([k]))[0]
            want = np.sort(row.astype(np.float32))[n - k]
            assert got == want or (np.isnan(got) and np.isnan(want)), (k, got, want)
    scores = torch.from_numpy(np.stack([block, -zeros, rng.integers(0, 4, n).astype(float)])).float()
    counts = torch.tensor([3_000, 700, 12_345])
    assert torch.equal(pick_top(scores, counts), sorted_pick(scores, counts))


def test_flat_nonzero_and_any_true_match_torch():
    g = torch.Generator().manual_seed(1)
    for shape in [(1, 5, 7), (3, 4, 6), (2, 0, 3), (4,)]:
        for p in (0.0, 0.3, 1.0):
            mask = torch.rand(shape, generator=g) < p
            assert torch.equal(flat_nonzero(mask), mask.flatten().nonzero().flatten())
            assert torch.equal(flat_nonzero(mask.transpose(0, -1)), mask.transpose(0, -1).flatten().nonzero().flatten())
            assert any_true(mask) == bool(mask.any())


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
