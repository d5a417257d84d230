"""Is the memory estimate honest? (issue 13; prints, asserts nothing)

For a few large setups, each in a fresh process: the estimate growlab refuses or reserves by
(:func:`growlab.run.runner.estimate_run`, the same one ``growlab serve``'s memory budget uses)
against the measured peak: the process's peak resident memory (``ru_maxrss``) while building
the run, training two epochs and taking the snapshot a UI draws, minus its resident memory
before (Python, torch and the dataset loaded).

    python benchmarks/bench_memory.py
"""

from __future__ import annotations

import json
import subprocess
import sys

SETUPS = [
    {"dataset": "heart", "arch": "3000-3000", "epochs": 5},
    {"dataset": "mnist5k", "arch": "8000", "batch_size": 4000, "epochs": 5},
    {"dataset": "mnist5k", "arch": "2000-2000-2000", "method": "strategic+prune", "epochs": 5},
]

CHILD = r"""
import json, resource, sys, torch
torch.set_num_threads(1)
from growlab.data import load_cached
from growlab.run import Run
from growlab.run.runner import estimate_run
from growlab.run.snapshot import snapshot_of

spec = json.loads(sys.argv[1])
load_cached(spec["dataset"])
est = estimate_run(spec)
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()
base = rss()
run = Run(**spec)
for _ in range(2):
    run.step()
snap = snapshot_of(run, 1, "ready", None, run_id=1, extra={})
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
cap = run.network.capacity
old = 37 * sum(a * b for a, b in zip(cap[:-1], cap[1:]))  # the estimate before issue 13: connections only
print(json.dumps({"estimate": est, "measured": peak - base, "old": old}))
"""


def main() -> None:
    print(f"{'setup':58} {'old est.':>10} {'estimate':>10} {'measured':>10} {'ratio':>6}")
    for spec in SETUPS:
        out = subprocess.run([sys.executable, "-c", CHILD, json.dumps(spec)], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        name = ", ".join(f"{k}={v}" for k, v in spec.items() if k != "epochs")
        print(f"{name:58} {r['old'] / 2**20:6.0f} MiB {r['estimate'] / 2**20:6.0f} MiB {r['measured'] / 2**20:6.0f} MiB {r['estimate'] / r['measured']:6.2f}")


if __name__ == "__main__":
    main()
