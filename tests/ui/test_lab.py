"""``growlab.Lab`` without a browser: code and widget drive one run, and both show it.

Notebooks themselves run in ``tests/notebooks`` (nbclient) and in JupyterLab (Chromium).
"""

from __future__ import annotations

import ipywidgets
import pandas as pd
import panel as pn
import pytest
from bokeh.document import Document
from bokeh.models import Button, ColumnDataSource, ImportedStyleSheet, UIElement

import growlab
from growlab.ui.lab import Lab
from growlab.ui.notebook import NotebookView, _DropData, is_data_event

XOR = {"dataset": "xor", "arch": "4", "epochs": 40, "seed": 0}
TIMEOUT = 60.0


pytestmark = pytest.mark.usefixtures("restore_panel_config")


@pytest.fixture
def lab():
    lab = Lab(**XOR, method="strategic", sparsity=0.5)
    yield lab
    lab.close()


def sidebar_widget(lab: Lab, name: str):
    """The sidebar's control of method parameter ``name`` in the lab's first view."""
    view = lab._views()[0][1]
    found = [w for w in view.select(pn.widgets.Widget) if f"gl-param-{name}" in (w.css_classes or [])]
    assert found, f"no sidebar control for {name}"
    return found[0]


def strip(lab: Lab) -> str:
    return lab.app.strip.text


def test_growlab_lab_is_the_lab_class():
    assert growlab.Lab is Lab


def test_a_new_lab_shows_its_setup_and_has_not_trained(lab):
    m = lab.model
    assert (m.dataset, m.arch, m.method, m.epochs) == ("xor", "4", "strategic", 40)
    assert m.method_params.sparsity == 0.5
    assert lab.status == "ready" and lab.epoch == 0
    assert "0 / 40" in strip(lab)
    assert lab.history.empty and isinstance(lab.history, pd.DataFrame)
    assert "Lab(dataset='xor'" in repr(lab)


def test_step_trains_and_draws_before_returning(lab):
    assert lab.step(3) == 3
    assert lab.status == "paused"
    assert len(lab.history) == 3 and list(lab.history.epoch) == [1, 2, 3]
    assert lab.app.drawn == lab.snapshot.version  # the widget is current when step returns
    assert "3 / 40" in strip(lab)
    assert len(lab.app.curves.source.data["epoch"]) == 3


def test_set_moves_the_sidebar_and_applies_at_the_next_cycle(lab):
    lab.step(2)
    assert lab.set(sigma=2.5) == {"sigma": 2.5}
    assert lab.model.method_params.sigma == 2.5
    assert sidebar_widget(lab, "sigma").value == 2.5
    assert "applies at the next cycle" in strip(lab)
    assert lab.params["sigma"] == 1.0  # queued, not applied yet
    lab.step(1)
    assert lab.params["sigma"] == 2.5
    param_events = lab.events.query("kind == 'param'")
    assert list(param_events.cause) == ["sigma: 1.0 → 2.5"]
    assert "applies at the next cycle" not in strip(lab)


def test_set_before_the_first_epoch_rebuilds_the_run(lab):
    lab.set(sigma=3.0, lr=0.01)
    assert lab.params["sigma"] == 3.0 and lab.params["lr"] == 0.01
    assert lab.events.query("kind == 'param'").empty  # a new run with these values, not a change
    assert lab.model.lr == 0.01


@pytest.mark.parametrize(
    "values, words",
    [
        ({"sigma": -1.0}, "sigma"),
        ({"sigma": 0.0}, "sigma"),
        ({"sparsity": 1.0}, "sparsity"),
        ({"lr": 0.0}, "lr"),
        ({"sigma": 2.0, "nonsense": 1}, "nonsense"),  # all or nothing: σ is not changed either
        ({"epsilon": 0.1}, "epsilon"),  # another method's parameter
    ],
)
def test_a_bad_value_raises_and_changes_nothing(lab, values, words):
    lab.step(1)
    before = (lab.params, lab.model.method_params.sigma, lab.model.lr, sidebar_widget(lab, "sigma").value)
    with pytest.raises(ValueError, match=words):
        lab.set(**values)
    assert (lab.params, lab.model.method_params.sigma, lab.model.lr, sidebar_widget(lab, "sigma").value) == before
    assert lab.runner.pending == {}


@pytest.mark.parametrize(
    "setup",
    [{"arch": "16--8"}, {"arch": "abc"}, {"dataset": "nope"}, {"epochs": 0}, {"nonsense": 1}, {"method": "nope"},
     {"sigma": -1.0, "method": "strategic"}],
)  # fmt: skip
def test_a_setup_that_cannot_run_raises_value_error(setup):
    with pytest.raises(ValueError):
        Lab(**{**XOR, **setup})


def test_history_and_events_are_data_frames(lab):
    lab.step(4)
    h, e = lab.history, lab.events
    assert isinstance(h, pd.DataFrame) and isinstance(e, pd.DataFrame)
    assert {"epoch", "val_acc", "density", "grown", "pruned"} <= set(h.columns)
    assert {"epoch", "kind", "layer", "source", "target", "cause"} <= set(e.columns)
    assert (e.kind == "grow").any()  # strategic growth from the sub-network


