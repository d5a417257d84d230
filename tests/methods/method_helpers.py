"""Builders shared by the methods tests: a small population with data, optimizer state and a cycle context."""

from __future__ import annotations

import torch

from growlab.engine import MemberStreams, Network, Optimizer, Trainer
from growlab.methods import CycleContext, EventLog
from growlab.methods.inits import INITS


def build_ctx(
    sizes=(8, 6, 5, 3),
    population: int = 2,
    seeds=None,
    density: float | None = 0.3,
    steps: int = 3,
    events: bool = True,
    generator_seed: int = 1,
) -> CycleContext:
    """A multiclass population on random data, optionally sparse, trained ``steps`` Adam steps
    (so optimizer moments exist), at cycle 1 of 10 epochs."""
    net = Network(sizes, population=population, seeds=seeds, task="multiclass", device="cpu")
    opt = Optimizer(net, "adam", lr=0.01)
    trainer = Trainer(net, opt)
    g = torch.Generator().manual_seed(0)
    X = torch.randn(64, sizes[0], generator=g)
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
