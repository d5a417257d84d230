"""Analyses of a network or run (DESIGN §5): pure functions, no UI, no training.

- :func:`reachability`, :func:`redundant_connections`, :func:`redundant_count`
- :func:`prune_redundant` (DAG pruning with constant folding)
- :func:`false_start` (a run) and :func:`false_start_from` (P members from arrays)
- :func:`similarity` (Jaccard matrix) and :func:`common_core` (masks for the ``core`` init)
- :func:`compact`, :func:`to_torch_prune`, :func:`save_export`, :func:`load_export`
- :func:`summary`, :func:`size_table` (parameters, FLOPs, density, compression)
- :func:`run_report`, :func:`export_run` (what the CLI prints and writes for a run)

Every function takes a population ``Network`` and answers for all P members at once
where that makes sense. Never imports panel, bokeh, ipywidgets, or ``growlab.run``.
"""

from growlab.analysis.dag import PruneReport, prune_redundant
from growlab.analysis.export import compact, compact_layers, load_export, save_export, to_torch_prune
from growlab.analysis.false_starts import (
    MARGIN,
    RULES,
    WARMUP,
    FalseStarts,
    false_start,
    false_start_from,
    warmup_epoch,
)
from growlab.analysis.jaccard import common_core, similarity
from growlab.analysis.paths import (
    Reachability,
    Redundancy,
    reachability,
    redundant_connections,
    redundant_count,
)
from growlab.analysis.report import export_run, run_meta, run_report
from growlab.analysis.sizes import Summary, dense_params, size_table, summary

__all__ = [
    "MARGIN",
    "RULES",
    "WARMUP",
    "FalseStarts",
    "PruneReport",
    "Reachability",
    "Redundancy",
    "Summary",
    "common_core",
    "compact",
    "compact_layers",
    "dense_params",
    "export_run",
    "false_start",
    "false_start_from",
    "load_export",
    "prune_redundant",
    "reachability",
    "redundant_connections",
    "redundant_count",
    "run_meta",
    "run_report",
    "save_export",
    "similarity",
    "size_table",
    "summary",
    "to_torch_prune",
    "warmup_epoch",
]
