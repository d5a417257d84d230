"""``interpretations``: paper 000's open readings, each on the paper's protocol, its claims as
paired differences with 95% intervals (DESIGN §4b).

Paper 000 leaves many choices open (which junctures seed growth, where a new connection starts,
what the threshold bounds, how hybrids keep their size, what AUC and a false start are, how
many rows validate). growlab exposes each as a parameter (:mod:`growlab.methods.strategic`,
:mod:`growlab.methods.composed`, :mod:`growlab.analysis.false_starts`, the ``heart`` dataset's
``val_fraction``); a :class:`Reading` names one choice of them. :func:`interpretations` runs
every reading on the paper's protocol (the same seeds in every reading and method) and reports,
per reading, the paper's claims as paired differences on the same seeds:

- strategic − random, strategic − subnet (strategic synthesis beats random and the sub-network),
- strategic+prune − random+prune, strategic+prune − subnet (with pruning, the strategic
  hybrid is better, and never falls below the sub-network),

each the mean over seeds of the member's final validation accuracy difference (averaged over
the thresholds first for ``"all"``) with a t-interval; and per method the worst accuracy and
the false starts, and pruning's mean accuracy at 99%.

Members are bit-identical whoever shares their population, so a method whose parameters a
reading does not change is trained once and shared by every reading that leaves it alone;
readings of the evaluation (AUC, false-start rule) retrain nothing. No reading was tuned toward
the paper's figures: they are the choices the paper's words allow, and their combinations.

Example:
    >>> r = interpretations(seeds=2, epochs=3, thresholds=(0.9,), readings=["growlab", "usable junctures"])
    >>> sorted(r.claims.reading.unique())
    ['growlab', 'usable junctures']
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from growlab.analysis import false_start_from
from growlab.experiment.grid import grid
from growlab.experiment.paper import PAPER_SETTINGS
from growlab.experiment.plan import PAPER_METHODS, PAPER_THRESHOLDS
from growlab.methods import METHODS

#: the paper's claims: (name, better method, other method)
CLAIMS = (
    ("strategic − random", "strategic", "random"),
    ("strategic − subnet", "strategic", "subnet"),
    ("strategic+prune − random+prune", "strategic+prune", "random+prune"),
    ("strategic+prune − subnet", "strategic+prune", "subnet"),
)
DEFAULT_SEEDS, FULL_SEEDS = 20, 50


@dataclass(frozen=True)
class Reading:
    """One reading of the paper: method parameters, evaluation choices and dataset options.

    Attributes:
        name: short label.
        doc: what it reads differently, in the paper's words where there are some.
        params: method parameters, given to every method that has them.
        auc: ``"probabilities"`` (ROC AUC of the predicted probabilities) or ``"labels"``.
        rule_b: the false-start rule (b) reading (``never``, ``at_window``, ``mean``).
        dataset_options: options of the ``heart`` data (``val_fraction``).
    """

    name: str
    doc: str
    params: dict = field(default_factory=dict)
    auc: str = "probabilities"
    rule_b: str = "never"
    dataset_options: dict = field(default_factory=dict)


READINGS: tuple[Reading, ...] = (
    Reading("growlab", "growlab's defaults: the top N junctures by |w|, growth from the origin, T a density cap, "
            "hybrids floored at min(start size, capacity), ROC AUC of probabilities, 61 validation rows"),
    Reading("usable junctures", "\"the top ranked magnitudes\" among connections that can still grow", {"junctures": "usable"}),
    Reading("one juncture per origin", "at most one focal juncture per origin neuron", {"junctures": "one_per_origin"}),
    Reading("grow forward", "\"using the origin of the target in the subsequent layer\": extend the juncture from its terminus",
            {"grow_from": "terminus"}),
    Reading("cap 2 per cycle", "\"a more significant threshold for synthesis per cycle\": at most 2 new connections a cycle",
            {"max_grow": 2}),
    Reading("threshold as budget", "T \"an upper and lower limit for the algorithms to apply pruning and synthesis\": "
            "a budget of ⌊(1 − T)·n⌋ connections grown and pruned in all", {"threshold": "budget"}),
    Reading("floor at start size", "hybrids keep their start size (not capped by T)", {"prune_floor": "start"}),
    Reading("no floor", "hybrids prune prune_per_cycle every cycle, whatever is left", {"prune_floor": "none"}),
    Reading("AUC of labels", "AUC of the hard predictions (the paper's AUC sits below its accuracy)", auc="labels"),
    Reading("false start at the window", "a false start is not above the bar when the warm-up window ends", rule_b="at_window"),
    Reading("58 validation rows", "the paper's 58 validation rows (val_fraction 0.19)", dataset_options={"val_fraction": 0.19}),
    Reading("usable, no floor", "usable junctures, hybrids without a floor", {"junctures": "usable", "prune_floor": "none"}),
    Reading("usable, forward, budget", "usable junctures grown forward, T a budget",
            {"junctures": "usable", "grow_from": "terminus", "threshold": "budget"}),
    Reading("budget, no floor, AUC of labels", "T a budget, no floor, AUC of labels",
            {"threshold": "budget", "prune_floor": "none"}, auc="labels"),
)  # fmt: skip
BY_NAME = {r.name: r for r in READINGS}


def named(names: Sequence[str] | None = None) -> tuple[Reading, ...]:
    """The named readings (all by default); ``ValueError`` listing the valid names otherwise."""
    if names is None:
        return READINGS
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise ValueError(f"unknown reading(s) {', '.join(map(repr, unknown))}; valid: {', '.join(BY_NAME)}")
    return tuple(BY_NAME[n] for n in names)


@dataclass
class InterpretationsResult:
    """What :func:`interpretations` measured.

    Attributes:
        claims: one row per reading × claim × threshold (``"all"`` pools the thresholds):
            ``reading, claim, threshold, mean, low, high, n, better, worse`` (percentage points).
        methods: one row per reading × method × threshold: ``mean_accuracy``, ``min_accuracy``,
            ``false_starts``, ``members`` (percent, counts).
        members: every member of every reading (the frames the tables come from).
        readings: the readings, in order.
        settings: the protocol's settings (seeds, thresholds, epochs, training).
        seconds: wall-clock time; ``trained``: distinct (method, settings) populations trained (each once).
    """

    claims: pd.DataFrame
    methods: pd.DataFrame
    members: pd.DataFrame
    readings: tuple[Reading, ...]
    settings: dict
    seconds: float = 0.0
    trained: int = 0

    def pruning_at(self, threshold: float = 0.99) -> pd.Series:
        """Pruning's mean final accuracy (%) at ``threshold`` per reading."""
        rows = self.methods[(self.methods.method == "prune") & np.isclose(self.methods.threshold, threshold)]
        return rows.set_index("reading").mean_accuracy.reindex([r.name for r in self.readings])

    def claims_table(self, threshold: float | str = "all") -> pd.DataFrame:
        """Readings × claims: ``mean [low, high]`` in points, at one threshold or pooled (``"all"``)."""
        c = self.claims[self.claims.threshold.astype(str) == str(threshold)]
        cell = c.apply(lambda r: f"{r['mean']:+.1f} [{r.low:+.1f}, {r.high:+.1f}]", axis=1)
        t = c.assign(cell=cell).pivot(index="reading", columns="claim", values="cell")
        return t.reindex(index=[r.name for r in self.readings], columns=[c for c, _, _ in CLAIMS])

    def plot(self):
        """Claims × readings with their 95% intervals (Bokeh; thresholds pooled)."""
        from growlab.experiment.plots import interval_plot

        return interval_plot(self.claims[self.claims.threshold.astype(str) == "all"], [r.name for r in self.readings],
                             [c for c, _, _ in CLAIMS])  # fmt: skip

    def markdown(self) -> str:
        """The report: settings, claims per reading (pooled and at each threshold), methods."""
        from growlab.experiment.report import interpretations_markdown

        return interpretations_markdown(self)

    def save(self, directory: str | Path) -> Path:
        """Write ``interpretations.md``, ``claims.csv``, ``methods.csv``, ``members.csv`` and
        ``claims.html`` into ``directory``; returns the Markdown file's path."""
        from growlab.experiment.report import save_interpretations

        return save_interpretations(self, Path(directory))

    def __repr__(self) -> str:
        s = self.settings
        return (
            f"InterpretationsResult({len(self.readings)} readings × {len(s['seeds'])} seeds × "
            f"{len(s['thresholds'])} thresholds, {self.trained} method settings trained, {self.seconds:.1f} s)"
        )


