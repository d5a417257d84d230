"""NeST and the lottery ticket on ``mnist5k`` with LeNet-300-100, next to the dense network.

Reports each run's final validation accuracy, active connections, and compression ratio
(connections of the dense 784-300-100-10 network, 266,200, over active connections). The
papers' LeNet-300-100 figures are on the full 60,000-image MNIST: NeST 34.1× parameters, Han
et al. 12× (as quoted in the ODF2NNA paper's Table 4); mnist5k has 4,000 training images.

    python benchmarks/nest_lottery_lenet.py                 # dense, nest, lottery; seed 0
    python benchmarks/nest_lottery_lenet.py --methods nest --epochs 30
"""

from __future__ import annotations

import argparse
import time

import torch

from growlab import Run

SETTINGS = {
    "dense": {},
    "nest": dict(seed_ratio=0.5, seed_density=0.1, grow_fraction=0.05, neurons_per_cycle=5, target_accuracy=0.95,
                 grow_until=0.4, interval=2, prune_fraction=0.1, tolerance=0.01),
    "lottery": dict(rounds=5, rate=0.5),
}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--methods", nargs="+", default=list(SETTINGS))
    ap.add_argument("--epochs", type=int, default=36)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(2)
    dense_conns = 784 * 300 + 300 * 100 + 100 * 10
    print(f"mnist5k LeNet-300-100, {args.epochs} epochs, Adam lr 0.003, batch 128, seed {args.seed}")
    print("| method | settings | val acc | active connections | compression | time |")
    print("|---|---|---|---|---|---|")
    for name in args.methods:
        t = time.time()
        run = Run("mnist5k", "lenet-300-100", name, epochs=args.epochs, seed=args.seed, batch_size=128, **SETTINGS[name])
        h = run.run()
        conns = int(run.network.n_active()[0])
        best = f" (best epoch {h.val_acc.max():.3f})" if name == "nest" else ""
        settings = ", ".join(f"{k}={v}" for k, v in SETTINGS[name].items()) or "—"
        print(f"| {name} | {settings} | {h.val_acc.iloc[-1]:.3f}{best} | {conns:,} | {dense_conns / conns:.1f}× | {time.time() - t:.0f} s |")
        phases = run.events[run.events.kind.isin(["phase", "rewind"])]
        for e, c in zip(phases.epoch, phases.cause):
            print(f"  epoch {e}: {c}")


if __name__ == "__main__":
    main()
