"""Per-member evaluation metrics: loss, accuracy, ROC AUC, F1, MSE.

AUC is the Mann–Whitney statistic with average ranks for ties, which is exactly what
scikit-learn's ``roc_auc_score`` computes; multiclass AUC is the macro one-vs-rest mean over
classes present in the data (scikit-learn's ``multi_class="ovr", average="macro"``).
"""

from __future__ import annotations

import numpy as np
import torch

from growlab.engine.losses import member_losses, probabilities


def binary_auc(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """ROC AUC of each row of ``scores`` ``(P, n)`` against 0/1 ``labels`` ``(n,)``; nan if one class."""
    labels = labels.astype(bool)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return np.full(scores.shape[0], np.nan)
    ranks = average_ranks(scores)
    return (ranks[:, labels].sum(axis=1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def average_ranks(scores: np.ndarray) -> np.ndarray:
    """Ranks 1…n of each row of ``scores`` ``(P, n)``, ties sharing their mean rank; a row with a
    nan is all nan (``scipy.stats.rankdata(scores, axis=1)``, without importing scipy.stats).

    Example:
        >>> average_ranks(np.array([[0.5, 0.1, 0.5, 0.9]])).tolist()
        [[2.5, 1.0, 2.5, 4.0]]
    """
    scores = np.asarray(scores)
    n = scores.shape[1]
    order = np.argsort(scores, axis=1, kind="mergesort")
    s = np.take_along_axis(scores, order, axis=1)
    at = np.broadcast_to(np.arange(n), s.shape)
    starts = np.ones(s.shape, dtype=bool)
    starts[:, 1:] = s[:, 1:] != s[:, :-1]  # a tie group begins
    ends = np.ones(s.shape, dtype=bool)
    ends[:, :-1] = starts[:, 1:]  # a tie group ends
    first = np.maximum.accumulate(np.where(starts, at, 0), axis=1)
    last = np.minimum.accumulate(np.where(ends, at, n - 1)[:, ::-1], axis=1)[:, ::-1]
    ranks = np.empty(s.shape, dtype=np.float64)
    np.put_along_axis(ranks, order, (first + last) / 2 + 1, axis=1)
    ranks[np.isnan(scores).any(axis=1)] = np.nan
    return ranks


def macro_ovr_auc(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Macro one-vs-rest AUC of ``probs`` ``(P, n, C)`` against class indices ``(n,)``."""
    aucs = [binary_auc(probs[:, :, c], labels == c) for c in range(probs.shape[2]) if (labels == c).any()]
    total = aucs[0].copy()
    for a in aucs[1:]:  # added class by class, in one order: a member's mean does not depend on P
        total += a
    return total / len(aucs)


def f1(pred: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """F1 per member: positive-class F1 for binary, macro F1 over present classes otherwise."""
    classes = [1] if n_classes == 2 else [c for c in range(n_classes) if (labels == c).any()]
    scores = []
    for c in classes:
        tp = ((pred == c) & (labels == c)).sum(axis=1)
        fp = ((pred == c) & (labels != c)).sum(axis=1)
        fn = ((pred != c) & (labels == c)).sum(axis=1)
        denom = 2 * tp + fp + fn
        scores.append(np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0))
    return np.mean(scores, axis=0)


@torch.no_grad()
def evaluate(net, X: torch.Tensor, y: torch.Tensor, target_std: float = 1.0) -> dict[str, np.ndarray]:
    """Metrics of every member on ``(X, y)``, as numpy arrays of shape ``(P,)``.

    Classification: ``loss, acc, auc, f1``. Regression: ``loss, mse`` (in the target's
    original units, given its training standard deviation ``target_std``).
    """
    out = net.forward(X)
    loss = member_losses(out, y, net.task).cpu().numpy()
    if net.task == "regression":
        mse = ((out[..., 0] - y) ** 2).mean(dim=1).cpu().numpy() * target_std**2
        return {"loss": loss, "mse": mse}
    probs = probabilities(out, net.task).cpu().numpy()
    labels = y.long().cpu().numpy()
    if net.task == "binary":
        pred = (probs > 0.5).astype(np.int64)
        auc = binary_auc(probs, labels)
        n_classes = 2
    else:
        pred = probs.argmax(axis=2)
        auc = macro_ovr_auc(probs, labels)
        n_classes = probs.shape[2]
    acc = (pred == labels).mean(axis=1)
    return {"loss": loss, "acc": acc, "auc": auc, "f1": f1(pred, labels, n_classes)}
