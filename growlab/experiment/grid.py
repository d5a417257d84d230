"""``grid``: train every (method, threshold, seed) of a grid, batched, into an :class:`ExperimentResult`."""

from __future__ import annotations

import threading
import time
from concurrent.futures import FIRST_COMPLETED, CancelledError, Executor, Future, wait
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import torch

from growlab.analysis import RULES
from growlab.config import is_conv
from growlab.data import load_cached
from growlab.engine.network import resolve_device
from growlab.experiment.distributed import POLL_SECONDS, auto_chunk, open_backend
from growlab.experiment.plan import (
    PAPER_METHODS,
    as_seeds,
    as_thresholds,
    make_groups,
    split_params,
    training_config,
)
from growlab.experiment.population import Cancelled, DataSpec, GroupResult, Task, describe, run_task
from growlab.experiment.result import ExperimentResult, Missing

#: the member frame's columns, in order
COLUMNS = [
    "method", "threshold", "seed", "val_acc", "best_val_acc", "val_auc", "best_val_auc", "val_auc_labels",
    "density", "active", "redundant", "false_start", "false_start_rule", "false_start_reason", "time_to_bar",
    "threshold_used", "member",
]  # fmt: skip
#: ``progress(done, total, label)``: member-epochs trained so far, of all, and what is training
Progress = Callable[[int, int, str], None]

__all__ = ["COLUMNS", "Cancelled", "ExperimentFailed", "grid", "member_frame"]


