"""NeST and the lottery ticket on ``mnist5k`` with LeNet-300-100, next to the dense network.

Reports each run's final validation accuracy, active connections, and compression ratio
(connections of the dense 784-300-100-10 network, 266,200, over active connections), and the
phase and rewind events that explain where each run stopped. The papers' LeNet-300-100 figures
are on the full 60,000-image MNIST: NeST 34.1× parameters, Han et al. 12× (as quoted in the
ODF2NNA paper's Table 4); mnist5k has 4,000 training images. Deterministic: torch runs on one
thread (``python docs/scripts/reproduce.py --only lenet`` regenerates the report's table).

    python benchmarks/nest_lottery_lenet.py                 # dense, nest, lottery; seed 0
    python benchmarks/nest_lottery_lenet.py --methods nest --epochs 30
"""

from __future__ import annotations

import argparse
import time
from typing import Sequence

import pandas as pd
import torch

from growlab import Run
from growlab.experiment.report import md_table

SETTINGS = {
    "dense": {},
    "nest": dict(seed_ratio=0.5, seed_density=0.1, grow_fraction=0.05, neurons_per_cycle=5, target_accuracy=0.95,
                 grow_until=0.4, interval=2, prune_fraction=0.1, tolerance=0.01),
    "lottery": dict(rounds=5, rate=0.5),
}  # fmt: skip
TRAINING = dict(epochs=36, batch_size=128)  # Adam at lr 0.003: a Run's defaults
DENSE_CONNECTIONS = 784 * 300 + 300 * 100 + 100 * 10


def compute(
    methods: Sequence[str] = tuple(SETTINGS), seed: int = 0, epochs: int = TRAINING["epochs"], report=None
) -> pd.DataFrame:
    """One row per method: final and best validation accuracy, active connections, and its phase
    and rewind events (``epoch: cause``, joined by ``; ``)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    rows = []
    try:
        for name in methods:
            t = time.perf_counter()
            run = Run("mnist5k", "lenet-300-100", name, seed=seed, **{**TRAINING, "epochs": epochs}, **SETTINGS[name])
            h = run.run()
            ev = run.events[run.events.kind.isin(["phase", "rewind"])]
            rows.append({
                "method": name, "seed": seed, "epochs": epochs, "batch_size": TRAINING["batch_size"],
                "settings": ", ".join(f"{k}={v}" for k, v in SETTINGS[name].items()),
                "val_acc": float(h.val_acc.iloc[-1]), "best_val_acc": float(h.val_acc.max()),
                "active": int(run.network.n_active()[0]),
                "events": "; ".join(f"epoch {e}: {c}" for e, c in zip(ev.epoch, ev.cause)),
            })  # fmt: skip
            if report:
                report(f"{name}: {time.perf_counter() - t:.0f} s")
    finally:
        torch.set_num_threads(before)
    return pd.DataFrame(rows)


def render(rows: pd.DataFrame) -> str:
    """The table (accuracy, connections, compression) and each run's phase/rewind events."""
    t = pd.DataFrame({
        "settings": [s if isinstance(s, str) and s else "—" for s in rows.settings],
        "validation accuracy": rows.val_acc.map("{:.3f}".format), "best epoch": rows.best_val_acc.map("{:.3f}".format),
        "active connections": rows.active.map("{:,}".format),
        "compression": (DENSE_CONNECTIONS / rows.active).map("{:.1f}×".format),
    }).set_index(rows.method)  # fmt: skip
    r0 = rows.iloc[0]
    head = (f"Seed {r0.seed}, {r0.epochs} epochs, Adam lr 0.003, batch {r0.batch_size}; compression = "
            f"{DENSE_CONNECTIONS:,} dense connections / active connections.")  # fmt: skip
    events = [f"- {m}: {e}" for m, e in zip(rows.method, rows.events) if isinstance(e, str) and e]
    return "\n".join([head, "", md_table(t), *([""] + ["Phase and rewind events:", ""] + events if events else [])])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--methods", nargs="+", default=list(SETTINGS))
    ap.add_argument("--epochs", type=int, default=TRAINING["epochs"])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rows = compute(args.methods, args.seed, args.epochs, report=print)
    print(render(rows))


if __name__ == "__main__":
    main()
