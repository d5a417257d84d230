"""The background runner: commands, snapshots, live changes, errors, the cap, cleanup."""

from __future__ import annotations

import threading

import pytest

from growlab.run.runner import Runner, build_run
from growlab.run.slots import CapacityError, TrainingSlots, default_max_runs

SPEC = {"dataset": "xor", "arch": "4", "method": "dense", "epochs": 8, "seed": 0}
TIMEOUT = 30.0


@pytest.fixture
def slots():
    return TrainingSlots(max_runs=4)


@pytest.fixture
def runner(slots):
    r = Runner(SPEC, slots=slots, publish_interval=0)
    yield r
    r.close()


def epoch_is(n):
    return lambda s: s.epoch == n


def test_starts_ready_without_a_thread(runner):
    snap = runner.snapshot
    assert (snap.status, snap.epoch, snap.version, snap.run_id) == ("ready", 0, 1, 1)
    assert not runner.alive
    assert snap.extra["config"]["dataset"] == "xor"


def test_play_trains_to_the_end_and_frees_the_slot(runner, slots):
    runner.play()
    assert runner.wait(lambda s: s.status == "finished", TIMEOUT)
    assert runner.snapshot.epoch == SPEC["epochs"]
    assert slots.active == 0
    assert len(runner.history()) == SPEC["epochs"]
    with pytest.raises(ValueError, match="finished"):
        runner.play()


def test_step_trains_exactly_one_epoch(runner):
    for n in (1, 2, 3):
        runner.step()
        assert runner.wait(epoch_is(n), TIMEOUT)
    assert runner.call(lambda run: run.epoch) == 3
    assert runner.snapshot.status == "paused"


def test_pause_stops_training(slots):
    r = Runner({**SPEC, "epochs": 10_000}, slots=slots, publish_interval=0, delay=0.001)
    try:
        r.play()
        assert r.wait(lambda s: s.epoch >= 2, TIMEOUT)
        r.pause()
        assert r.wait(lambda s: s.status == "paused", TIMEOUT)
        paused_at = r.snapshot.epoch
        assert r.call(lambda run: run.epoch) == paused_at  # nothing trained after the paused snapshot
        r.step()
        assert r.wait(epoch_is(paused_at + 1), TIMEOUT)
        assert r.call(lambda run: run.epoch) == paused_at + 1
        assert slots.active == 0
    finally:
        r.close()


def test_cycle_now_counts_a_cycle(runner):
    runner.cycle()
    assert runner.wait(lambda s: s.extra["cycles"] == 1, TIMEOUT)
    assert runner.snapshot.epoch == 0


def test_poll_returns_only_what_is_new(runner):
    first = runner.poll()
    assert first.fresh and first.rows == []
    assert runner.poll(first.snapshot.version, first.snapshot.run_id) is None
    runner.step()
    runner.step()
    assert runner.wait(epoch_is(2), TIMEOUT)
    upd = runner.poll(first.snapshot.version, first.snapshot.run_id, 0, 0)
    assert not upd.fresh
    assert [r["epoch"] for r in upd.rows] == [1, 2]
    again = runner.poll(upd.snapshot.version - 1, upd.snapshot.run_id, 1, upd.snapshot.n_events)
    assert [r["epoch"] for r in again.rows] == [2] and again.events.empty


def test_set_validates_in_the_caller_and_applies_at_the_boundary(runner):
    with pytest.raises(ValueError, match="lr"):
        runner.set(lr=-1)
    with pytest.raises(ValueError, match="cannot set sigma"):
        runner.set(sigma=2.0)
    assert runner.pending == {}
    assert runner.set(lr="0.01") == {"lr": 0.01}
    assert runner.pending == {"lr": 0.01}
    runner.step()
    assert runner.wait(lambda s: s.epoch == 1 and s.params["lr"] == 0.01, TIMEOUT)
    events = runner.events()
    param = events[events["kind"] == "param"]
    assert len(param) == 1 and "lr: 0.003 → 0.01" in param["cause"].iloc[0]
    assert param["epoch"].iloc[0] == 1
    assert runner.pending == {}