def interpretations(
    seeds: int | Sequence[int] = DEFAULT_SEEDS,
    thresholds: Sequence[float] = PAPER_THRESHOLDS,
    readings: Sequence[str] | None = None,
    *,
    epochs: int = PAPER_SETTINGS["epochs"],
    progress: Callable[[int, int, str], None] | bool | None = None,
    cancel: Callable[[], bool] | None = None,
    **grid_kw: Any,
) -> InterpretationsResult:
    """Run named readings of paper 000 on its protocol; report its claims as paired differences.

    Args:
        seeds: a count (20 by default; 50 as in the paper) or a list of seeds, the same in
            every reading and method.
        thresholds: sparsity thresholds (the paper's 80–99%).
        readings: names from :data:`READINGS` (default: all).
        epochs: epochs per member (the paper protocol's 200).
        progress: ``(done, total, label)`` in member-epochs over every training, or ``True``
            for a tqdm bar.
        cancel: called after every epoch; true stops with ``growlab.experiment.Cancelled``.
        **grid_kw: passed to every :func:`~growlab.experiment.grid` call (``threads``,
            ``workers``, ``chunk``, an executor or scheduler…).
    """
    chosen = named(readings)
    t0 = time.perf_counter()
    seeds_t = tuple(range(seeds)) if isinstance(seeds, int) else tuple(seeds)
    thresholds_t = tuple(thresholds)
    plan = _plan(chosen)
    total = sum(_population(m, len(seeds_t), len(thresholds_t)) for m, _ in plan) * epochs
    report, close = _progress(progress, total)
    cache: dict[tuple, tuple[pd.DataFrame, np.ndarray, float]] = {}
    done = 0
    try:
        for (method, key), (params, ds) in plan.items():
            offset = done

            def step(d: int, _t: int, label: str, offset=offset, method=method) -> None:
                report(offset + d, total, label)

            r = grid(
                PAPER_SETTINGS["dataset"], PAPER_SETTINGS["arch"], [method], seeds_t, thresholds_t, epochs=epochs,
                progress=step, cancel=cancel, dataset_options=ds, **_training(), **params, **grid_kw,
            )  # fmt: skip
            cache[method, key] = (r.frame, r.curves, r.majority_rate)
            done += _population(method, len(seeds_t), len(thresholds_t)) * epochs
    finally:
        close()
    members = pd.concat([_members(reading, cache) for reading in chosen], ignore_index=True)
    return InterpretationsResult(
        claims=claim_frame(members, chosen, thresholds_t), methods=method_frame(members, chosen),
        members=members, readings=chosen, seconds=time.perf_counter() - t0, trained=len(plan),
        settings={"seeds": list(seeds_t), "thresholds": list(thresholds_t), "epochs": epochs, **_training(),
                  "methods": list(PAPER_METHODS)},
    )  # fmt: skip


