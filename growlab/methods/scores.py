"""Loss gradients and the empirical Fisher diagonal on a sample of training rows.

Gradient growth ranks dormant connections by |∂L/∂w|, the Taylor criterion by |w·∂L/∂w| and
OBD by ½·H_kk·w². All three come from one forward/backward pass that keeps every layer's
input ``a`` and output gradient ``δ``: for a linear layer the per-example gradient is the
outer product ``δₙ ⊗ aₙ``, so both the batch gradient (``Σₙ δₙ ⊗ aₙ``) and the sum of squared
per-example gradients (``Σₙ δₙ² ⊗ aₙ²``) are single matrix products, with no per-example loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from growlab.engine import member_losses
from growlab.methods.context import CycleContext

#: rows sampled for gradient-based scores: enough for a stable ranking, far cheaper than an epoch
SCORE_ROWS = 256


@dataclass
class BatchStats:
    """Per-layer statistics of the training loss at the current weights.

    Attributes:
        grads: ∂L/∂W, L the mean loss over the rows, one ``(P, out, in)`` per layer
            (inactive connections included: the gradient at w = 0).
        fisher: empirical Fisher diagonal, the mean over rows of the squared per-example
            gradient, one ``(P, out, in)`` per layer; ``None`` unless asked for.
    """

    grads: list[torch.Tensor]
    fisher: list[torch.Tensor] | None = None


def sample_rows(ctx: CycleContext, rows: int = SCORE_ROWS) -> tuple[torch.Tensor, torch.Tensor]:
    """Up to ``rows`` training rows per member, drawn without replacement from each member's own
    stream (all rows, shared, when there are no more): ``(X, y)`` ``(B, n_in)`` and ``(B,)``, or
    ``(P, B, n_in)`` and ``(P, B)``."""
    n = ctx.X_train.shape[0]
    if n <= rows:
        return ctx.X_train, ctx.y_train
    idx = ctx.streams.randperm(n)[:, :rows].to(ctx.X_train.device)  # (P, rows)
    X = take_rows(ctx.train_rows(), idx.flatten()).view(*idx.shape, -1)
    return X, ctx.y_train[idx]


def take_rows(X: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``X[idx]`` (C-contiguous rows), also fast when ``X`` is stored column by column.

    Some datasets arrive column-major (a transposed array): gathering their rows one by one
    strides through memory, several times slower than gathering within each column.
    """
    if X.dim() == 2 and X.stride(0) == 1 and X.shape[1] > 1 and not X.is_contiguous():
        return X.T.index_select(1, idx).T.contiguous()
    return X[idx]


def batch_stats(ctx: CycleContext, fisher: bool = False, rows: int = SCORE_ROWS) -> BatchStats:
    """Gradients (and optionally the Fisher diagonal) of every member on sampled rows.

    Example:
        >>> # stats = batch_stats(ctx, fisher=True); stats.grads[0].shape == net.weights[0].shape
    """
    X, y = sample_rows(ctx, rows)
    return layer_stats(ctx.net, X, y, fisher)


def layer_stats(net, X: torch.Tensor, y: torch.Tensor, fisher: bool = False) -> BatchStats:
    """:class:`BatchStats` of ``net`` on the rows ``(X, y)`` (``X`` ``(B, n_in)`` shared or
    ``(P, B, n_in)`` per member, ``y`` likewise); no weight changes.

    The products run at the padded widths of :meth:`~growlab.engine.Network.trace` (so each
    member's statistics are the same alone as in any population) and are cropped after.
    """
    B = X.shape[-2]
    with torch.enable_grad():
        tr = net.trace(X)
        deltas = torch.autograd.grad(member_losses(tr.outputs, y, net.task).sum(), tr.pre)  # ∂(mean loss)/∂z
    grads, fishers = [], []
    for w, a, d in zip(net.weights, tr.inputs, deltas):
        _, n_out, n_in = w.shape
        a, dt = a.detach(), d.transpose(1, 2)  # (P, B, in_pad), (P, out_pad, B)
        grads.append(torch.bmm(dt, a)[:, :n_out, :n_in].contiguous())  # (P, out, in)
        if fisher:
            # per-example gradient of its own loss is B·δₙ ⊗ aₙ; mean of squares = B·Σₙ δₙ² ⊗ aₙ²
            fishers.append(B * torch.bmm(dt.square(), a.square())[:, :n_out, :n_in].contiguous())
    return BatchStats(grads, fishers if fisher else None)
