"""The app's views without a browser: build them, set widget values, assert on the model and run."""

from __future__ import annotations

import time

import panel as pn
import pytest

from growlab.run.slots import TrainingSlots
from growlab.ui import create_app
from growlab.ui.curves import Curves
from growlab.ui.model import SessionModel, method_params
from growlab.ui.session import Session
from growlab.ui.sidebar import Sidebar, method_widgets
from growlab.ui.theme import button_label

FAST = {"dataset": "xor", "arch": "4", "epochs": "6"}
TIMEOUT = 30.0


@pytest.fixture
def app():
    template = create_app(query=dict(FAST), slots=TrainingSlots(4), live=False)
    yield template.growlab
    template.growlab.close()


def wait_epoch(app, n):
    assert app.session.runner.wait(lambda s: s.epoch == n, TIMEOUT)
    app.refresh()


def widgets(layout, kind, name):
    return [w for w in layout.select(kind) if w.name == name]


def test_the_template_builds_with_every_view(app):
    template = create_app(query=dict(FAST), slots=TrainingSlots(4), live=False)
    try:
        assert isinstance(template, pn.template.FastListTemplate)
        names = [name for name, _ in zip(app.tabs._names, app.tabs)]
        assert names == ["Inspector", "Decision boundary", "False starts & redundancy", "Events", "Export", "Compare"]
        assert app.__panel__() is not None
        assert app.sidebar.__panel__() is not None
    finally:
        template.growlab.close()


def test_a_link_sets_up_the_first_run():
    template = create_app(query={"dataset": "moons", "arch": "3-2", "seed": "7", "method": "dense", "noise": "0.2"},
                          slots=TrainingSlots(2), live=False)  # fmt: skip
    session = template.growlab.session
    try:
        snap = session.runner.snapshot
        assert (snap.dataset, snap.sizes) == ("moons", (2, 3, 2, 1))
        assert snap.extra["config"]["seed"] == 7
        assert snap.extra["config"]["dataset_options"] == {"noise": 0.2}
    finally:
        session.close()


def test_choosing_a_dataset_in_the_sidebar_rebuilds_the_untouched_run(app):
    layout = app.sidebar.__panel__()
    (select,) = widgets(layout, pn.widgets.Select, "Dataset")
    select.value = "circles"
    assert app.session.model.dataset == "circles"
    assert app.session.runner.snapshot.dataset == "circles" and app.session.runner.snapshot.run_id == 2
    assert not app.session.dirty


def test_setup_changes_after_training_wait_for_reset(app):
    app.session.step()
    wait_epoch(app, 1)
    app.session.model.seed = 3
    assert app.session.dirty and "Reset" in app.session.message
    assert app.session.runner.snapshot.run_id == 1
    app.sidebar.reset.clicks += 1
    assert not app.session.dirty and app.session.runner.snapshot.run_id == 2
    assert app.session.runner.snapshot.extra["config"]["seed"] == 3


def test_a_bad_architecture_is_refused_and_the_session_goes_on(app):
    layout = app.sidebar.__panel__()
    (arch,) = widgets(layout, pn.widgets.TextInput, "Hidden layers")
    arch.value = "16--8"
    assert app.session.level == "error" and "cannot read architecture" in app.session.message
    assert app.session.runner.snapshot.sizes == (2, 4, 1)
    arch.value = "5-3"
    assert app.session.runner.snapshot.sizes == (2, 5, 3, 1)


def test_a_preset_fills_the_architecture():
    model = SessionModel()
    model.preset = "playground 4-2"
    assert model.arch == "4-2"
    model.arch = "300-100"
    assert model.preset == "lenet-300-100"
    model.arch = "7"
    assert model.preset == "custom"


def test_only_the_chosen_methods_parameters_are_shown():
    mp = method_params("strategic+prune")
    col = method_widgets(mp)
    names = {w.name for w in col.select(pn.widgets.Widget)}
    assert {"sigma", "focal junctures", "sparsity", "prune per cycle"} <= names
    assert "grow per cycle" not in names
    assert method_widgets(method_params("dense")).select(pn.widgets.Widget) == []


def test_changing_the_method_swaps_its_parameters(app):
    app.session.model.method = "strategic+prune"
    assert set(app.session.model.method_values()) >= {"sigma", "focal_junctures"}
    assert app.session.runner.snapshot.method == "strategic+prune"


