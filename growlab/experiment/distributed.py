"""Where an experiment's tasks run: this process's threads, any ``concurrent.futures`` executor, or Dask.

``grid`` splits its members into tasks (:class:`~growlab.experiment.population.Task`: one
method × a chunk of seeds, a batched population), submits them to a *backend* and collects the
results as they finish. The backend also gives each task a *channel*: how a running task
reports its epochs and learns that it should stop.

- in-process (the default): a thread pool; tasks report every epoch and call ``cancel``.
- a ``ThreadPoolExecutor`` of the caller's: the same, on the caller's threads.
- any other executor (a ``ProcessPoolExecutor``…): tasks get the dataset by name and load it
  where they run; progress advances per finished task, and a stop cancels the tasks that have
  not started (running ones finish in the executor, their results unused).
- Dask (``scheduler=`` an address, ``"local"`` / ``"local:N"`` or a ``distributed.Client``;
  or ``executor=client.get_executor()``): tasks report epochs a few times a second through
  worker events and stop through a ``distributed.Event``; a built-in dataset loads once per
  worker process (a CSV dataset is scattered to every worker once); when workers advertise a
  ``GPU`` resource, tasks ask for one and train on that worker's CUDA device. A worker that
  dies loses nothing: the scheduler reruns its tasks elsewhere, and every member is
  bit-identical wherever it trains (DESIGN §3c, §8b).

Dask is optional (``pip install "growlab[dask]"``) and imported only when asked for.
"""

from __future__ import annotations

import logging
import math
import os
import queue
import re
import threading
import time
import uuid
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from growlab.experiment.population import Cancelled, DataSpec, Task

#: seconds between the client's looks at finished tasks, progress events and ``cancel``
POLL_SECONDS = 0.1
#: seconds a Dask scheduler address is tried before :class:`ConnectionError`
CONNECT_TIMEOUT = 5.0
#: a Dask task sends its epoch at most this often (seconds)…
REPORT_SECONDS = 0.25
#: …and asks whether to stop at most this often (one round trip to the scheduler)
CHECK_SECONDS = 0.5
#: tasks per parallel slot when ``chunk`` is left to the cluster (load balance vs batching)
TASKS_PER_SLOT = 2

_LOCAL = re.compile(r"local(?::(.*))?")


class LocalChannel:
    """A task in this process: its epochs go straight to the tally, and it calls ``cancel`` itself."""

    def __init__(self, tally, cancel: Callable[[], bool] | None, halt: threading.Event):
        self.tally, self.cancel, self.halt = tally, cancel, halt

    def epoch(self, task: Task, epoch: int) -> None:
        self.tally.update(task.key, epoch)
        if self.halt.is_set() or (self.cancel is not None and self.cancel()):
            self.halt.set()
            raise Cancelled(f"stopped while training {task.group.method!r} (epoch {epoch}/{task.config.epochs})")


class DaskChannel:
    """A task on a Dask worker: epochs go out as worker events; a ``distributed.Event`` says stop.

    Pickled by topic only: each task's copy starts its clocks on the worker it runs on.
    """

    def __init__(self, topic: str):
        self.topic = topic
        self._reported = self._checked = time.monotonic()

    def __reduce__(self):
        return DaskChannel, (self.topic,)

    def epoch(self, task: Task, epoch: int) -> None:
        from distributed import Event, get_worker

        now = time.monotonic()
        if now - self._reported >= REPORT_SECONDS:
            self._reported = now
            get_worker().log_event(self.topic, [task.key, epoch])
        if now - self._checked >= CHECK_SECONDS:
            self._checked = now
            if Event(self.topic).is_set():
                raise Cancelled(f"stopped while training {task} (epoch {epoch}/{task.config.epochs})")


class LocalBackend:
    """Threads of this process: ``workers`` at a time (one: the calling thread), or the caller's pool."""

    remote = False  # tasks share this process: they get the dataset itself and call cancel() per epoch
    gpu = False

    def __init__(self, workers: int = 1, pool: ThreadPoolExecutor | None = None):
        self.halt = threading.Event()
        self.own = pool is None and workers > 1
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="growlab-experiment") if self.own else pool
        self.slots = pool._max_workers if pool is not None else workers

    def data(self, dataset, spec: DataSpec | None):
        return dataset

    def channel(self, tally, cancel) -> LocalChannel:
        return LocalChannel(tally, cancel, self.halt)

    def submit(self, fn: Callable, *args) -> Future:
        if self.pool is not None:
            return self.pool.submit(fn, *args)
        future: Future = Future()
        if self.halt.is_set():
            future.cancel()
            future.set_running_or_notify_cancel()
            return future
        future.set_running_or_notify_cancel()
        try:
            future.set_result(fn(*args))
        except BaseException as e:  # kept in the future, as a pool would; Ctrl-C also stops the next tasks
            if not isinstance(e, Exception):
                self.halt.set()
            future.set_exception(e)
        return future

    def pump(self, tally) -> None:
        """Deliver progress that arrived from elsewhere (nothing to do here)."""

    def stop(self, pending: set[Future]) -> set[Future]:
        """Stop every task at its next epoch; returns the futures still worth waiting for."""
        self.halt.set()
        for f in pending:
            f.cancel()
        return {f for f in pending if not f.cancelled()}

    def close(self) -> None:
        if self.own:
            self.pool.shutdown(wait=True)