def _training() -> dict:
    """The paper protocol's training settings (what ``paper`` passes to ``grid``)."""
    return {k: v for k, v in PAPER_SETTINGS.items() if k in ("lr", "optimizer", "batch_size", "activation", "split_seed")}


def _method_params(method: str, reading: Reading) -> dict:
    """The parameters ``method`` trains with in ``reading``: the paper protocol's, then the reading's."""
    specs = METHODS.get(method).param_specs()
    base = {"schedule": PAPER_SETTINGS["schedule"]} if "schedule" in specs else {}
    return {**base, **{k: v for k, v in reading.params.items() if k in specs}}


def _key(method: str, reading: Reading) -> tuple:
    return (tuple(sorted(_method_params(method, reading).items())), tuple(sorted(reading.dataset_options.items())))


def _plan(chosen: Sequence[Reading]) -> dict[tuple, tuple[dict, dict]]:
    """Each distinct (method, parameters, data) to train once: key → (method parameters, dataset options)."""
    plan = {}
    for reading in chosen:
        for m in PAPER_METHODS:
            plan.setdefault((m, _key(m, reading)), (_method_params(m, reading), dict(reading.dataset_options)))
    return plan


def _population(method: str, seeds: int, thresholds: int) -> int:
    return seeds * thresholds if "sparsity" in METHODS.get(method).param_specs() else seeds