def test_a_live_slider_mid_run_becomes_a_param_event_and_a_marker():
    template = create_app(query={**FAST, "method": "strategic+prune", "epochs": "20"}, slots=TrainingSlots(2), live=False)
    app = template.growlab
    app.tabs.active = 0
    try:
        app.session.step()
        wait_epoch(app, 1)
        sigma = next(w for w in method_widgets(app.session.model.method_params).select(pn.widgets.Widget)
                     if w.name == "sigma")  # fmt: skip
        sigma.value = 2.5
        assert app.session.model.method_params.sigma == 2.5
        assert app.session.runner.pending == {"sigma": 2.5}
        app.session.step()
        wait_epoch(app, 2)
        events = app.session.runner.events()
        assert "sigma: 1.0 → 2.5" in set(events[events["kind"] == "param"]["cause"])
        assert app.curves.n_markers == 1 and app.curves.markers.data["epoch"] == [2]
        assert app.events.table.value.empty and app.events.n_events > 0  # the Events tab is hidden
        app.tabs.active = 3  # show it: the waiting events arrive in one go
        assert (app.events.table.value["kind"] == "param").sum() == 1
        app.events.kinds = ["param"]  # the kind filter above the table
        assert list(app.events.table.current_view["cause"]) == ["sigma: 1.0 → 2.5"]
    finally:
        app.session.close()


def test_a_refused_value_is_reported_and_reverted():
    template = create_app(query={**FAST, "method": "strategic+prune"}, slots=TrainingSlots(2), live=False)
    app = template.growlab
    try:
        app.session.step()
        wait_epoch(app, 1)
        app.session.model.method_params.sigma = 0.0
        assert app.session.level == "error" and "Refused" in app.session.message and "sigma" in app.session.message
        assert app.session.model.method_params.sigma == 1.0
        assert app.session.runner.pending == {}
    finally:
        app.session.close()


@pytest.mark.parametrize("typed", [-2.0, 0.0, 5000.0])
def test_an_out_of_range_value_typed_into_a_sliders_box_is_refused_with_a_message(typed):
    """What a hurried user types reaches the run's own check and its message, not a silent widget error."""
    template = create_app(query={**FAST, "method": "strategic+prune"}, slots=TrainingSlots(2), live=False)
    app = template.growlab
    try:
        app.session.step()
        wait_epoch(app, 1)
        sigma = next(w for w in method_widgets(app.session.model.method_params).select(pn.widgets.Widget)
                     if w.name == "sigma")  # fmt: skip
        sigma._value_edit.value = typed  # the text box beside the slider
        assert app.session.level == "error" and "Refused" in app.session.message and "sigma" in app.session.message
        assert app.session.model.method_params.sigma == 1.0 and sigma.value == 1.0
        assert app.session.runner.pending == {}
    finally:
        app.session.close()


def test_play_pause_button_follows_the_run(app):
    app.sidebar.play.clicks += 1
    assert button_label(app.sidebar.play) == "Pause"
    assert app.session.runner.wait(lambda s: s.status == "finished", TIMEOUT)
    app.refresh()
    assert button_label(app.sidebar.play) == "Play"
    assert app.curves.n_rows == 6
    assert "6 / 6" in app.strip.text
    assert app.session.message == "Finished 6 epochs"


def test_the_training_cap_answers_with_a_message():
    slots = TrainingSlots(max_runs=1)
    a = Session(model=_fast_model(epochs=10_000), slots=slots, notify=lambda *a: None)
    b = Session(model=_fast_model(), slots=slots, notify=lambda *a: None)
    try:
        a.play()
        b.play()
        assert b.level == "warning" and "already training 1 run" in b.message
        assert b.runner.status == "ready"
    finally:
        a.close()
        b.close()


def _fast_model(**kw) -> SessionModel:
    model = SessionModel()
    model.param.update(**{"dataset": "xor", "arch": "4", "epochs": 6, **kw})
    return model


def test_a_worker_error_is_announced(app):
    def boom(run):
        def step():
            raise RuntimeError("kaboom")

        run.step = step

    app.session.runner.call(boom)
    app.session.play()
    assert app.session.runner.wait(lambda s: s.status == "error", TIMEOUT)
    app.refresh()
    assert app.session.level == "error" and "kaboom" in app.session.message
    assert "kaboom" in app.strip.text


def test_divergence_is_announced():
    template = create_app(query={**FAST, "lr": "100000000", "optimizer": "sgd", "epochs": "40"}, slots=TrainingSlots(2),
                          live=False)  # fmt: skip
    app = template.growlab
    try:
        app.session.play()
        assert app.session.runner.wait(lambda s: s.status == "diverged", TIMEOUT)
        app.refresh()
        assert app.session.level == "error" and "diverged" in app.session.message
        app.session.model.lr = 0.001  # lower it and go on
        app.session.play()
        assert app.session.runner.wait(lambda s: s.status == "finished", TIMEOUT)
    finally:
        app.session.close()


def test_csv_upload_good_and_malformed(app):
    good = "a,b,label\n" + "".join(f"{i % 5},{(i * 7) % 11},{'yes' if i % 3 else 'no'}\n" for i in range(40))
    app.session.upload_csv(good.encode(), "good.csv")
    model = app.session.model
    assert model.dataset == "csv" and model.target == "label" and model.csv_columns == ["a", "b", "label"]
    assert app.session.runner.snapshot.dataset == "csv"
    assert app.session.runner.snapshot.feature_names == ("a", "b")
    app.session.upload_csv(b'a,b,label\n1,2\n3,"4,5,6\n', "bad.csv")
    assert app.session.level == "error" and "CSV" in app.session.message
    app.session.upload_csv(b"\x00\x01binary", "blob.csv")
    assert app.session.level == "error"
    assert app.session.runner.snapshot.feature_names == ("a", "b")  # the good run is still there


