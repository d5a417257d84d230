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
        self._grad_ones: torch.Tensor | None = None

    def step(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """One optimizer step on a batch: ``X`` ``(B, n_in)`` or ``(P, B, n_in)``. Returns losses ``(P,)``."""
        return self._step(X, y, hits=False)[0]

    def _step(
        self, X: torch.Tensor, y: torch.Tensor, hits: bool, padded: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """:meth:`step`; with ``hits``, also the rows each member classified right before the step ``(P,)``.
        ``padded``: ``X`` holds rows of :meth:`Network.padded_input`."""
        net, opt = self.net, self.optimizer
        opt.zero_grad()
        chunks = net.member_chunks(X.shape[-2])
        if len(chunks) == 1:
            with net.conv_flags():  # deterministic cuDNN convolutions on CUDA (a no-op otherwise)
                out = net.forward(X, padded=padded)
                losses = member_losses(out, y, net.task)
                # the gradient of their sum: each member's own mean loss, so members train independently
                losses.backward(self._ones(losses))
            losses = losses.detach()
            right = _hits(out.detach(), y, net.task) if hits else None
        else:
            losses, right = self._chunked(chunks, X, y, hits, padded)
        net.mask_grads()
        opt.step()
        self.steps += 1
        return losses, right

    def _chunked(self, chunks: list[slice], X, y, hits: bool, padded: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The forward and backward of :meth:`_step` one group of members at a time (an MLP),
        each group's gradients written into the parameters' own (the same values)."""
        net, params = self.net, self.net.parameters()
        grads = [torch.empty_like(w) for w in params]
        losses, right = [], []
        for c in chunks:
            weights = [w[c] for w in params]
            x, t = (X[c] if X.dim() == 3 else X), (y[c] if y.dim() == 2 else y)
            out = net._trace(x, None, padded, weights).outputs
            part = member_losses(out, t, net.task)
            for g, dw in zip(grads, torch.autograd.grad(part, weights, self._ones(part))):
                g[c] = dw
            losses.append(part.detach())
            if hits:
                right.append(_hits(out.detach(), t, net.task))
        for w, g in zip(params, grads):
            w.grad = g
        return torch.cat(losses), (torch.cat(right) if hits else None)

    def epoch(self, X: torch.Tensor, y: torch.Tensor) -> np.ndarray:
        """One pass over ``(X, y)``; returns each member's mean training loss ``(P,)``."""
        return self._pass(X, y, hits=False)["loss"]

    def epoch_metrics(self, X: torch.Tensor, y: torch.Tensor) -> dict[str, np.ndarray]:
        """:meth:`epoch`, returning what the pass itself measured (no extra forward): ``loss``,
        each member's mean training loss, and for classification ``acc``, the fraction of rows
        it classified right, each batch as the member was before that batch's step (what
        Keras and most training loops report as the epoch's training metrics). ``(P,)`` each
        """
        return self._pass(X, y, hits=self.net.task != "regression")

    def _ones(self, losses: torch.Tensor) -> torch.Tensor:
        """Ones like ``losses`` ``(P,)``, the gradient a sum passes back, made once per shape."""
        ones = self._grad_ones
        if ones is None or ones.shape != losses.shape or ones.dtype != losses.dtype or ones.device != losses.device:
            ones = self._grad_ones = torch.ones_like(losses)
        return ones

    def _pass(self, X: torch.Tensor, y: torch.Tensor, hits: bool) -> dict[str, np.ndarray]:
        n = X.shape[0]
        bs = resolve_batch_size(self.batch_size, n)
        X = self.net.padded_input(X)  # an MLP's rows with their bias input, padded once per data set
        padded = not self.net.n_conv
        if bs >= n:
            losses, right = self._step(X, y, hits, padded)
            out = {"loss": losses.cpu().numpy()}  # the loss exactly as the step computed it
        else:
            order = self.streams.randperm(n).to(X.device)  # (P, n), each member's own order
            total = torch.zeros(self.net.population, device=X.device)
            right = torch.zeros(self.net.population, dtype=torch.long, device=X.device) if hits else None
            for start in range(0, n, bs):
                idx = order[:, start : start + bs]  # (P, b)
                losses, r = self._step(_rows(X, idx), _rows(y, idx), hits, padded)  # (P, b, in): each member its own rows
                total += losses * idx.shape[1]
                if hits:
                    right += r
            out = {"loss": (total / n).cpu().numpy()}
        if hits:
            out["acc"] = right.cpu().numpy() / n
        return out

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


def _hits(out: torch.Tensor, y: torch.Tensor, task: str) -> torch.Tensor:
    """Rows each member classified right: ``out`` ``(P, B, n_out)``, ``y`` ``(B,)`` or ``(P, B)``. ``(P,)``"""
    if task == "binary":
        pred = (out[..., 0] > 0).to(y.dtype)  # sigmoid > 0.5, without the sigmoid
    else:
        pred = out.argmax(dim=-1).to(y.dtype)
    return (pred == y).sum(dim=-1)


def _rows(t: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``t[idx]`` for an index ``(P, b)`` into ``t``'s rows, by ``index_select`` (several times
    faster than advanced indexing with a 2-d index on the CPU; the same values). ``(P, b, ...)``"""
    return t.index_select(0, idx.reshape(-1)).view(*idx.shape, *t.shape[1:])
