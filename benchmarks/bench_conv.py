"""Conv benchmarks (issue 16), printed as ratios measured in one run.

1. Dense ``lenet-5`` (c6k5-p2-c16k5-p2-120-84) on ``mnist5k`` with growlab's defaults (Adam,
   lr 0.003, batch 128, relu; 4,000 training / 1,000 validation images): validation
   accuracy after ``--epochs``. Target: ≥ 96%.
2. A masked LeNet-5 engine step (P = 1, half the kernel taps and connections active) vs a
   plain ``nn.Sequential(Conv2d, ReLU, MaxPool2d, …, Flatten, Linear, …)`` step of the same
   shapes, batch 128, the same fused Adam. Target: ≤ 1.3× (goal 1.1×). Also shown: the plain
   model in channels-last memory, the layout the engine uses.
3. A population of 16 LeNet-5 members (each on its own batch) vs a loop over 16 plain
   models, per training step. Target: ≥ 3× faster on CPU. Beside it, the bound: one plain
   model on the 16 batches at once, the same arithmetic in torch's own largest kernels with no
   per-model overhead left (where the loop is no slower than that, batching cannot reach 3×).
4. Member-exactness of the grouped convolution: at which population sizes a LeNet-5 member's
   outputs and gradients are bit-identical to the same member alone (not guaranteed; see
   :mod:`growlab.engine.conv`).
5. Methods on LeNet-5 / mnist5k, next to dense and to the papers: ``prune`` to 10× fewer weights
   (sparsity 0.9) at each granularity (target: within 1 point of dense), the lottery ticket
   (5 rounds of 37%: ~10% of the hidden weights left) and NeST (LeNet-5 settings below);
   accuracy, weights, compression, FLOPs, and the papers' LeNet-5 figures beside them.
   One grow/prune cycle as a share of an epoch: ``python benchmarks/bench_cycle.py --arch lenet-5``.

Times are this process's CPU time on the CPU, wall time on CUDA.

Run: ``python benchmarks/bench_conv.py [--device cuda] [--epochs 30] [--skip-accuracy] [--skip-methods]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from growlab.config import conv_arch
from growlab.engine import Network, Optimizer, Trainer
from growlab.engine.optim import _fused_or_foreach

ARCH = conv_arch("lenet-5")
IMAGE, BATCH = (1, 28, 28), 128


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device, repeat: int, rounds: int = 5) -> float:
    """Median seconds per call over ``rounds`` rounds of ``repeat`` calls: this process's CPU time
    on the CPU (a shared machine's other work inflates wall time), wall time on CUDA."""
    clock = time.perf_counter if device.type == "cuda" else time.process_time
    for _ in range(2):
        fn()
    times = []
    for _ in range(rounds):
        _sync(device)
        t = clock()
        for _ in range(repeat):
            fn()
        _sync(device)
        times.append((clock() - t) / repeat)
    return statistics.median(times)


def lenet5(device, channels_last: bool = False) -> nn.Sequential:
    """LeNet-5 as a user writes it: conv → relu → pool, twice, then the dense layers."""
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    ).to(device)  # fmt: skip
    return model.to(memory_format=torch.channels_last) if channels_last else model


def engine(P: int, device, density: float = 1.0) -> Network:
    net = Network(
        (1, *ARCH.channels, *ARCH.hidden, 10), population=P, task="multiclass", seeds=range(P), device=device,
        image=IMAGE, kernels=ARCH.shapes,
    )  # fmt: skip
    if density < 1:
        g = torch.Generator().manual_seed(0)
        for l in range(net.n_layers):
            net.set_mask(l, torch.rand(net.masks[l].shape, generator=g) < density)
    return net


def plain_step(model, X, y):
    opt = _fused_or_foreach(torch.optim.Adam, list(model.parameters()), lr=1e-3)
    images = X.view(-1, *IMAGE)
    if next(model.parameters()).is_contiguous(memory_format=torch.channels_last) and model[0].weight.dim() == 4:
        images = images.contiguous(memory_format=torch.channels_last)

    def step():
        opt.zero_grad(set_to_none=False)
        F.cross_entropy(model(images), y).backward()
        opt.step()

    return step


