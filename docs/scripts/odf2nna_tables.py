"""ODF2NNA on iris, breast_cancer, wine and diabetes, laid out like the paper's Tables 6–12.

For every dataset and seed a general model is trained once: ``--hidden`` hidden layers of NU
units each, NU from the paper's Eq. 2 (``growlab.methods.odf2nna.nu_width``), full-batch Adam
for ``--epochs`` epochs. For every ε a copy of it then goes through growlab's ε selection
(``growlab.methods.useful_units.select_units``, the code the ``odf2nna`` method runs: unit
outputs on the training rows, bias folding, empty layers bridged with fresh weights) and is
refined with a fresh optimizer for ``--refine`` × the epochs (0.15, the paper's). Columns:

- OR, PWR, PR: validation accuracy (MSE in the target's units for diabetes) of the original,
  the pruned model without retraining, and the pruned and refined model;
- N. PARAM OR / P: active connections plus biases of alive units, before and after; % Reduc;
- layers: hidden layers left (the general model has ``--hidden``).

Means over ``--seeds`` seeds (sd in brackets for PR). Deterministic for given arguments (torch
runs on one thread); ``python docs/scripts/reproduce.py --only odf2nna`` regenerates the tables
of ``docs/reproductions.md`` from :func:`compute` and :func:`render`:

    python docs/scripts/odf2nna_tables.py                  # all four datasets, 5 seeds
    python docs/scripts/odf2nna_tables.py --datasets iris --seeds 2
"""

from __future__ import annotations

import argparse

import pandas as pd
import torch

from growlab.data import load_cached
from growlab.engine import Network, Optimizer, Trainer, evaluate
from growlab.methods.context import method_streams
from growlab.methods.odf2nna import n_classes, nu_width
from growlab.methods.useful_units import select_units

#: the paper's ε grids: classification (Tables 6–7) and regression (Tables 10–12)
EPS_CLASSIFICATION = (0.1, 0.3, 0.5, 0.7, 0.9)
EPS_REGRESSION = (0.002, 0.008, 0.014, 0.020, 0.026)
DATASETS = ("iris", "breast_cancer", "wine", "diabetes")


def general_model(data, hidden: int, seed: int) -> Network:
    """The rectangular general model: ``hidden`` layers of NU units (paper Eq. 2)."""
    probe = Network((data.n_inputs, 1, data.n_outputs), task=data.task, device="cpu")
    nu = nu_width(data.n_train, data.n_inputs, n_classes(probe), hidden)
    sizes = (data.n_inputs, *[nu] * hidden, data.n_outputs)
    return Network(sizes, task=data.task, seeds=[seed], device="cpu")


def train(net: Network, data, epochs: int, lr: float) -> None:
    """Full-batch Adam epochs with a fresh optimizer (the paper compiles each model anew)."""
    trainer = Trainer(net, Optimizer(net, lr=lr))
    for _ in range(epochs):
        trainer.epoch(data.X_train, data.y_train)


def score(net: Network, data) -> float:
    """Validation accuracy, or MSE in the target's units for regression."""
    m = evaluate(net, data.X_val, data.y_val, data.target_std)
    return float(m["mse"][0] if data.task == "regression" else m["acc"][0])


def one_seed(data, seed: int, grid, hidden: int = 3, epochs: int = 300, refine: float = 0.15, lr: float = 0.01) -> list[dict]:
    """OR / PWR / PR and sizes for every ε of ``grid`` on one seed's general model."""
    net = general_model(data, hidden, seed)
    train(net, data, epochs, lr)
    original, params = score(net, data), int(net.n_params()[0])
    rows = []
    for eps in grid:
        pruned = net.copy()
        select_units(pruned, data.X_train, eps, method_streams([seed]))  # the odf2nna method's draws for this seed
        pwr, kept = score(pruned, data), int(pruned.n_params()[0])
        train(pruned, data, round(refine * epochs), lr)
        rows.append({
            "eps": eps, "OR": original, "PWR": pwr, "PR": score(pruned, data), "N_OR": params, "N_P": kept,
            "layers": len(pruned.sizes) - 2, "widths": "-".join(str(int(w)) for w in pruned.widths()[0, 1:-1]),
        })  # fmt: skip
    return rows