class ExecutorBackend(LocalBackend):
    """Any other ``concurrent.futures`` executor: tasks may run in other processes."""

    remote = True  # tasks get a DataSpec; the client polls cancel() and cannot reach running tasks

    def __init__(self, executor: Executor, slots: int | None = None):
        self.halt, self.own, self.pool = threading.Event(), False, executor
        self.slots = slots or getattr(executor, "_max_workers", None) or os.cpu_count() or 1

    def data(self, dataset, spec: DataSpec | None):
        return dataset if spec is None else spec

    def channel(self, tally, cancel) -> None:
        return None

    def stop(self, pending: set[Future]) -> set[Future]:
        for f in pending:
            f.cancel()
        return set()  # running tasks cannot be reached: do not wait for them


class DaskBackend(ExecutorBackend):
    """A Dask cluster through its ``Client``."""

    def __init__(self, client, device: str | None = None, executor: Executor | None = None):
        self.client, self.halt, self.own = client, threading.Event(), False
        workers = client.scheduler_info()["workers"].values()
        self.slots = sum(w.get("nthreads", 1) for w in workers) or 1
        if executor is None:
            self.gpu = wants_gpu(device) and any(w.get("resources", {}).get("GPU", 0) >= 1 for w in workers)
            executor = client.get_executor(pure=False, **task_resources(self.gpu))
        else:  # the caller's client.get_executor(...): its resources decide
            self.gpu = "GPU" in (getattr(executor, "_kwargs", {}).get("resources") or {})
        self.pool = executor
        self.topic = f"growlab-experiment-{uuid.uuid4().hex}"
        self.events: queue.SimpleQueue = queue.SimpleQueue()
        client.subscribe_topic(self.topic, lambda event: self.events.put(event[1]))  # on the client's event loop

    def data(self, dataset, spec: DataSpec | None):
        if spec is not None:
            return spec  # each worker loads it once (DataSpec.load is cached per process)
        return self.client.scatter(dataset, broadcast=True, hash=False)  # a CSV: shipped once per worker

    def channel(self, tally, cancel) -> DaskChannel:
        return DaskChannel(self.topic)

    def pump(self, tally) -> None:
        while True:
            try:
                key, epoch = self.events.get_nowait()
            except queue.Empty:
                return
            tally.update(key, epoch)

    def stop(self, pending: set[Future]) -> set[Future]:
        from distributed import Event

        Event(self.topic, client=self.client).set()  # running tasks stop at their next check
        return super().stop(pending)

    def close(self) -> None:
        self.client.unsubscribe_topic(self.topic)


def wants_gpu(device: str | None) -> bool:
    """Whether a task of this device setting should ask for a GPU (not when told to use the CPU)."""
    return device is None or device == "auto" or str(device).startswith("cuda")


def task_resources(gpu: bool) -> dict[str, Any]:
    """The Dask ``submit`` keywords of a task: one ``GPU`` resource when it trains on one."""
    return {"resources": {"GPU": 1}} if gpu else {}


def auto_chunk(n_seeds: int, n_methods: int, slots: int) -> int:
    """Seeds per task when the cluster decides: about :data:`TASKS_PER_SLOT` tasks per parallel slot.

    Example:
        >>> auto_chunk(50, 7, 2), auto_chunk(50, 7, 16)
        (50, 10)
    """
    per_method = max(1, math.ceil(TASKS_PER_SLOT * slots / n_methods))
    return max(1, math.ceil(n_seeds / per_method))