def masked_vs_plain(device, repeat: int) -> tuple[float, float]:
    g = torch.Generator().manual_seed(1)
    X = torch.randn(BATCH, 784, generator=g).to(device)
    y = torch.randint(0, 10, (BATCH,), generator=g).to(device)
    net = engine(1, device, density=0.5)
    trainer = Trainer(net, Optimizer(net, "adam", lr=1e-3))
    masked = lambda: trainer.step(X, y)  # noqa: E731
    plain, plain_cl = plain_step(lenet5(device), X, y), plain_step(lenet5(device, channels_last=True), X, y)
    ratios, ratios_cl = [], []
    for _ in range(3):  # interleaved, to share the machine's noise fairly
        t = timed(masked, device, repeat)
        ratios.append(t / timed(plain, device, repeat))
        ratios_cl.append(t / timed(plain_cl, device, repeat))
    return statistics.median(ratios), statistics.median(ratios_cl)


def population_vs_loop(P: int, device, repeat: int) -> tuple[float, float, float]:
    """Seconds per step: P engine members, a loop of P plain models, one plain model on the P batches."""
    g = torch.Generator().manual_seed(2)
    X = torch.randn(P, BATCH, 784, generator=g).to(device)  # each member its own batch
    y = torch.randint(0, 10, (P, BATCH), generator=g).to(device)
    net = engine(P, device)
    trainer = Trainer(net, Optimizer(net, "adam", lr=1e-3))
    steps = [plain_step(lenet5(device), X[p], y[p]) for p in range(P)]

    def loop():
        for step in steps:
            step()

    # the bound: one plain model on all P batches at once does the same arithmetic in torch's
    # largest kernels, with no per-model overhead left to save
    one = plain_step(lenet5(device), X.reshape(P * BATCH, -1), y.reshape(-1))
    pops, loops, ones = [], [], []
    for _ in range(2):
        pops.append(timed(lambda: trainer.step(X, y), device, repeat, rounds=3))
        loops.append(timed(loop, device, repeat, rounds=3))
        ones.append(timed(one, device, repeat, rounds=3))
    return statistics.median(pops), statistics.median(loops), statistics.median(ones)


def exact_sizes(device, sizes=(2, 3, 4, 8, 16)) -> dict[int, bool]:
    """For each population size, whether member 1 computes bit for bit what it computes alone."""
    from growlab.engine import member_losses

    g = torch.Generator().manual_seed(3)
    X, y = torch.randn(64, 784, generator=g).to(device), torch.randint(0, 10, (64,), generator=g).to(device)

    def grads(net, P):
        out = net(X.expand(P, *X.shape).contiguous())
        member_losses(out, y.expand(P, 64), "multiclass").sum().backward()
        return [out.detach()] + [t.clone() for t in net.grads()] + [t.clone() for t in net.bias_grads()]

    alone = grads(engine(2, device).member(1), 1)
    result = {}
    for P in sizes:
        many = grads(engine(P, device), P)
        result[P] = all(torch.equal(a[0], m[1]) for a, m in zip(alone, many))
    return result


def accuracy(device, epochs: int) -> tuple[float, float, float]:
    from growlab import Run

    run = Run("mnist5k", "lenet-5", "dense", epochs=epochs, seed=0, device=str(device))
    t = time.perf_counter()
    h = run.run()
    return float(h["val_acc"].iloc[-1]), float(h["val_acc"].max()), (time.perf_counter() - t) / epochs


#: the methods section: (label, method, epochs, parameters)
METHOD_RUNS = (
    ("prune 10×, weights", "prune", 30, {"sparsity": 0.9}),
    ("prune 10×, kernels", "prune", 30, {"sparsity": 0.9, "granularity": "kernel"}),
    ("prune 10×, channels", "prune", 30, {"sparsity": 0.9, "granularity": "channel"}),
    ("lottery, 5 rounds of 37%", "lottery", 36, {"rounds": 5, "rate": 0.37}),
    # NeST for LeNet-5: A = dense's accuracy on mnist5k, cycles every 3 epochs, 10% pruned per cycle
    ("nest (A = 0.97)", "nest", 60, {"target_accuracy": 0.97, "interval": 3, "prune_fraction": 0.1, "tolerance": 0.005}),
)
#: the papers' LeNet-5 figures (full MNIST: 60,000 training images; growlab's mnist5k has 4,000)
PAPERS = {
    "nest": "NeST (paper 003, Table 3b): 5,772 weights at 0.77% error, 74.3× smaller than the 431K Caffe LeNet-5",
    "lottery": "Frankle & Carbin (paper 004 §3.2): tickets at 3.6% of LeNet-300-100 match it (no LeNet-5 figure); "
    "Han et al. (paper 004 §3.1): LeNet-5 12× smaller without accuracy loss",
    "prune": "Han et al. (paper 004 §3.1): LeNet-5 12× fewer weights without accuracy loss",
}


