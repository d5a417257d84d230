"""What a :class:`~growlab.run.runner.Runner` answers without stopping its worker: plain data only.

The newest snapshot and the run it describes are published together as one tuple, so a
reader slices the run's append-only history and event lists up to the snapshot's counts
and gets a consistent picture without taking any lock. Whole-run questions (archives,
exports, analyses) wait for the current tick through the runner's ``call``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import pandas as pd

from growlab.run import queries
from growlab.run.run import Run
from growlab.run.snapshot import Snapshot


@dataclass(frozen=True)
class Update:
    """What changed since the caller's last poll: the newest snapshot, new history rows and events.

    ``rows`` and ``events`` end exactly where ``snapshot`` counts end, so curves, tables and
    the diagram never disagree. ``fresh`` is true when the run was replaced (Reset): the caller
    must clear what it drew and start from these rows.
    """

    snapshot: Snapshot
    rows: list[dict]
    events: pd.DataFrame
    fresh: bool


class RunnerReads:
    """The reading half of a runner (mixed into :class:`~growlab.run.runner.Runner`).

    Relies on three public members of the runner only: :attr:`published` (the newest snapshot
    and the run it describes, as one tuple), :attr:`trace` (its weight trace) and :meth:`call`
    (``fn(run)`` between ticks).
    """

    published: tuple[Snapshot, Run]
    trace: Any
    call: Callable[..., Any]

    @property
    def snapshot(self) -> Snapshot:
        """The newest published snapshot."""
        return self.published[0]

    def poll(self, version: int = -1, run_id: int | None = None, n_history: int = 0, n_events: int = 0) -> Update | None:
        """What is new since snapshot ``version`` of run ``run_id`` (``None`` when nothing is).

        Args:
            version: the snapshot version the caller last drew (-1: none).
            run_id: the run it belonged to; a different one means everything is new.
            n_history, n_events: history rows and events the caller already has.
        """
        snap, run = self.published  # one atomic read: the snapshot and the run it describes
        if snap.version == version and snap.run_id == run_id:
            return None
        fresh = snap.run_id != run_id
        k_rows, k_events = (0, 0) if fresh else (min(n_history, snap.n_history), min(n_events, snap.n_events))
        rows = run.rows(k_rows, snap.n_history)
        events = queries.events_frame(run.event_log.columns, k_events, snap.n_events)
        return Update(snap, rows, events, fresh)

    def history(self) -> pd.DataFrame:
        """The whole history of the published run, as of the newest snapshot."""
        snap, run = self.published
        return pd.DataFrame(run.rows(0, snap.n_history), columns=run.history_columns())

    def events(self, since: int = 0) -> pd.DataFrame:
        """The event log of the published run from event ``since`` on."""
        snap, run = self.published
        return queries.events_frame(run.event_log.columns, since, snap.n_events)

    def weight_history(self, layer: int, source: int, target: int) -> pd.DataFrame:
        """``epoch, weight`` of one connection (see :class:`~growlab.run.trace.WeightTrace`)."""
        return self.trace.edge(layer, source, target)

    def neuron_history(self, layer: int, unit: int) -> pd.DataFrame:
        """``epoch, bias, in_abs, out_abs`` of one neuron."""
        return self.trace.neuron(layer, unit)

    def watch(self, selection: dict | None) -> None:
        """Record ``selection``'s weights from now on (large networks are not traced whole)."""
        self.trace.watch(selection)

    def at(self, epoch: int) -> Snapshot:
        """A snapshot of the run as it was after ``epoch`` (its timeline; never waits for training)."""
        from growlab.run.timeline import snapshot_at

        snap, run = self.published
        return snapshot_at(run, epoch, snap)

    def events_at(self, epoch: int) -> pd.DataFrame:
        """The events logged in ``epoch``."""
        run = self.published[1]
        return run.timeline.events_at(run, epoch)

    def animation_bytes(self, frames: int = 100, on_frame: Callable[[int, int], None] | None = None) -> bytes:
        """The run's life as a GIF of at most about ``frames`` frames (:func:`growlab.record.record`;
        ``on_frame(done, total)`` after each frame).

        Reads the timeline only, so training goes on meanwhile (and any thread may call it).
        """
        import math
        import os
        import tempfile

        from growlab.record import record

        run = self.published[1]
        every = max(1, math.ceil(run.epoch / max(frames, 1)))
        with tempfile.TemporaryDirectory(prefix="growlab-") as folder:
            path = os.path.join(folder, "life.gif")
            record(run, path, every=every, progress=False, on_frame=on_frame)
            with open(path, "rb") as f:
                return f.read()

    def archive_bytes(self) -> bytes:
        """The run archive (``Run.save``) as bytes."""
        return self.call(queries.archive_bytes)

    def model_bytes(self) -> bytes:
        """The compacted torch model as bytes (``growlab.analysis.save_export``)."""
        return self.call(queries.model_bytes)

    def prune_redundant(self) -> dict:
        """Remove redundant paths now; returns what was removed and saved."""
        return self.call(queries.prune_redundant_paths, publish=True)
