"""``Network.set_edges`` (a cycle's fast path) leaves the network exactly as ``set_mask`` does."""

from __future__ import annotations

import torch

from growlab.engine import Network


def _state(net: Network) -> list[torch.Tensor]:
    groups = (net.parameters(), net.weights, net.biases, net.masks, net.birth_epoch, net.birth_cycle)
    masks = [m for l in range(net.n_layers) for m in (net.effective_mask(l), net.active_float(l), net.alive_float(l))]
    return [t.detach().clone() for ts in groups for t in ts] + masks


def test_set_edges_matches_set_mask_with_dead_neurons_and_populations():
    g = torch.Generator().manual_seed(0)
    for trial in range(20):
        P = 1 + trial % 3
        a, b = (Network((6, 9, 7, 3), population=P, seeds=list(range(P))) for _ in range(2))
        if trial % 2:  # some dead hidden neurons
            alive = torch.rand(P, 9, generator=g) > 0.3
            a.set_alive(1, alive)
            b.set_alive(1, alive)
        for l in range(a.n_layers):
            start = torch.rand(a.masks[l].shape, generator=g) < 0.5
            a.set_mask(l, start, values=torch.ones_like(a.weights[l]))
            b.set_mask(l, start, values=torch.ones_like(b.weights[l]))
            on = torch.rand(a.masks[l].shape, generator=g) < 0.3
            values = torch.randn(a.weights[l].shape, generator=g)
            a.set_mask(l, a.masks[l] | on, values=values, epoch=3, cycle=2)
            added = on & ~b.masks[l]
            index = added.flatten().nonzero().flatten()
            b.set_edges(l, index, True, values=values.flatten()[index], epoch=3, cycle=2)
            off = torch.rand(a.masks[l].shape, generator=g) < 0.3
            removed = off & b.masks[l]
            a.set_mask(l, a.masks[l] & ~off, epoch=4, cycle=5)
            b.set_edges(l, removed.flatten().nonzero().flatten(), False, epoch=4, cycle=5)
        assert all(torch.equal(x, y) for x, y in zip(_state(a), _state(b)))
