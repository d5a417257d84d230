"""Past snapshots' fading events come from the timeline's typed index of the event log: they
must be the very events (and removed units) a snapshot taken at that epoch had."""

import numpy as np
import pandas as pd
import pytest

from growlab import Run
from growlab.run.snapshot import snapshot_of
from growlab.run.timeline import snapshot_at


def _same_recent(past, then) -> None:
    assert list(past.recent.columns) == list(then.recent.columns)
    # the values, not the dtypes: a frame built from the log's lists infers them from the other
    # rows of its window (a unit_remove row's empty target makes the targets float)
    pd.testing.assert_frame_equal(past.recent, then.recent, check_dtype=False, check_index_type=False)
    assert sorted(past.extra["removed_units"]) == sorted(then.extra["removed_units"])


@pytest.mark.parametrize(
    "kw",
    [dict(dataset="heart", arch="16-8", method="odf2nna", epochs=20, seed=0, epsilon=5.0),  # layers removed, bridged
     dict(dataset="heart", arch="32-16", method="odf2nna", epochs=30, seed=0, epsilon=0.2),  # units removed
     dict(dataset="heart", arch="16-8", method="nest", epochs=14, seed=0, interval=2)],  # neurons grown, then pruned
)
def test_past_events_are_those_of_a_run_stopped_at_that_epoch(kw):
    full, stopped = Run(**kw), Run(**kw)
    full.run()
    live = snapshot_of(full)
    kinds, removed = set(), 0
    for epoch in range(full.epoch + 1):
        if epoch:
            stopped.step()
        then = snapshot_of(stopped)
        _same_recent(snapshot_at(full, epoch, live), then)
        kinds |= set(then.recent["kind"])
        removed += len(then.extra["removed_units"])
    logged = set(full.events["kind"])
    if kw["method"] != "odf2nna":
        assert kinds == {"grow", "prune"}
    elif kw["epsilon"] > 1:
        assert "bridge" in logged and kinds == {"grow"}  # the events before a bridge must not show
    else:
        assert "unit_remove" in logged and removed  # removed units are shown in the epochs after


def test_the_index_follows_a_forced_cycle_and_a_rollback():
    run = Run("heart", "16-8", "random+prune", epochs=20, seed=0, grow_per_cycle=5)
    run.run(epochs=3)
    snapshot_at(run, 1, snapshot_of(run))  # index the log as it is
    run.cycle()  # more events in epoch 3
    _same_recent(snapshot_at(run, 3, snapshot_of(run)), snapshot_of(run))
    bad = Run("heart", "16-8", "random+prune", epochs=30, optimizer="sgd", lr=100.0, activation="leaky_relu", seed=0)
    for _ in range(30):
        bad.step()
        snapshot_at(bad, bad.epoch, snapshot_of(bad))  # scrubbing while it trains
        if bad.status == "diverged":
            break
    assert bad.status == "diverged"
    _same_recent(snapshot_at(bad, bad.epoch, snapshot_of(bad)), snapshot_of(bad))


def test_a_loaded_run_scrubs_from_its_indexed_log(tmp_path):
    run = Run("heart", "16-8", "strategic+prune", epochs=12, seed=1)
    run.run()
    run.save(tmp_path / "r.growlab")
    back = Run.load(tmp_path / "r.growlab")
    assert back.timeline._events.n == len(back.event_log)  # indexed when it loaded
    for epoch in (0, 5, 12):
        a, b = snapshot_at(run, epoch, snapshot_of(run)), snapshot_at(back, epoch, snapshot_of(back))
        assert a.recent.equals(b.recent) and all(np.array_equal(x, y) for x, y in zip(a.masks, b.masks))
