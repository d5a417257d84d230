"""Paper 000 (synthesis and pruning) in ``docs/reproductions.md``: its protocol's tables beside the
paper's, the findings, Table 2 under other split seeds, and what the hybrids' pruning floor does.

Every table is rendered from per-member numbers (the ``compute_*`` functions return them, the
``render_*`` functions turn them into Markdown), so the report can be re-rendered from the
committed CSVs and checked against them. ``python docs/scripts/reproduce.py --only paper``
regenerates them; run alone, this script prints the protocol's tables:

    python docs/scripts/paper000_tables.py --seeds 10
"""

from __future__ import annotations

import argparse
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch

from growlab import Run
from growlab.data import load_cached
from growlab.experiment import PAPER_SETTINGS, PAPER_THRESHOLDS, ExperimentResult, findings, paper
from growlab.experiment.grid import COLUMNS
from growlab.experiment.plan import split_params, training_config
from growlab.experiment.reference import TABLE_1, TABLE_2, TABLE_3, side_by_side
from growlab.experiment.report import md_table, settings_section
from growlab.experiment.labels import threshold_label
from growlab.methods.structure import max_active

#: per-member columns kept in the CSVs (the false-start reason is a sentence derived from the rest)
MEMBER_COLUMNS = [c for c in COLUMNS if c != "false_start_reason"]
#: split seeds beside the protocol's 0 (the paper does not say how it split its 303 rows)
OTHER_SPLITS = (1, 2)
#: the methods whose cycles the report counts: strategic growth and the two hybrids
CYCLED = ("strategic", "random+prune", "strategic+prune")
#: Table 2 cells within this many points of the paper's count as agreeing
AGREE = 2.0


# ---------------------------------------------------------------------------- compute
def compute_protocol(seeds: int = 50, split_seed: int = 0, progress: bool = False) -> pd.DataFrame:
    """Every member of the paper's protocol (``growlab.experiment.paper``) at ``split_seed``."""
    r = paper(seeds=seeds, split_seed=split_seed, progress=progress or None)
    return r.frame[MEMBER_COLUMNS].assign(split_seed=split_seed)


def compute_splits(seeds: int = 50, splits: Sequence[int] = OTHER_SPLITS, progress: bool = False) -> pd.DataFrame:
    """The protocol's members at other split seeds (the same model seeds)."""
    return pd.concat([compute_protocol(seeds, s, progress) for s in splits], ignore_index=True)


def compute_cycles(
    seeds: int = 5, thresholds: Sequence[float] = PAPER_THRESHOLDS, report: Callable[[str], None] | None = None,
    methods: Sequence[str] = CYCLED,
) -> pd.DataFrame:
    """What strategic growth and the hybrids grow and prune, from lone ``growlab.Run`` s of the
    protocol's members.

    A lone run is bit-identical to its member of the protocol's grid (``val_acc`` says so); a
    run also counts what every cycle pruned and grew, which the grid does not keep.
    """
    ps = PAPER_SETTINGS
    training = {k: ps[k] for k in ("epochs", "lr", "optimizer", "batch_size", "activation", "split_seed")}
    rows = []
    for method in methods:
        for t in thresholds:
            for s in range(seeds):
                run = Run(ps["dataset"], ps["arch"], method, seed=s, sparsity=t, **training)
                m, net = run.method, run.network
                pruning = "prune_per_cycle" in m.values
                per_cycle = int(m.values["prune_per_cycle"]) if pruning else 0
                floor = int(m.floor(net, m.member_tensor("prune_per_cycle", 1))[0]) if pruning else None
                start = int(net.n_active()[0])
                h = run.run()
                rows.append({
                    "method": method, "threshold": t, "seed": s, "capacity": int(max_active(net, torch.tensor([t]))[0]),
                    "start_active": start, "floor": floor, "prune_per_cycle": per_cycle, "cycles": int(run.cycles),
                    "pruning_cycles": int((h.pruned > 0).sum()), "growing_cycles": int((h.grown > 0).sum()),
                    "pruned": int(h.pruned.sum()), "grown": int(h.grown.sum()), "active": int(net.n_active()[0]),
                    "val_acc": float(h.val_acc.iloc[-1]),
                })  # fmt: skip
            if report:
                report(f"{method} at T = {t:g}: {seeds} runs")
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- render
def result_of(frame: pd.DataFrame) -> ExperimentResult:
    """An :class:`ExperimentResult` of member rows (what tables and findings are computed from)."""
    frame = frame.reset_index(drop=True)
    return ExperimentResult(
        frame=frame, settings={}, method_params={}, methods=tuple(dict.fromkeys(frame.method)),
        thresholds=tuple(sorted(frame.threshold.unique())), seeds=tuple(sorted(frame.seed.unique())), protocol="paper",
    )  # fmt: skip