def test_a_pending_change_shows_in_the_snapshot(runner):
    runner.set(lr=0.02)
    assert runner.wait(lambda s: s.extra["pending"] == {"lr": 0.02}, TIMEOUT)
    assert runner.snapshot.params["lr"] == 0.003  # not applied before the next boundary


def test_an_exception_in_the_worker_pauses_with_the_message(runner, slots):
    calls = {"n": 0}

    def boom(run):
        original = run.step

        def step():
            calls["n"] += 1
            if calls["n"] == 2:
                raise RuntimeError("kaboom")
            return original()

        run.step = step

    runner.call(boom)
    runner.play()
    assert runner.wait(lambda s: s.status == "error", TIMEOUT)
    snap = runner.snapshot
    assert snap.error == "RuntimeError: kaboom" and snap.epoch == 1
    assert runner.alive and slots.active == 0
    runner.play()  # the session goes on
    assert runner.wait(lambda s: s.status == "finished", TIMEOUT)


def test_divergence_pauses_with_the_nan_event(slots):
    r = Runner({**SPEC, "epochs": 50, "lr": 1e8, "optimizer": "sgd"}, slots=slots, publish_interval=0)
    try:
        r.play()
        assert r.wait(lambda s: s.status == "diverged", TIMEOUT)
        snap = r.snapshot
        assert "non-finite loss" in snap.error
        assert snap.epoch < 50
        assert (r.events()["kind"] == "nan").sum() == 1
        assert slots.active == 0
    finally:
        r.close()


def test_reset_builds_a_new_run_and_refuses_bad_settings(runner):
    runner.step()
    assert runner.wait(epoch_is(1), TIMEOUT)
    with pytest.raises(ValueError, match="architecture"):
        runner.reset(arch="16--8")
    assert runner.snapshot.run_id == 1 and runner.snapshot.epoch == 1  # unchanged
    runner.set(lr=0.05)
    runner.reset(arch="3-2", seed=4)
    snap = runner.snapshot
    assert (snap.run_id, snap.epoch, snap.status) == (2, 0, "ready")
    assert snap.sizes == (2, 3, 2, 1)
    assert runner.spec["seed"] == 4 and runner.pending == {}
    upd = runner.poll(-1, 1, 5, 5)
    assert upd.fresh and upd.rows == []


def test_reset_while_playing(slots):
    r = Runner({**SPEC, "epochs": 10_000}, slots=slots, publish_interval=0)
    try:
        r.play()
        assert r.wait(lambda s: s.epoch >= 1, TIMEOUT)
        r.reset(epochs=5)
        assert r.snapshot.status == "ready" and r.snapshot.epoch == 0
        assert r.call(lambda run: run.epoch) == 0  # no stale tick ran on the new run
        r.play()
        assert r.wait(lambda s: s.status == "finished" and s.epoch == 5, TIMEOUT)
    finally:
        r.close()


def test_the_cap_refuses_with_a_clear_message():
    slots = TrainingSlots(max_runs=1)
    a = Runner({**SPEC, "epochs": 10_000}, slots=slots, publish_interval=0, delay=0.001)
    b = Runner(SPEC, slots=slots, publish_interval=0)
    try:
        a.play()
        with pytest.raises(CapacityError, match="already training 1 run at once"):
            b.play()
        with pytest.raises(CapacityError):
            b.step()
        assert b.snapshot.status == "ready"
        a.pause()
        assert a.wait(lambda s: s.status == "paused", TIMEOUT)
        b.play()  # a's slot is free again
        assert b.wait(lambda s: s.status == "finished", TIMEOUT)
    finally:
        a.close()
        b.close()


def test_max_runs_from_the_environment(monkeypatch):
    monkeypatch.setenv("GROWLAB_MAX_RUNS", "3")
    assert default_max_runs() == 3 and TrainingSlots().max_runs == 3
    monkeypatch.setenv("GROWLAB_MAX_RUNS", "zero")
    with pytest.raises(ValueError, match="GROWLAB_MAX_RUNS"):
        default_max_runs()
    with pytest.raises(ValueError):
        TrainingSlots(max_runs=0)


