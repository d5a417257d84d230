"""Per-member losses: BCE for binary, cross-entropy for multiclass, MSE for regression."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def member_losses(out: torch.Tensor, y: torch.Tensor, task: str) -> torch.Tensor:
    """Mean loss of each member over the batch.

    Args:
        out: network outputs ``(P, B, n_out)``.
        y: targets ``(B,)`` shared by all members or ``(P, B)`` per member.
        task: ``binary`` | ``multiclass`` | ``regression``.

    Returns:
        ``(P,)``; their sum's gradient w.r.t. member p's weights equals the gradient of
        member p's own mean loss, so one backward pass trains every member independently.
    """
    P, B, _ = out.shape
    if y.dim() == 1:
        y = y.expand(P, B)
    if task == "binary":
        return F.binary_cross_entropy_with_logits(out[..., 0], y, reduction="none").mean(dim=1)
    if task == "multiclass":
        return F.cross_entropy(out.reshape(P * B, -1), y.reshape(-1), reduction="none").view(P, B).mean(dim=1)
    return F.mse_loss(out[..., 0], y, reduction="none").mean(dim=1)


def probabilities(out: torch.Tensor, task: str) -> torch.Tensor:
    """Class probabilities (binary: ``(P, B)`` for class 1; multiclass: ``(P, B, C)``) or values."""
    if task == "binary":
        return torch.sigmoid(out[..., 0])
    if task == "multiclass":
        return torch.softmax(out, dim=-1)
    return out[..., 0]
