"""``grid``: train every (method, threshold, seed) of a grid, batched, into an :class:`ExperimentResult`."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import torch

from growlab.analysis import RULES
from growlab.config import is_conv
from growlab.data import load_cached
from growlab.experiment.plan import (
    PAPER_METHODS,
    Group,
    as_seeds,
    as_thresholds,
    make_groups,
    split_params,
    training_config,
)
from growlab.experiment.population import GroupResult, train_group
from growlab.experiment.result import ExperimentResult

#: the member frame's columns, in order
COLUMNS = [
    "method", "threshold", "seed", "val_acc", "best_val_acc", "val_auc", "best_val_auc", "val_auc_labels",
    "density", "active", "redundant", "false_start", "false_start_rule", "false_start_reason", "time_to_bar",
    "threshold_used", "member",
]  # fmt: skip
#: ``progress(done, total, label)``: member-epochs trained so far, of all, and what is training
Progress = Callable[[int, int, str], None]


class Cancelled(RuntimeError):
    """The experiment was stopped before it finished (``cancel`` returned true)."""


def grid(
    dataset: str = "heart",
    arch: str | Sequence[int] = "16-8",
    methods: Sequence[str] = PAPER_METHODS,
    seeds: int | Sequence[int] = 10,
    thresholds: float | Sequence[float] = (0.9,),
    *,
    epochs: int = 200,
    progress: Progress | bool | None = None,
    cancel: Callable[[], bool] | None = None,
    threads: int | None = 1,
    workers: int | None = None,
    chunk: int | None = None,
    **params: Any,
) -> ExperimentResult:
    """Train ``methods`` × ``thresholds`` × ``seeds`` members, each method's members batched in populations.

    Members sharing a seed start from the same initial dense weights (and the same sub-network
    where the method starts from one) in every method. A method without a sparsity threshold
    (``dense``, ``subnet``) trains once per seed; its rows repeat for every threshold. Every
    member draws from its own random streams and computes on its own, so its result is bit for
    bit that of ``growlab.Run(dataset, arch, method, seed=s, sparsity=T)`` trained alone at one
    torch thread, whatever else is in the grid (DESIGN §3c).

    Args:
        dataset: a classification dataset name (``heart`` is the paper's).
        arch: hidden widths (``"16-8"``) or a preset.
        methods: named methods (see ``growlab.methods.available()``).
        seeds: a count (``10`` = seeds 0..9) or a list of seeds.
        thresholds: sparsity thresholds T in [0, 1).
        epochs: epochs per member.
        progress: a callback ``(done, total, label)`` in member-epochs, or ``True`` for a tqdm bar.
        cancel: called after every epoch; returning true stops with :class:`Cancelled`.
        threads: torch intra-op threads while training, restored afterwards (``None`` leaves
            torch's setting). One is the default: populations of these small networks train
            fastest on one thread, and multi-threaded kernels on a busy machine stall (the
            protocol once took 35 s with one thread and 460 s with two on a busy 2-core machine).
        workers: populations trained at the same time, each on its own thread (default: up to
            2, the CPU count); results do not depend on it.
        chunk: seeds per population (every threshold of them); ``None``: a method's members
            all train in one population. Results do not depend on it.
        **params: training settings (``lr``, ``optimizer``, ``momentum``, ``batch_size``,
            ``activation``, ``device``, ``split_seed``, ``dataset_options``) and method
            parameters (each goes to the methods that have it, e.g. ``sigma=2``, or ``stop=0.5``
            for the schedule's stop).

    Example:
        >>> r = grid("heart", "16-8", ["dense", "prune"], seeds=2, thresholds=(0.8, 0.9), epochs=3)
        >>> len(r.frame), sorted(r.frame.method.unique())
        (8, ['dense', 'prune'])
    """
    methods = list(methods)
    workers = min(2, os.cpu_count() or 1) if workers is None else _positive("workers", workers)
    threads = None if threads is None else _positive("threads", threads)
    seeds_t, thresholds_t = as_seeds(seeds), as_thresholds(thresholds)
    train_kw, method_kw = split_params(methods, params)
    config = training_config(dataset, arch, epochs, **train_kw)
    data = load_cached(dataset, config.split_seed, **config.dataset_options)
    groups = make_groups(methods, seeds_t, thresholds_t, method_kw, chunk)
    report, close = _progress(progress, sum(g.population for g in groups) * epochs)
    t0, before = time.perf_counter(), torch.get_num_threads()
    try:
        if threads is not None:
            torch.set_num_threads(threads)
        results = _train_all(groups, data, config, report, cancel, workers)
    finally:
        close()
        torch.set_num_threads(before)
    settings = {k: v for k, v in config.to_dict().items() if k not in ("method", "seed")}
    networks: dict[str, list] = {}
    for r in results:
        networks.setdefault(r.group.method, []).append(r.network)
    frame, curves = member_frame(results, thresholds_t)
    return ExperimentResult(
        frame=frame, curves=curves, settings=settings, method_params=method_kw,
        methods=tuple(methods), thresholds=thresholds_t, seeds=seeds_t, networks=networks,
        majority_rate=data.majority_rate, dataset_info=_describe(data, config),
        seconds=time.perf_counter() - t0,
    )  # fmt: skip


def _positive(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer or None, got {value!r}")
    return value


def _describe(data, config) -> dict:
    inputs = "×".join(map(str, data.image)) if is_conv(config.arch) else data.n_inputs  # conv layers read images
    sizes = (inputs, *config.arch, data.n_outputs)
    return {
        "name": data.name, "task": data.task, "inputs": data.n_inputs, "outputs": data.n_outputs,
        "train_rows": data.n_train, "val_rows": data.n_val, "network": "-".join(map(str, sizes)),
    }  # fmt: skip


class _Tally:
    """Member-epochs done per group, summed under a lock (groups may train on parallel threads)."""

    def __init__(self, report: Progress):
        self.report, self.lock, self.done, self.running = report, threading.Lock(), {}, {}

    def update(self, key: int, method: str, done: int, running: bool = True) -> None:
        with self.lock:
            self.done[key] = done
            self.running[key] = (method, running)
            label = ", ".join(dict.fromkeys(m for m, r in self.running.values() if r)) or method
            self.report(sum(self.done.values()), 0, label)


def _train_all(groups: list[Group], data, config, report: Progress, cancel, workers: int) -> list[GroupResult]:
    """Train the groups, ``workers`` at a time (largest first), reporting member-epochs.

    Torch kernels release the GIL, so two single-threaded populations on two Python threads use
    two cores without the barrier stalls of multi-threaded kernels on a busy machine. A failure
    or ``cancel`` in one group stops the others at their next epoch; the first error is raised.
    """
    tally, halt, errors = _Tally(report), threading.Event(), []

    def one(key: int, g: Group) -> GroupResult:
        def on_epoch(epoch: int) -> None:
            tally.update(key, g.method, epoch * g.population, epoch < config.epochs)
            if halt.is_set() or (cancel is not None and cancel()):
                raise Cancelled(f"stopped while training {g.method!r} (epoch {epoch}/{config.epochs})")

        try:
            return train_group(g, data, config, on_epoch)
        except BaseException as e:
            with tally.lock:
                errors.append(e)
            halt.set()
            raise

    if workers == 1:
        return [one(k, g) for k, g in enumerate(groups)]
    with ThreadPoolExecutor(workers, thread_name_prefix="growlab-experiment") as pool:
        order = sorted(range(len(groups)), key=lambda k: -groups[k].population)
        futures = {k: pool.submit(one, k, groups[k]) for k in order}
        wait(futures.values())
    if errors:
        raise errors[0]
    return [futures[k].result() for k in range(len(groups))]


def _progress(progress: Progress | bool | None, total: int) -> tuple[Progress, Callable[[], None]]:
    """A ``report(done, _, label)`` function and a ``close()`` for the chosen kind of progress."""
    if progress is True:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, unit="member-epoch", desc="experiment")

        def report(done: int, _total: int, label: str) -> None:
            bar.set_description(label, refresh=False)
            bar.update(done - bar.n)

        return report, bar.close
    if callable(progress):
        return (lambda done, _total, label: progress(done, total, label)), (lambda: None)
    return (lambda *_: None), (lambda: None)


def member_frame(results: list[GroupResult], thresholds: tuple[float, ...]) -> tuple[pd.DataFrame, np.ndarray]:
    """One row per member (method, threshold, seed); threshold-free methods repeat per threshold.

    ``member`` numbers a method's members across its populations, in the order of
    ``ExperimentResult.networks[method]``. Also returns each row's validation accuracy after
    every epoch ``(rows, epochs)`` (what other false-start readings are judged from).
    """
    frames, offsets = [], {}
    for r in results:
        g, fs = r.group, r.false_starts
        first = offsets.get(g.method, 0)
        offsets[g.method] = first + g.population
        base = pd.DataFrame({
            "method": g.method, "seed": list(g.seeds), "member": range(first, first + g.population),
            "val_acc": r.val_acc[:, -1], "best_val_acc": r.val_acc.max(axis=1),
            "val_auc": r.val_auc[:, -1], "best_val_auc": r.val_auc.max(axis=1),
            "val_auc_labels": r.val_auc_labels[:, -1],
            "density": r.density, "active": r.active, "redundant": r.redundant,
            "false_start": fs.flags, "false_start_rule": [RULES[i] or "none" for i in fs.rules],
            "false_start_reason": fs.reasons, "time_to_bar": fs.time_to_bar, "_row": range(g.population),
            "_group": id(r),
        })  # fmt: skip
        if g.uses_threshold:
            frames.append(base.assign(threshold=list(g.thresholds), threshold_used=True))
        else:
            frames += [base.assign(threshold=t, threshold_used=False) for t in thresholds]
    frame = pd.concat(frames, ignore_index=True)
    order = {m: i for i, m in enumerate(dict.fromkeys(r.group.method for r in results))}
    by = ["method", "threshold", "seed"]
    frame = frame.sort_values(by, key=lambda c: c.map(order) if c.name == "method" else c).reset_index(drop=True)
    by_id = {id(r): r for r in results}
    curves = np.stack([by_id[g].val_acc[row] for g, row in zip(frame["_group"], frame["_row"])])
    return frame[COLUMNS], curves
