"""Plain-text reports and exports of a whole run (what ``growlab train --report`` and
``growlab export`` print and write). A run is duck-typed: ``network``, ``history``,
``data``, ``config``; nothing here imports ``growlab.run``.
"""

from __future__ import annotations

from growlab.analysis.dag import prune_redundant
from growlab.analysis.export import save_export
from growlab.analysis.false_starts import MARGIN, WARMUP, false_start
from growlab.analysis.sizes import summary


def run_report(run, warmup: float = WARMUP, margin: float = MARGIN) -> str:
    """False-start verdict, redundant connections, DAG pruning and size summary of ``run``.

    Example:
        >>> from growlab import Run
        >>> run = Run("heart", "4-2", "dense", epochs=2)
        >>> _ = run.run()
        >>> "redundant connections: 0" in run_report(run)
        True
    """
    flag, reason = false_start(run, warmup=warmup, margin=margin)
    net = run.network
    _, pruned = prune_redundant(net)
    lines = [
        f"false start: {'yes' if flag else 'no'} ({reason})",
        f"redundant connections: {int(pruned.counts[0])}",
        f"DAG pruning: {pruned.describe(0)}",
        "size:",
        str(summary(net)),
    ]
    return "\n".join(lines)


def run_meta(run) -> dict:
    """Plain values stored with an exported model: names, task, target scaling, provenance."""
    data, cfg = run.data, run.config
    return {
        "feature_names": list(data.feature_names), "class_names": list(data.class_names),
        "target_mean": float(data.target_mean), "target_std": float(data.target_std),
        "dataset": cfg.dataset, "method": cfg.method, "arch": list(cfg.arch), "seed": cfg.seed,
        "epoch": int(getattr(run, "epoch", len(run.history))),
        "input_mean": list(data.feature_mean), "input_std": list(data.feature_std),
        "inputs_note": "model input = (x - input_mean) / input_std per column of feature_names "
        "(categorical columns one-hot encoded first, as growlab's loader does)",
    }  # fmt: skip


def export_run(run, path, fmt: str = "torch") -> dict:
    """Write ``run``'s compacted model to ``path`` (see :mod:`growlab.analysis.export`)."""
    return save_export(run.network, path, fmt=fmt, member=0, meta=run_meta(run))
