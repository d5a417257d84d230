"""The paper's whole protocol (50 seeds × 7 methods × 5 thresholds = 1,750 members), timed,
and the speedup of batching over training the same members one by one.

    python benchmarks/bench_experiment.py                 # 3 repeats of the full protocol
    python benchmarks/bench_experiment.py --repeats 1 --sample 2

Batched: ``growlab.experiment.paper()`` end to end (data, 7 populations, metrics every epoch,
false starts, redundancy), best and median of ``--repeats``, with wall and CPU seconds and the
load average (other processes on the machine slow the wall time; the CPU time shows the work). ``dense`` and ``subnet`` have no
threshold, so the 1,750 member rows come from 1,350 trained members (50 + 250 + 50 + 4 × 250).

One by one: ``--sample`` seeds of every method (at T = 0.9 where it has a threshold) are trained
alone, each as a ``growlab.Run`` for the protocol's epochs (the way a user would, with its
per-epoch history); the mean seconds per run of each method times that method's trained members
extrapolates the one-by-one time of the whole protocol. The per-step speedup is that time over
the batched time, both per epoch. A second figure times the same lone members through the
experiment's own loop (a population of one: no per-epoch history beyond validation accuracy
and AUC), which isolates what batching alone buys. Both use the same torch thread count.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from growlab import Run
from growlab.config import TrainConfig
from growlab.data import load_cached
from growlab.experiment import PAPER_METHODS, PAPER_SETTINGS, PAPER_THRESHOLDS, paper
from growlab.experiment.plan import make_groups
from growlab.experiment.population import train_group

SEEDS = 50


def trained_members(seeds: int = SEEDS) -> dict[str, int]:
    """Members each method trains in the protocol (threshold-free methods once per seed)."""
    groups = make_groups(PAPER_METHODS, tuple(range(seeds)), PAPER_THRESHOLDS, {})
    return {g.method: g.population for g in groups}


def batched(repeats: int, workers: int | None) -> list[float]:
    """Wall seconds of ``paper(workers=workers)`` per repeat (CPU seconds and load printed too)."""
    times = []
    for i in range(repeats):
        t, cpu = time.perf_counter(), time.process_time()
        paper(workers=workers)
        times.append(time.perf_counter() - t)
        print(f"  workers={workers or 'default'} repeat {i + 1}: {times[-1]:.1f} s wall, "
              f"{time.process_time() - cpu:.1f} s CPU, load average {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
    return times


def one_by_one(sample: int, lean: bool) -> dict[str, float]:
    """Mean seconds to train one member of each method alone, over ``sample`` seeds."""
    s = PAPER_SETTINGS
    data = load_cached("heart")
    cfg = TrainConfig(dataset="heart", arch=s["arch"], epochs=s["epochs"], lr=s["lr"])
    per = {}
    for m in PAPER_METHODS:
        kw = {"schedule": s["schedule"]} if m == "prune" else {}
        times = []
        for seed in range(sample):
            t = time.perf_counter()
            if lean:
                (g,) = make_groups([m], (seed,), (0.9,), {m: kw})
                train_group(g, data, cfg)
            else:
                run = Run("heart", s["arch"], m, s["epochs"], seed, lr=s["lr"], **kw, **_threshold(m))
                run.run()
            times.append(time.perf_counter() - t)
        per[m] = statistics.mean(times)
    return per


def _threshold(method: str) -> dict:
    from growlab.methods import METHODS

    return {"sparsity": 0.9} if "sparsity" in METHODS.get(method).param_specs() else {}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3, help="times to run the whole protocol (default 3)")
    ap.add_argument("--sample", type=int, default=3, help="seeds per method trained one by one (default 3)")
    ap.add_argument("--one-worker", action="store_true", help="also time one method at a time (workers=1)")
    args = ap.parse_args()
    torch.set_num_threads(1)  # what paper() uses while training; the one-by-one runs get the same
    members = trained_members()
    n, epochs = sum(members.values()), PAPER_SETTINGS["epochs"]
    print(f"paper protocol: {SEEDS} seeds × {len(PAPER_METHODS)} methods × {len(PAPER_THRESHOLDS)} thresholds = "
          f"{SEEDS * len(PAPER_METHODS) * len(PAPER_THRESHOLDS)} members ({n} trained), {epochs} epochs, "
          f"torch {torch.__version__}, {torch.get_num_threads()} thread")  # fmt: skip
    paper(seeds=1, epochs=2)  # first-call imports (torch.optim, scipy) are not the protocol's time
    if args.one_worker:
        one = batched(args.repeats, 1)
        print(f"batched, one method at a time: best {min(one):.1f} s, median {statistics.median(one):.1f} s")
    times = batched(args.repeats, None)
    best, median = min(times), statistics.median(times)
    print(f"batched (default: up to 2 methods at once): best {best:.1f} s, median {median:.1f} s of {len(times)} "
          f"({best / epochs * 1e3:.0f} ms per protocol epoch, {best / (n * epochs) * 1e6:.0f} µs per member-epoch)")  # fmt: skip
    for lean, label in ((False, "growlab.Run"), (True, "the experiment loop, P = 1")):
        per = one_by_one(args.sample, lean)
        total = sum(per[m] * members[m] for m in PAPER_METHODS)
        print(f"one by one with {label}: " + ", ".join(f"{m} {per[m]:.2f} s" for m in PAPER_METHODS))
        print(f"  extrapolated to the {n} members: {total:.0f} s → per-step speedup of batching "
              f"{total / best:.1f}× (best batched), {total / median:.1f}× (median)")  # fmt: skip


if __name__ == "__main__":
    main()
