"""Small contexts for the NeST, ODF2NNA and lottery tests."""

from __future__ import annotations

import torch

from growlab.engine import MemberStreams, Network, Optimizer, Trainer
from growlab.methods import CycleContext, EventLog


def phase_ctx(net: Network, X=None, y=None, epochs: int = 10, seed: int = 0) -> CycleContext:
    """A cycle context over ``net`` with random data of the right kind (or the given data)."""
    g = torch.Generator().manual_seed(seed)
    n_in, n_out = net.sizes[0], net.sizes[-1]
    if X is None:
        X = torch.randn(32, n_in, generator=g)
    if y is None:
        if net.task == "regression":
            y = torch.randn(X.shape[0], generator=g)
        elif net.task == "binary":
            y = (X[:, 0] > 0).float()
        else:
            y = torch.randint(0, n_out, (X.shape[0],), generator=g)
    opt = Optimizer(net, lr=0.01)
    trainer = Trainer(net, opt)
    return CycleContext(net, opt, trainer, X, y, X, y, MemberStreams([1000 * (seed + 1) + p for p in range(net.population)]),
                        epochs=epochs, events=EventLog())  # fmt: skip


def train(ctx: CycleContext, epochs: int) -> None:
    """Full-batch epochs on the context's training data."""
    for _ in range(epochs):
        ctx.trainer.epoch(ctx.X_train, ctx.y_train)
