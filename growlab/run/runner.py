"""``Runner``: drives one ``Run`` on a daemon worker thread and publishes immutable snapshots.

The caller (a UI session, a notebook) sends commands — ``play``, ``pause``, ``step``,
``cycle``, ``set``, ``reset``, ``stop`` — and reads :class:`Update` objects from :meth:`poll`;
it never touches the run's tensors or the thread. Commands return at once; training, cycles
and snapshots happen on the worker, one at a time, while it holds the run lock.

Rules the worker keeps:
- live parameter changes go straight to ``Run.set`` (validated there, once: ``ValueError``,
  nothing changes), which applies them at the run's next epoch boundary;
- an exception while training pauses the run with ``status="error"`` and the message in the
  snapshot; the thread lives on, so the user can fix a setting and play again;
- a server-wide :class:`~growlab.run.slots.TrainingSlots` caps runs training at once;
- ``close()`` stops and joins the thread and gives the slot back.

No panel or bokeh here: the UI polls snapshots on its own periodic callback.
"""

from __future__ import annotations

import dataclasses
import inspect
import itertools
import logging
import threading
import time
import weakref
from collections import deque
from typing import Any, Callable

from growlab.run import queries
from growlab.run.reading import RunnerReads, Update
from growlab.run.run import Run
from growlab.run.slots import MEMORY, SLOTS, MemoryBudget, TrainingSlots
from growlab.run.snapshot import Snapshot, snapshot_of
from growlab.run.trace import WeightTrace

log = logging.getLogger(__name__)

#: Longest pause between ticks that ``speed`` accepts (seconds).
MAX_DELAY = 10.0
MAX_EPOCHS_PER_TICK = 1000
_ids = itertools.count(1)
_OPEN: "weakref.WeakSet[Runner]" = weakref.WeakSet()

__all__ = ["Runner", "Update", "build_run", "estimate_run", "open_runners", "plan_run"]


class _Dropped(Exception):
    """A finished build nobody waits for any more."""


def open_runners() -> list["Runner"]:
    """Runners of this process not closed yet (for a server's status page)."""
    return [r for r in list(_OPEN) if not r.closed]


def build_run(spec: dict, memory: MemoryBudget | None = None, owner=None) -> Run:
    """A new :class:`Run` from a plain spec (``Run``'s keyword arguments).

    A CSV upload is loaded here (``dataset="csv"``, ``dataset_options={"data": bytes,
    "target": ...}``) so the raw bytes do not end up in the run's config and archive. With a
    ``memory`` budget, the run's estimate is reserved for ``owner`` before anything is
    allocated (``BudgetError`` when it does not fit) and given back if the build fails.
    """
    spec = dict(spec)
    if spec.get("dataset") == "csv":
        from growlab.data import load_dataset

        opts = spec.pop("dataset_options", None) or {}
        if not isinstance(opts, dict):
            raise ValueError(f"dataset_options must be a dict, got {type(opts).__name__}")
        spec["dataset"] = load_dataset("csv", spec.get("split_seed", 0), **opts)
    if memory is not None:
        memory.reserve(owner, estimate_run(spec))
    try:
        return Run(**spec)
    except BaseException:
        if memory is not None:
            memory.release(owner)
        raise


def estimate_run(spec: dict) -> int:
    """Estimated memory (bytes) of the run ``spec`` describes, found before building it.

    Validates the setup on the way (``ValueError`` with ``Run``'s messages): the training
    settings, the method and its parameters, the dataset.
    """
    return plan_run(spec)[1]


