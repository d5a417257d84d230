"""The ``interpretations`` experiment at its default size (14 readings × 20 seeds × the paper's 5
thresholds, 200 epochs), timed end to end; target ≤ 5 minutes on a 2-core machine.

    python benchmarks/bench_interpretations.py              # the default: 20 seeds
    python benchmarks/bench_interpretations.py --seeds 50   # the paper's 50

Prints wall and CPU seconds, the load average (other processes slow the wall time), how many
distinct method settings were trained (a method a reading leaves alone is trained once and
shared by every reading) and the member-epochs trained per second.
"""

from __future__ import annotations

import argparse
import os
import time

from growlab.experiment import interpretations
from growlab.experiment.interpretations import _plan, _population, named


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--epochs", type=int, default=200)
    args = ap.parse_args()
    plan = _plan(named(None))
    members = sum(_population(m, args.seeds, 5) for m, _ in plan)
    load = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    r = interpretations(seeds=args.seeds, epochs=args.epochs)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"{r!r}")
    print(f"{len(r.readings)} readings × {args.seeds} seeds × 5 thresholds: {len(plan)} method settings, "
          f"{members} member trainings of {args.epochs} epochs")  # fmt: skip
    print(f"wall {wall:.1f} s (target <= 300 s), CPU {cpu:.1f} s, load average {load:.2f} → {os.getloadavg()[0]:.2f}, "
          f"{members * args.epochs / wall:,.0f} member-epochs/s")  # fmt: skip


if __name__ == "__main__":
    main()
