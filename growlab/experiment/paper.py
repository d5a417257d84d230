"""``paper``: the synthesis-and-pruning paper's protocol (paper 000 §4–6) in one call.

50 seeds × {dense, prune, subnet, random, strategic, random+prune, strategic+prune} × sparsity
thresholds {80, 85, 90, 95, 99}% on ``heart`` with the 27-16-8-1 network.

The paper does not state its training settings (epochs, optimizer, learning rate, cycle
schedule, N, σ, connections per cycle). growlab uses its own defaults for all of them, chosen
before any experiment and not tuned to the paper's figures:

- training: 200 epochs, Adam, learning rate 0.003, full batch (242 rows), relu, split seed 0
  (the defaults of a ``growlab.Run``);
- cycles: every epoch from the first to 80% of training, then the structure is frozen (the
  methods' defaults ``interval=1, start=0, stop=0.8``);
- ``prune``: ``schedule="steps"``, removing ``prune_per_cycle=4`` of the smallest |w| per cycle
  until sparsity T. This is the paper's "constant pruning" (a fixed number per step); the
  method's own default schedule is the polynomial one, so this is the one setting changed;
- hybrids prune ``prune_per_cycle=2`` then grow; random growth adds ``grow_per_cycle=4``
  connections from the initializer; strategic growth uses N = 4 focal junctures, σ = 1, μ = 0,
  the juncture's weight copied (the methods' defaults);
- the threshold T caps growth at density 1 − T and is pure pruning's target sparsity.
"""

from __future__ import annotations

from typing import Any, Sequence

from growlab.experiment.grid import Cancelled, ExperimentFailed, grid
from growlab.experiment.plan import PAPER_METHODS, PAPER_THRESHOLDS
from growlab.experiment.result import ExperimentResult

#: what ``paper`` passes to ``grid`` unless overridden
PAPER_SETTINGS: dict[str, Any] = {
    "dataset": "heart",
    "arch": "16-8",
    "methods": PAPER_METHODS,
    "epochs": 200,
    "lr": 0.003,
    "optimizer": "adam",
    "batch_size": None,
    "activation": "relu",
    "split_seed": 0,
    "schedule": "steps",
}


def paper(
    seeds: int | Sequence[int] = 50, thresholds: Sequence[float] = PAPER_THRESHOLDS, **overrides: Any
) -> ExperimentResult:
    """Run the paper's protocol; any setting of :data:`PAPER_SETTINGS` or method parameter may be overridden.

    Args:
        seeds: a count (``50`` = seeds 0..49, the paper's 50 models) or a list of seeds.
        thresholds: sparsity thresholds (the paper's 80–99%).
        **overrides: ``epochs``, ``lr``, ``methods``… and ``progress``, ``cancel``, ``chunk``, and where
            the tasks run, ``executor=`` or ``scheduler=`` (a Dask cluster; see :func:`grid`).

    Example:
        >>> r = paper(seeds=2, thresholds=(0.9,), epochs=3, methods=("dense", "strategic"))
        >>> r.protocol, r.table("max_accuracy").shape
        ('paper', (2, 1))
    """
    kw = {**PAPER_SETTINGS, **overrides}
    methods = tuple(kw.pop("methods"))
    if not any("schedule" in _specs(m) for m in methods):
        kw.pop("schedule", None)  # only pure pruning has a schedule; without it the key would be refused
    try:
        result = grid(kw.pop("dataset"), kw.pop("arch"), methods, seeds, thresholds, **kw)
    except (Cancelled, ExperimentFailed) as e:  # the partial result is still the paper's protocol
        if e.result is not None:
            e.result.protocol = "paper"
        raise
    result.protocol = "paper"
    return result


def _specs(method: str) -> dict:
    from growlab.methods import METHODS

    return METHODS.get(method).param_specs()
