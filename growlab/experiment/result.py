"""``ExperimentResult``: one row per member, the paper's tables, false starts, similarity, plots, report.

Tables are in percent, as in the paper. Accuracy and AUC are the members' *final* validation
figures (after the last epoch), unless a ``best_`` metric (the best epoch's) is asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from growlab.analysis import similarity as jaccard
from growlab.engine import Network
from growlab.experiment.labels import METRICS, threshold_label
from growlab.experiment.population import describe
STATS = ("mean", "max", "min", "median", "std")
_PERCENT = {"val_acc", "val_auc", "best_val_acc", "best_val_auc", "density"}


@dataclass(frozen=True)
class Missing:
    """A task whose members are not in a partial result: what it was, and why it is missing.

    Attributes:
        task: ``'prune' seeds 0-9 at T = 0.8, 0.9``.
        method, seeds, thresholds: its members (``thresholds`` ``None`` for a method without one).
        reason: the error it raised (``"RuntimeError: …"``) or ``"stopped before it finished"``.
    """

    task: str
    method: str
    seeds: tuple[int, ...]
    thresholds: tuple[float | None, ...]
    reason: str

    @classmethod
    def of(cls, group, reason: str) -> "Missing":
        return cls(describe(group), group.method, tuple(group.seeds), tuple(group.thresholds), reason)


@dataclass
class ExperimentResult:
    """Everything an experiment measured.

    Attributes:
        frame: one row per member: ``method, threshold, seed, val_acc, best_val_acc, val_auc,
            best_val_auc, density, active, redundant, false_start, false_start_rule,
            false_start_reason, threshold_used, member`` (``member`` numbers a method's members
            across its populations: see :meth:`member_network`).
        settings: the training settings every member used (plain values).
        method_params: the parameters given to each method (the rest are its defaults).
        methods, thresholds, seeds: the grid, in order.
        networks: each method's final populations (CPU, in training order), for structure analyses.
        majority_rate: validation accuracy of always predicting the majority class.
        dataset_info: inputs, outputs, task, training and validation rows.
        seconds: wall-clock time of the whole experiment.
        protocol: ``"grid"`` or ``"paper"`` (the report then sets the paper's tables beside ours).
        curves: each frame row's validation accuracy after every epoch ``(rows, epochs)``.
        tasks: one row per task that finished: ``method, task, members, seconds, cpu_seconds,
            process`` (training wall and CPU time, and ``host:pid`` of the process that trained it).
        missing: the tasks that did not finish (a failure or a stop): empty unless the result
            is partial (see :attr:`complete`). ``methods`` then lists the methods with members.
    """

    frame: pd.DataFrame
    settings: dict
    method_params: dict
    methods: tuple[str, ...]
    thresholds: tuple[float, ...]
    seeds: tuple[int, ...]
    networks: dict[str, list[Network]] = field(repr=False, default_factory=dict)
    majority_rate: float = float("nan")
    dataset_info: dict = field(default_factory=dict)
    seconds: float = 0.0
    protocol: str = "grid"
    tasks: pd.DataFrame | None = field(repr=False, default=None)
    missing: tuple[Missing, ...] = ()
    curves: np.ndarray | None = field(repr=False, default=None)

    @property
    def complete(self) -> bool:
        """Every task of the grid finished (false for the partial result of a failure or a stop)."""
        return not self.missing

    # ------------------------------------------------------------------ tables
    def table(self, kind: str = "mean", threshold: float | None = None) -> pd.DataFrame:
        """A summary table, in percent (counts for ``redundant``).

        Args:
            kind: ``"mean"`` — the paper's Table 1 form: mean final accuracy, AUC and density per
                method at one threshold; ``"max_accuracy"`` (Table 2) and ``"max_auc"``
                (Table 3) — the best member per method and threshold; in general
                ``"<stat>_<metric>"`` with stat in mean/max/min/median/std and metric in
                accuracy/auc/best_accuracy/best_auc/density/redundant.
            threshold: for ``"mean"``: which threshold (default the largest, the paper's 99%).

        Example:
            >>> # r.table("max_accuracy").loc["strategic", "90%"]
        """
        if kind == "mean":
            return self._table1(self.thresholds[-1] if threshold is None else threshold)
        stat, _, metric = kind.partition("_")
        if stat not in STATS or metric not in METRICS:
            raise ValueError(
                f"unknown table {kind!r}; use 'mean' (Table 1), 'max_accuracy' (Table 2), 'max_auc' (Table 3) "
                f"or '<stat>_<metric>' with stat in {', '.join(STATS)} and metric in {', '.join(METRICS)}"
            )
        col = METRICS[metric]
        t = self.frame.pivot_table(index="method", columns="threshold", values=col, aggfunc=stat, sort=False)
        return self._label(t * (100 if col in _PERCENT else 1))

    def _table1(self, threshold: float) -> pd.DataFrame:
        rows = self.frame[np.isclose(self.frame.threshold, threshold)]
        if rows.empty:
            raise ValueError(f"threshold {threshold} is not in this experiment: {list(self.thresholds)}")
        t = rows.groupby("method", sort=False)[["val_acc", "val_auc", "density"]].mean() * 100
        t.columns = ["accuracy", "AUC", "density"]
        return t.reindex(self.methods)

    def _label(self, t: pd.DataFrame) -> pd.DataFrame:
        t = t.reindex(index=list(self.methods), columns=list(self.thresholds))
        t.columns = [threshold_label(c) for c in t.columns]
        t.columns.name = "sparsity threshold"
        return t

    def false_starts(self) -> pd.DataFrame:
        """False starts per method and threshold: count, rate (%), worst and median final accuracy (%),
        and how many fired each rule (``unreachable``, ``warmup``, ``end``; see ``growlab.analysis``)."""
        f = self.frame
        g = f.groupby(["method", "threshold"], sort=False)
        out = pd.DataFrame({
            "members": g.size(), "false_starts": g.false_start.sum().astype(int),
            "rate": g.false_start.mean() * 100, "worst_accuracy": g.val_acc.min() * 100,
            "median_accuracy": g.val_acc.median() * 100,
        })  # fmt: skip
        rules = pd.crosstab([f.method, f.threshold], f.false_start_rule)
        for rule in ("unreachable", "warmup", "end"):
            out[rule] = rules[rule].reindex(out.index, fill_value=0) if rule in rules else 0
        return out

    # ------------------------------------------------------------------ structure
    def representatives(self, threshold: float | None = None) -> pd.DataFrame:
        """Each method's member of one *representative seed* at ``threshold`` (default the middle one).

        The paper's Fig. 6 compares "a representative network for each compression approach";
        growlab takes the same seed in every method, so the networks differ by method only
        (same initial weights and sub-network): the seed whose final accuracies are, summed over
        methods, closest to each method's median (ties: the lowest seed).
        """
        t = self.thresholds[len(self.thresholds) // 2] if threshold is None else threshold
        rows = self.frame[np.isclose(self.frame.threshold, t)]
        if rows.empty:
            raise ValueError(f"threshold {t} is not in this experiment: {list(self.thresholds)}")
        if self.missing:  # a partial result: only seeds that the most methods have
            coverage = rows.groupby("seed").method.nunique()
            rows = rows[rows.seed.isin(coverage.index[coverage == coverage.max()])]
        gap = (rows.val_acc - rows.groupby("method").val_acc.transform("median")).abs()
        seed = gap.groupby(rows.seed).sum().sort_index().idxmin()
        reps = rows[rows.seed == seed].set_index("method").reindex(self.methods)
        return reps.dropna(subset=["member"]) if self.missing else reps

    def similarity_frame(self, threshold: float | None = None) -> pd.DataFrame:
        """Jaccard similarity of the representatives' active connections (Fig. 6), methods × methods."""
        reps = self.representatives(threshold)
        nets = {m: self.member_network(m, int(reps.loc[m, "member"])) for m in reps.index}
        if len({n.capacity for n in nets.values()}) > 1:  # e.g. nest grows neurons: Jaccard needs one layout
            base = next(iter(nets.values())).capacity
            nets = {m: n for m, n in nets.items() if n.capacity == base}
        return pd.DataFrame(jaccard(list(nets.values())).numpy(), index=list(nets), columns=list(nets))

    def member_network(self, method: str, member: int) -> Network:
        """The final network of ``method``'s member number ``member`` (the frame's ``member``)."""
        for net in self.networks[method]:
            if member < net.population:
                return net.member(member)
            member -= net.population
        raise IndexError(f"{method!r} has no member {member}")

    # ------------------------------------------------------------------ plots (Bokeh, imported lazily)
    def boxplot(self, metric: str = "accuracy"):
        """Fig. 5: box plots of final validation accuracy (or ``"auc"``) per threshold and method (Bokeh)."""
        from growlab.experiment.plots import boxplot

        return boxplot(self, metric)

    def similarity(self, threshold: float | None = None):
        """Fig. 6: the similarity matrix of :meth:`similarity_frame` as a Bokeh heatmap."""
        from growlab.experiment.plots import heatmap

        t = self.thresholds[len(self.thresholds) // 2] if threshold is None else threshold
        title = f"Similarity of representative networks (T = {threshold_label(t)})"
        return heatmap(self.similarity_frame(t), title=title)

    # ------------------------------------------------------------------ output
    def save(self, directory: str | Path) -> Path:
        """Write ``report.md``, CSVs and standalone HTML plots into ``directory``; returns ``report.md``'s path."""
        from growlab.experiment.report import save

        return save(self, Path(directory))

    def report(self) -> str:
        """The Markdown report (what :meth:`save` writes as ``report.md``)."""
        from growlab.experiment.report import markdown

        return markdown(self)

    def __repr__(self) -> str:
        partial = f", partial: {len(self.missing)} tasks missing" if self.missing else ""
        return (
            f"ExperimentResult({self.protocol}: {len(self.methods)} methods × {len(self.thresholds)} thresholds × "
            f"{len(self.seeds)} seeds = {len(self.frame)} members, {self.settings.get('dataset')}, "
            f"{self.seconds:.1f} s{partial})"
        )
