"""Paper 000's readings (``growlab.experiment.interpretations``) in ``docs/reproductions.md``.

``compute`` runs the experiment and returns its members (one row per reading × method ×
threshold × seed); every ``render_*`` rebuilds the experiment's own tables from those rows
(``claim_frame``, ``method_frame``, ``InterpretationsResult``), so the committed CSV and the
Markdown can be checked against each other and against a retrained sample.

    python docs/scripts/interpretations_tables.py --seeds 4     # prints the tables
"""

from __future__ import annotations

import argparse

import pandas as pd

from growlab.experiment import InterpretationsResult, interpretations
from growlab.experiment.interpretations import CLAIMS, claim_frame, method_frame, named, paired
from growlab.experiment.labels import label
from growlab.experiment.report import md_table

MEMBER_COLUMNS = [
    "reading", "method", "threshold", "seed", "val_acc", "val_auc", "val_auc_labels", "density", "active",
    "redundant", "false_start", "false_start_rule", "time_to_bar", "threshold_used",
]  # fmt: skip
BASE = "growlab"


def compute(seeds: int = 20, progress: bool = False) -> pd.DataFrame:
    """Every member of every reading (the experiment's ``members`` frame, without the reasons)."""
    return interpretations(seeds=seeds, progress=progress or None).members[MEMBER_COLUMNS]


def result_of(members: pd.DataFrame) -> InterpretationsResult:
    """The experiment's result rebuilt from its member rows."""
    chosen = named(list(dict.fromkeys(members.reading)))
    thresholds = sorted(members.threshold.unique())
    return InterpretationsResult(
        claims=claim_frame(members, chosen, thresholds), methods=method_frame(members, chosen), members=members,
        readings=chosen, settings={"seeds": sorted(members.seed.unique()), "thresholds": thresholds},
    )  # fmt: skip


def _params(reading) -> str:
    parts = [f"`{k}={v}`" for k, v in reading.params.items()]
    parts += [f"`{k}={v}`" for k, v in reading.dataset_options.items()]
    if reading.auc != "probabilities":
        parts.append(f"AUC of {reading.auc}")
    if reading.rule_b != "never":
        parts.append(f"`rule_b={reading.rule_b}`")
    return ", ".join(parts) or "the defaults"


def render_readings(members: pd.DataFrame) -> str:
    """The readings: name, what they read differently, and the settings that say it."""
    r = result_of(members)
    rows = pd.DataFrame({"what it reads differently": [x.doc for x in r.readings], "settings": [_params(x) for x in r.readings]},
                        index=[x.name for x in r.readings])  # fmt: skip
    return md_table(rows, index="reading")


def render_claims(members: pd.DataFrame) -> str:
    """The claims pooled over the thresholds: mean paired difference [95% interval], points."""
    r = result_of(members)
    n = len(r.settings["seeds"])
    head = (f"Mean paired difference in final validation accuracy over {n} seeds, averaged over the "
            f"{len(r.settings['thresholds'])} thresholds, in points [95% t-interval]; above 0 supports the paper.")  # fmt: skip
    return head + "\n\n" + md_table(r.claims_table("all"), index="reading")


def render_claims_by_threshold(members: pd.DataFrame) -> str:
    """The claims at each threshold."""
    r = result_of(members)
    parts = []
    for t in r.settings["thresholds"]:
        parts += [f"**{label(t)}**", "", md_table(r.claims_table(t), index="reading"), ""]
    return "\n".join(parts).rstrip()


def shift_frame(members: pd.DataFrame) -> pd.DataFrame:
    """How far each reading moves each pooled claim from the ``growlab`` reading: per seed, the
    reading's paired difference minus growlab's, its mean and 95% interval (points)."""
    per_seed = {}
    for reading, f in members.groupby("reading", sort=False):
        acc = f.pivot_table(index="seed", columns=["method", "threshold"], values="val_acc") * 100
        per_seed[reading] = {c: (acc[a].mean(axis=1) - acc[b].mean(axis=1)).to_numpy() for c, a, b in CLAIMS}
    rows = []
    for reading, d in per_seed.items():
        if reading != BASE:
            for c, _, _ in CLAIMS:
                rows.append({"reading": reading, "claim": c, **paired(d[c], per_seed[BASE][c])})
    return pd.DataFrame(rows)


def render_shift(members: pd.DataFrame) -> str:
    """Readings × claims: the shift from the growlab reading, ``mean [low, high]``."""
    s = shift_frame(members)
    moved = s.assign(cell=[
        "0 (unchanged)" if row.low == row.high == 0 else f"{row['mean']:+.1f} [{row.low:+.1f}, {row.high:+.1f}]"
        for _, row in s.iterrows()
    ])  # fmt: skip
    t = moved.pivot(index="reading", columns="claim", values="cell")
    t = t.reindex(index=list(dict.fromkeys(s.reading)), columns=[c for c, _, _ in CLAIMS])
    head = ("How much each reading moves each pooled claim away from the `growlab` reading: per seed, its paired "
            "difference minus growlab's; mean [95% t-interval], points.")  # fmt: skip
    return head + "\n\n" + md_table(t, index="reading")


def render_methods(members: pd.DataFrame) -> str:
    """Worst accuracy and false starts per method, and pruning's mean at 99%, per reading."""
    r = result_of(members)
    order = [x.name for x in r.readings]
    worst = r.methods.pivot_table(index="reading", columns="method", values="min_accuracy", aggfunc="min", sort=False)
    fs = r.methods.pivot_table(index="reading", columns="method", values="false_starts", aggfunc="sum", sort=False)
    members_per = int(r.methods.groupby(["reading", "method"]).members.sum().iloc[0])
    top = max(r.settings["thresholds"])
    parts = [
        "**Worst final validation accuracy per method, all thresholds (%)**", "",
        md_table(worst.reindex(index=order), digits=1, index="reading"), "",
        f"**False starts per method (of {members_per} members: every seed at every threshold)**", "",
        md_table(fs.reindex(index=order).astype("Int64"), index="reading"), "",
        f"**Pruning's mean final accuracy at {label(top)} (%)**", "",
        md_table(r.pruning_at(top).to_frame(f"prune at {label(top)}"), digits=1, index="reading"),
    ]  # fmt: skip
    return "\n".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=20)
    args = ap.parse_args()
    members = compute(args.seeds, progress=True)
    for render in (render_readings, render_claims, render_shift, render_claims_by_threshold, render_methods):
        print(render(members), end="\n\n")


if __name__ == "__main__":
    main()
