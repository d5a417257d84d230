"""Runs and snapshots the diagram, inspector and boundary tests draw (shared with the browser check).

Structural changes are made directly with ``run.ctx.prune`` / ``run.ctx.grow`` so the tests do
not depend on any particular grow/prune method.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import torch

import growlab
from growlab.engine import MemberStreams, Network
from growlab.run.snapshot import snapshot_of


def at_epoch(run) -> None:
    """Make the next structural change count as happening at the run's current epoch."""
    run.ctx.epoch = run.epoch
    run.ctx.cycle = run.cycles = run.cycles + 1


def prune_smallest(run, layer: int, n: int) -> torch.Tensor:
    """Prune the ``n`` smallest |w| active connections of ``layer``; returns the pruned mask."""
    net = run.network
    score = net.weights[layer].detach().abs().masked_fill(~net.masks[layer], float("inf"))
    flat = score[0].flatten()
    idx = torch.topk(flat, n, largest=False).indices
    where = torch.zeros_like(flat, dtype=torch.bool)
    where[idx] = True
    where = where.view_as(score[0])[None]
    run.ctx.prune(layer, where, cause="test: smallest |w|")
    return where[0]


def grow_random(run, layer: int, n: int, seed: int = 0, value: float | None = 0.3) -> torch.Tensor:
    """Grow ``n`` random dormant connections of ``layer`` with weights ±``value`` (``None``: the
    layer's initializer); returns the grown mask."""
    net = run.network
    dormant = (~net.masks[layer][0]).flatten().nonzero().flatten()
    g = torch.Generator().manual_seed(seed)
    pick = dormant[torch.randperm(len(dormant), generator=g)[:n]]
    where = torch.zeros(net.masks[layer][0].numel(), dtype=torch.bool)
    where[pick] = True
    where = where.view_as(net.masks[layer][0])[None]
    if value is None:
        values = net.sample_init(layer, MemberStreams([seed]))
    else:
        values = torch.full_like(net.weights[layer], value) * torch.sign(torch.randn(net.weights[layer].shape, generator=g))
    run.ctx.grow(layer, where, values, causes="test: random")
    return where[0]


def heart_dense(epochs: int = 30):
    """heart 27-16-8-1, dense, trained a little."""
    run = growlab.Run("heart", "16-8", "dense", epochs=epochs, seed=0)
    run.run()
    return run, snapshot_of(run)


def heart_sparse():
    """heart 27-16-8-1 after prune and grow cycles, with every overlay present.

    Epoch 8: 60% of the first layer and half of the second pruned. Epoch 12 (the latest
    cycle): 15 more pruned and 12 grown. Hidden unit 1:0 loses all inputs, so its outgoing
    connections are redundant; two units are previewed as ε-useless; the three strongest
    connections are the focal junctures; hidden 2 has 2 dormant units (switched off).
    """
    run = growlab.Run("heart", "16-8", "dense", epochs=40, seed=3, lr=0.01)
    run.run(8)
    at_epoch(run)
    prune_smallest(run, 0, 260)
    prune_smallest(run, 1, 64)
    run.run(4)
    at_epoch(run)
    pruned = prune_smallest(run, 0, 15)
    grown = grow_random(run, 0, 12)
    cut = (torch.arange(16)[:, None] == 0).expand(16, 27)[None].clone()
    run.ctx.prune(0, cut & ~grown[None], cause="test: cut unit")
    alive = run.network.alive[2].clone()
    alive[0, 6:] = False
    run.ctx.set_units(2, alive)
    snap = snapshot_of(run)
    w = [np.abs(x) * m for x, m in zip(snap.weights, snap.masks)]
    top = sorted(((float(a.max()), l, *np.unravel_index(a.argmax(), a.shape)) for l, a in enumerate(w)), reverse=True)
    focal = [(int(l), int(s), int(t)) for _, l, t, s in top[:2]]
    overlays = {"focal_junctures": focal, "useless_units": [(1, 5), (1, 9)]}
    return run, dataclasses.replace(snap, overlays=overlays), {"pruned": pruned.numpy(), "grown": grown.numpy()}