def test_close_stops_and_joins_the_thread(slots):
    r = Runner({**SPEC, "epochs": 10_000}, slots=slots, publish_interval=0, delay=0.001)
    r.play()
    assert r.wait(lambda s: s.epoch >= 1, TIMEOUT)
    thread = r._thread
    r.close()
    assert not thread.is_alive() and not r.alive
    assert thread.daemon
    assert slots.active == 0
    assert r.snapshot.status == "paused"
    with pytest.raises(RuntimeError, match="closed"):
        r.play()
    r.close()  # twice is fine


def test_stop_ends_the_worker_and_play_starts_a_new_one(runner):
    runner.step()
    assert runner.wait(epoch_is(1), TIMEOUT)
    runner.stop()
    assert not runner.alive
    runner.play()
    assert runner.wait(lambda s: s.status == "finished", TIMEOUT)


def test_speed_is_validated(runner):
    runner.speed(delay=0.5, epochs_per_tick=3)
    assert (runner.delay, runner.epochs_per_tick) == (0.5, 3)
    for bad in ({"delay": -1}, {"delay": 11}, {"epochs_per_tick": 0}, {"epochs_per_tick": 1.5}):
        with pytest.raises(ValueError):
            runner.speed(**bad)
    assert (runner.delay, runner.epochs_per_tick) == (0.5, 3)


def test_epochs_per_tick_trains_several_epochs_per_snapshot(slots):
    r = Runner({**SPEC, "epochs": 6}, slots=slots, publish_interval=0, epochs_per_tick=3)
    try:
        r.play()
        assert r.wait(lambda s: s.status == "finished", TIMEOUT)
        assert r.snapshot.version == 3  # initial + two ticks of three epochs
    finally:
        r.close()


def test_weight_history_follows_the_published_weights(runner):
    for n in (1, 2):
        runner.step()
        assert runner.wait(epoch_is(n), TIMEOUT)
    w = runner.weight_history(layer=0, source=1, target=2)
    assert list(w["epoch"]) == [0, 1, 2]
    assert w["weight"].iloc[-1] == pytest.approx(float(runner.snapshot.weights[0][2, 1]))
    n = runner.neuron_history(layer=1, unit=0)
    assert list(n.columns) == ["epoch", "bias", "in_abs", "out_abs"] and len(n) == 3
    assert runner.weight_history(layer=9, source=0, target=0).empty


def test_exports_and_queries_return_plain_data(runner):
    runner.step()
    assert runner.wait(epoch_is(1), TIMEOUT)
    assert runner.archive_bytes()[:2] == b"PK"  # torch's zip format
    assert isinstance(runner.model_bytes(), bytes)
    report = runner.prune_redundant()
    assert report["params_after"] <= report["params_before"]
    analysis = runner.snapshot.extra["analysis"]
    assert set(analysis) >= {"available", "reason"}


def test_csv_upload_spec_keeps_bytes_out_of_the_config():
    data = b"a,b,y\n" + b"".join(f"{i % 7},{(i * 3) % 5},{i % 2}\n".encode() for i in range(60))
    run = build_run({"dataset": "csv", "arch": "3", "epochs": 2, "dataset_options": {"data": data, "target": "y"}})
    assert run.data.n_inputs == 2 and run.config.dataset_options == {}
    with pytest.raises(ValueError, match="no column named"):
        build_run({"dataset": "csv", "dataset_options": {"data": data, "target": "nope"}})


def test_many_runners_leave_no_threads(slots):
    before = threading.active_count()
    runners = [Runner(SPEC, slots=slots, publish_interval=0) for _ in range(3)]
    for r in runners:
        r.step()
    for r in runners:
        assert r.wait(epoch_is(1), TIMEOUT)
        r.close()
    assert threading.active_count() == before
