"""Runs: one steppable training run, live parameter changes, events and archives."""

from growlab.run.archive import read_archive
from growlab.run.run import Run

__all__ = ["Run", "read_archive"]
