"""Names and labels an experiment's tables, plots and reports share (no growlab imports: the
result classes, their plots and their reports all read these, and never each other's modules).
"""

from __future__ import annotations

#: table metric name → frame column
METRICS = {
    "accuracy": "val_acc", "auc": "val_auc", "best_accuracy": "best_val_acc", "best_auc": "best_val_auc",
    "density": "density", "redundant": "redundant",
}  # fmt: skip


def threshold_label(t: float) -> str:
    """``0.85`` → ``"85%"``."""
    return f"{t * 100:g}%"


def label(t) -> str:
    """A threshold or ``"all"`` as a column label.

    Example:
        >>> label(0.85), label("all")
        ('85%', 'all thresholds')
    """
    return "all thresholds" if str(t) == "all" else threshold_label(float(t))