def plan_run(spec: dict) -> tuple[tuple[int, ...], int]:
    """The layer capacities and estimated memory (bytes) of the run ``spec`` describes (see :func:`estimate_run`)."""
    from growlab.config import conv_arch, estimate_bytes, estimate_conv_bytes
    from growlab.data import Dataset, load_cached
    from growlab.engine import resolve_batch_size
    from growlab.engine.layout import network_sizes
    from growlab.methods import METHODS
    from growlab.run.arguments import split_arguments

    spec = dict(spec)
    positional = {k: p.default for k, p in inspect.signature(Run).parameters.items() if p.default is not p.empty}
    args = {k: spec.pop(k, default) for k, default in positional.items()}  # dataset, arch, method, epochs, seed
    data = args["dataset"]
    cfg, method_kw = split_arguments(data, args["arch"], args["method"], args["epochs"], args["seed"], spec)
    method = METHODS.get(cfg.method)(**method_kw)
    if not isinstance(data, Dataset):
        data = load_cached(cfg.dataset, cfg.split_seed, **cfg.dataset_options)
    batch = resolve_batch_size(cfg.batch_size, data.n_train)
    conv = conv_arch(cfg.arch)
    if conv is not None:  # refuses tabular data and images too small, saying why
        sizes = network_sizes(cfg.arch, data)[1]
        n_conv = len(conv.channels)
        capacity = tuple(method.capacity(sizes, n_conv))
        grown = type(conv)(capacity[1 : n_conv + 1], conv.shapes, capacity[n_conv + 1 : -1])
        return capacity, estimate_conv_bytes(grown, data.image, data.n_outputs, batch=batch)
    capacity = method.capacity((data.n_inputs, *cfg.arch, data.n_outputs))
    rows = max(data.n_train, data.n_val)
    need = estimate_bytes(tuple(capacity), rows=rows, batch=batch)
    return tuple(capacity), need


