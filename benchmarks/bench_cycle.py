"""One grow/prune cycle on LeNet-300-100 (266k connections), or on LeNet-5 (44k weights: kernel
taps and dense connections, ``--arch lenet-5``), as a ratio to one training epoch on ``mnist5k``
(DESIGN §9 and issue 16 targets: ≤ 10%).

Times, on the same machine and process: a training epoch (4,000 rows, batch 128), each part
alone (every grow part, every prune criterion × scope, each moving 1% of the connections) and a
whole scheduled cycle of each named method, all as a single-member run with its event log on
(the app's case). Best of a few repeats, wall and CPU time; prints the ratios. CPU time is the
primary figure on a shared machine (other processes inflate wall time); rows above 10% of it are
flagged.

On LeNet-5 the table adds pruning by kernels and by channels and the phase methods' cycles:
NeST's growth cycle with its defaults (every growth decision on ``growth_rows`` = 256 training
rows) and on the whole training set (``growth_rows=None``, about an epoch and a half), and the
default cycle's two halves: the phase decision's validation pass (a forward pass over the
1,000 validation images, which no growth setting changes) and the growth itself; then NeST
with ``max_width=2`` (a birth in every layer in every timed cycle) on 256 rows, 128 rows and
the whole set, as shares of that run's own epoch.

``--rigl`` (LeNet-300-100 only) instead sets a whole ``gradient+prune`` cycle moving k
connections (prune the k smallest weights, grow k by gradient magnitude on 256 sampled rows,
events logged) beside the same update written plainly in torch over an ``nn.Sequential`` with
one mask per layer (RigL's drop/grow: per-layer ``topk`` of |w| and |∂L/∂w|, grown weights and
their Adam moments zeroed), at k from 0.1% to 10% of the connections, interleaved, CPU time.
Target: the growlab cycle ≤ the plain update at every k.

    python benchmarks/bench_cycle.py [--repeats 5] [--device cpu] [--threads 1] [--arch lenet-5] [--rigl]
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Callable

import torch

import growlab
from growlab.methods.checkpoint import quality
from growlab.methods.grow import GROWERS
from growlab.methods.inits import random_sparse
from growlab.methods.prune import CRITERIA, Pruner
from growlab.methods.scores import batch_stats


def timed(fn: Callable[[], object], repeats: int, sync: Callable[[], None]) -> tuple[float, float]:
    """Best wall time and best process CPU time of ``fn()`` over ``repeats`` calls (after a warm-up).

    The best of several runs is the least disturbed by other work on the machine; CPU time
    counts only this process's own work (on a busy machine the wall ratio is noisier).
    """
    fn()
    sync()
    walls, cpus = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        fn()
        sync()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return min(walls), min(cpus)


ARCH = "lenet-300-100"


def substrate(method: str, device: str | None, **params) -> growlab.Run:
    """A run of :data:`ARCH` on mnist5k after one epoch of training."""
    run = growlab.Run("mnist5k", ARCH, method, epochs=100, seed=0, device=device, **params)
    run.step()
    return run


def focal(k: int) -> int:
    """Focal junctures that grow about ``k`` connections (a conv juncture grows a whole kernel)."""
    return k if ARCH == "lenet-300-100" else max(1, k // 16)


def part_timings(repeats: int, device: str | None, sync) -> dict[str, tuple[float, float]]:
    """Seconds per call of each grow part and prune criterion × scope, 1% of connections each."""
    run = substrate("gradient+prune", device, density=0.1, sparsity=0.5)  # 10% dense, room to grow
    ctx, k = run.ctx, run.network.n_possible() // 100
    out = {}
    for name in GROWERS.names():
        grower = GROWERS.make(name, **({"focal_junctures": focal(k)} if name == "strategic" else {"grow_per_cycle": k}))
        room = torch.tensor([k])
        plan = lambda g=grower: g.plan(ctx, room, batch_stats(ctx) if g.needs_gradients else None)  # noqa: E731
        out[f"grow {name} (plan only)"] = timed(plan, repeats, sync)
    for crit in CRITERIA.names():
        for scope in ("global", "per_layer"):
            pruner = Pruner(criterion=crit, scope=scope, min_age=0)
            c = pruner.criterion
            select = lambda p=pruner, c=c: p.select(  # noqa: E731
                ctx, torch.tensor([k]), batch_stats(ctx, fisher=c.needs_fisher) if c.needs_gradients else None
            )
            out[f"prune {crit} {scope} (select only)"] = timed(select, repeats, sync)
    if ARCH != "lenet-300-100":
        for granularity in ("kernel", "channel"):
            pruner = Pruner(min_age=0, granularity=granularity)
            out[f"prune magnitude by {granularity} (select only)"] = timed(
                lambda p=pruner: p.select(ctx, torch.tensor([k])), repeats, sync
            )
    return out


def method_timings(repeats: int, device: str | None, sync) -> dict[str, tuple[float, float]]:
    """Seconds per forced cycle (``run.cycle()``: structure changes, events, optimizer resets).

    Growing methods start from the same 10%-dense Erdős–Rényi structure (``core=``) and move 1%
    of the connections per cycle; the last row is strategic+prune with its defaults from the
    sub-network (what the app starts with).
    """
    net = growlab.Run("mnist5k", ARCH, "dense", epochs=1, device=device).network
    core = random_sparse(net, 0.1, torch.Generator().manual_seed(0))  # one (out, in) mask per layer
    k = net.n_possible() // 100
    grow = dict(sparsity=0.5, core=core, grow_per_cycle=k)
    setups = {
        "prune steps (dense, 1%)": ("prune", {"sparsity": 0.9, "schedule": "steps", "prune_per_cycle": k}),
        "random (1%)": ("random", grow),
        "strategic (1%)": ("strategic", {**grow, "focal_junctures": focal(k), "grow_per_cycle": None}),
        "random+prune (1%)": ("random+prune", {**grow, "prune_per_cycle": k}),
        "strategic+prune (1%)": ("strategic+prune", {**grow, "focal_junctures": focal(k), "prune_per_cycle": k, "grow_per_cycle": None}),
        "gradient+prune (1%)": ("gradient+prune", {**grow, "prune_per_cycle": k}),
        "strategic+prune (defaults, sub-network)": ("strategic+prune", {}),
    }
    if ARCH != "lenet-300-100":
        for granularity in ("kernel", "channel"):
            setups[f"prune steps by {granularity} (1%)"] = ("prune", {**setups["prune steps (dense, 1%)"][1], "granularity": granularity})
        setups["lottery (a round: prune 20%, rewind)"] = ("lottery", {})
        setups["nest (growth cycle, defaults)"] = ("nest", {})
        setups["nest (growth cycle, whole training set)"] = ("nest", {"growth_rows": WHOLE_SET})
    out = {}
    for label, (method, params) in setups.items():
        params = {k: (None if v is WHOLE_SET else v) for k, v in params.items() if v is not None}
        run = substrate(method, device, **params)
        out[label] = timed(run.cycle, repeats, sync)
        if label == "nest (growth cycle, defaults)":  # its two halves
            out["  nest: its phase decision (validation pass)"] = timed(lambda: quality(run.ctx), repeats, sync)
            grow = lambda r=run: r.method._grow(r.ctx, r.method.phase == 0)  # noqa: E731
            out["  nest: its growth (256 rows)"] = timed(grow, repeats, sync)
    return out


WHOLE_SET = object()  # growth_rows=None (None means "not set" in the setups above)


def plain_rigl(run: growlab.Run, mask_density: float):
    """A plain torch RigL update on a copy of ``run``'s network as an ``nn.Sequential``:
    returns ``update(k)``, which moves k connections (split over the layers by size)."""
    import torch.nn.functional as F

    seq = run.network.to_sequential(0)
    linears = [m for m in seq if isinstance(m, torch.nn.Linear)]
    g = torch.Generator().manual_seed(0)
    masks = [torch.rand(m.weight.shape, generator=g) < mask_density for m in linears]
    with torch.no_grad():
        for m, mask in zip(linears, masks):
            m.weight.mul_(mask)
    opt = torch.optim.Adam(seq.parameters(), lr=0.003)
    X, y = run.ctx.X_train, run.ctx.y_train
    seq(X[:8]).sum().backward()
    opt.step()  # the moments exist, as after training
    total = sum(m.numel() for m in masks)

    def update(k: int) -> None:
        rows = torch.randint(0, X.shape[0], (256,), generator=g)
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(seq(X[rows]), y[rows].long()).backward()
        with torch.no_grad():
            for m, mask in zip(linears, masks):
                n = max(1, k * mask.numel() // total)
                w, grad = m.weight, m.weight.grad
                drop = torch.topk(torch.where(mask, w.abs(), torch.inf).view(-1), n, largest=False).indices
                grow = torch.topk(torch.where(mask, -torch.inf, grad.abs()).view(-1), n).indices
                mask.view(-1)[drop] = False
                mask.view(-1)[grow] = True
                w.view(-1)[drop] = 0.0
                w.view(-1)[grow] = 0.0
                state = opt.state[w]
                for key in ("exp_avg", "exp_avg_sq"):
                    state[key].view(-1)[drop] = 0.0
                    state[key].view(-1)[grow] = 0.0

    return update


def rigl_table(repeats: int, device: str | None, sync) -> None:
    """growlab's gradient+prune cycle vs the plain RigL update, k from 0.1% to 10%."""
    n = growlab.Run("mnist5k", ARCH, "dense", epochs=1, device=device).network
    core = random_sparse(n, 0.5, torch.Generator().manual_seed(0))
    print(f"{ARCH} on mnist5k, 50% dense, cpu ms (best of {repeats}), torch threads {torch.get_num_threads()}")
    print(f"{'k':>14} {'growlab cycle':>14} {'plain RigL':>11} {'ratio':>7}  (target <= 1.00x)")
    for frac in (0.001, 0.003, 0.01, 0.03, 0.1):
        k = int(n.n_possible() * frac)
        run = substrate("gradient+prune", device, sparsity=0.5, core=core, grow_per_cycle=k, prune_per_cycle=k)
        update = plain_rigl(run, 0.5)
        ours, plain = [], []
        for _ in range(3):  # interleaved
            ours.append(timed(run.cycle, repeats, sync)[1])
            plain.append(timed(lambda: update(k), repeats, sync)[1])
        a, b = min(ours), min(plain)
        print(f"{k:>7} ({frac:5.1%}) {a * 1e3:14.1f} {b * 1e3:11.1f} {a / b:6.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (1 resists a busy machine best)")
    ap.add_argument("--arch", default="lenet-300-100", choices=("lenet-300-100", "lenet-5"), help="the network")
    ap.add_argument("--rigl", action="store_true", help="only the cycle vs a plain RigL update, k 0.1%%–10%%")
    args = ap.parse_args()
    global ARCH
    ARCH = args.arch
    if args.threads:
        torch.set_num_threads(args.threads)
    cuda = args.device.startswith("cuda")
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    if args.rigl:
        return rigl_table(args.repeats, args.device, sync)
    run = substrate("dense", args.device)
    train = lambda: run.trainer.epoch(run.ctx.X_train, run.ctx.y_train)  # noqa: E731
    first = timed(train, args.repeats, sync)
    rows = {**part_timings(args.repeats, args.device, sync), **method_timings(args.repeats, args.device, sync)}
    last = timed(train, args.repeats, sync)  # epochs timed before and after the cycles, against drift
    epoch = (min(first[0], last[0]), min(first[1], last[1]))
    load = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"{ARCH} on mnist5k, {args.device}, torch threads {torch.get_num_threads()}, best of {args.repeats}, load average {load}")
    print(f"one training epoch (4,000 rows, batch 128): wall {epoch[0] * 1e3:.1f} ms, cpu {epoch[1] * 1e3:.1f} ms\n")
    print(f"{'one cycle of':<40} {'wall ms':>8} {'÷ epoch':>8} {'cpu ms':>8} {'÷ epoch':>8}")
    for label, (wall, cpu) in rows.items():
        flag = "" if cpu <= 0.10 * epoch[1] else "  > 10% (cpu)"
        print(f"{label:<40} {wall * 1e3:8.1f} {wall / epoch[0]:8.1%} {cpu * 1e3:8.1f} {cpu / epoch[1]:8.1%}{flag}")
    cycles = [label for label in rows if not label.strip().startswith(("nest", "lottery"))]  # phase methods apart
    worst = max(cycles, key=lambda label: rows[label][1])
    print(f"\nlargest cpu ratio of a grow/prune cycle: {rows[worst][1] / epoch[1]:.1%} ({worst}); target ≤ 10%")
    if ARCH != "lenet-300-100":
        nest_with_room(args.repeats, args.device, sync)


