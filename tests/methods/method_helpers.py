"""Builders shared by the methods tests: a small population with data, optimizer state and a cycle context."""

from __future__ import annotations

import torch

from growlab.config import ConvShape
from growlab.engine import MemberStreams, Network, Optimizer, Trainer
from growlab.methods import CycleContext, EventLog
from growlab.methods.inits import INITS


#: a tiny conv network: 7×7 images → c3k2 (6×6, pool 2 → 3×3) → c4k2 (2×2) → flatten 16 → 5 → 3
CONV = dict(sizes=(1, 3, 4, 5, 3), image=(1, 7, 7), kernels=(ConvShape(2, pool=2), ConvShape(2)))


def build_ctx(
    sizes=(8, 6, 5, 3),
    population: int = 2,
    seeds=None,
    density: float | None = 0.3,
    steps: int = 3,
    events: bool = True,
    generator_seed: int = 1,
    conv: bool = False,
    capacity=None,
) -> CycleContext:
    """A multiclass population on random data, optionally sparse, trained ``steps`` Adam steps
    (so optimizer moments exist), at cycle 1 of 10 epochs. ``conv=True``: the :data:`CONV` network."""
    shape = dict(CONV) if conv else {"sizes": sizes}
    net = Network(population=population, seeds=seeds, task="multiclass", device="cpu", capacity=capacity, **shape)
    sizes = net.sizes
    opt = Optimizer(net, "adam", lr=0.01)
    trainer = Trainer(net, opt)
    g = torch.Generator().manual_seed(0)
    X = torch.randn(64, 49 if conv else sizes[0], generator=g)
    y = torch.randint(0, sizes[-1], (64,), generator=g)
    ctx = CycleContext(
        net, opt, trainer, X, y, X[:16], y[:16], MemberStreams([1000 * generator_seed + p for p in range(population)]),
        epoch=1, epochs=10, events=EventLog() if events else None,
    )  # fmt: skip
    if density is not None:
        INITS.make("random", density=density).apply(ctx)
    for _ in range(steps):
        trainer.step(X, y)
    ctx.cycle = 1
    return ctx


def masks_of(ctx: CycleContext) -> list[torch.Tensor]:
    return [m.clone() for m in ctx.net.masks]


def adam_moments(ctx: CycleContext, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
    return ctx.optimizer.buffer(layer, "exp_avg"), ctx.optimizer.buffer(layer, "exp_avg_sq")
