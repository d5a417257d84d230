"""Loss gradients and the empirical Fisher diagonal on a sample of training rows.

Gradient growth ranks dormant connections by |∂L/∂w|, the Taylor criterion by |w·∂L/∂w| and
OBD by ½·H_kk·w². All three come from one forward/backward pass that keeps every layer's
input ``a`` and output gradient ``δ``: for a linear layer the per-example gradient is the
outer product ``δₙ ⊗ aₙ``, so both the batch gradient (``Σₙ δₙ ⊗ aₙ``) and the sum of squared
per-example gradients (``Σₙ δₙ² ⊗ aₙ²``) are single matrix products, with no per-example loop.
"""

from __future__ import annotations

from dataclasses import dataclass

from typing import Sequence

import torch

from growlab.engine import member_losses
from growlab.methods.context import CycleContext

#: rows sampled for gradient-based scores: enough for a stable ranking, far cheaper than an epoch
SCORE_ROWS = 256


@dataclass
class BatchStats:
    """Per-layer statistics of the training loss at the current weights.

    Attributes:
        grads: ∂L/∂W, L the mean loss over the rows, one ``(P, out, in)`` per layer (a conv
            layer's ``(P, out, in, k, k)``; inactive connections included: the gradient at w = 0).
        fisher: empirical Fisher diagonal, the mean over rows of the squared per-example
            gradient, one ``(P, out, in)`` per layer; ``None`` unless asked for.
    """

    grads: list[torch.Tensor]
    fisher: list[torch.Tensor] | None = None


def sample_rows(
    ctx: CycleContext, rows: int | None = SCORE_ROWS, members: Sequence[int] | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Up to ``rows`` training rows per member, drawn without replacement from each member's own
    stream (all rows, shared, when there are no more, or ``rows`` is None): ``(X, y)``
    ``(B, n_in)`` and ``(B,)``, or ``(P, B, n_in)`` and ``(P, B)``. Only ``members`` (default
    all) draw; the others take the first rows."""
    n = ctx.X_train.shape[0]
    if rows is None or n <= rows:
        return ctx.X_train, ctx.y_train
    idx = ctx.streams.randperm(n, members)[:, :rows].to(ctx.X_train.device)  # (P, rows)
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
    # conv layers' batch gradients come from autograd's own convolution backward (unless the
    # Fisher diagonal needs per-example gradients): ask for their parameters' gradients too
    wanted = [] if fisher else net.parameters()[: net.n_conv]
    with torch.enable_grad(), net.conv_flags():  # deterministic cuDNN backward on CUDA
        tr = net.trace(X)
        found = torch.autograd.grad(member_losses(tr.outputs, y, net.task).sum(), [*tr.pre, *wanted])
    deltas, conv_grads = found[: len(tr.pre)], found[len(tr.pre) :]  # ∂(mean loss)/∂z; conv ∂L/∂W
    grads, fishers = [], []
    for l, (w, a, d) in enumerate(zip(net.weights, tr.inputs, deltas)):
        if net.is_conv(l):
            if conv_grads:
                g, f = net.weight_view(l, conv_grads[l]).contiguous(), None
            else:
                g, f = conv_stats(net, l, a.detach(), d)
            grads.append(g)
            fishers.append(f)
            continue
        _, n_out, n_in = w.shape
        a, dt = a.detach(), d.transpose(1, 2)  # (P, B, in_pad), (P, out_pad, B)
        grads.append(torch.bmm(dt, a)[:, :n_out, :n_in].contiguous())  # (P, out, in)
        if fisher:
            # per-example gradient of its own loss is B·δₙ ⊗ aₙ; mean of squares = B·Σₙ δₙ² ⊗ aₙ²
            fishers.append(B * torch.bmm(dt.square(), a.square())[:, :n_out, :n_in].contiguous())
    return BatchStats(grads, fishers if fisher else None)


def conv_stats(net, layer: int, a: torch.Tensor, d: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradient and Fisher diagonal of conv layer ``layer`` from its input maps ``a``
    ``(P, B, C_in, H, W)`` and the loss gradient at its output ``d`` ``(P, B, C_out, H', W')``.

    A kernel tap's gradient is a sum over output positions: for example n it is
    ``Σ_pos δₙ,pos · patchₙ,pos`` (the input patch the tap sees there). The per-example
    gradients come from one convolution weight-gradient with every example its own group
    (about twice as fast on the CPU as unfolding the patches). Both shaped like the layer's
    weights ``(P, out, in, k, k)``.
    """
    P, B = a.shape[:2]
    k = net.kernels[layer]
    o, i, kh, kw = net.weight_shape(layer)
    x = a.reshape(1, P * B * i, *a.shape[-2:]).contiguous(memory_format=torch.channels_last)
    g = d.reshape(1, P * B * o, *d.shape[-2:]).contiguous(memory_format=torch.channels_last)
    per_example = torch.nn.grad.conv2d_weight(x, (P * B * o, i, kh, kw), g, stride=k.stride, padding=k.padding, groups=P * B)
    per_example = per_example.reshape(P, B, o, i, kh, kw)
    # the per-example gradient of its own loss is B × this (δ is of the mean loss), as for dense layers
    return per_example.sum(dim=1), B * per_example.square().sum(dim=1)