class Runner(RunnerReads):
    """Trains one run in the background; see the module docstring.

    Args:
        spec: ``Run`` keyword arguments (``dataset``, ``arch``, ``method``, ``epochs``, ``seed``,
            training settings, method parameters); or
        run: an existing run to drive instead.
        slots: the training cap to use (default: the process-wide one).
        memory: the memory budget runs are reserved from (default: the process-wide one,
            unlimited unless ``growlab serve --memory-budget`` or ``$GROWLAB_MEMORY_BUDGET`` set it).
        delay: seconds between ticks while playing.
        epochs_per_tick: epochs trained per tick.
        publish_interval: while playing, at most one snapshot per this many seconds (a
            snapshot costs a little; a UI polls a few times a second). Pauses, steps, cycles
            and errors always publish.

    Example:
        >>> r = Runner({"dataset": "xor", "arch": "4", "epochs": 3})
        >>> r.step(); r.wait(lambda s: s.epoch == 1)
        True
        >>> r.close()
    """

    def __init__(
        self,
        spec: dict | None = None,
        *,
        run: Run | None = None,
        slots: TrainingSlots | None = None,
        memory: MemoryBudget | None = None,
        delay: float = 0.0,
        epochs_per_tick: int = 1,
        publish_interval: float = 0.1,
    ):
        self.id = next(_ids)
        self.slots = SLOTS if slots is None else slots
        self.spec = dict(spec or {})
        self.memory = MEMORY if memory is None else memory
        self._held = object()  # what this runner's run holds of the memory budget
        self._run = run if run is not None else build_run(self.spec, self.memory, self._held)
        self._run_id = 1
        self._trace = self._new_trace(self._run)
        self._lock = threading.RLock()  # held while the run trains or is read whole
        self._cv = threading.Condition()  # guards the fields below and wakes the worker
        self._queue: deque[tuple[str, int]] = deque()
        self._playing = False
        self._stopping = False
        self._closed = False
        self._status = "ready"
        self._error: str | None = None
        self._thread: threading.Thread | None = None
        self._version = 0
        self._published: tuple[Snapshot, Run] | None = None
        self._last_publish = 0.0
        self.example = 0  # the validation example a conv network's snapshots show
        self.publish_interval = float(publish_interval)
        self.speed(delay, epochs_per_tick)
        with self._lock:
            self._publish(self._run)
        _OPEN.add(self)

    # ------------------------------------------------------------------ reading
    @property
    def published(self) -> tuple[Snapshot, Run]:
        """The newest snapshot and the run it describes, published together (one atomic read)."""
        return self._published

    @property
    def trace(self) -> WeightTrace:
        """The weights recorded per epoch for the inspector (see :class:`~growlab.run.trace.WeightTrace`)."""
        return self._trace

    @property
    def status(self) -> str:
        return self._status

    @property
    def alive(self) -> bool:
        """Whether the worker thread is running."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def pending(self) -> dict[str, Any]:
        """Live changes queued on the run and not applied yet (they apply at its next boundary)."""
        return self._run.pending

    def call(self, fn: Callable[[Run], Any], publish: bool = False) -> Any:
        """Run ``fn(run)`` while no step is in progress and return its (plain-data) result.

        Waits for the current tick. ``publish=True`` publishes a snapshot afterwards (for
        actions that change the run, e.g. :func:`~growlab.run.queries.prune_redundant_paths`).
        """
        self._check_open()
        with self._lock:
            run = self._run
            result = fn(run)
            if publish:
                self._publish(run, force=True)
            return result

    def wait(self, predicate: Callable[[Snapshot], bool], timeout: float = 10.0) -> bool:
        """Block until ``predicate(snapshot)`` holds (for tests and scripts); False on timeout."""
        with self._cv:
            return self._cv.wait_for(lambda: predicate(self._published[0]), timeout=timeout)

    # ------------------------------------------------------------------ commands
    def play(self) -> None:
        """Train continuously (``CapacityError`` when the server's cap is reached)."""
        with self._cv:
            self._check_open()
            if self._run.done:
                raise ValueError("the run is finished; press Reset to train again (or raise epochs)")
            self.slots.acquire(self)
            self._playing = True
            self._status, self._error = "running", None
            self._wake()

    def pause(self) -> None:
        """Stop after the current tick; a snapshot with ``status="paused"`` follows."""
        with self._cv:
            if self._playing:
                self._playing = False
                self._status = "paused"
                self._queue.append(("publish", self._run_id))
                self._wake()

    def step(self) -> None:
        """Pause, then train exactly one epoch."""
        self._command("step")

    def cycle(self) -> None:
        """Pause, then run one grow/prune cycle now (outside the schedule)."""
        self._command("cycle")

    def _command(self, name: str) -> None:
        with self._cv:
            self._check_open()
            if name == "step" and self._run.done:
                raise ValueError("the run is finished; press Reset to train again")
            self.slots.acquire(self)
            self._playing = False
            if self._status in ("error", "running"):
                self._status, self._error = "paused", None
            self._queue.append((name, self._run_id))
            self._wake()

    def set(self, **params: Any) -> dict[str, Any]:
        """Queue live changes (method parameters, ``lr``) for the next cycle boundary: forwarded
        to :meth:`Run.set <growlab.run.run.Run.set>`, which validates them once and applies them
        between epochs (safe while the worker trains).

        A bad value raises ``ValueError`` with the run's reason and nothing changes.

        Returns:
            The coerced values queued.
        """
        self._check_open()
        values = self._run.set(**params)
        with self._cv:
            self._queue.append(("publish", self._run_id))  # the snapshot shows them pending
            self._wake()
        return values

    def check(self, **params: Any) -> dict[str, Any]:
        """Validate live changes as :meth:`set` would, queueing nothing (:meth:`Run.check
        <growlab.run.run.Run.check>`; never waits for the worker)."""
        self._check_open()
        return self._run.check(**params)

    def show_example(self, index: int) -> int:
        """Show validation example ``index`` in snapshots of a conv network (the diagram's input
        image, the feature maps); ``ValueError`` outside ``0 … n_val - 1``. Publishes at once."""
        n = int(self._run.data.n_val)
        if isinstance(index, bool) or not isinstance(index, (int,)) and not str(index).strip().isdigit():
            raise ValueError(f"the example is a validation row number in [0, {n - 1}], got {index!r}")
        i = int(index)
        if not 0 <= i < n:
            raise ValueError(f"the example is a validation row number in [0, {n - 1}], got {index!r}")
        self._check_open()
        with self._cv:
            self.example = i
            self._queue.append(("publish", self._run_id))
            self._wake()
        return i

    def speed(self, delay: float | None = None, epochs_per_tick: int | None = None) -> None:
        """Seconds between ticks and epochs per tick (``ValueError`` when out of range)."""
        if delay is not None:
            if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not 0 <= delay <= MAX_DELAY:
                raise ValueError(f"delay must be between 0 and {MAX_DELAY:g} seconds, got {delay!r}")
            self.delay = float(delay)
        if epochs_per_tick is not None:
            ok = isinstance(epochs_per_tick, int) and not isinstance(epochs_per_tick, bool)
            if not ok or not 1 <= epochs_per_tick <= MAX_EPOCHS_PER_TICK:
                raise ValueError(f"epochs per tick must be a whole number in [1, {MAX_EPOCHS_PER_TICK}], got {epochs_per_tick!r}")
            self.epochs_per_tick = int(epochs_per_tick)
        with self._cv:
            self._cv.notify_all()

    def reset(self, spec: dict | None = None, commit: Callable[[], bool] | None = None, **changes: Any) -> bool:
        """Replace the run with a new one from ``spec`` (default: the current spec) plus ``changes``.

        The new run is built first: a bad setting raises ``ValueError`` and the current run
        stays as it was. Pending live changes are dropped. ``commit`` (for builds on another
        thread) is asked just before the swap; when it says no (the caller gave up waiting),
        the new run is dropped and ``False`` returned.
        """
        self._check_open()
        new_spec = {**(self.spec if spec is None else spec), **changes}
        held = object()
        run = build_run(new_spec, self.memory, held)
        try:
            trace = self._new_trace(run)
            if commit is not None and not commit():  # nobody waits for it any more
                raise _Dropped
            with self._cv:
                if self._closed:  # closed while it was built
                    raise _Dropped
                old, self._held = self._held, held
        except BaseException as e:
            self.memory.release(held)
            if isinstance(e, _Dropped):
                return False
            raise
        self.memory.release(old)
        with self._cv:
            self._playing = False
            self._queue.clear()
        with self._lock:  # waits for the tick in progress, if any
            with self._cv:
                self.spec, self._run, self._trace = new_spec, run, trace
                self._run_id += 1
                self._status, self._error = "ready", None
            self._publish(run, force=True)
        return True

    def stop(self) -> None:
        """Stop training and end the worker thread (the run stays; ``play`` starts a new worker)."""
        with self._cv:
            self._playing = False
            self._stopping = True
            if self._status == "running":
                self._status = "paused"
            self._cv.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        with self._cv:
            self._thread = None
            self._stopping = False
            self._playing = False  # a play() racing this stop found the old thread still alive
            self._status = "paused" if self._status == "running" else self._status
            self._queue.clear()
        self.slots.release(self)
        with self._lock:
            self._publish(self._run, force=True)

    def close(self) -> None:
        """Stop the worker, join it and free the slot; later commands raise ``RuntimeError``."""
        with self._cv:
            if self._closed:
                return
            self._closed = True  # first, so no command starts a new worker (or swaps in a run) meanwhile
        self.stop()
        self.memory.release(self._held)
        _OPEN.discard(self)

    def __enter__(self) -> "Runner":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ worker
    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this runner is closed")

    def _wake(self) -> None:
        """Start the worker if needed and wake it (call holding ``_cv``)."""
        if self._thread is None or not self._thread.is_alive():
            self._stopping = False
            self._thread = threading.Thread(target=self._loop, name=f"growlab-runner-{self.id}", daemon=True)
            self._thread.start()
        self._cv.notify_all()

    def _next(self) -> tuple[str, int] | None:
        """The next command, waiting while idle; ``None`` when stopping."""
        with self._cv:
            while not (self._stopping or self._queue or self._playing):
                self.slots.release(self)  # idle: training slots are for runs that train
                self._cv.wait()
            if self._stopping:
                return None
            return self._queue.popleft() if self._queue else ("tick", self._run_id)

    def _loop(self) -> None:
        while (cmd := self._next()) is not None:
            self._execute(*cmd)
            if cmd[0] == "tick" and self.delay > 0:
                with self._cv:
                    self._cv.wait_for(lambda: self._stopping or self._queue or not self._playing, self.delay)

    def _execute(self, name: str, run_id: int) -> None:
        with self._lock:
            if run_id != self._run_id:  # queued before a Reset: meant for the old run
                return
            run = self._run
            try:
                if name == "cycle":
                    run.cycle()
                elif name in ("step", "tick"):
                    self._train(run, 1 if name == "step" else self.epochs_per_tick)
                if name != "publish":  # a publish changes no state: a stale run status must not stop a new play()
                    self._settle(run)
            except Exception as e:  # the thread lives on; the user sees why it paused
                log.exception("growlab runner %s: error while training", self.id)
                with self._cv:
                    self._playing = False
                    self._status, self._error = "error", f"{type(e).__name__}: {e}"
            with self._cv:
                if not self._playing and not self._queue:  # idle now: free the slot before anyone sees "paused"
                    self.slots.release(self)
            self._publish(run, force=name != "tick" or self._status != "running")

    def _train(self, run: Run, epochs: int) -> None:
        for _ in range(epochs):
            if run.step() is None:
                return
            self._trace.record(run.epoch, run.network)
            if not self._playing and epochs > 1:  # paused mid-tick
                return

    def _settle(self, run: Run) -> None:
        """Status after a command: diverged and finished runs stop playing."""
        with self._cv:
            if run.status == "diverged":
                self._playing = False
                cause = run.event_log.columns["cause"]
                self._status, self._error = "diverged", (cause[-1] if cause else "non-finite loss")
            elif run.done:
                self._playing = False
                self._status, self._error = "finished", None
            else:
                untouched = self._status == "ready" and not (run.epoch or run.cycles)
                self._status = "running" if self._playing else ("ready" if untouched else "paused")

    def _publish(self, run: Run, force: bool = True) -> None:
        """Build and publish a snapshot (holding the run lock)."""
        now = time.monotonic()
        if not force and now - self._last_publish < self.publish_interval:
            return
        with self._cv:
            status, error = self._status, self._error
            version = self._version + 1
        extra = {"pending": run.pending, "cycles": run.cycles, "config": run.config.to_dict()}
        try:
            snap = snapshot_of(run, version, status, error, run_id=self._run_id, extra=extra, example=self.example)
            # (a conv snapshot's redundancy is per kernel; the panel counts connections, i.e. taps)
            redundant = None if run.network.n_conv else snap.redundant
            snap.extra["analysis"] = queries.analysis_summary(run, redundant)  # before anyone sees it
        except Exception as e:  # keep the last picture, say what went wrong
            log.exception("growlab runner %s: snapshot failed", self.id)
            previous = self._published[0] if self._published else None
            if previous is None:
                raise
            msg = f"snapshot failed: {type(e).__name__}: {e}"
            snap = dataclasses.replace(previous, version=version, status="error", error=msg)
        with self._cv:
            self._version = version
            self._published = (snap, run)
            self._last_publish = now
            self._cv.notify_all()

    @staticmethod
    def _new_trace(run: Run) -> WeightTrace:
        trace = WeightTrace(run.network)
        trace.record(run.epoch, run.network)
        return trace

    def __repr__(self) -> str:
        return f"Runner(id={self.id}, status={self._status!r}, run={self._run!r})"