def _members(reading: Reading, cache: dict) -> pd.DataFrame:
    """The reading's members from the trained (shared) ones, evaluated the reading's way."""
    frames = []
    for m in PAPER_METHODS:
        frame, curves, majority = cache[m, _key(m, reading)]
        f = frame.copy()
        if reading.auc == "labels":
            f["val_auc"] = f["val_auc_labels"]
        if reading.rule_b != "never":
            reached = (f.false_start_rule != "unreachable").to_numpy()
            fs = false_start_from(curves, majority, reached, rule_b=reading.rule_b)
            f["false_start"], f["false_start_reason"] = fs.flags, fs.reasons
        frames.append(f.assign(reading=reading.name))
    return pd.concat(frames, ignore_index=True)


def paired(a: np.ndarray, b: np.ndarray) -> dict:
    """Mean of ``a − b`` over pairs with a 95% t-interval, and how often each side is ahead.

    Example:
        >>> d = paired(np.array([0.8, 0.9, 0.7]), np.array([0.7, 0.8, 0.7]))
        >>> round(d["mean"], 3), d["better"], d["worse"]
        (0.067, 2, 0)
    """
    from scipy import stats

    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    n = len(d)
    mean = float(d.mean()) if n else float("nan")
    half = float(stats.t.ppf(0.975, n - 1) * d.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    return {"mean": mean, "low": mean - half, "high": mean + half, "n": n, "better": int((d > 0).sum()), "worse": int((d < 0).sum())}


def claim_frame(members: pd.DataFrame, chosen: Sequence[Reading], thresholds: Sequence[float]) -> pd.DataFrame:
    """The claims as paired differences (percentage points) per reading, threshold and pooled."""
    rows = []
    for reading in chosen:
        f = members[members.reading == reading.name]
        acc = f.pivot_table(index="seed", columns=["method", "threshold"], values="val_acc") * 100
        for claim, better, other in CLAIMS:
            for t in [*thresholds, "all"]:
                if t == "all":
                    a, b = acc[better].mean(axis=1), acc[other].mean(axis=1)
                else:
                    a, b = acc[(better, t)], acc[(other, t)]
                rows.append({"reading": reading.name, "claim": claim, "threshold": t, **paired(a.to_numpy(), b.to_numpy())})
    return pd.DataFrame(rows)


def method_frame(members: pd.DataFrame, chosen: Sequence[Reading]) -> pd.DataFrame:
    """Per reading, method and threshold: mean and worst final accuracy (%), false starts."""
    g = members.groupby(["reading", "method", "threshold"], sort=False)
    out = pd.DataFrame({
        "mean_accuracy": g.val_acc.mean() * 100, "min_accuracy": g.val_acc.min() * 100,
        "mean_auc": g.val_auc.mean() * 100, "false_starts": g.false_start.sum().astype(int), "members": g.size(),
    }).reset_index()  # fmt: skip
    return out


def _progress(progress, total: int):
    if progress is True:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, unit="member-epoch", desc="interpretations")

        def report(done: int, _total: int, label: str) -> None:
            bar.set_description(label, refresh=False)
            bar.update(done - bar.n)

        return report, bar.close
    if callable(progress):
        return progress, (lambda: None)
    return (lambda *_: None), (lambda: None)