def render_protocol(members: pd.DataFrame) -> str:
    """The protocol's settings and every method's parameters, as the experiment's own report
    states them (``growlab.experiment.report.settings_section``)."""
    r = result_of(members)
    fixed = {k: v for k, v in PAPER_SETTINGS.items() if k not in ("dataset", "arch", "methods", "epochs")}
    train_kw, r.method_params = split_params(r.methods, fixed)
    config = training_config(PAPER_SETTINGS["dataset"], PAPER_SETTINGS["arch"], PAPER_SETTINGS["epochs"], **train_kw)
    data = load_cached(config.dataset, config.split_seed, **config.dataset_options)
    r.settings = {k: v for k, v in config.to_dict().items() if k not in ("method", "seed")}
    r.majority_rate = data.majority_rate
    r.dataset_info = {
        "task": data.task, "inputs": data.n_inputs, "train_rows": data.n_train, "val_rows": data.n_val,
        "network": "-".join(map(str, (data.n_inputs, *config.arch, data.n_outputs))),
    }  # fmt: skip
    return settings_section(r).split("\n", 2)[2]  # without its "## Protocol" heading


def render_tables(members: pd.DataFrame) -> str:
    """Tables 1–3, growlab (paper)."""
    r = result_of(members)
    t1 = r.table("mean")
    shown = side_by_side(t1[["accuracy", "AUC"]], TABLE_1).assign(density=t1.density.map("{:.2f}".format))
    last = threshold_label(r.thresholds[-1])
    parts = [
        f"**Table 1** — mean over the {len(r.seeds)} seeds at T = {last}: growlab (paper), %",
        "", md_table(shown), "",
        "**Table 2** — maximum final validation accuracy: growlab (paper), %",
        "", md_table(side_by_side(r.table("max_accuracy"), TABLE_2)), "",
        "**Table 3** — maximum final validation AUC: growlab (paper), %",
        "", md_table(side_by_side(r.table("max_auc"), TABLE_3)),
    ]  # fmt: skip
    return "\n".join(parts)


def per_threshold(r: ExperimentResult, col: str, agg: str = "mean") -> pd.DataFrame:
    """``agg`` of frame column ``col`` per method (rows) and threshold (columns, labelled like the tables')."""
    t = r.frame.pivot_table(index="method", columns="threshold", values=col, aggfunc=agg, sort=False)
    t = t.reindex(index=list(r.methods), columns=list(r.thresholds))
    t.columns = [threshold_label(c) for c in t.columns]
    return t


def render_by_threshold(members: pd.DataFrame) -> str:
    """Mean accuracy, AUC, density, worst accuracy and false starts per method and threshold."""
    r = result_of(members)
    n = len(r.seeds)
    parts = []
    for title, table, digits in (
        ("Mean final validation accuracy (%; Fig. 5 in numbers, the box plots are `boxplot.html`)", r.table("mean_accuracy"), 2),
        ("Mean final validation AUC (%)", r.table("mean_auc"), 2),
        ("Mean final density (%)", r.table("mean_density"), 1),
        ("Worst final validation accuracy (%)", r.table("min_accuracy"), 2),
        (f"False starts (members of {n})", per_threshold(r, "false_start", "sum").astype(int), 0),
    ):  # fmt: skip
        parts += [f"**{title}**", "", md_table(table, digits=digits), ""]
    return "\n".join(parts).rstrip()


def render_findings(members: pd.DataFrame) -> str:
    """The paper's three findings as ``growlab.experiment.findings`` checks them."""
    return "\n".join(f"- **{f.claim}: {f.verdict}.** {f.evidence}" for f in findings(result_of(members)))


def render_checks(members: pd.DataFrame) -> str:
    """The paper's other statements, measured: sub-networks vs dense, strategic's density, AUC vs
    accuracy, Table 2 agreement."""
    r = result_of(members)
    acc, auc, density = r.table("mean_accuracy"), r.table("mean_auc"), r.table("mean_density")
    labels = per_threshold(r, "val_auc_labels") * 100
    best = r.table("max_accuracy")
    cols = list(acc.columns)
    gap = (density.loc["strategic"] - density.loc["subnet"]).map("{:+.1f}".format)
    above = auc > acc
    below = [f"{m} at {c}" for m in acc.index for c in cols if not above.loc[m, c]]
    table2 = best.loc[TABLE_2.index, cols]
    near = (table2 - TABLE_2[cols]).abs() <= AGREE
    per_method = ", ".join(f"{m} {int(near.loc[m].sum())}" for m in near.index)
    sub, dense = best.loc["subnet"].max(), best.loc["dense"].max()
    lines = [
        f"- *Some sub-networks beat every dense model*: best sub-network {sub:.2f}% vs best dense model {dense:.2f}% "
        f"(paper: {TABLE_2.loc['subnet'].max():.2f} vs {TABLE_2.loc['dense'].max():.2f}) — "
        + ("holds here." if sub > dense else "a tie here." if sub == dense else "does not hold here."),
        f"- *Strategic synthesis stays \"within 0.5% of the sub-networks sparsity\"*: mean density of strategic minus "
        f"subnet, in points, at {', '.join(cols)}: {', '.join(gap)} — within 0.5 points at "
        f"{sum(abs(float(g)) <= 0.5 for g in gap)} of {len(cols)} thresholds.",
        f"- *AUC and accuracy*: the paper's mean AUC is below its mean accuracy in every row of its Table 1 "
        f"({int((TABLE_1.AUC < TABLE_1.accuracy).sum())} of {len(TABLE_1)}); growlab's mean AUC (of the "
        f"probabilities) is above its mean accuracy in {int(above.to_numpy().sum())} of {above.size} method × "
        "threshold cells" + (f", not in: {', '.join(below)}" if below else "") + "; the AUC of its hard labels "
        f"(for binary data the balanced accuracy) is below its mean accuracy in {int((labels < acc).to_numpy().sum())} "
        f"of {acc.size}.",
        f"- *Table 2 agreement*: {int(near.to_numpy().sum())} of {near.size} cells within {AGREE:g} points of the "
        f"paper's ({per_method} of {len(cols)}).",
    ]  # fmt: skip
    return "\n".join(lines)