def nest_with_room(repeats: int, device: str | None, sync) -> None:
    """NeST's cycle with ``max_width=2``, so that every timed cycle grows a feature map in each
    conv layer and a neuron in each dense layer (with the default capacity the conv layers fill
    up after a few cycles), as a share of that run's own epoch (its layers run at capacity)."""
    print("\nnest, max_width 2 (a birth in every layer in every timed cycle), cpu ÷ the run's own epoch:")
    for label, rows in (("256 rows (default)", 256), ("128 rows", 128), ("whole training set", None)):
        run = substrate("nest", device, max_width=2, growth_rows=rows)
        run.cycle()  # the first birth of each layer (warm-up)
        own = timed(lambda r=run: r.trainer.epoch(r.ctx.X_train, r.ctx.y_train), repeats, sync)[1]
        n = 1 if rows is None else repeats  # room for every repeat's births
        grow = timed(lambda r=run: r.method._grow(r.ctx, r.method.phase == 0), n, sync)[1]
        decide = timed(lambda r=run: quality(r.ctx), repeats, sync)[1]
        print(f"  {label:<20} growth {grow * 1e3:7.1f} ms {grow / own:7.1%} + phase decision {decide * 1e3:5.1f} ms "
              f"{decide / own:5.1%}  (epoch {own * 1e3:.0f} ms)")


if __name__ == "__main__":
    main()
