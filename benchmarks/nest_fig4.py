"""NeST's Fig. 4 claim, measured: a neuron born with bridging-gradient weights lowers the loss
more than the same neuron with random weights.

For each seed a network is trained for a while; then neurons are added to its first hidden
layer, one at a time, each on the bridging gradient of the network as it is after the
previous birth, and the training loss over the whole training set is measured right after
each birth (no training step in between). Variants of the same neuron (same joined pairs,
same birth-strength scaling to the layer's mean |w|):

- ``gradient``: Algorithm 2 with growlab's descent sign (w_in ∝ −sgn(G), see
  ``growlab.methods.neurons``);
- ``printed``: Algorithm 2 with the sign as printed in the paper (w_in ∝ +sgn(G));
- ``random``: the same connections with weights drawn uniformly from the layer's
  initializer and rescaled to the same mean |w| (NeST's "naive approach").

Reported: the loss reduction in percent after 1 and after ``--neurons`` births, mean ± sd
over seeds. Deterministic for given arguments.

    python benchmarks/nest_fig4.py --dataset heart --arch 8-4 --seeds 10
    python benchmarks/nest_fig4.py --activation leaky_relu
"""

from __future__ import annotations

import argparse
import statistics

import torch

from growlab.config import parse_arch
from growlab.data import load_cached
from growlab.engine import Network, Optimizer, Trainer, member_losses
from growlab.methods import CycleContext
from growlab.methods.neurons import birth_weights, bridging_gradient, mean_abs, random_signs

VARIANTS = ("gradient", "printed", "random")


def trained_network(data, arch: tuple[int, ...], seed: int, epochs: int, activation: str, spare: int) -> Network:
    """A network trained ``epochs`` full-batch Adam epochs, with ``spare`` dormant units in layer 1."""
    sizes = (data.n_inputs, *arch, data.n_outputs)
    capacity = (sizes[0], sizes[1] + spare, *sizes[2:])
    net = Network(sizes, capacity=capacity, activation=activation, task=data.task, seeds=[seed], device="cpu")
    trainer = Trainer(net, Optimizer(net, lr=0.01))
    for _ in range(epochs):
        trainer.epoch(data.X_train, data.y_train)
    return net


@torch.no_grad()
def loss(net: Network, data) -> float:
    return float(member_losses(net.forward(data.X_train), data.y_train, net.task)[0])


def add_neuron(net: Network, data, variant: str, beta: float, alpha: float, g: torch.Generator) -> None:
    """Add one neuron to layer 1 of ``net`` (member 0) initialised by ``variant``."""
    k = 1
    unit = int((~net.alive[k][0]).nonzero()[0])
    G = bridging_gradient(net, data.X_train, data.y_train, k)[0]  # (M, N)
    signs = random_signs(tuple(G.shape), g)
    mean_in, mean_out = mean_abs(net.weights[k - 1][0].detach(), 0.1), mean_abs(net.weights[k][0].detach(), 0.1)
    w_in, w_out = birth_weights(G, beta, alpha, signs, mean_in, mean_out, descent=variant != "printed")
    if variant == "random":
        w_in = _random_like(w_in, net.init_bound(k - 1), g) * (alpha * mean_in)
        w_out = _random_like(w_out, net.init_bound(k), g) * (alpha * mean_out)
    alive = net.alive[k].clone()
    alive[0, unit] = True
    net.set_alive(k, alive)
    with torch.no_grad():
        net.masks[k - 1][0, unit, :] = w_in != 0
        net.masks[k][0, :, unit] = w_out != 0
        net.weights[k - 1][0, unit, :] = w_in
        net.weights[k][0, :, unit] = w_out
    net.refresh()


def _random_like(w: torch.Tensor, bound: float, g: torch.Generator) -> torch.Tensor:
    """Uniform(−bound, bound) where ``w`` is non-zero, scaled to mean |w| = 1."""
    r = (torch.rand(w.shape, generator=g) * 2 - 1) * bound * (w != 0)
    return r / mean_abs(r, 1.0)


def measure(args) -> dict[str, list[list[float]]]:
    """Loss reduction (%) after each birth, per variant and seed."""
    data = load_cached(args.dataset, 0)
    out = {v: [] for v in VARIANTS}
    for seed in range(args.seeds):
        base = trained_network(data, parse_arch(args.arch), seed, args.epochs, args.activation, args.neurons)
        l0 = loss(base, data)
        for v in VARIANTS:
            net, g = base.copy(), torch.Generator().manual_seed(seed)
            curve = []
            for _ in range(args.neurons):
                add_neuron(net, data, v, args.beta, args.alpha, g)
                curve.append(100 * (l0 - loss(net, data)) / l0)
            out[v].append(curve)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", default="heart")
    ap.add_argument("--arch", default="8-4")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--epochs", type=int, default=50, help="training before the births")
    ap.add_argument("--neurons", type=int, default=5, help="births, one after the other")
    ap.add_argument("--beta", type=float, default=0.1, help="growth ratio β")
    ap.add_argument("--alpha", type=float, default=0.5, help="birth strength α")
    ap.add_argument("--activation", default="relu")
    args = ap.parse_args()
    torch.set_num_threads(1)
    res = measure(args)
    print(f"{args.dataset} {args.arch} {args.activation}, {args.epochs} epochs trained, β={args.beta}, α={args.alpha}, "
          f"{args.seeds} seeds: training-loss reduction right after the births (%, mean ± sd; higher is better)")  # fmt: skip
    print(f"{'variant':<10} {'1 neuron':>16} {f'{args.neurons} neurons':>16}")
    for v, curves in res.items():
        first = [c[0] for c in curves]
        last = [c[-1] for c in curves]
        sd = lambda xs: statistics.stdev(xs) if len(xs) > 1 else 0.0  # noqa: E731
        print(f"{v:<10} {statistics.mean(first):>9.2f} ± {sd(first):<5.2f} {statistics.mean(last):>9.2f} ± {sd(last):<5.2f}")


if __name__ == "__main__":
    main()