@contextmanager
def open_backend(
    executor: Executor | None = None, scheduler=None, workers: int | None = None, device: str | None = None
) -> Iterator[LocalBackend]:
    """The backend for ``grid``'s ``executor`` / ``scheduler`` / ``workers``, closed afterwards.

    A ``LocalCluster`` started for ``"local"`` / ``"local:N"`` and a client opened for an address
    are closed on the way out; a ``Client`` or executor of the caller's is left open.
    """
    if executor is not None and scheduler is not None:
        raise ValueError("give executor= or scheduler=, not both")
    if (executor is not None or scheduler is not None) and workers is not None:
        raise ValueError("workers= sizes the in-process thread pool; with executor= or scheduler= the cluster decides")
    closers: list[Callable[[], None]] = []
    if scheduler is not None:
        client = connect(scheduler, closers)
        backend = DaskBackend(client, device)
    elif executor is None:
        backend = LocalBackend(workers or min(2, os.cpu_count() or 1))
    elif isinstance(executor, ThreadPoolExecutor):
        backend = LocalBackend(pool=executor)
    elif not isinstance(executor, Executor):
        raise ValueError(f"executor must be a concurrent.futures.Executor, got {type(executor).__name__}")
    elif type(executor).__module__.startswith("distributed"):  # client.get_executor(): progress and stop via Dask
        backend = DaskBackend(executor._client, device, executor)
    else:
        backend = ExecutorBackend(executor)
    try:
        yield backend
    finally:
        backend.close()
        for close in reversed(closers):
            close()


@contextmanager
def dask_client(scheduler) -> Iterator[Any]:
    """A Dask ``Client`` for ``scheduler`` (as ``grid`` takes it), closed afterwards with what it started.

    Reuse one cluster for many grids (``scheduler="local:N"`` alone starts one per call)::

        with dask_client("local:4") as client:
            a = grid(..., scheduler=client)
            b = interpretations(..., scheduler=client)
    """
    closers: list[Callable[[], None]] = []
    try:
        yield connect(scheduler, closers)
    finally:
        for close in reversed(closers):
            close()


def connect(scheduler, closers: list[Callable[[], None]]):
    """A Dask ``Client`` for ``scheduler`` (an address, ``"local"``, ``"local:N"`` or a ``Client``).

    What must be closed afterwards is appended to ``closers``.

    Raises:
        ValueError: a malformed ``scheduler``.
        ConnectionError: no scheduler answered at the address within :data:`CONNECT_TIMEOUT` s.
        ImportError: Dask is not installed.
    """
    distributed = _import_distributed()
    if isinstance(scheduler, distributed.Client):
        return scheduler
    n = local_workers(scheduler)
    if n is not None:
        cluster = local_cluster(n)
        closers.append(lambda: _close_quietly(cluster))
        client = distributed.Client(cluster)
        closers.append(client.close)
        return client
    address = scheduler if "://" in scheduler else f"tcp://{scheduler}"
    try:
        client = distributed.Client(address, timeout=CONNECT_TIMEOUT)
    except OSError as e:
        raise ConnectionError(
            f"no Dask scheduler answered at {address} within {CONNECT_TIMEOUT:g} s ({e}). Start one there with "
            "`dask scheduler` (it listens on port 8786) and check the host, the port and any firewall; "
            "or use local:N for N worker processes on this machine"
        ) from None
    closers.append(client.close)
    return client


def local_cluster(n: int, **kw):
    """A ``LocalCluster`` of ``n`` single-threaded worker processes on loopback (``kw``: more settings)."""
    import distributed

    return distributed.LocalCluster(
        n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None, **kw
    )  # fmt: skip


def local_workers(scheduler) -> int | None:
    """Worker processes of ``"local"`` (one per CPU) or ``"local:N"``; ``None`` for an address.

    Example:
        >>> local_workers("local:3"), local_workers("tcp://10.0.0.5:8786")
        (3, None)
    """
    if not isinstance(scheduler, str) or not scheduler.strip() or any(c.isspace() for c in scheduler):
        raise ValueError(
            f"scheduler must be a Dask scheduler address like 'tcp://host:8786', 'local' or 'local:N' "
            f"(or a distributed.Client), got {scheduler!r}"
        )
    m = _LOCAL.fullmatch(scheduler)
    if m is None:
        return None
    if m.group(1) is None:
        return os.cpu_count() or 1
    if not m.group(1).isdigit() or int(m.group(1)) < 1:
        raise ValueError(f"'local:N' takes a positive number of worker processes, got {scheduler!r}")
    return int(m.group(1))


def _close_quietly(cluster) -> None:
    """Close a cluster of ours without the nannies' warnings about workers slow to exit (torch's
    teardown can take seconds on a busy machine; they are then killed, which is what closing means)."""
    log = logging.getLogger("distributed.nanny")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        cluster.close()
    finally:
        log.setLevel(level)


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise ImportError(
            "running an experiment on a Dask cluster needs Dask: pip install \"growlab[dask]\""
        ) from None
    return distributed
