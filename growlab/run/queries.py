"""Plain-data questions and actions on a run, for callers that must not hold tensors.

The runner calls these while it holds the run (no training step in between) and hands back
bytes, dicts and DataFrames only. Analyses come from :mod:`growlab.analysis`; when it cannot
be imported the answers say "unavailable" instead of failing.
"""

from __future__ import annotations

import os
import tempfile

import pandas as pd


def _analysis():
    """The analysis module, or ``None`` while it is unavailable."""
    try:
        import growlab.analysis as analysis

        analysis.false_start, analysis.redundant_connections, analysis.prune_redundant  # noqa: B018
    except (ImportError, AttributeError):
        return None
    return analysis


def analysis_summary(run, redundant=None) -> dict:
    """``{"available", "false_start", "reason", "redundant"}`` for the false-starts panel.

    ``redundant``: the snapshot's redundant-connection masks, when already computed.
    """
    analysis = _analysis()
    if analysis is None:
        return {"available": False, "reason": "analysis unavailable"}
    try:
        is_false, reason = analysis.false_start(run)
        if redundant is None:
            count = int(analysis.redundant_connections(run.network).counts[0])
        else:
            count = int(sum(int(m.sum()) for m in redundant))
    except Exception as e:  # an analysis bug must not stop training
        return {"available": False, "reason": f"analysis failed: {type(e).__name__}: {e}"}
    return {"available": True, "false_start": bool(is_false), "reason": reason, "redundant": count}


def prune_redundant_paths(run) -> dict:
    """Remove the run's redundant connections in place, keeping its outputs unchanged.

    Pruned connections get ``prune`` events (cause ``redundant path``) and fresh optimizer
    state, as every structural change does.

    Returns:
        ``{"removed", "params_before", "params_after", "text"}``.
    """
    analysis = _analysis()
    if analysis is None:
        raise ValueError("analysis unavailable: cannot prune redundant paths yet")
    net = run.network
    before = int(net.n_params()[0])
    weights = [w[0].detach().cpu().clone() for w in net.weights]
    _, report = analysis.prune_redundant(net, inplace=True)
    for layer, removed in enumerate(report.removed):
        run.optimizer.reset(layer, removed)
        idx = removed[0].nonzero().cpu()  # (n, 2): target, source
        if len(idx):
            t, s = idx[:, 0], idx[:, 1]
            run.event_log.extend(
                run.epoch, run.trainer.steps, "prune", layer, s.tolist(), t.tolist(),
                weights[layer][t, s].tolist(), "redundant path",
            )  # fmt: skip
    after = int(net.n_params()[0])
    run.timeline.record(run)  # this epoch's structure is now the pruned one
    return {"removed": int(report.counts[0]), "params_before": before, "params_after": after, "text": report.describe(0)}


def archive_bytes(run) -> bytes:
    """The run archive (``run.save``) as bytes."""
    return _via_file(run.save)


def model_bytes(run) -> bytes:
    """The compacted torch model (``growlab.analysis.save_export``) as bytes."""
    analysis = _analysis()
    if analysis is None or not hasattr(analysis, "save_export"):
        raise ValueError("analysis unavailable: cannot compact the model yet")
    data = run.data
    meta = {
        "dataset": data.name, "method": run.config.method, "epoch": run.epoch,
        "feature_names": list(data.feature_names), "class_names": list(data.class_names),
    }  # fmt: skip
    return _via_file(lambda path: analysis.save_export(run.network, path, meta=meta))


def _via_file(write) -> bytes:
    with tempfile.TemporaryDirectory(prefix="growlab-") as folder:
        path = os.path.join(folder, "out")
        write(path)
        with open(path, "rb") as f:
            return f.read()


def events_frame(columns: dict, start: int, stop: int) -> pd.DataFrame:
    """Rows ``start:stop`` of an event log's column lists, typed like ``EventLog.frame``.

    Slicing to ``stop`` (a count the caller saw complete) makes this safe while the trainer
    appends: every column already holds at least ``stop`` entries.
    """
    df = pd.DataFrame({c: v[start:stop] for c, v in columns.items()})
    for col in ("layer", "source", "target"):
        if col in df:
            df[col] = pd.array(df[col].tolist(), dtype="Int64")
    if "weight" in df:
        df["weight"] = pd.to_numeric(df["weight"], errors="coerce").astype(float)
    return df