def grids(name: str) -> dict[str, tuple[float, ...]]:
    """The ε grids of a dataset: the classification grid, and first the paper's regression grid for regression."""
    regression = load_cached(name, 0).task == "regression"
    classification = {"classification": EPS_CLASSIFICATION}
    return {"regression": EPS_REGRESSION, **classification} if regression else classification


def compute(
    datasets=DATASETS, seeds: int = 5, hidden: int = 3, epochs: int = 300, refine: float = 0.15, lr: float = 0.01
) -> pd.DataFrame:
    """One row per dataset × ε grid × seed × ε (torch on one thread: the same bits every time)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    rows = []
    try:
        for name in datasets:
            data = load_cached(name, 0)
            for grid_name, grid in grids(name).items():
                for s in range(seeds):
                    for row in one_seed(data, s, grid, hidden, epochs, refine, lr):
                        rows.append({"dataset": name, "grid": grid_name, "seed": s, "hidden": hidden, "epochs": epochs,
                                     "refine_epochs": round(refine * epochs), "lr": lr, **row})  # fmt: skip
    finally:
        torch.set_num_threads(before)
    return pd.DataFrame(rows)


GRID_NOTE = {
    "regression": "the paper's regression ε grid of Tables 10–12",
    "classification": "the classification ε grid, where pruning bites",
}


def table(rows: pd.DataFrame) -> str:
    """The Markdown table of one dataset and ε grid (means over seeds)."""
    name, grid_name = rows.dataset.iloc[0], rows.grid.iloc[0]
    data = load_cached(name, 0)
    seeds = rows.seed.nunique()
    sizes = general_model(data, int(rows.hidden.iloc[0]), 0).sizes
    metric = "MSE" if data.task == "regression" else "accuracy"
    fmt = (lambda v: f"{v:.0f}") if data.task == "regression" else (lambda v: f"{100 * v:.1f}%")
    note = f"; {GRID_NOTE[grid_name]}" if data.task == "regression" else ""
    head = (
        f"**{name}** ({data.task}; general model {'-'.join(map(str, sizes))}, {data.n_train} training / "
        f"{data.n_val} validation rows; validation {metric}, mean of {seeds} seeds{note})\n\n"
        "| ε | OR | PWR | PR (sd) | N. PARAM OR | P | % Reduc | hidden layers left | widths (seed 0) |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for eps, f in rows.groupby("eps", sort=False):
        mean = f[["OR", "PWR", "PR", "N_OR", "N_P", "layers"]].mean()
        sd = f.PR.std(ddof=1) if len(f) > 1 else 0.0
        reduc = 100 * (1 - mean["N_P"] / mean["N_OR"])
        widths = f[f.seed == f.seed.min()].widths.iloc[0]
        widths = "—" if not isinstance(widths, str) or not widths else widths
        lines.append(
            f"| {eps:g} | {fmt(mean['OR'])} | {fmt(mean['PWR'])} | {fmt(mean['PR'])} ({fmt(sd)}) | {mean['N_OR']:.0f} | "
            f"{mean['N_P']:.0f} | {reduc:.1f}% | {mean['layers']:.1f} | {widths} |"
        )
    return head + "\n".join(lines)


def render(rows: pd.DataFrame) -> dict[str, str]:
    """One Markdown block per dataset (its tables, one per ε grid), keyed by dataset name."""
    return {
        name: "\n\n".join(table(g) for _, g in f.groupby("grid", sort=False))
        for name, f in rows.groupby("dataset", sort=False)
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", nargs="+", default=list(DATASETS))
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--hidden", type=int, default=3, help="hidden layers of the general model (NL)")
    ap.add_argument("--epochs", type=int, default=300, help="epochs of the general model")
    ap.add_argument("--refine", type=float, default=0.15, help="refinement epochs as a fraction of --epochs")
    ap.add_argument("--lr", type=float, default=0.01)
    args = ap.parse_args()
    print(f"ODF2NNA tables: NL = {args.hidden}, {args.epochs} epochs + {round(args.refine * args.epochs)} refinement, "
          f"full-batch Adam lr {args.lr}, unit outputs on the training rows\n")  # fmt: skip
    rows = compute(args.datasets, args.seeds, args.hidden, args.epochs, args.refine, args.lr)
    for text in render(rows).values():
        print(text, end="\n\n")


if __name__ == "__main__":
    main()
