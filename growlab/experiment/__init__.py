"""Many-seed, many-method experiments, batched in the population engine (DESIGN §8).

- :func:`paper`: the synthesis-and-pruning paper's whole protocol (50 seeds × 7 methods × 5
  thresholds on ``heart``), its Tables 1–3, Figs. 5–6 and false starts, in one call;
- :func:`grid`: any grid of dataset × architecture × methods × thresholds × seeds;
- :func:`interpretations`: paper 000's open readings on its protocol, its claims as paired
  differences with 95% intervals;
- :class:`ExperimentResult`: one row per member, tables, plots, ``save(dir)`` for the report.

Importing this package never imports panel or bokeh (plots import bokeh when drawn).

Example:
    >>> from growlab.experiment import grid
    >>> r = grid("heart", "16-8", ["dense", "subnet"], seeds=2, thresholds=(0.9,), epochs=2)
    >>> r.table("mean").shape
    (2, 3)
"""

from growlab.experiment.grid import Cancelled, ExperimentFailed, grid
from growlab.experiment.interpretations import READINGS, InterpretationsResult, Reading, interpretations
from growlab.experiment.paper import PAPER_SETTINGS, paper
from growlab.experiment.plan import PAPER_METHODS, PAPER_THRESHOLDS
from growlab.experiment.reference import Finding, findings
from growlab.experiment.result import ExperimentResult

__all__ = [
    "PAPER_METHODS",
    "PAPER_SETTINGS",
    "PAPER_THRESHOLDS",
    "READINGS",
    "Cancelled",
    "ExperimentFailed",
    "ExperimentResult",
    "Finding",
    "InterpretationsResult",
    "Reading",
    "findings",
    "grid",
    "interpretations",
    "paper",
]
