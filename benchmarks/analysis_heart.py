"""Redundant connections, DAG pruning and false starts of the paper's seven methods on ``heart``.

Each method trains all its seeds as one population (27-16-8-1, growlab's default run
settings); validation accuracy is recorded every epoch for the false-start rules of DESIGN §5.
At the end it prints, per method: mean redundant connections, mean connections that
``prune_redundant`` removes, the false-start count, and mean validation accuracy.

    python benchmarks/analysis_heart.py --seeds 10 --sparsity 0.9
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from growlab.analysis import false_start_from, prune_redundant, redundant_connections
from growlab.config import parse_arch
from growlab.data import load_cached
from growlab.engine import Network, Optimizer, Trainer, evaluate
from growlab.methods import CycleContext, make_method

PAPER_METHODS = ("dense", "prune", "subnet", "random", "strategic", "random+prune", "strategic+prune")


def run_population(method_name: str, seeds: list[int], epochs: int, sparsity: float, arch: str = "16-8"):
    """Train one population; returns (network, (P, epochs) validation accuracy, majority rate)."""
    data = load_cached("heart", 0)
    specs = make_method(method_name).param_specs()
    method = make_method(method_name, **({"sparsity": sparsity} if "sparsity" in specs else {}))
    sizes = (data.n_inputs, *parse_arch(arch), data.n_outputs)
    net = Network(sizes, population=len(seeds), seeds=seeds, task=data.task, device="cpu")
    opt = Optimizer(net, "adam", lr=0.003)
    trainer = Trainer(net, opt)
    ctx = CycleContext(
        net, opt, trainer, data.X_train, data.y_train, data.X_val, data.y_val,
        torch.Generator().manual_seed(12345), epochs=epochs,
    )  # fmt: skip
    method.setup(ctx)
    acc = np.zeros((len(seeds), epochs))
    cycles = 0
    for epoch in range(1, epochs + 1):
        trainer.epoch(ctx.X_train, ctx.y_train)
        ctx.epoch, ctx.cycle = epoch, cycles + 1
        cycles += bool(method.after_epoch(ctx))
        acc[:, epoch - 1] = evaluate(net, data.X_val, data.y_val)["acc"]
    y = data.y_val.long()
    majority = float(torch.bincount(y).max()) / len(y)
    return net, acc, majority


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--sparsity", type=float, default=0.9)
    ap.add_argument("--methods", default=",".join(PAPER_METHODS))
    args = ap.parse_args()
    torch.set_num_threads(1)
    seeds = list(range(args.seeds))
    print(f"heart 27-16-8-1, sparsity {args.sparsity}, {args.seeds} seeds, {args.epochs} epochs")
    print(f"{'method':<16} {'active':>7} {'redundant':>9} {'DAG removes':>11} {'false starts':>12} {'val acc':>8}   s")
    for name in args.methods.split(","):
        t = time.perf_counter()
        net, acc, majority = run_population(name, seeds, args.epochs, args.sparsity)
        active = net.n_active().double().mean().item()
        redundant = redundant_connections(net).counts.double()
        _, report = prune_redundant(net)
        fs = false_start_from(acc, majority, net, epochs=args.epochs)
        print(
            f"{name:<16} {active:>7.1f} {redundant.mean().item():>9.1f} {report.counts.double().mean().item():>11.1f} "
            f"{int(fs.flags.sum()):>6}/{len(seeds):<5} {100 * acc[:, -1].mean():>7.1f}%  {time.perf_counter() - t:4.0f}"
        )


if __name__ == "__main__":
    main()