def method_rows(device, dense_acc: float, dense_weights: int) -> list[str]:
    """One line per :data:`METHOD_RUNS` entry: accuracy, its gap to dense, weights, compression, FLOPs."""
    from growlab import Run
    from growlab.analysis import summary

    lines = []
    for label, method, epochs, params in METHOD_RUNS:
        t = time.perf_counter()
        run = Run("mnist5k", "lenet-5", method, epochs=epochs, seed=0, device=str(device), **params)
        h = run.run()
        acc, weights = float(h["val_acc"].iloc[-1]), int(run.network.n_active()[0])
        s = summary(run.network).totals
        widths = "-".join(map(str, run.network.widths()[0].tolist()))
        lines.append(
            f"{label:<26} val acc {acc:.2%} ({(acc - dense_acc) * 100:+.1f} points vs dense), {weights:,} weights "
            f"({dense_weights / weights:.1f}× fewer), params {s['params']:,} (compressed {s['compression']:.1f}×), "
            f"FLOPs {s['flops']:,} of {s['dense_flops']:,}, widths {widths}, {time.perf_counter() - t:.0f} s"
        )
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--epochs", type=int, default=30, help="epochs of the accuracy run (default 30)")
    ap.add_argument("--skip-accuracy", action="store_true")
    ap.add_argument("--skip-methods", action="store_true", help="skip the methods section (5), several minutes")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(f"torch {torch.__version__}, device {device}, threads {torch.get_num_threads()}")
    r, r_cl = masked_vs_plain(device, args.repeat)
    print(f"masked LeNet-5 step / plain nn.Sequential step, batch 128:        {r:.3f}x  (target <= 1.3x, goal 1.1x)")
    print(f"masked LeNet-5 step / plain channels-last Sequential step:       {r_cl:.3f}x  (for reference)")
    t_pop, t_loop, t_one = population_vs_loop(16, device, max(1, args.repeat // 4))
    print(
        f"16 LeNet-5 members: population step {t_pop * 1e3:.1f} ms, loop of 16 models {t_loop * 1e3:.1f} ms: "
        f"{t_loop / t_pop:.2f}x faster  (target >= 3x)"
    )
    print(
        f"  bound: one plain LeNet-5 on the 16 batches at once (the same arithmetic, no per-model overhead) "
        f"{t_one * 1e3:.1f} ms: loop / one model = {t_loop / t_one:.2f}x"
    )
    exact = exact_sizes(device)
    print("LeNet-5 member bit-identical to itself alone at P = " + ", ".join(f"{P}: {'yes' if ok else 'no'}" for P, ok in exact.items()))
    last = None
    if not args.skip_accuracy:
        last, best, per_epoch = accuracy(device, args.epochs)
        print(
            f"dense lenet-5 on mnist5k, {args.epochs} epochs (growlab defaults): validation accuracy {last:.2%} "
            f"(best epoch {best:.2%}; {per_epoch:.1f} s/epoch)  (target >= 96%)"
        )
    if not args.skip_methods:
        if last is None:
            last = accuracy(device, 30)[0]
        dense_weights = engine(1, device).n_active()[0].item()
        print(f"\nmethods on lenet-5 / mnist5k (dense: {last:.2%}, {dense_weights:,} weights):")
        for line in method_rows(device, last, dense_weights):
            print("  " + line)
        print("papers (full MNIST):")
        for text in PAPERS.values():
            print("  " + text)


if __name__ == "__main__":
    main()
