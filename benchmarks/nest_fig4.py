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

Reported: the loss reduction in percent after the first and the last birth, mean ± sd over
seeds, for the settings of ``docs/reproductions.md`` (``SETTINGS``; regenerated there by
``python docs/scripts/reproduce.py --only nest-fig4``) or one given setting. Deterministic:
torch runs on one thread.

    python benchmarks/nest_fig4.py                                   # the report's settings
    python benchmarks/nest_fig4.py --dataset heart --activation leaky_relu --seeds 5
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import pandas as pd
import torch

from growlab.config import parse_arch
from growlab.data import load_cached
from growlab.engine import Network, Optimizer, Trainer, member_losses
from growlab.methods.neurons import birth_weights, bridging_gradient, mean_abs

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


def random_signs(shape: tuple[int, ...], g: torch.Generator) -> torch.Tensor:
    """Uniform ±1 of ``shape`` from ``g`` (Algorithm 2's ``rand{1, −1}``)."""
    return torch.randint(0, 2, shape, generator=g).float() * 2 - 1


def _random_like(w: torch.Tensor, bound: float, g: torch.Generator) -> torch.Tensor:
    """Uniform(−bound, bound) where ``w`` is non-zero, scaled to mean |w| = 1."""
    r = (torch.rand(w.shape, generator=g) * 2 - 1) * bound * (w != 0)
    return r / mean_abs(r, 1.0)


@dataclass(frozen=True)
class Setting:
    """One measured setting of Fig. 4: data, network, activation, birth strength and births."""

    dataset: str = "heart"
    arch: str = "8-4"
    activation: str = "relu"
    alpha: float = 0.5
    neurons: int = 5
    beta: float = 0.1
    epochs: int = 50
    seeds: int = 10

    @property
    def label(self) -> str:
        return f"{self.dataset} {self.arch}, {self.activation.replace('_', ' ')}, α = {self.alpha:g}"


#: the settings ``docs/reproductions.md`` reports: weak births in three activations and on digits,
#: then strong ones
SETTINGS = (
    Setting(),
    Setting(activation="leaky_relu"),
    Setting(activation="tanh"),
    Setting("digits", "16", alpha=0.1),
    Setting(alpha=2.0, neurons=20),
    Setting("digits", "16", alpha=0.5),
)


def measure(setting: Setting) -> pd.DataFrame:
    """Loss reduction (%) right after each birth: one row per variant, seed and birth."""
    data = load_cached(setting.dataset, 0)
    rows = []
    for seed in range(setting.seeds):
        base = trained_network(data, parse_arch(setting.arch), seed, setting.epochs, setting.activation, setting.neurons)
        l0 = loss(base, data)
        for v in VARIANTS:
            net, g = base.copy(), torch.Generator().manual_seed(seed)
            for birth in range(1, setting.neurons + 1):
                add_neuron(net, data, v, setting.beta, setting.alpha, g)
                rows.append({"seed": seed, "variant": v, "birth": birth, "reduction": 100 * (l0 - loss(net, data)) / l0})
    return pd.DataFrame(rows).assign(**{k: getattr(setting, k) for k in Setting.__dataclass_fields__})[
        [*Setting.__dataclass_fields__, "seed", "variant", "birth", "reduction"]
    ]


def compute(settings=SETTINGS) -> pd.DataFrame:
    """:func:`measure` of every setting, one frame (torch on one thread: the same bits every time)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return pd.concat([measure(s) for s in settings], ignore_index=True)
    finally:
        torch.set_num_threads(before)


def _mean_sd(x: pd.Series) -> str:
    sd = x.std(ddof=1) if len(x) > 1 else 0.0
    return f"{x.mean():+.2f} ± {sd:.2f}"


def render(rows: pd.DataFrame) -> str:
    """Per setting and variant: mean ± sd over seeds after the first and the last birth, the best
    variant after the last in bold."""
    fields = list(Setting.__dataclass_fields__)
    lines = ["| setting | births | variant | after 1 neuron | after the last |", "|---|---|---|---|---|"]
    for key, f in rows.groupby(fields, sort=False):
        setting = Setting(**dict(zip(fields, key)))
        last = f[f.birth == setting.neurons].groupby("variant", sort=False).reduction
        best = last.mean().idxmax()
        for i, v in enumerate(VARIANTS):
            first = _mean_sd(f[(f.birth == 1) & (f.variant == v)].reduction)
            end = _mean_sd(last.get_group(v))
            name = "printed sign" if v == "printed" else v
            lines.append(
                f"| {setting.label if i == 0 else ''} | {setting.neurons if i == 0 else ''} | {name} | {first} | "
                + (f"**{end}** |" if v == best else f"{end} |")
            )
    seeds = rows.groupby(fields).seed.nunique()
    head = (f"Training-loss reduction right after the births, % (mean ± sd over {seeds.min()} seeds; higher is better; "
            f"β = {rows.beta.iloc[0]:g}, {rows.epochs.iloc[0]} epochs of full-batch Adam before the first birth).")  # fmt: skip
    return head + "\n\n" + "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", default=None, help="one setting on this dataset (default: the report's settings)")
    ap.add_argument("--arch", default="8-4")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--epochs", type=int, default=50, help="training before the births")
    ap.add_argument("--neurons", type=int, default=5, help="births, one after the other")
    ap.add_argument("--beta", type=float, default=0.1, help="growth ratio β")
    ap.add_argument("--alpha", type=float, default=0.5, help="birth strength α")
    ap.add_argument("--activation", default="relu")
    args = ap.parse_args()
    if args.dataset is None:
        settings = SETTINGS
    else:
        a = args
        settings = (Setting(a.dataset, a.arch, a.activation, a.alpha, a.neurons, a.beta, a.epochs, a.seeds),)
    print(render(compute(settings)))


if __name__ == "__main__":
    main()
