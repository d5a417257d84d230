"""The Compare tab without a browser: controls → settings, Run → a worker-thread job → tables and plots."""

from __future__ import annotations

import panel as pn
import pandas as pd
import pytest

from growlab.run.slots import TrainingSlots
from growlab.ui.compare import CompareSettings, CompareView, ExperimentJob

SMALL = dict(methods=["dense", "prune", "strategic"], thresholds=[0.8, 0.9], seeds=2, epochs=4)


@pytest.fixture
def view():
    v = CompareView(slots=TrainingSlots(2), live=False, settings=CompareSettings(**SMALL))
    yield v
    v.close()


def run_to_end(view: CompareView) -> None:
    assert view.run()
    assert view.job.wait(120)
    assert view.poll() is False


def test_controls_set_the_settings(view):
    layout = view.__panel__()
    (seeds,) = [w for w in layout.select(pn.widgets.IntSlider) if w.name == "Seeds"]
    seeds.value = 3
    (thresholds,) = layout.select(pn.widgets.CheckButtonGroup)
    thresholds.value = [0.85, 0.99]
    assert view.settings.seeds == 3 and view.settings.thresholds == [0.85, 0.99]
    kw = view.settings.grid_kwargs()
    assert kw["thresholds"] == (0.85, 0.99) and kw["methods"] == ["dense", "prune", "strategic"]


def test_run_trains_on_a_worker_and_shows_the_papers_tables_and_plots(view):
    run_to_end(view)
    assert view.job.state == "done" and "Finished" in view.status
    assert view.progress.value == view.progress.max
    mean = view.tables["mean"].object
    assert isinstance(mean, pd.DataFrame) and list(mean.index) == ["dense", "prune", "strategic"]
    assert list(view.tables["max_accuracy"].object.columns) == ["80%", "90%"]
    assert view.boxplot.object is not None and view.similarity.object is not None
    assert "12 members" in view.headline.object
    assert not view.run_button.disabled and view.stop_button.disabled


def test_progress_is_shown_while_it_runs_and_stop_cancels(view):
    view.settings.epochs = 2000
    assert view.run() and view.run_button.disabled
    assert view.run() is False  # one experiment at a time
    while view.job.progress[0] == 0:
        view.job.wait(0.05)
    assert view.poll() is True and "member-epochs" in view.status and view.progress.value >= 0
    view.stop()
    assert view.job.wait(60)
    view.poll()
    assert view.job.state == "cancelled" and "Stopped" in view.status and not view.run_button.disabled


def test_a_job_takes_a_training_slot_and_a_full_server_refuses_politely():
    slots = TrainingSlots(1)
    busy = ExperimentJob({"methods": ["dense"], "seeds": 1, "thresholds": (0.9,), "epochs": 5}, slots).start()
    view = CompareView(slots=slots, live=False, settings=CompareSettings(**SMALL))
    try:
        assert view.run() is False and "training 1 run" in view.status
    finally:
        assert busy.wait(60)
    assert slots.active == 0
    view.settings.methods = []
    assert view.run() is False and "at least one method" in view.status


def test_a_bad_architecture_is_refused_before_a_job_starts(view):
    view.settings.arch = "16--8"
    assert view.run() is False and view.job is None
    assert "Not started" in view.status and "cannot read architecture" in view.status


def test_a_failing_experiment_is_reported():
    job = ExperimentJob({"methods": ["dense"], "seeds": 1, "thresholds": (0.9,), "epochs": 2, "arch": "16--8"})
    view = CompareView(slots=None, live=False)
    view.job = job.start()
    assert job.wait(60)
    view.poll()
    assert job.state == "error" and "The experiment failed" in view.status and "cannot read architecture" in view.status


def test_the_readings_preset_runs_interpretations_and_shows_the_claims():
    settings = CompareSettings(preset="interpretations", readings=["growlab", "no floor"], thresholds=[0.9], seeds=2, epochs=3)
    view = CompareView(slots=TrainingSlots(2), live=False, settings=settings)
    try:
        layout = view.__panel__()
        (readings,) = [w for w in layout.select(pn.widgets.MultiChoice) if w.name == "Readings"]
        assert readings.visible and readings.value == ["growlab", "no floor"]
        run_to_end(view)
        assert view.job.state == "done", view.status
        claims = view.claims.object
        assert list(claims.index) == ["growlab", "no floor"] and "strategic − random" in claims.columns
        assert view.intervals.object is not None and "2 readings" in view.headline.object
        assert view.claims in view._results.objects and view.boxplot not in view._results.objects
        settings.preset = "grid"
        assert not readings.visible
        settings.readings = []
        settings.preset = "interpretations"
        assert view.run() is False and "at least one reading" in view.status
    finally:
        view.close()
