"""The training step and epoch for a population, and gradients on demand."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from growlab.engine.losses import member_losses
from growlab.engine.network import Network
from growlab.engine.optim import Optimizer
from growlab.engine.streams import MemberStreams

#: Datasets up to this many training rows train full-batch when no batch size is given.
FULL_BATCH_MAX = 1024
DEFAULT_BATCH = 128
_SHUFFLE_SALT = 0x5EED


def resolve_batch_size(batch_size: int | None, n_rows: int) -> int:
    """``None`` means full batch for small data (≤ 1024 rows), else 128."""
    if batch_size is None:
        return n_rows if n_rows <= FULL_BATCH_MAX else DEFAULT_BATCH
    return min(int(batch_size), n_rows)


class Trainer:
    """Trains every member of a network on the same data, each with its own batch order.

    Args:
        net: the population.
        optimizer: its optimizer.
        batch_size: rows per step; ``None`` = full batch up to 1,024 rows, else 128.
        shuffle_seeds: per-member seeds of the batch order (default: the members' seeds), so
            a member trained in a population sees the same batches as a run trained alone.
    """

    def __init__(
        self,
        net: Network,
        optimizer: Optimizer,
        batch_size: int | None = None,
        shuffle_seeds: Sequence[int] | None = None,
    ):
        self.net, self.optimizer, self.batch_size = net, optimizer, batch_size
        self.streams = MemberStreams(net.seeds if shuffle_seeds is None else shuffle_seeds, _SHUFFLE_SALT)
        self.steps = 0

    def step(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """One optimizer step on a batch: ``X`` ``(B, n_in)`` or ``(P, B, n_in)``. Returns losses ``(P,)``."""
        net, opt = self.net, self.optimizer
        opt.zero_grad()
        with net.conv_flags():  # deterministic cuDNN convolutions on CUDA (a no-op otherwise)
            losses = member_losses(net.forward(X), y, net.task)
            losses.sum().backward()  # each member's own mean loss: members train independently
        losses = losses.detach()
        net.mask_grads()
        opt.step()
        self.steps += 1
        return losses

    def epoch(self, X: torch.Tensor, y: torch.Tensor) -> np.ndarray:
        """One pass over ``(X, y)``; returns each member's mean training loss ``(P,)``."""
        n = X.shape[0]
        bs = resolve_batch_size(self.batch_size, n)
        if bs >= n:
            return self.step(X, y).cpu().numpy()
        order = self.streams.randperm(n).to(X.device)  # (P, n), each member's own order
        total = torch.zeros(self.net.population, device=X.device)
        for start in range(0, n, bs):
            idx = order[:, start : start + bs]  # (P, b)
            total += self.step(X[idx], y[idx]) * idx.shape[1]  # (P, b, n_in): each member its own rows
        return (total / n).cpu().numpy()

    def gradients(self, X: torch.Tensor, y: torch.Tensor) -> list[torch.Tensor]:
        """Dense ∂L/∂W of every layer on ``(X, y)``, inactive connections included; no step taken.

        Returns:
            One tensor per layer shaped like its weights, ``(P, out, in)`` (conv:
            ``(P, out, in, k, k)``): member p's gradient of its own mean loss.
        """
        net = self.net
        for w in net.parameters():
            w.grad = None
        with net.conv_flags():
            member_losses(net.forward(X), y, net.task).sum().backward()
        grads = [g.detach().clone() for g in net.grads()]
        for w in net.parameters():
            w.grad = None
        return grads

    def state_dict(self) -> dict:
        return {"steps": self.steps, "generators": [g.get_state() for g in self.streams.generators]}

    def load_state_dict(self, state: dict) -> None:
        self.steps = int(state["steps"])
        for g, s in zip(self.streams.generators, state["generators"]):
            g.set_state(s)
