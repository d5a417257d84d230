"""The synthesis-and-pruning paper's seven methods on ``heart`` at one threshold: accuracy, AUC,
density, redundant connections, what DAG pruning removes, and false starts.

Members are trained by ``growlab.experiment.paper`` (the paper's protocol, batched, one torch
thread; each member is bit-identical to the same ``growlab.Run`` alone). For each member it
then runs ``growlab.analysis.prune_redundant`` on the final network and measures how far the
outputs on the validation rows moved (folding constant activations into biases should leave
them unchanged). Prints a Markdown table of the means over seeds; ``docs/reproductions.md``
shows it at 90% (``python docs/scripts/reproduce.py --only redundancy``).

    python benchmarks/analysis_heart.py --seeds 10 --sparsity 0.9
    python benchmarks/analysis_heart.py --sparsity 0.99 --set interval=5 --lr 0.01
"""

from __future__ import annotations

import argparse
import time
from typing import Any, Sequence

import pandas as pd
import torch

from growlab.analysis import prune_redundant
from growlab.cli import parse_value
from growlab.data import load_cached
from growlab.experiment import PAPER_METHODS, PAPER_SETTINGS, ExperimentResult, paper
from growlab.experiment.report import md_table

COLUMNS = [
    "method", "threshold", "seed", "val_acc", "val_auc", "density", "active", "redundant", "dag_removed",
    "dag_output_change", "false_start", "false_start_rule",
]  # fmt: skip


@torch.no_grad()
def dag_pruning(net, X: torch.Tensor) -> tuple[list[int], list[float]]:
    """Connections ``prune_redundant`` removes from each member, and the largest change of that
    member's outputs on ``X`` it causes."""
    pruned, report = prune_redundant(net)
    change = (pruned.forward(X) - net.forward(X)).abs().flatten(1).max(dim=1).values  # (P,)
    return report.counts.tolist(), change.tolist()


def compute(seeds: int = 10, sparsity: float = 0.9, methods: Sequence[str] = PAPER_METHODS, **overrides: Any) -> pd.DataFrame:
    """One row per member of ``paper(seeds, (sparsity,), methods=methods, **overrides)`` with its
    DAG-pruning figures."""
    return rows(paper(seeds=seeds, thresholds=(sparsity,), methods=tuple(methods), **overrides))


def rows(r: ExperimentResult) -> pd.DataFrame:
    """The members of an experiment's result with what ``prune_redundant`` does to each."""
    data = load_cached(r.settings["dataset"], r.settings["split_seed"], **r.settings.get("dataset_options", {}))
    removed, change = {}, {}
    for method, nets in r.networks.items():
        first = 0
        for net in nets:
            counts, moved = dag_pruning(net, data.X_val)
            for p in range(net.population):
                removed[method, first + p], change[method, first + p] = counts[p], moved[p]
            first += net.population
    f = r.frame
    keys = list(zip(f.method, f.member))
    return f.assign(dag_removed=[removed[k] for k in keys], dag_output_change=[change[k] for k in keys])[COLUMNS]


def render(members: pd.DataFrame) -> str:
    """Means over seeds per method (false starts counted), as a Markdown table."""
    g = members.groupby("method", sort=False)
    n = members.seed.nunique()
    t = pd.DataFrame({
        "active": g.active.mean(), "redundant": g.redundant.mean(), "DAG removes": g.dag_removed.mean(),
        "largest output change": g.dag_output_change.max().map(lambda v: "0" if v == 0 else f"{v:.0e}"),
        "false starts": g.false_start.sum().map(lambda k: f"{k}/{n}"),
        "val acc": g.val_acc.mean() * 100, "worst val acc": g.val_acc.min() * 100,
        "val AUC": g.val_auc.mean() * 100, "density %": g.density.mean() * 100,
    })  # fmt: skip
    return md_table(t, digits=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--sparsity", type=float, default=0.9)
    ap.add_argument("--epochs", type=int, default=PAPER_SETTINGS["epochs"])
    ap.add_argument("--lr", type=float, default=PAPER_SETTINGS["lr"])
    ap.add_argument("--batch-size", type=int, default=None, help="rows per step (default: full batch)")
    ap.add_argument("--methods", default=",".join(PAPER_METHODS))
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="a method parameter, given to every method that has it (repeatable)")  # fmt: skip
    args = ap.parse_args()
    params = {k: parse_value(v) for k, _, v in (s.partition("=") for s in args.set)}
    t = time.perf_counter()
    members = compute(
        args.seeds, args.sparsity, args.methods.split(","), epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
        progress=True, **params,
    )  # fmt: skip
    print(f"heart 27-16-8-1, the paper's protocol at T = {args.sparsity:g}, {args.seeds} seeds, {args.epochs} epochs, "
          f"lr {args.lr}, batch {args.batch_size or 'full'}, {params or 'default method parameters'} "
          f"({time.perf_counter() - t:.0f} s)\n")  # fmt: skip
    print(render(members))


if __name__ == "__main__":
    main()
