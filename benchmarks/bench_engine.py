"""Engine benchmarks (DESIGN §9), printed as ratios measured in one run.

1. A masked engine step (P = 1, half the connections active) vs a plain dense
   ``torch.nn.Sequential`` step of the same shapes: 27-16-8-1 full batch (242 rows) and
   784-300-100-10 batch 128. Target: ≤ 1.15×.
2. 350 heart models in one batched population vs a loop over 350 separate Sequentials,
   per training step. Target: ≥ 10× faster (issue 20's goal: 20×).
3. The population engine vs ``torch.func.vmap`` over P stacked copies of the same plain MLP with
   one backward (the standard way to batch models in torch), per step, at P from 1 to 3,500,
   with the cost per member. Target: the engine at least as fast at every P, its cost per member
   flat above P = 50. (``--vmap-only`` runs only this part.) A third column runs the same vmap
   at the engine's stored shapes (each layer's widths padded to 16 floats, the bias a constant
   input: :mod:`growlab.engine.products`), so the table separates what the padding that keeps
   every member exact costs (more multiply-adds) from what the engine's own work costs.

Times are this process's CPU time on the CPU, wall time on CUDA.

Run: ``python benchmarks/bench_engine.py [--device cuda] [--threads 1]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from growlab.engine import Network, Optimizer, Trainer
from growlab.engine.optim import _fused_or_foreach


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device, repeat: int) -> float:
    """Median seconds per call over 5 rounds of ``repeat`` calls: this process's CPU time on the
    CPU (on a machine shared with other work, wall time counts their work too), wall time on CUDA."""
    clock = time.perf_counter if device.type == "cuda" else time.process_time
    for _ in range(max(3, repeat // 10)):
        fn()
    rounds = []
    for _ in range(5):
        _sync(device)
        t = clock()
        for _ in range(repeat):
            fn()
        _sync(device)
        rounds.append((clock() - t) / repeat)
    return statistics.median(rounds)


def sequential(sizes, device):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers).to(device)


def loss_fn(out, y, task):
    return F.binary_cross_entropy_with_logits(out[:, 0], y) if task == "binary" else F.cross_entropy(out, y)


def masked_vs_dense(sizes, batch, task, device, repeat):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(batch, sizes[0], generator=g).to(device)
    y = (torch.rand(batch, generator=g) > 0.5).float() if task == "binary" else torch.randint(0, sizes[-1], (batch,), generator=g)
    y = y.to(device)
    net = Network(sizes, task=task, device=device)
    for l in range(net.n_layers):
        net.set_mask(l, torch.rand(net.masks[l].shape, generator=g) < 0.5)
    trainer = Trainer(net, Optimizer(net, "adam", lr=1e-3))
    seq = sequential(sizes, device)
    # the same (fused where available) Adam as the engine, so the ratio measures the masking
    opt = _fused_or_foreach(torch.optim.Adam, list(seq.parameters()), lr=1e-3)

    def dense_step():
        opt.zero_grad(set_to_none=False)
        loss_fn(seq(X), y, task).backward()
        opt.step()

    masked = lambda: trainer.step(X, y)  # noqa: E731
    # interleave to share the machine's noise fairly
    ratios = []
    for _ in range(3):
        ratios.append(timed(masked, device, repeat) / timed(dense_step, device, repeat))
    return statistics.median(ratios)


HEART = (27, 16, 8, 1)


def heart_population(P: int, device):
    """P members of the paper's heart network with an Adam trainer, and a full batch of
    random heart-shaped data: ``(sizes, X, y, network, trainer)``."""
    g = torch.Generator().manual_seed(0)
    X = torch.randn(242, HEART[0], generator=g).to(device)
    y = (torch.rand(242, generator=g) > 0.5).float().to(device)
    net = Network(HEART, population=P, seeds=range(P), device=device)
    return HEART, X, y, net, Trainer(net, Optimizer(net, "adam", lr=1e-3))


def population_vs_loop(P, device, repeat):
    sizes, X, y, net, trainer = heart_population(P, device)
    models = [sequential(sizes, device) for _ in range(P)]
    opts = [_fused_or_foreach(torch.optim.Adam, list(m.parameters()), lr=1e-3) for m in models]

    def loop_step():
        for m, o in zip(models, opts):
            o.zero_grad(set_to_none=False)
            loss_fn(m(X), y, "binary").backward()
            o.step()

    t_pop = timed(lambda: trainer.step(X, y), device, repeat)
    t_loop = timed(loop_step, device, max(1, repeat // 20))
    return t_pop, t_loop


def vmap_step(layers: list[torch.nn.Linear], P: int, X: torch.Tensor, y: torch.Tensor):
    """One Adam step of P stacked copies of ``nn.Sequential(layers, ReLU between)`` by
    ``torch.func.vmap`` over their stacked parameters and one backward: ``step()``."""
    from torch.func import functional_call, stack_module_state, vmap

    def model(device):
        mods = []
        for i, layer in enumerate(layers):
            mods.append(torch.nn.Linear(layer.in_features, layer.out_features, bias=layer.bias is not None, device=device))
            if i < len(layers) - 1:
                mods.append(torch.nn.ReLU())
        return torch.nn.Sequential(*mods)

    models = [model(X.device) for _ in range(min(P, 8))]
    params, buffers = stack_module_state([models[p % len(models)] for p in range(P)])
    params = {k: v.detach().clone().requires_grad_() for k, v in params.items()}
    opt = _fused_or_foreach(torch.optim.Adam, list(params.values()), lr=1e-3)
    base = model("meta")

    def one(p, b, x):
        return functional_call(base, (p, b), (x,))

    def step():
        opt.zero_grad(set_to_none=True)
        out = vmap(one, in_dims=(0, 0, None))(params, buffers, X)  # (P, B, out)
        F.binary_cross_entropy_with_logits(out[..., 0], y.expand(P, -1), reduction="none").mean(dim=1).sum().backward()
        opt.step()

    return step


def population_vs_vmap(P: int, device, repeat: int) -> tuple[float, float, float]:
    """Seconds per full-batch step of P heart members: the engine, vmap + one backward, and that
    vmap at the engine's stored shapes (padded widths, the bias a weight of a constant input 1)."""
    sizes, X, y, net, trainer = heart_population(P, device)
    plain = vmap_step([torch.nn.Linear(a, b, device="meta") for a, b in zip(sizes[:-1], sizes[1:])], P, X, y)
    stored = [torch.nn.Linear(w.shape[1], w.shape[2], bias=False, device="meta") for w in net.parameters()]
    padded = vmap_step(stored, P, net.padded_input(X), y)
    rounds = max(3, repeat // max(1, P // 50))
    pops, vmaps, pads = [], [], []
    for _ in range(3):  # interleaved
        pops.append(timed(lambda: trainer.step(X, y), device, rounds))
        vmaps.append(timed(plain, device, rounds))
        pads.append(timed(padded, device, rounds))
    return statistics.median(pops), statistics.median(vmaps), statistics.median(pads)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeat", type=int, default=200)
    ap.add_argument("--vmap-only", action="store_true", help="only the population vs vmap comparison")
    ap.add_argument("--populations", default="1,10,50,350,1750,3500", help="P values of the vmap comparison")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 is fastest on a shared 2-core machine)")
    args = ap.parse_args()
    device = torch.device(args.device)
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, device {device}, threads {torch.get_num_threads()}")
    if args.vmap_only:
        return _vmap_table(args, device)
    r1 = masked_vs_dense((27, 16, 8, 1), 242, "binary", device, args.repeat)
    print(f"masked step / dense Sequential step, 27-16-8-1 full batch (242): {r1:.3f}x  (target <= 1.15x)")
    r2 = masked_vs_dense((784, 300, 100, 10), 128, "multiclass", device, max(20, args.repeat // 4))
    print(f"masked step / dense Sequential step, 784-300-100-10 batch 128:   {r2:.3f}x  (target <= 1.15x)")
    t_pop, t_loop = population_vs_loop(350, device, max(20, args.repeat // 4))
    print(
        f"350 heart models: population step {t_pop * 1e3:.2f} ms, loop of 350 models {t_loop * 1e3:.1f} ms: "
        f"{t_loop / t_pop:.1f}x faster  (target >= 10x; goal 20x)"
    )
    _vmap_table(args, device)


def _vmap_table(args, device) -> None:
    sizes, *_, net, _ = heart_population(1, device)
    plain = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    stored = sum(w.shape[1] * w.shape[2] for w in net.parameters())
    print(f"multiply-adds per row: {plain} at the true widths, {stored} at the engine's stored ones ({stored / plain:.2f}x)")
    print("P      engine ms  vmap ms  engine/vmap  vmap at stored widths ms  engine/that  engine µs per member")
    for P in (int(p) for p in args.populations.split(",")):
        t_pop, t_vmap, t_pad = population_vs_vmap(P, device, max(5, args.repeat // 10))
        print(
            f"{P:<6} {t_pop * 1e3:9.2f} {t_vmap * 1e3:8.2f} {t_pop / t_vmap:11.2f}x {t_pad * 1e3:25.2f} "
            f"{t_pop / t_pad:11.2f}x {t_pop / P * 1e6:20.1f}"
        )


if __name__ == "__main__":
    main()