def render_splits(members: pd.DataFrame, splits: pd.DataFrame) -> str:
    """Table 2 and the findings' verdicts at split seed 0 (the protocol's) and the others."""
    frames = {0: members, **{int(s): f for s, f in splits.groupby("split_seed")}}
    results = {s: result_of(f) for s, f in sorted(frames.items())}
    tables = {s: r.table("max_accuracy") for s, r in results.items()}
    cols = list(tables[0].columns)
    cell = pd.DataFrame(index=tables[0].index, columns=cols, dtype=object)
    for m in cell.index:
        for c in cols:
            cell.loc[m, c] = " / ".join(f"{t.loc[m, c]:.2f}" for t in tables.values()) + f" ({TABLE_2.loc[m, c]:.2f})"
    names = " / ".join(str(s) for s in tables)
    agree = {
        s: int(((t.loc[TABLE_2.index, cols] - TABLE_2[cols]).abs() <= AGREE).to_numpy().sum()) for s, t in tables.items()
    }
    verdicts = pd.DataFrame(
        {f"split seed {s}": [f.verdict for f in findings(r)] for s, r in results.items()},
        index=[f.claim for f in findings(results[0])],
    )
    n = len(results[0].seeds)
    parts = [
        f"**Table 2 by split seed** — maximum final validation accuracy over {n} seeds at split seeds {names} "
        "(paper), %",
        "", md_table(cell), "",
        f"Cells within {AGREE:g} points of the paper's: "
        + ", ".join(f"split seed {s}: {a} of {cell.size}" for s, a in agree.items()) + ".",
        "", "**The findings by split seed**", "", md_table(verdicts, index="finding"),
    ]  # fmt: skip
    return "\n".join(parts)


def render_cycles(runs: pd.DataFrame) -> str:
    """Per method and threshold: capacity, floor, cycles, growth and pruning asked for and done."""
    g = runs.groupby(["method", "threshold"], sort=False)
    t = pd.DataFrame({
        "capacity": g.capacity.first(), "start": g.start_active.mean(), "floor": g.floor.mean(),
        "cycles": g.cycles.mean(), "cycles that grew": g.growing_cycles.mean(), "grown": g.grown.mean(),
        "pruning asked": g.cycles.mean() * g.prune_per_cycle.first(), "pruned": g.pruned.mean(),
        "cycles that pruned": g.pruning_cycles.mean(), "final active": g.active.mean(),
    }).reset_index()  # fmt: skip
    t.loc[t["pruning asked"] == 0, ["pruning asked", "pruned", "cycles that pruned"]] = np.nan
    t["threshold"] = t.threshold.map(threshold_label)
    t = t.set_index("method")
    seeds = runs.seed.nunique()
    head = (
        f"Means over seeds 0–{seeds - 1} (lone `growlab.Run`s, bit-identical to the protocol's members). "
        "*capacity* ⌊(1 − T)·568⌋ connections, *start* the sub-network's size, *floor* what "
        "`prune_floor=\"start_or_cap\"` lets a hybrid prune down to (its start size or the capacity, whichever is "
        "smaller, less one cycle's pruning), *pruning asked* cycles × `prune_per_cycle`; *grown* and *pruned* count "
        "what the cycles did."
    )
    return head + "\n\n" + md_table(t, digits=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--split-seed", type=int, default=0)
    args = ap.parse_args()
    members = compute_protocol(args.seeds, args.split_seed, progress=True)
    for render in (render_protocol, render_tables, render_by_threshold, render_findings, render_checks):
        print(render(members), end="\n\n")


if __name__ == "__main__":
    main()