class ExperimentFailed(RuntimeError):
    """Some tasks raised; the others finished.

    Attributes:
        failures: the tasks that raised (:class:`~growlab.experiment.result.Missing`, with the error).
        result: the members that finished, an :class:`ExperimentResult` whose ``missing`` lists
            the failed tasks (``result.save(dir)`` writes the partial report); ``None`` if none finished.
    """

    def __init__(self, message: str, failures: list[Missing], result: ExperimentResult | None):
        super().__init__(message)
        self.failures, self.result = failures, result


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
    executor: Executor | None = None,
    scheduler: Any = None,
    **params: Any,
) -> ExperimentResult:
    """Train ``methods`` × ``thresholds`` × ``seeds`` members, each method's members batched in populations.

    Members sharing a seed start from the same initial dense weights (and the same sub-network
    where the method starts from one) in every method. A method without a sparsity threshold
    (``dense``, ``subnet``) trains once per seed; its rows repeat for every threshold. Every
    member draws from its own random streams and computes on its own, so its result is bit for
    bit that of ``growlab.Run(dataset, arch, method, seed=s, sparsity=T)`` trained alone at one
    torch thread, whatever else is in the grid and wherever it trains (DESIGN §3c).

    The work is split into tasks, one per population (a method × a chunk of seeds), that run
    in this process by default, or on ``executor`` or a Dask cluster (``scheduler``); results
    come back as tasks finish. A task that raises does not stop the others: the grid then raises
    :class:`ExperimentFailed`, naming the failed method and seeds and carrying the rest.

    Args:
        dataset: a classification dataset name (``heart`` is the paper's).
        arch: hidden widths (``"16-8"``) or a preset.
        methods: named methods (see ``growlab.methods.available()``).
        seeds: a count (``10`` = seeds 0..9) or a list of seeds.
        thresholds: sparsity thresholds T in [0, 1).
        epochs: epochs per member.
        progress: a callback ``(done, total, label)`` in member-epochs, or ``True`` for a tqdm bar;
            called from this thread, or from a training thread of this process.
        cancel: asked after every epoch in this process (a few times a second on another
            executor); returning true stops with :class:`Cancelled`, whose ``result`` holds the
            members that had finished.
        threads: torch intra-op threads while training, restored afterwards (``None`` leaves
            torch's setting); each task sets it in the process it runs in. One is the default:
            populations of these small networks train fastest on one thread, and multi-threaded
            kernels on a busy machine stall (the protocol once took 35 s with one thread and 460 s
            with two on a busy 2-core machine).
        workers: in-process tasks trained at the same time, each on its own thread (default: up
            to 2, the CPU count); results do not depend on it.
        chunk: seeds per task (every threshold of them: one population); ``None``: one task per
            method in-process, about two tasks per worker thread on an executor or cluster.
            Results do not depend on it.
        executor: any ``concurrent.futures.Executor`` to run the tasks on (e.g. a
            ``ProcessPoolExecutor``, or a Dask ``client.get_executor()``); left open.
        scheduler: a Dask cluster: a scheduler address (``"tcp://host:8786"``), ``"local"`` /
            ``"local:N"`` for a ``LocalCluster`` of one / N worker processes on this machine
            (started and closed here; in a script, call under ``if __name__ == "__main__":``), or a
            ``distributed.Client`` (left open). Needs ``pip install "growlab[dask]"``. Tasks ask
            for a ``GPU`` resource when workers advertise one, and then train on its CUDA device.
        **params: training settings (``lr``, ``optimizer``, ``momentum``, ``batch_size``,
            ``activation``, ``device``, ``split_seed``, ``dataset_options``) and method
            parameters (each goes to the methods that have it, e.g. ``sigma=2``, or ``stop=0.5``
            for the schedule's stop).

    Raises:
        ValueError: a bad setting (nothing runs).
        ConnectionError: no Dask scheduler answered at ``scheduler`` within a few seconds.
        Cancelled: ``cancel`` returned true (or Ctrl-C); ``.result`` holds the finished members.
        ExperimentFailed: some tasks raised; ``.result`` holds the others' members.

    Example:
        >>> r = grid("heart", "16-8", ["dense", "prune"], seeds=2, thresholds=(0.8, 0.9), epochs=3)
        >>> len(r.frame), sorted(r.frame.method.unique())
        (8, ['dense', 'prune'])
    """
    methods = list(methods)
    workers = None if workers is None else _positive("workers", workers)
    threads = None if threads is None else _positive("threads", threads)
    seeds_t, thresholds_t = as_seeds(seeds), as_thresholds(thresholds)
    train_kw, method_kw = split_params(methods, params)
    config = training_config(dataset, arch, epochs, **train_kw)
    groups = make_groups(methods, seeds_t, thresholds_t, method_kw, chunk)  # validates methods and chunk
    data = load_cached(dataset, config.split_seed, **config.dataset_options)
    if data.task == "regression":
        raise ValueError(f"experiments compare accuracy and AUC; {data.name!r} is a regression dataset")
    spec = None if dataset == "csv" else DataSpec.of(data, config.split_seed, config.dataset_options)
    t0, before = time.perf_counter(), torch.get_num_threads()
    with open_backend(executor, scheduler, workers, config.device) as backend:
        if not backend.remote:
            resolve_device(config.device)  # a missing device fails here, before anything trains
        elif chunk is None:  # split for the cluster: about two tasks per worker thread
            size = auto_chunk(len(seeds_t), len(methods), backend.slots)
            groups = make_groups(methods, seeds_t, thresholds_t, method_kw, size)
        tasks = [Task(k, g, config, threads, backend.gpu) for k, g in enumerate(groups)]
        report, close = _progress(progress, sum(g.population for g in groups) * epochs)
        try:
            if threads is not None:
                torch.set_num_threads(threads)
            inputs = backend.data(data, spec)
            results, failures, stop = _train_all(tasks, inputs, backend, _Tally(tasks, report), cancel)
        finally:
            close()
            torch.set_num_threads(before)
    seconds = time.perf_counter() - t0
    return _outcome(tasks, results, failures, stop, data, config, method_kw, methods, thresholds_t, seeds_t, seconds)


def _outcome(tasks, results, failures, stop, data, config, method_kw, methods, thresholds, seeds, seconds):
    """The result; or :class:`Cancelled` / :class:`ExperimentFailed` carrying the members that finished."""
    lost = [t for t in tasks if t.key not in results]
    missing = [Missing.of(t.group, _reason(failures.get(t.key))) for t in lost]
    result = _assemble(results, missing, data, config, method_kw, methods, thresholds, seeds, seconds)
    if stop is not None:
        what = str(stop) if isinstance(stop, Cancelled) else "interrupted"
        err = Cancelled(f"{what}; {len(results)} of {len(tasks)} tasks had finished (their members are in .result)")
        err.result = result
        raise err from None
    if failures:
        failed = [m for t, m in zip(lost, missing) if t.key in failures]
        raise ExperimentFailed(_failure_message(failed, len(tasks)), failed, result) from failures[min(failures)]
    return result


def _reason(error: BaseException | None) -> str:
    return "stopped before it finished" if error is None else f"{type(error).__name__}: {error}"


def _failure_message(failures: list[Missing], n_tasks: int) -> str:
    lines = [f"{len(failures)} of {n_tasks} tasks failed; the other {n_tasks - len(failures)} finished "
             "(their members are in .result: .result.save(dir) writes the partial report):"]  # fmt: skip
    return "\n".join(lines + [f"  - {f.task}: {f.reason}" for f in failures])