def test_play_wait_and_pause(lab):
    lab.play()
    assert lab.status == "running"
    reached = lab.wait(epoch=5, timeout=TIMEOUT)
    assert reached >= 5
    lab.pause()
    assert lab.status == "paused"
    stopped = lab.epoch
    assert len(lab.history) == stopped and lab.app.drawn == lab.snapshot.version
    assert lab.step(1) == stopped + 1
    lab.play()
    assert lab.wait(timeout=TIMEOUT) == 40  # to the end
    assert lab.status == "finished"
    with pytest.raises(ValueError, match="finished"):
        lab.play()


def test_wait_gives_up_after_its_timeout():
    lab = Lab(**{**XOR, "epochs": 1000}, speed="slow")  # one epoch every half second
    try:
        lab.play()
        with pytest.raises(TimeoutError, match="still at epoch"):
            lab.wait(epoch=900, timeout=0.5)
    finally:
        lab.close()


def test_widget_is_an_ipywidget_of_the_same_session(lab):
    lab.__panel__()  # shown inline first: the widget is a second view
    w = lab.widget()
    assert isinstance(w, ipywidgets.Widget)
    box = ipywidgets.VBox([ipywidgets.HTML("<b>xor</b>"), w])
    assert box.children[1] is w
    assert "cdn.holoviz.org" not in str(w.render_bundle)  # stylesheets travel with the widget (offline)
    lab.step(2)
    apps = [app for app, _ in lab._views()]
    assert len(apps) == 2 and all(app.drawn == lab.snapshot.version for app in apps)
    lab.set(sigma=2.0)
    assert {app.sidebar.session.model.method_params.sigma for app in apps} == {2.0}


def test_the_widget_ignores_data_echoed_by_the_browser(lab):
    lab.step(2)
    w = lab.widget()
    src = next(m for m in w._model.select({"type": ColumnDataSource}) if m.name == "diagram-edges")
    before = dict(src.data)
    echo = {"event": "jsevent", "kind": "ModelChanged", "model": {"id": src.id}, "attr": "data", "new": {"x0": []}}
    w._sync_model(w, echo, [])
    assert src.data.keys() == before.keys() and len(src.data["x0"]) == len(before["x0"])


def test_the_widget_ignores_its_own_values_coming_back_late(lab):
    w = lab.widget()
    button = next(m for m in w._model.select({"type": Button}) if m.label == "Play")

    def from_browser(label):
        w._sync_model(w, {"event": "jsevent", "kind": "ModelChanged", "model": {"id": button.id}, "attr": "label",
                          "new": label}, [])  # fmt: skip

    button.label = "Pause"  # the kernel: running…
    button.label = "Play"  # …finished, before the browser echoed "Pause"
    from_browser("Pause")  # the late echo does not bring Pause back
    from_browser("Play")
    assert button.label == "Play"
    from_browser("Stop")  # a change the kernel did not send still applies
    assert button.label == "Stop"


def test_a_value_snapped_by_a_slider_is_not_a_change(lab):
    lab.step(1)
    lab.set(sigma=4.0)
    lab.step(1)
    lab.model.method_params.sigma = 3.9999999999999996  # 0.01 + 399 × 0.01, as the browser's slider reports 4
    assert lab.runner.pending == {} and lab.params["sigma"] == 4.0


def test_notebook_views_drop_data_changes_from_the_browser():
    class Message:
        content = {"events": [
            {"kind": "ColumnsPatched", "attr": "data", "model": {"id": "p1"}, "patches": {}},
            {"kind": "ModelChanged", "attr": "data", "model": {"id": "p1"}, "new": {}},
            {"kind": "ModelChanged", "attr": "value", "model": {"id": "p2"}, "new": 2.0},
            {"kind": "MessageSent", "msg_type": "bokeh_event", "msg_data": {}},
        ]}  # fmt: skip

    class Manager:
        def assemble(self, msg):
            return Message()

    kept = _DropData(Manager()).assemble({})
    assert [e["kind"] for e in kept.content["events"]] == ["ModelChanged", "MessageSent"]
    assert is_data_event({"kind": "ColumnsStreamed", "attr": "data"}) and not is_data_event({"kind": "ModelChanged", "attr": "value"})


def test_displaying_gives_each_output_its_own_view(lab):
    bundle = lab._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle  # shown as the widget: state kept in its model
    second = lab.__panel__()  # a lab inside a Panel layout
    assert isinstance(second, NotebookView)
    assert len(lab._shown) == 2 and lab._spare is None
    assert len({id(app) for app, _ in lab._shown}) == 2
    root = second.get_root(Document())
    urls = [s.url for m in root.select({"type": UIElement}) for s in m.stylesheets if isinstance(s, ImportedStyleSheet)]
    assert urls and all(u.startswith("data:text/css") for u in urls)  # Panel's stylesheets travel inline


def test_cycle_reset_and_call(lab):
    lab.step(1)
    counts = lab.cycle()
    assert set(counts) == {"grown", "pruned"}
    assert lab.call(lambda run: run.cycles) >= 1
    lab.reset(sigma=2.0, seed=3)
    assert lab.epoch == 0 and lab.params["sigma"] == 2.0 and lab.model.seed == 3
    assert lab.history.empty
    with pytest.raises(ValueError):
        lab.reset(arch="0-4")
    assert lab.model.arch == "4" and lab.model.seed == 3  # the current run stays


def test_close_stops_the_run(lab):
    lab.play()
    lab.close()
    assert lab.runner.closed and not lab.runner.alive
    with pytest.raises(RuntimeError):
        lab.step(1)
