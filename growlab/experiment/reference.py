"""The synthesis-and-pruning paper's published figures, and checks of its findings on a result.

Tables 1–3 of Finlinson & Moschoyiannis (paper 000), in percent, keyed by growlab's method
names. Its validation set has 58 rows (every accuracy is a multiple of 1/58); growlab's
``heart`` split has 61, so accuracies move in steps of 1.64 points instead of 1.72.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

THRESHOLD_LABELS = ("80%", "85%", "90%", "95%", "99%")
#: Table 1: mean accuracy and AUC over the 50 models at threshold 99%
TABLE_1 = pd.DataFrame(
    {
        "accuracy": [84.83, 86.21, 77.31, 77.31, 83.28, 80.79, 83.62],
        "AUC": [78.19, 72.52, 72.04, 72.04, 78.70, 76.46, 75.80],
    },
    index=["dense", "prune", "subnet", "random", "strategic", "random+prune", "strategic+prune"],
)
#: Table 2: maximum validation accuracy per threshold
TABLE_2 = pd.DataFrame.from_dict({
    "dense": [87.93] * 5,
    "prune": [90.43, 89.66, 91.38, 89.66, 91.38],
    "subnet": [89.66] * 5,
    "random": [89.66, 91.38, 93.10, 89.66, 93.10],
    "strategic": [87.93, 91.38, 96.55, 91.38, 91.38],
    "random+prune": [89.66, 93.10, 93.10, 89.66, 91.38],
    "strategic+prune": [93.10] * 5,
}, orient="index", columns=list(THRESHOLD_LABELS))  # fmt: skip
#: Table 3: maximum validation AUC per threshold
TABLE_3 = pd.DataFrame.from_dict({
    "dense": [87.04] * 5,
    "prune": [76.78, 76.19, 75.13, 74.61, 75.67],
    "subnet": [81.56] * 5,
    "random": [72.04, 75.93, 78.26, 77.06, 76.93],
    "strategic": [76.65, 79.04, 78.70, 80.91, 81.85],
    "random+prune": [70.65, 76.46, 77.19, 76.46, 75.20],
    "strategic+prune": [76.91, 83.62, 75.80, 77.70, 81.07],
}, orient="index", columns=list(THRESHOLD_LABELS))  # fmt: skip
#: §6.3: worst final accuracy of the sub-network, strategic, and strategic+prune members
WORST = {"subnet": 45.0, "strategic": 53.45, "strategic+prune": 67.24}
SYNTHESIS = ("random", "strategic", "random+prune", "strategic+prune")


@dataclass(frozen=True)
class Finding:
    """One claim of the paper checked on a result: ``verdict`` is ``reproduces``, ``partly`` or
    ``does not reproduce`` (``not checked`` when the result lacks a method it needs)."""

    claim: str
    verdict: str
    evidence: str


def _verdict(holds: list[bool]) -> str:
    return "reproduces" if all(holds) else "partly" if any(holds) else "does not reproduce"


def _by_threshold(result, col: str, stat: str) -> pd.DataFrame:
    """``stat`` of column ``col`` per method (rows) and threshold (columns), in percent."""
    return result.frame.pivot_table(index="method", columns="threshold", values=col, aggfunc=stat) * 100


def strategic_beats_random_and_subnet(result) -> Finding:
    """Mean final accuracy of ``strategic`` above ``random``'s and ``subnet``'s, at each threshold;
    with paired wins (the same seed starts all three from the same sub-network)."""
    claim = "strategic synthesis beats random synthesis and the sub-network (mean accuracy)"
    if not {"strategic", "random", "subnet"} <= set(result.methods):
        return Finding(claim, "not checked", "needs strategic, random and subnet")
    mean = _by_threshold(result, "val_acc", "mean")
    f = result.frame.set_index(["threshold", "seed"])
    holds, parts = [], []
    for t in result.thresholds:
        s, r, n = mean.loc["strategic", t], mean.loc["random", t], mean.loc["subnet", t]
        acc = {m: f[f.method == m].loc[t].val_acc for m in ("strategic", "random", "subnet")}
        better = {m: int((acc["strategic"] > acc[m]).sum()) for m in ("random", "subnet")}
        worse = {m: int((acc["strategic"] < acc[m]).sum()) for m in ("random", "subnet")}
        holds += [s > r, s > n]
        parts.append(
            f"T={t:g}: strategic {s:.2f} vs random {r:.2f} (seeds better/worse {better['random']}/{worse['random']}) "
            f"vs subnet {n:.2f} ({better['subnet']}/{worse['subnet']})"
        )
    return Finding(claim, _verdict(holds), "; ".join(parts))


def no_false_starts_below_subnet(result) -> Finding:
    """The worst ``strategic+prune`` member ends above the worst ``subnet`` member, at each threshold."""
    claim = "strategic synthesis with pruning has no false starts below the sub-network's worst"
    if not {"strategic+prune", "subnet"} <= set(result.methods):
        return Finding(claim, "not checked", "needs strategic+prune and subnet")
    worst = _by_threshold(result, "val_acc", "min")
    rate = _by_threshold(result, "false_start", "mean")
    holds, parts = [], []
    for t in result.thresholds:
        sp, sn = worst.loc["strategic+prune", t], worst.loc["subnet", t]
        holds.append(sp > sn)
        parts.append(
            f"T={t:g}: worst strategic+prune {sp:.2f} vs worst subnet {sn:.2f}; false-start rate "
            f"{rate.loc['strategic+prune', t]:.0f}% vs {rate.loc['subnet', t]:.0f}%"
        )
    paper = f" (paper: {WORST['strategic+prune']} vs ~{WORST['subnet']:g})"
    return Finding(claim, _verdict(holds), "; ".join(parts) + paper)


def pruning_auc_below_synthesis(result) -> Finding:
    """``prune``'s AUC (mean and max over seeds) below every synthesis method's, at each threshold."""
    claim = "pruning's AUC is below the synthesis methods' (mean and max AUC)"
    present = [m for m in SYNTHESIS if m in result.methods]
    if "prune" not in result.methods or not present:
        return Finding(claim, "not checked", "needs prune and at least one synthesis method")
    holds, parts = [], []
    for stat in ("mean", "max"):
        auc = _by_threshold(result, "val_auc", stat)
        for t in result.thresholds:
            below = [m for m in present if auc.loc["prune", t] < auc.loc[m, t]]
            holds.append(len(below) == len(present))
            parts.append(f"{stat} T={t:g}: prune {auc.loc['prune', t]:.2f} below {len(below)}/{len(present)}")
    return Finding(claim, _verdict(holds), "; ".join(parts))


def findings(result) -> list[Finding]:
    """The paper's three headline findings, checked on ``result``."""
    checks = (strategic_beats_random_and_subnet, no_false_starts_below_subnet, pruning_auc_below_synthesis)
    return [check(result) for check in checks]


def side_by_side(ours: pd.DataFrame, paper: pd.DataFrame) -> pd.DataFrame:
    """Cells ``"ours (paper)"`` for the methods and columns both tables have (ours' order).

    Example:
        >>> a = pd.DataFrame({"80%": [90.0]}, index=["dense"])
        >>> side_by_side(a, TABLE_2).loc["dense", "80%"]
        '90.00 (87.93)'
    """
    cols = [c for c in ours.columns if c in paper.columns]
    out = pd.DataFrame(index=ours.index, columns=cols, dtype=object)
    for m in ours.index:
        for c in cols:
            ref = paper.loc[m, c] if m in paper.index else np.nan
            out.loc[m, c] = f"{ours.loc[m, c]:.2f}" + (f" ({ref:.2f})" if np.isfinite(ref) else "")
    return out
