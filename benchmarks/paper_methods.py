"""The synthesis-and-pruning paper's seven methods on ``heart`` 27-16-8-1, many seeds at once.

Each method trains all its seeds as one population (the way an experiment batches members)
and reports the final validation accuracy (mean, min), AUC (mean, min) and density (mean).
Run settings are growlab's defaults (Adam, lr 0.003, full batch, 200 epochs) unless given.

    python benchmarks/paper_methods.py --seeds 10 --sparsity 0.9
    python benchmarks/paper_methods.py --sparsity 0.99 --set interval=5
"""

from __future__ import annotations

import argparse
import time

import torch

from growlab.cli import parse_value
from growlab.config import parse_arch
from growlab.data import load_cached
from growlab.engine import Network, Optimizer, Trainer, evaluate
from growlab.methods import CycleContext, make_method

PAPER_METHODS = ("dense", "prune", "subnet", "random", "strategic", "random+prune", "strategic+prune")
#: Table 1 of the paper (mean over 50 models, threshold 99%): accuracy, AUC
TABLE_1 = {
    "dense": (84.83, 78.19), "prune": (86.21, 72.52), "subnet": (77.31, 72.04), "random": (77.31, 72.04),
    "strategic": (83.28, 78.70), "random+prune": (80.79, 76.46), "strategic+prune": (83.62, 75.80),
}  # fmt: skip


def train_population(
    method_name: str, seeds: list[int], epochs: int, sparsity: float, params: dict,
    dataset: str = "heart", arch: str = "16-8", batch_size: int | None = None, lr: float = 0.003,
):  # fmt: skip
    """Train one population (one member per seed); returns ``evaluate`` of the validation set and density."""
    data = load_cached(dataset, 0)
    kw = dict(params)
    method_cls_params = make_method(method_name).param_specs()
    if "sparsity" in method_cls_params:
        kw["sparsity"] = sparsity
    method = make_method(method_name, **{k: v for k, v in kw.items() if k in method_cls_params})
    sizes = (data.n_inputs, *parse_arch(arch), data.n_outputs)
    net = Network(sizes, population=len(seeds), seeds=seeds, task=data.task, device="cpu")
    opt = Optimizer(net, "adam", lr=lr)
    trainer = Trainer(net, opt, batch_size=batch_size)
    ctx = CycleContext(
        net, opt, trainer, data.X_train, data.y_train, data.X_val, data.y_val,
        torch.Generator().manual_seed(12345), epochs=epochs,
    )  # fmt: skip
    method.setup(ctx)
    cycles = 0
    for epoch in range(1, epochs + 1):
        trainer.epoch(ctx.X_train, ctx.y_train)
        ctx.epoch, ctx.cycle = epoch, cycles + 1
        cycles += bool(method.after_epoch(ctx))
    return evaluate(net, data.X_val, data.y_val), net.density().numpy()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--sparsity", type=float, default=0.9)
    ap.add_argument("--batch-size", type=int, default=None, help="rows per step (default: full batch)")
    ap.add_argument("--lr", type=float, default=0.003)
    ap.add_argument("--methods", default=",".join(PAPER_METHODS))
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="method parameter for all methods that have it")
    args = ap.parse_args()
    params = {k: parse_value(v) for k, _, v in (s.partition("=") for s in args.set)}
    torch.set_num_threads(1)  # tiny networks: one thread is fastest, and immune to a busy machine
    seeds = list(range(args.seeds))
    print(
        f"heart 27-16-8-1, sparsity {args.sparsity}, {args.seeds} seeds, {args.epochs} epochs, "
        f"batch {args.batch_size or 'full'}, lr {args.lr}, {params or 'default method parameters'}"
    )
    print(f"{'method':<16} {'acc mean':>8} {'acc min':>8} {'auc mean':>8} {'auc min':>8} {'density':>8}   paper T1 (99%) acc/auc   s")
    for name in args.methods.split(","):
        t = time.perf_counter()
        m, density = train_population(name, seeds, args.epochs, args.sparsity, params, batch_size=args.batch_size, lr=args.lr)
        acc, auc = m["acc"] * 100, m["auc"] * 100
        ref = TABLE_1.get(name, (float("nan"),) * 2)
        print(
            f"{name:<16} {acc.mean():8.2f} {acc.min():8.2f} {auc.mean():8.2f} {auc.min():8.2f} {density.mean():8.3f}"
            f"   {ref[0]:6.2f} / {ref[1]:6.2f}   {time.perf_counter() - t:5.1f}"
        )


if __name__ == "__main__":
    main()
