"""The paper's protocol in-process vs on a Dask ``LocalCluster`` of 2 worker processes, with the
task count and per-task time, so the time on k workers can be estimated.

    python benchmarks/bench_scaleout.py                       # 50 seeds, 200 epochs, 10 seeds per task
    python benchmarks/bench_scaleout.py --seeds 10 --chunk 2  # quicker

Four timings, each of the whole ``growlab.experiment.paper()`` call (wall seconds):

- in-process, default: one task per method (7 populations), 2 threads;
- in-process, chunked: the same tasks as the cluster gets (``--chunk`` seeds each), 2 threads;
- cluster, cold: the first grid on a fresh ``LocalCluster(2 processes)`` (each worker imports
  torch and growlab and loads the data once: a one-off cost per worker);
- cluster, warm: the same grid again on the same cluster (the steady state of a long grid).

From the warm run: the work W (the tasks' own training seconds, summed), the task count n and
the per-task time; the overhead per task is (warm wall − W / 2) / n: scheduling, shipping
results back, and any imbalance at the end. On k worker processes the grid then takes about
max(W / k + n · overhead / k, the longest task). The members are checked bit-identical to the
in-process run's. Other processes on the machine slow every wall time; the load average is
printed with each figure.
"""

from __future__ import annotations

import argparse
import os
import time

import pandas as pd
import torch

from growlab.experiment import PAPER_METHODS, PAPER_THRESHOLDS, paper


def timed(label: str, **kw):
    t = time.perf_counter()
    r = paper(**kw)
    wall = time.perf_counter() - t
    print(f"{label}: {wall:.1f} s wall, {len(r.tasks)} tasks (their training: {r.tasks.seconds.sum():.1f} s wall, "
          f"{r.tasks.cpu_seconds.sum():.1f} s CPU), load average {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
    return r, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=50, help="seeds (default 50, the paper's)")
    ap.add_argument("--epochs", type=int, default=200, help="epochs per member (default 200, the protocol's)")
    ap.add_argument("--chunk", type=int, default=10, help="seeds per task (default 10: 35 tasks)")
    ap.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes (default 2)")
    args = ap.parse_args()
    from distributed import Client

    from growlab.experiment.distributed import local_cluster

    kw = dict(seeds=args.seeds, epochs=args.epochs)
    print(f"paper protocol: {args.seeds} seeds × {len(PAPER_METHODS)} methods × {len(PAPER_THRESHOLDS)} thresholds, "
          f"{args.epochs} epochs, {os.cpu_count()} CPUs, torch {torch.__version__}, 1 torch thread per task")  # fmt: skip
    paper(seeds=1, epochs=2)  # this process's first-call imports are not the protocol's time
    _, in_default = timed("in-process, one task per method", **kw)
    ref, in_chunked = timed(f"in-process, {args.chunk} seeds per task", **kw, chunk=args.chunk)

    t = time.perf_counter()
    cluster = local_cluster(args.workers)  # what scheduler="local:2" starts
    with cluster, Client(cluster) as client:
        print(f"LocalCluster of {args.workers} processes started in {time.perf_counter() - t:.1f} s", flush=True)
        _, cold = timed("cluster, cold (workers import torch, load data)", **kw, chunk=args.chunk, scheduler=client)
        r, warm = timed("cluster, warm", **kw, chunk=args.chunk, scheduler=client)
    pd.testing.assert_frame_equal(ref.frame, r.frame, check_exact=True)
    print("members: bit-identical to the in-process run")

    n, secs, cpu = len(r.tasks), r.tasks.seconds, r.tasks.cpu_seconds
    work = secs.sum()
    overhead = (warm - work / args.workers) / n
    print(f"\ntasks: {n}, per-task time mean {secs.mean():.2f} s, median {secs.median():.2f} s, longest "
          f"{secs.max():.2f} s (CPU: mean {cpu.mean():.2f} s, longest {cpu.max():.2f} s); work W = {work:.1f} s wall, "
          f"{cpu.sum():.1f} s CPU")  # fmt: skip
    print(f"cluster warm / in-process chunked: {warm / in_chunked:.2f}× wall, "
          f"{cpu.sum() / ref.tasks.cpu_seconds.sum():.2f}× task CPU; / in-process default: {warm / in_default:.2f}×; "
          f"cold / in-process default: {cold / in_default:.2f}×")  # fmt: skip
    print(f"overhead per task: {overhead * 1e3:.0f} ms ((warm wall − W / {args.workers}) / n)")
    print("estimated on k worker processes, max(W / k + n · overhead / k, longest task), with W and the longest task")
    print("as measured here (shared cores) and as CPU seconds (what a core of its own would take):")
    for k in (4, 8, 16, 32):
        est = [max(w / k + n * max(overhead, 0) / k, longest) for w, longest in ((work, secs.max()), (cpu.sum(), cpu.max()))]
        print(f"  k = {k}: {est[0]:.1f} s (measured), {est[1]:.1f} s (CPU)")

if __name__ == "__main__":
    main()
