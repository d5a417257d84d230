"""Per-member evaluation metrics: loss, accuracy, ROC AUC, F1, MSE.

AUC is the Mann–Whitney statistic with average ranks for ties (counted over the pairs when
there are few), which is exactly what
scikit-learn's ``roc_auc_score`` computes; multiclass AUC is the macro one-vs-rest mean over
classes present in the data (scikit-learn's ``multi_class="ovr", average="macro"``).
"""

from __future__ import annotations

import numpy as np
import torch

from growlab.engine.losses import member_losses, probabilities


def average_ranks(scores: np.ndarray) -> np.ndarray:
    """Ranks (1-based) within each row of ``scores`` ``(P, n)``, ties sharing their average rank:
    ``scipy.stats.rankdata(scores, axis=1)`` exactly (a row holding a nan is all nan), in a few
    numpy calls for every row at once (rankdata's checks cost more than the ranking on small rows)."""
    scores = np.asarray(scores, dtype=np.float64)
    P, n = scores.shape
    if n == 0:
        return np.empty((P, 0))
    order = np.argsort(scores, axis=1, kind="stable")
    ordered = np.take_along_axis(scores, order, axis=1)
    new = np.ones((P, n), dtype=bool)  # where a run of equal scores starts (every row starts one)
    new[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    flat = new.ravel()
    starts = np.flatnonzero(flat)
    ends = np.append(starts[1:], P * n) - 1
    row_of = starts // n
    mean = (starts + ends) / 2 - row_of * n + 1  # the average 1-based rank of each run
    ranks = np.empty((P, n))
    np.put_along_axis(ranks, order, mean[np.cumsum(flat) - 1].reshape(P, n), axis=1)
    nan = np.isnan(scores).any(axis=1)
    if nan.any():
        ranks[nan] = np.nan
    return ranks


def binary_auc(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """ROC AUC of each row of ``scores`` ``(P, n)`` against 0/1 ``labels`` ``(n,)``; nan if one class."""
    labels = labels.astype(bool)
    if labels.all() or not labels.any():
        return np.full(scores.shape[0], np.nan)
    if scores.shape[0] * int(labels.sum()) * int((~labels).sum()) <= PAIRS_MAX:
        return _auc_of_pairs(scores, labels)
    return _auc_of_ranks(average_ranks(scores), labels)


#: up to this many (positive, negative) pairs over all members, an AUC counts the pairs directly
#: (a few comparisons, cheaper than ranking when the validation set is small)
PAIRS_MAX = 1 << 16


def _auc_of_pairs(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The AUC of each row of ``scores`` ``(P, n)`` against bool ``labels`` (both classes present)
    as the Mann–Whitney U counted over all pairs: positives ranked above negatives plus half the
    ties. U is a whole or half number, so this equals the rank-sum form exactly (nan for a row
    holding a nan, as there)."""
    scores = np.asarray(scores, dtype=np.float64)
    pos, neg = scores[:, labels][:, :, None], scores[:, ~labels][:, None, :]
    u = (pos > neg).sum(axis=(1, 2)) + (pos == neg).sum(axis=(1, 2)) / 2
    auc = u / (pos.shape[1] * neg.shape[2])
    nan = np.isnan(scores).any(axis=1)
    if nan.any():
        auc[nan] = np.nan
    return auc


def _auc_of_ranks(ranks: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The Mann–Whitney AUC of each row of ``ranks`` ``(P, n)`` (:func:`average_ranks`) against
    bool ``labels`` ``(n,)``; nan when they hold one class only."""
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return np.full(ranks.shape[0], np.nan)
    return (ranks[:, labels].sum(axis=1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def macro_ovr_auc(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Macro one-vs-rest AUC of ``probs`` ``(P, n, C)`` against class indices ``(n,)``."""
    P, n, _ = probs.shape
    present = [c for c in range(probs.shape[2]) if (labels == c).any()]
    counts = [int((labels == c).sum()) for c in present]
    if P * max(k * (n - k) for k in counts) <= PAIRS_MAX:  # small: each class's pairs counted
        aucs = [binary_auc(probs[:, :, c], labels == c) for c in present]
        return _mean_of(aucs)
    # every class's scores ranked in one call: rows are ranked independently, so each row's ranks
    # are those it gets alone
    scores = np.ascontiguousarray(probs[:, :, present].transpose(2, 0, 1)).reshape(len(present) * P, n)
    ranks = average_ranks(scores).reshape(len(present), P, n)
    return _mean_of([_auc_of_ranks(r, labels == c) for r, c in zip(ranks, present)])


def _mean_of(aucs: list[np.ndarray]) -> np.ndarray:
    """The classes' AUCs ``(P,)`` each, averaged."""
    total = aucs[0].copy()
    for a in aucs[1:]:  # added class by class, in one order: a member's mean does not depend on P
        total += a
    return total / len(aucs)


def f1(pred: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """F1 per member: positive-class F1 for binary, macro F1 over present classes otherwise."""
    if n_classes == 2:  # the positive class's counts directly
        pos, true = pred == 1, labels == 1
        tp = (pos & true).sum(axis=1)
        counts = [(tp, pos.sum(axis=1) - tp, true.sum() - tp)]
    else:  # each member's confusion counts in one bincount: [p, predicted, true]
        P, C = pred.shape[0], n_classes
        cells = (np.arange(P)[:, None] * C + pred) * C + labels
        confusion = np.bincount(cells.ravel(), minlength=P * C * C).reshape(P, C, C)
        counts = []
        for c in (c for c in range(C) if (labels == c).any()):
            tp = confusion[:, c, c]
            counts.append((tp, confusion[:, c, :].sum(axis=1) - tp, confusion[:, :, c].sum(axis=1) - tp))
    scores = []
    for tp, fp, fn in counts:
        denom = 2 * tp + fp + fn
        scores.append(np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0))
    return np.mean(scores, axis=0)


@torch.no_grad()
def evaluate(net, X: torch.Tensor, y: torch.Tensor, target_std: float = 1.0) -> dict[str, np.ndarray]:
    """Metrics of every member on ``(X, y)``, as numpy arrays of shape ``(P,)``.

    Classification: ``loss, acc, auc, f1``. Regression: ``loss, mse`` (in the target's
    original units, given its training standard deviation ``target_std``).
    """
    out = net.forward(net.padded_input(X), padded=not net.n_conv)  # a data set: padded once while it lives
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
