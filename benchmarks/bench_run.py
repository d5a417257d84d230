"""``Run.step()`` against a plain ``torch.nn.Sequential`` epoch with the same optimizer (issue 20).

What the app, the CLI and every ``Run`` user call per epoch is ``Run.step()``: an epoch, the
restore point a divergence goes back to, the finiteness checks, the method's cycle (none for
``dense``) and the history row (validation metrics, density, redundant connections). This
prints, for each case, the median ratio ``Run.step / plain epoch``, the two measured
interleaved in one process (rounds alternate), 1 torch thread by default, as wall time and as
this process's CPU time (the steadier figure on a shared machine). Target ≤ 1.1×.

The plain epoch is what a user would write: the same layer sizes as ``nn.Linear`` / ``nn.Conv2d``
modules, the same (fused) Adam and learning rate, the same batch size, a fresh ``randperm`` per
epoch, and the mean training loss kept from the batches (nothing else).

``--parts`` also prints where a step's time goes (the epoch, the restore point, the row).

    python benchmarks/bench_run.py [--rounds 7] [--epochs 5] [--threads 1] [--cases heart,lenet-300-100,lenet-5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

import growlab
from growlab.engine import evaluate
from growlab.engine.optim import _fused_or_foreach

CASES = {  # name: (dataset, arch)
    "heart": ("heart", "16-8"),
    "lenet-300-100": ("mnist5k", "lenet-300-100"),
    "lenet-5": ("mnist5k", "lenet-5"),
}


def plain_epoch_fn(run: growlab.Run):
    """A plain ``nn.Sequential`` training epoch of the run's shapes, optimizer and batch size."""
    torch.manual_seed(0)
    net = run.network
    seq = net.to_sequential(0)  # the same layers, as plain modules, dense
    image = net.image
    X, y = run.ctx.X_train, run.ctx.y_train
    if image is not None:
        X = X.reshape(-1, *image)
    task = run.data.task
    opt = _fused_or_foreach(torch.optim.Adam, list(seq.parameters()), lr=run.optimizer.lr)
    n = X.shape[0]
    bs = run.trainer.batch_size or (n if n <= 1024 else 128)

    def loss_of(out, target):
        if task == "binary":
            return F.binary_cross_entropy_with_logits(out[:, 0], target)
        if task == "regression":
            return F.mse_loss(out[:, 0], target)
        return F.cross_entropy(out, target.long())

    def epoch() -> float:
        order = torch.randperm(n) if bs < n else None
        total = 0.0
        for start in range(0, n, bs):
            idx = None if order is None else order[start : start + bs]
            xb, yb = (X, y) if idx is None else (X[idx], y[idx])
            opt.zero_grad(set_to_none=True)
            loss = loss_of(seq(xb), yb)
            loss.backward()
            opt.step()
            total += loss.detach() * xb.shape[0]
        return float(total) / n

    return epoch


def measure(case: str, rounds: int, epochs: int, method: str) -> tuple[float, float, float, float]:
    """(median wall ratio, median ms per Run.step, median ms per plain epoch, median cpu-time
    ratio), interleaved. CPU time counts this process's own work only: on a shared machine it
    is the steadier figure."""
    dataset, arch = CASES[case]
    run = growlab.Run(dataset, arch, method, epochs=10**6, seed=0)
    plain = plain_epoch_fn(run)
    run.step(), plain()  # warm-up
    steps, plains, ratios, cpus = [], [], [], []
    for _ in range(rounds):
        t, c = time.perf_counter(), time.process_time()
        for _ in range(epochs):
            run.step()
        a, ac = (time.perf_counter() - t) / epochs, (time.process_time() - c) / epochs
        t, c = time.perf_counter(), time.process_time()
        for _ in range(epochs):
            plain()
        b, bc = (time.perf_counter() - t) / epochs, (time.process_time() - c) / epochs
        steps.append(a)
        plains.append(b)
        ratios.append(a / b)
        cpus.append(ac / bc)
    assert run.status == "ready", run.status
    ms = statistics.median(steps) * 1e3, statistics.median(plains) * 1e3
    return statistics.median(ratios), *ms, statistics.median(cpus)


def parts(case: str, epochs: int, method: str) -> dict[str, float]:
    """Median ms of each part of a step, measured on their own."""
    dataset, arch = CASES[case]
    run = growlab.Run(dataset, arch, method, epochs=10**6, seed=0)
    run.step()
    X, y = run.ctx.X_train, run.ctx.y_train
    train = run.trainer.epoch_metrics(X, y)

    def row():  # the validation pass and the row (the step appends one per epoch; drop the extra)
        run._record(train, evaluate(run.network, run.ctx.X_val, run.ctx.y_val, run.data.target_std))
        run._history.pop()

    funcs = {
        "epoch (Trainer.epoch)": lambda: run.trainer.epoch(X, y),
        "restore point": run._save_before_epoch,
        "history row": row,
        "whole step": run.step,
    }
    out = {}
    for name, fn in funcs.items():
        fn()
        ts = []
        for _ in range(epochs):
            t = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t)
        out[name] = statistics.median(ts) * 1e3
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--epochs", type=int, default=5, help="epochs per timed round")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--method", default="dense")
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--parts", action="store_true", help="also time each part of a step")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, cpu, threads {torch.get_num_threads()}, method {args.method}, "
          f"{args.rounds} interleaved rounds of {args.epochs} epochs")  # fmt: skip
    print(f"{'case':<15} {'Run.step ms':>12} {'plain epoch ms':>15} {'wall ratio':>11} {'cpu ratio':>10}  (target <= 1.10x)")
    for case in args.cases.split(","):
        ratio, step_ms, plain_ms, cpu = measure(case, args.rounds, args.epochs, args.method)
        print(f"{case:<15} {step_ms:12.2f} {plain_ms:15.2f} {ratio:10.2f}x {cpu:9.2f}x")
        if args.parts:
            for name, ms in parts(case, args.epochs * 2, args.method).items():
                print(f"    {name:<24} {ms:8.2f} ms")


if __name__ == "__main__":
    main()