def mnist_lenet():
    """LeNet-300-100 on mnist5k: one epoch, 85% of layer 0 pruned, then a cycle of changes."""
    run = growlab.Run("mnist5k", "lenet-300-100", "dense", epochs=5, seed=0)
    run.run(1)
    at_epoch(run)
    prune_smallest(run, 0, int(0.85 * 784 * 300))
    prune_smallest(run, 1, int(0.5 * 300 * 100))
    run.run(1)
    at_epoch(run)
    prune_smallest(run, 0, 400)
    grow_random(run, 1, 100, value=None)
    return run, snapshot_of(run)


def moons(epochs: int = 150):
    """moons with a 4-2 network trained to a visible boundary."""
    run = growlab.Run("moons", "8-4", "dense", epochs=epochs, seed=0, lr=0.03)
    run.run()
    return run, snapshot_of(run)


def with_capacity(snap, capacity: tuple[int, ...]):
    """``snap`` redrawn on a ``Network`` with hidden capacity beyond its widths (dormant units)."""
    net = Network(snap.sizes, capacity=capacity, task=snap.task, device="cpu")
    arrays = lambda ts: tuple(t[0].detach().numpy().copy() for t in ts)  # noqa: E731
    return dataclasses.replace(
        snap, capacity=tuple(capacity), weights=arrays(net.weights), biases=arrays(net.biases),
        masks=tuple(net.active_float(l)[0].numpy().astype(bool) for l in range(net.n_layers)), alive=arrays(net.alive),
        birth_epoch=arrays(net.birth_epoch), redundant=None,
    )  # fmt: skip


def synthetic(base, sizes, image_shape=None, density=1.0, n_grow=0, n_prune=0, seed=0, epoch=5):
    """A snapshot of a random network of ``sizes`` (no training: fast), built on ``base``'s fields.

    ``n_grow`` active connections of layer 0 get a grow event and ``n_prune`` dormant ones a
    prune event, all at ``epoch`` (the latest cycle).
    """
    rng = np.random.default_rng(seed)
    net = Network(sizes, task="multiclass" if sizes[-1] > 1 else "binary", device="cpu")
    arrays = lambda ts: tuple(t[0].detach().numpy().copy() for t in ts)  # noqa: E731
    weights = list(arrays(net.weights))
    masks = [rng.random(w.shape) < density for w in weights]
    masks[-1][:] = True
    weights = [w * m for w, m in zip(weights, masks)]
    on, off = np.argwhere(masks[0]), np.argwhere(~masks[0])
    grow = on[rng.choice(len(on), n_grow, replace=False)] if n_grow else np.zeros((0, 2), int)
    prune = off[rng.choice(len(off), n_prune, replace=False)] if n_prune else np.zeros((0, 2), int)
    rows = [("grow", t, s, weights[0][t, s]) for t, s in grow] + [("prune", t, s, 0.05) for t, s in prune]
    recent = pd.DataFrame({
        "epoch": [epoch] * len(rows), "step": [epoch] * len(rows), "kind": [r[0] for r in rows],
        "layer": [0] * len(rows), "source": [int(r[2]) for r in rows], "target": [int(r[1]) for r in rows],
        "weight": [float(r[3]) for r in rows], "cause": ["synthetic"] * len(rows),
    })  # fmt: skip
    n_in = sizes[0]
    feats = [f"px{i // image_shape[1]}_{i % image_shape[1]}" for i in range(n_in)] if image_shape else [f"f{i}" for i in range(n_in)]
    return dataclasses.replace(
        base, sizes=tuple(sizes), capacity=tuple(sizes), weights=tuple(weights), masks=tuple(masks),
        biases=arrays(net.biases), alive=arrays(net.alive), birth_epoch=arrays(net.birth_epoch),
        redundant=None, recent=recent, overlays={}, feature_names=tuple(feats), image_shape=image_shape,
        class_names=tuple(str(c) for c in range(sizes[-1])) if sizes[-1] > 1 else base.class_names,
        task="multiclass" if sizes[-1] > 1 else "binary", epoch=epoch,
        dataset="mnist5k" if image_shape else base.dataset,
    )  # fmt: skip