def _assemble(results, missing, data, config, method_kw, methods, thresholds, seeds, seconds):
    """The :class:`ExperimentResult` of the finished tasks, in task order (``None``: none finished)."""
    done = [results[k] for k in sorted(results)]
    if not done:
        return None
    settings = {k: v for k, v in config.to_dict().items() if k not in ("method", "seed")}
    networks: dict[str, list] = {}
    for r in done:
        networks.setdefault(r.group.method, []).append(r.network)
    tasks = pd.DataFrame({
        "method": [r.group.method for r in done], "task": [describe(r.group) for r in done],
        "members": [r.group.population for r in done], "seconds": [r.seconds for r in done],
        "cpu_seconds": [r.cpu_seconds for r in done], "process": [r.where for r in done],
    })  # fmt: skip
    frame, curves = member_frame(done, thresholds)
    return ExperimentResult(
        frame=frame, curves=curves, settings=settings, method_params=method_kw,
        methods=tuple(m for m in methods if m in networks), thresholds=thresholds, seeds=seeds, networks=networks,
        majority_rate=data.majority_rate, dataset_info=_describe(data, config), seconds=seconds,
        tasks=tasks, missing=tuple(missing),
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
    """Member-epochs done per task, summed under a lock (tasks may report from parallel threads)."""

    def __init__(self, tasks: list[Task], report: Progress):
        self.tasks, self.report, self.lock = {t.key: t for t in tasks}, report, threading.Lock()
        self.done: dict[int, int] = {}
        self.finished: set[int] = set()
        self.last = ""

    def update(self, key: int, epoch: int) -> None:
        """Task ``key`` has trained ``epoch`` epochs (a rerun elsewhere may start again from 0)."""
        t = self.tasks[key]
        with self.lock:
            if key in self.finished:  # a late progress event
                return
            self.done[key], self.last = epoch * t.group.population, t.group.method
            self.report(sum(self.done.values()), 0, self._label())

    def finish(self, key: int) -> None:
        t = self.tasks[key]
        with self.lock:
            self.finished.add(key)
            self.done[key], self.last = t.config.epochs * t.group.population, t.group.method
            self.report(sum(self.done.values()), 0, self._label())

    def label(self) -> str:
        with self.lock:
            return self._label()

    def _label(self) -> str:
        running = [self.tasks[k] for k, d in self.done.items() if k not in self.finished]
        running = [t.group.method for t in running if self.done[t.key] < t.config.epochs * t.group.population]
        return ", ".join(dict.fromkeys(running)) or self.last


def _train_all(
    tasks: list[Task], data, backend, tally: _Tally, cancel
) -> tuple[dict[int, GroupResult], dict[int, Exception], BaseException | None]:
    """Run every task on ``backend`` (largest first), collecting results as they finish.

    A task that raises is recorded and the others go on. ``cancel`` (or Ctrl-C) stops them all:
    in this process at their next epoch, on a cluster at their next check; tasks not started are
    cancelled. Returns ``({key: result}, {key: error}, the stop or None)``.
    """
    channel = backend.channel(tally, cancel)
    futures: dict[Future, Task] = {}
    failures: dict[int, Exception] = {}
    stop: BaseException | None = None
    try:
        for t in sorted(tasks, key=lambda t: -t.group.population):
            futures[backend.submit(run_task, t, data, channel)] = t
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
            backend.pump(tally)
            for f in done:
                if f.cancelled():
                    continue
                e = f.exception()
                if e is None:
                    tally.finish(futures[f].key)
                elif isinstance(e, Exception) and not isinstance(e, Cancelled):
                    failures[futures[f].key] = e
                elif stop is None:
                    stop = e
            if stop is None and backend.remote and cancel is not None and cancel():
                stop = Cancelled(f"stopped while training {tally.label() or 'the first tasks'}")
            if stop is not None:
                pending = backend.stop(pending)
            pending = {f for f in pending if not f.cancelled()}
    except KeyboardInterrupt:
        stop = Cancelled("interrupted")
        backend.stop({f for f in futures if not f.done()})
    finished = [(f, t) for f, t in futures.items() if f.done() and not f.cancelled() and f.exception() is None]
    results = {t.key: f.result() for f, t in finished}
    if stop is None:  # then every task finished or failed: one cancelled without a stop was dropped by the cluster
        for t in tasks:
            if t.key not in results and t.key not in failures:
                failures[t.key] = CancelledError("the cluster cancelled it (was the scheduler restarted, or the client cut off?)")
    return results, failures, stop


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
