"""``Run.step()`` against a plain ``torch.nn.Sequential`` epoch with the same optimizer (issue 20).

What the app, the CLI and every ``Run`` user call per epoch is ``Run.step()``: an epoch, the
restore point a divergence goes back to, the finiteness checks, the method's cycle (none for
``dense``), the validation pass, the history row (validation metrics, density, redundant
connections) and the timeline record. This prints, for each case, the ratio of the medians
``Run.step / plain epoch``, the two alternated epoch by epoch in one process, 1 torch thread by
default, as wall time and as this process's CPU time (the steadier figure on a shared machine),
with the load average while it ran. Target ≤ 1.1×.

The plain epoch is what a user would write: the same layer sizes as ``nn.Linear`` / ``nn.Conv2d``
modules, the same (fused) Adam and learning rate, the same batch size, a fresh ``randperm`` per
epoch, and the mean training loss kept from the batches (nothing else: no validation pass).

``--parts`` also prints each part of a step as a fraction of a plain epoch (CPU time, each
alternated with the plain epoch): the epoch, the validation pass, the timeline record, the
restore point, the finiteness check, the row.

    python benchmarks/bench_run.py [--rounds 7] [--epochs 5] [--threads 1] [--cases heart,lenet-300-100,lenet-5] [--parts]

Measured on the shared 2-core CPU machine (other sessions' load average 4–8), CPU-time ratio
``Run.step / plain epoch``, each from one run, before = 3329374 and after = this branch's
engine/run changes, runs alternated (old, new, old, new):

    case            before (2 runs)   after (2 runs)
    heart           2.63x, 2.55x      2.10x, 2.15x     (load 4.4-7.6)
    lenet-300-100   1.29x, 1.21x      1.15x, 1.14x     (load 4.1-7.3)
    lenet-5         0.91x, 0.93x      0.88x, 0.94x     (load 4.1-6.4; the plain nn.Conv2d epoch is the slower)

A later run of the whole benchmark after (load 2.7–3.2): heart 2.10x, lenet-300-100 1.18x,
lenet-5 0.93x. Run to run, a ratio moves by about ±0.05 on this machine.

Where the rest goes (``--parts``, after): heart's plain epoch is one full-batch step of ~0.8 ms,
and a step adds a validation pass (0.35–0.5× a plain epoch: a forward of 61 rows, loss, AUC,
F1), the timeline record (~0.2×), the restore point (0.04–0.1×) and the row (<0.05×) to an
epoch of 0.85–1.05×, so per-step overhead keeps heart near 2×. LeNet-300-100's epoch is
0.93–1.0× a plain one and its validation pass over 1,000 rows ~0.085× (a forward of a quarter
of the training rows), the timeline 0.008×, the restore point 0.005×.
"""

from __future__ import annotations

import argparse
import os
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


def _alternate(funcs: dict, n: int) -> dict[str, tuple[list[float], list[float]]]:
    """Call each of ``funcs`` in turn, ``n`` times round: per call (wall s, this process's cpu s).
    Alternating call by call, the machine's load falls on every function alike."""
    times = {k: ([], []) for k in funcs}
    for _ in range(n):
        for name, fn in funcs.items():
            t, c = time.perf_counter(), time.process_time()
            fn()
            times[name][0].append(time.perf_counter() - t)
            times[name][1].append(time.process_time() - c)
    return times


def measure(case: str, rounds: int, epochs: int, method: str) -> dict[str, float]:
    """``Run.step`` against the plain epoch, alternated epoch by epoch (``rounds * epochs`` of
    each): the medians in ms and their ratios, wall time and this process's CPU time (the
    steadier figure on a shared machine), and the load average while it ran."""
    dataset, arch = CASES[case]
    run = growlab.Run(dataset, arch, method, epochs=10**6, seed=0)
    plain = plain_epoch_fn(run)
    for _ in range(2):
        run.step(), plain()  # warm-up
    load0 = os.getloadavg()[0]
    t = _alternate({"step": run.step, "plain": plain}, rounds * epochs)
    assert run.status == "ready", run.status
    med = {k: (statistics.median(w), statistics.median(c)) for k, (w, c) in t.items()}
    return {
        "step_ms": med["step"][0] * 1e3, "plain_ms": med["plain"][0] * 1e3,
        "wall": med["step"][0] / med["plain"][0], "cpu": med["step"][1] / med["plain"][1],
        "load": (load0 + os.getloadavg()[0]) / 2,
    }  # fmt: skip


def parts(case: str, n: int, method: str) -> dict[str, float]:
    """Each part of a step measured on its own, alternated with the plain epoch: median CPU
    time of the part / median CPU time of the plain epoch."""
    dataset, arch = CASES[case]
    run = growlab.Run(dataset, arch, method, epochs=10**6, seed=0)
    plain = plain_epoch_fn(run)
    run.step()
    ctx = run.ctx
    train = run.trainer.epoch_metrics(ctx.X_train, ctx.y_train)
    val = evaluate(run.network, ctx.X_val, ctx.y_val, run.data.target_std)

    def row():  # the history row (the step appends one per epoch; drop the extra)
        run._record(train, val)
        run._history.pop()

    def timeline():  # the network recorded as a new epoch's, as a step records it
        run.epoch += 1
        run.timeline.record(run)

    funcs = {
        "plain epoch": plain,
        "epoch (Trainer.epoch_metrics)": lambda: run.trainer.epoch_metrics(ctx.X_train, ctx.y_train),
        "validation pass (evaluate)": lambda: evaluate(run.network, ctx.X_val, ctx.y_val, run.data.target_std),
        "timeline record": timeline,
        "restore point": run._save_before_epoch,
        "finiteness (is_finite)": run.network.is_finite,
        "history row": row,
    }
    for fn in funcs.values():
        fn()
    t = _alternate(funcs, n)
    base = statistics.median(t["plain epoch"][1])
    return {name: statistics.median(c) / base for name, (_, c) in t.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--epochs", type=int, default=5, help="epochs per round (rounds × epochs of each, alternated)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--method", default="dense")
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--parts", action="store_true", help="also time each part of a step (as a fraction of a plain epoch)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, cpu, threads {torch.get_num_threads()}, {os.cpu_count()} cores, method {args.method}, "
          f"{args.rounds * args.epochs} epochs of each, alternated")  # fmt: skip
    print(f"{'case':<15} {'Run.step ms':>12} {'plain epoch ms':>15} {'wall ratio':>11} {'cpu ratio':>10} {'load':>5}  (target <= 1.10x)")
    for case in args.cases.split(","):
        m = measure(case, args.rounds, args.epochs, args.method)
        print(f"{case:<15} {m['step_ms']:12.2f} {m['plain_ms']:15.2f} {m['wall']:10.2f}x {m['cpu']:9.2f}x {m['load']:5.1f}")
        if args.parts:
            for name, ratio in parts(case, max(args.rounds * args.epochs // 2, 3), args.method).items():
                print(f"    {name:<32} {ratio:6.3f}x plain epoch (cpu)")


if __name__ == "__main__":
    main()
