"""The timeline of a LeNet-300-100 run on mnist5k: its memory, its cost per epoch, and scrubbing.

Trains LeNet-300-100 (266,200 connections) with ``prune`` (polynomial to 90% sparsity, so the
structure changes every epoch until 80% of training), then reports

1. the timeline's checkpoint interval and memory after all epochs (issue 18: "a few tens of MB"
   for 200 epochs);
2. what recording one epoch costs next to the epoch itself (a ratio);
3. scrubbing: ``runner.at(epoch)`` (rebuild the network from the timeline) plus
   ``NetworkDiagram.update`` plus the curves' cursor, server-side, in milliseconds, median and
   worst over epochs spread across the run, and the same with encoding the document patch as
   the server would send it (target ≤ 100 ms), in wall-clock time and in this process's CPU
   time (on a machine shared with other work the CPU time is what the scrub itself costs), with
   the load average.

Run: ``python benchmarks/bench_timeline.py [--epochs 200]`` (about 3 minutes on a 2-core CPU).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import torch
from bokeh.document import Document
from bokeh.protocol import Protocol

from growlab import Run
from growlab.run.runner import Runner
from growlab.ui.curves import Curves
from growlab.ui.diagram import NetworkDiagram


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--method", default="prune")
    ap.add_argument("--archive", default=None, help="keep the trained run here; when it exists, load it (skips 2.)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.archive and os.path.exists(args.archive):
        run = Run.load(args.archive, device="cpu")
        print(f"loaded {args.archive}: {run}")
        scrub(run, run.epoch)
        return
    run = Run("mnist5k", "lenet-300-100", args.method, epochs=args.epochs, seed=0)
    tl = run.timeline
    print(f"LeNet-300-100 on mnist5k, {args.method}, {args.epochs} epochs: checkpoint every {tl.every} epochs "
          f"(budget {tl.budget / 2**20:.0f} MiB)")  # fmt: skip
    epoch_s, record_s = [], []
    original = tl.record

    def timed(r) -> None:
        t0 = time.perf_counter()
        original(r)
        record_s.append(time.perf_counter() - t0)

    tl.record = timed
    t_start = time.perf_counter()
    for _ in range(args.epochs):
        t0 = time.perf_counter()
        run.step()
        epoch_s.append(time.perf_counter() - t0)
    tl.record = original
    print(f"trained in {time.perf_counter() - t_start:.0f} s; final density {run.history['density'].iloc[-1]:.3f}")
    n_ckpt = sum(1 for e in tl._entries if e.ckpt is not None)
    print(f"1. timeline memory: {tl.nbytes() / 2**20:.1f} MiB ({tl.nbytes() / 1e6:.1f} MB) for {len(tl.epochs)} epochs, "
          f"{n_ckpt} checkpoints + the latest epoch")  # fmt: skip
    rec, ep = statistics.median(record_s), statistics.median(epoch_s)
    print(f"2. recording an epoch: {rec * 1e3:.1f} ms median, {100 * rec / ep:.2f}% of an epoch ({ep * 1e3:.0f} ms, "
          "which includes it)")  # fmt: skip
    if args.archive:
        run.save(args.archive)
    scrub(run, args.epochs)


def scrub(run, epochs: int) -> None:
    """3.: scrub to epochs spread over the run, timing the server's side of each (wall clock and
    this process's CPU time: on a machine shared with other work the CPU time is the steadier)."""
    runner = Runner(run=run)
    try:
        diagram, curves = NetworkDiagram(edge_budget=3000), Curves()
        doc = Document()
        doc.add_root(diagram.figure)
        for f in curves.figures:
            doc.add_root(f)
        diagram.update(runner.snapshot)
        events: list = []
        doc.on_change(events.append)
        proto = Protocol()
        t0, c0 = time.perf_counter(), time.process_time()
        runner.at(0)  # indexes the events logged since the last scrub (an archive indexes its log when it loads)
        print(f"3. first scrub ({len(run.event_log):,} events; an archive indexes them when it loads): "
              f"{(time.perf_counter() - t0) * 1e3:.0f} ms wall, {(time.process_time() - c0) * 1e3:.0f} ms CPU")  # fmt: skip
        rng = np.random.default_rng(0)
        targets = rng.integers(0, epochs, size=40)
        at_ms, alone, total, cpu, worst = [], [], [], [], []
        for e in targets:
            events.clear()
            c0, t0 = time.process_time(), time.perf_counter()
            snap = runner.at(int(e))
            t1 = time.perf_counter()
            diagram.update(snap)
            curves.cursor(int(e))
            t2 = time.perf_counter()
            sent = [x for x in events if hasattr(x, "to_serializable")]
            if sent:
                proto.create("PATCH-DOC", sent)
            t3, c3 = time.perf_counter(), time.process_time()
            worst.append(((t3 - t0) * 1e3, int(e), len(snap.recent)))
            at_ms.append((t1 - t0) * 1e3)
            alone.append((t2 - t0) * 1e3)
            total.append((t3 - t0) * 1e3)
            cpu.append((c3 - c0) * 1e3)
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"   scrub to an epoch (40 epochs, load average {load:.1f} on {os.cpu_count()} cores): runner.at "
              f"{statistics.median(at_ms):.1f} ms; + diagram and cursor {statistics.median(alone):.1f} ms median, "
              f"{max(alone):.1f} ms worst; + encoding the patch {statistics.median(total):.1f} ms median, "
              f"{max(total):.1f} ms worst (target ≤ 100 ms); CPU time {statistics.median(cpu):.1f} ms median, "
              f"{max(cpu):.1f} ms worst")  # fmt: skip
        ms, e, n = max(worst)
        print(f"   the worst: epoch {e}, whose fading window holds {n:,} grow/prune events for the diagram to sort")
    finally:
        runner.close()


if __name__ == "__main__":
    main()