def test_the_url_follows_the_setup(app):
    model = app.session.model
    model.method = "strategic"
    model.method_params.sigma = 2.0
    query = model.query()
    assert query["method"] == "strategic" and query["sigma"] == "2" and query["arch"] == "4"
    assert "sigma=2" in app.share.search
    fresh = SessionModel()
    assert fresh.apply_query(query) == []
    assert fresh.query() == query


def test_a_stale_link_opens_with_messages():
    model = SessionModel()
    problems = model.apply_query({"dataset": "nope", "arch": "x", "sigma": "2", "seed": "-4", "method": "dense"})
    assert len(problems) == 4
    assert model.dataset == "heart" and model.arch == "16-8"


def test_prune_redundant_paths_removes_them_and_says_so():
    """A random run leaves connections on no input→output path: the button prunes exactly them."""
    query = {"dataset": "xor", "arch": "8-8", "method": "random", "sparsity": "0.5", "epochs": "20"}
    template = create_app(query=query, slots=TrainingSlots(2), live=False)
    app = template.growlab
    try:
        assert app.false_starts.button.disabled  # nothing trained yet
        for epoch in range(1, 7):
            app.session.step()
            wait_epoch(app, epoch)
        redundant = app.session.runner.snapshot.extra["analysis"]["redundant"]
        assert redundant > 0 and not app.false_starts.button.disabled
        assert f"{redundant:,} redundant connections" in app.false_starts.verdict
        app.false_starts.button.clicks += 1  # what pressing it does
        assert f"Removed **{redundant:,}** redundant connections" in app.false_starts.result
        assert app.session.runner.wait(lambda s: s.extra["analysis"]["redundant"] == 0, TIMEOUT)
        app.refresh()
        assert app.false_starts.button.disabled and "0 redundant" in app.false_starts.verdict
    finally:
        app.close()


def test_exports_give_files(app):
    app.session.step()
    wait_epoch(app, 1)
    assert app.export._archive().getvalue()[:2] == b"PK"
    assert app.export._history().getvalue().decode().startswith("epoch,")
    assert len(app.export._model().getvalue()) > 0
    assert app.export.archive.filename == "growlab-xor-dense-epoch1.growlab"


def test_speed_reaches_the_runner(app):
    app.session.model.speed = "slow"
    assert app.session.runner.delay == 0.5
    app.session.model.speed = "fastest"
    assert (app.session.runner.delay, app.session.runner.epochs_per_tick) == (0.0, 10)


def test_closing_the_session_stops_its_worker(app):
    app.session.model.epochs = 10_000
    app.session.play()
    assert app.session.runner.wait(lambda s: s.epoch >= 1, TIMEOUT)
    thread = app.session.runner._thread
    app.session.close()
    assert not thread.is_alive() and app.session.runner.closed


def test_the_periodic_tick_rests_after_a_refresh(app):
    app.session.step()
    assert app.session.runner.wait(lambda s: s.epoch == 1, TIMEOUT)
    app._rest_until = time.monotonic() + 3600  # as if the last refresh had been very slow
    assert app.tick() is False and app.curves.n_rows == 0
    app._rest_until = 0.0
    assert app.tick() is True and app.curves.n_rows == 1
    assert app._rest_until > 0


def test_curves_clear_on_a_new_run(app):
    app.session.step()
    wait_epoch(app, 1)
    assert len(app.curves.source.data["epoch"]) == 1
    app.session.reset()
    app.refresh()
    assert len(app.curves.source.data["epoch"]) == 0 and app.events.n_events == 0


def test_regression_curves_show_mse():
    curves = Curves()
    template = create_app(query={"dataset": "diabetes", "arch": "4", "epochs": "3"}, slots=TrainingSlots(2), live=False)
    try:
        session = template.growlab.session
        session.step()
        assert session.runner.wait(lambda s: s.epoch == 1, TIMEOUT)
        curves.update(session.runner.poll())
        assert curves.task == "regression" and curves._quality.title.text == "Error (MSE)"
        assert curves.source.data["val_q"][0] > 0
    finally:
        template.growlab.close()


def test_sidebar_builds_for_every_method():
    """Each method's form has one widget per parameter it declares, each showing that parameter's value."""
    session = Session(model=_fast_model(), slots=TrainingSlots(2), notify=lambda *a: None)
    try:
        for method in session.model.param.method.objects:
            session.model.method = method
            Sidebar(session=session).__panel__()
            specs = session.model.method_params.specs
            form = method_widgets(session.model.method_params)
            widgets = {c[len("gl-param-"):]: w for w in form.select(pn.widgets.Widget) for c in w.css_classes
                       if c.startswith("gl-param-")}  # fmt: skip
            assert set(widgets) == set(specs), method
            for name, widget in widgets.items():
                assert widget.value == getattr(session.model.method_params, name), (method, name)
    finally:
        session.close()
