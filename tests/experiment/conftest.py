"""A tiny experiment shared by the result/report tests: 2 seeds × 3 methods × 2 thresholds, few epochs."""

import pytest

from growlab.experiment import grid


@pytest.fixture(scope="package")
def tiny():
    return grid("heart", "16-8", ["dense", "prune", "strategic"], seeds=2, thresholds=(0.8, 0.9), epochs=6)
