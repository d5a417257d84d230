"""Issue 15 without a browser: the strip, the buttons and the events say what the run did."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from growlab.run.slots import TrainingSlots
from growlab.ui import create_app
from growlab.ui.theme import button_label

TIMEOUT = 60.0


def make(query):
    template = create_app(query=dict(query), slots=TrainingSlots(2), live=False)
    return template.growlab


@pytest.fixture
def app(request):
    a = make(request.param)
    yield a
    a.close()


def settle(app, pred):
    assert app.session.runner.wait(pred, TIMEOUT)
    app.refresh()
    return app.session.runner.snapshot


def strip_value(app, key: str) -> str:
    return re.search(rf"gl-k'>{key}</span><span class='gl-v'>([^<]*)<", app.strip.text).group(1)


@pytest.mark.parametrize("app", [{"dataset": "xor", "arch": "4", "epochs": "50"}], indirect=True)
def test_cycle_now_on_dense_says_there_is_no_cycle_and_counts_none(app):
    assert app.sidebar.cycle.disabled
    app.session.cycle()
    assert "no cycle" in app.session.message
    snap = settle(app, lambda s: True)
    assert snap.extra["cycles"] == 0 and snap.status == "ready"


@pytest.mark.parametrize("app", [{"dataset": "xor", "arch": "8-4", "method": "odf2nna", "epochs": "50"}], indirect=True)
def test_odf2nnas_cycle_button_reads_apply_epsilon(app):
    assert button_label(app.sidebar.cycle) == "Apply ε" and not app.sidebar.cycle.disabled
    app.session.model.method = "prune"
    assert button_label(app.sidebar.cycle) == "Cycle now"


@pytest.mark.parametrize("app", [{"dataset": "heart", "arch": "16-8", "method": "prune", "epochs": "50",
                                  "schedule": "constant", "start": "0.9"}], indirect=True)  # fmt: skip
def test_the_strip_agrees_with_the_diagram_after_cycle_now(app):
    app.session.step()
    before = settle(app, lambda s: s.epoch == 1 and s.status == "paused")
    assert strip_value(app, "density") == "100.0%"
    app.session.cycle()
    snap = settle(app, lambda s: s.extra.get("cycles") == 1 and s.status == "paused")
    active = sum(int(m.sum()) for m in snap.masks)
    assert active < sum(int(m.sum()) for m in before.masks)  # the cycle pruned
    assert snap.last_row["density"] == 1.0  # the history row is the epoch's, before the cycle
    assert strip_value(app, "density") == f"{active / sum(m.size for m in snap.masks):.1%}"
    assert strip_value(app, "params") == f"{active + sum(int(a.sum()) for a in snap.alive[1:]):,}"


@pytest.mark.parametrize("app", [{"dataset": "moons", "arch": "6-4", "method": "strategic+prune", "sparsity": "0.5",
                                  "epochs": "40"}], indirect=True)  # fmt: skip
def test_the_events_table_names_connections_as_the_inspector_does(app):
    app.events.active = True
    app.session.play()
    settle(app, lambda s: s.status == "finished")
    while app.refresh():
        pass
    table = app.events.table.value
    grown = table[table["kind"] == "grow"]
    assert len(grown)
    names = set(grown["connection"])
    assert all(re.fullmatch(r"(x[12]|h\d #\d+) → (h\d #\d+|P\(class 1\))", n) for n in names), names
    juncture = [c for c in grown["cause"] if "juncture" in c]
    assert juncture and all(re.search(r"juncture (x[12]|h\d #\d+) → (h\d #\d+|P\(class 1\))", c) for c in juncture)
    assert not any(re.search(r"juncture \d+:\d+", c) for c in table["cause"])


def test_an_input_neurons_tooltip_has_no_bias_nan():
    from growlab.ui.diagram_figure import _JS, NEURON_TIP

    assert "bias @bias{bias}" not in NEURON_TIP and "@bias{bias}" in NEURON_TIP
    assert "no bias" in _JS["bias"] and "isFinite" in _JS["bias"]


@pytest.mark.parametrize("app", [{"dataset": "moons", "arch": "12-6", "method": "odf2nna", "epochs": "200"}], indirect=True)
def test_moving_epsilon_on_a_paused_odf2nna_run_redraws_the_hollow_units_at_once(app):
    from growlab.ui.diagram_tables import REMOVED, USELESS

    for _ in range(30):
        app.session.step()
    settle(app, lambda s: s.epoch == 30 and s.status == "paused")
    mp, epoch = app.session.model.method_params, app.session.runner.snapshot.epoch
    hollow = {}
    for eps in (0.3, 0.05):
        mp.epsilon = eps
        snap = settle(app, lambda s: True)
        assert snap.epoch == epoch  # nothing trained
        hollow[eps] = len(snap.overlays["useless_units"])
        kinds = app.diagram.sources["neurons"].data["kind"]
        assert int(np.sum(kinds == USELESS)) == hollow[eps]
    assert hollow[0.3] > hollow[0.05] > 0
    alive = sum(int(a.sum()) for a in snap.alive[1:-1])
    app.session.cycle()  # "Apply ε"
    snap = settle(app, lambda s: s.extra.get("cycles") == 1 and s.status == "paused")
    gone = alive - sum(int(a.sum()) for a in snap.alive[1:-1])
    assert gone == hollow[0.05] == len(snap.extra["removed_units"])
    kinds = app.diagram.sources["neurons"].data["kind"]
    assert int(np.sum(kinds == REMOVED)) == gone  # drawn as removal (red rings)
    active = sum(int(m.sum()) for m in snap.masks)
    assert strip_value(app, "params") == f"{active + sum(int(a.sum()) for a in snap.alive[1:]):,}"


@pytest.mark.parametrize("app", [{"dataset": "xor", "arch": "8-4", "method": "lottery", "epochs": "40"}], indirect=True)
def test_lottery_rounds_are_a_label_by_the_title_and_markers_on_the_curves(app):
    settle(app, lambda s: True)
    assert "lottery round 1/" in app.diagram.figure.title.text and "lottery round 1/" in app.strip.text
    app.session.play()
    snap = settle(app, lambda s: s.status == "finished")
    while app.refresh():
        pass
    rewinds = app.session.runner.events().query("kind == 'rewind'")
    assert len(rewinds) >= 1 and app.curves.n_phases == len(rewinds)
    assert list(app.curves.phases.data["epoch"]) == [int(e) for e in rewinds["epoch"]]
    assert app.curves.n_markers == 0  # rewinds are not parameter changes
    assert f"lottery {snap.overlays['phase']}" in app.diagram.figure.title.text


@pytest.mark.parametrize("app", [{"dataset": "moons", "arch": "8-4", "method": "nest", "epochs": "40"}], indirect=True)
def test_nest_shows_its_phase(app):
    settle(app, lambda s: True)
    assert "NeST growth phase" in app.diagram.figure.title.text and "NeST growth phase" in app.strip.text


def play_to(app, epoch):
    app.session.play()
    assert app.session.runner.wait(lambda s: s.epoch >= epoch, TIMEOUT * 2)
    app.session.pause()
    settle(app, lambda s: s.status == "paused")
    while app.refresh():
        pass
    return app.session.runner.snapshot


@pytest.mark.parametrize("app", [{"dataset": "heart", "arch": "16-8", "method": "strategic", "sparsity": "0.9",
                                  "junctures": "all", "epochs": "200"}], indirect=True)  # fmt: skip
def test_growth_that_reached_its_density_cap_says_so(app):
    play_to(app, 30)
    assert "target density reached" in app.strip.text and "lower sparsity" in app.strip.text


@pytest.mark.parametrize("app", [{"dataset": "heart", "arch": "16-8", "method": "strategic+prune", "epochs": "200",
                                  "sparsity": "0.9", "junctures": "all", "grow_from": "origin", "init_weight": "copy",
                                  "keep_inputs": "false"}],
                         indirect=True)  # fmt: skip
def test_stalled_growth_says_why(app):
    from growlab.ui.activity import growth_note

    snap = play_to(app, 100)
    grown = app.curves.source.data["grown"]
    assert not any(grown[-10:])  # the stall: strategic+prune with the method's own defaults
    assert "growth stalled: nothing grown in the last 10 epochs" in app.strip.text
    assert growth_note(snap, [snap.epoch], [1]) == ""  # growing: nothing to say


def test_the_apps_default_strategic_run_visibly_grows():
    app = make({"dataset": "heart", "arch": "16-8", "method": "strategic", "epochs": "200"})
    try:
        assert app.session.model.method_params.sparsity == 0.5 and "sparsity=0.5" in app.share.search
        play_to(app, 60)
        grown = app.curves.source.data["grown"]
        assert sum(1 for g in grown if g) >= 45 and "stalled" not in app.strip.text and "reached" not in app.strip.text
    finally:
        app.close()


@pytest.mark.parametrize("app", [{"dataset": "xor", "arch": "4", "method": "prune", "sparsity": "0.95",
                                  "schedule": "constant", "epochs": "50"}], indirect=True)  # fmt: skip
def test_a_network_that_cannot_reach_its_output_is_a_warning_once(app, monkeypatch):
    told = []
    monkeypatch.setattr(app.session, "_notify", lambda level, text: told.append((level, text)))
    play_to(app, 5)
    warnings = [t for level, t in told if level == "warning"]
    assert len(warnings) == 1 and "cannot learn" in warnings[0] and "cannot be reached" in warnings[0]


def test_the_apps_default_strategic_prune_run_visibly_grows():
    app = make({"dataset": "heart", "method": "strategic+prune", "epochs": "200"})
    try:
        assert "junctures=usable" in app.share.search
        play_to(app, 30)
        grown = app.curves.source.data["grown"]
        assert sum(grown) >= 30 and "stalled" not in app.strip.text  # connections born in its first 30 epochs
    finally:
        app.close()


def test_a_2d_toy_gives_growing_methods_room_to_grow_and_a_link_keeps_what_it_says():
    from growlab.ui.model import SessionModel

    m = SessionModel()
    m.method = "random+prune"
    assert m.method_params.sparsity == 0.9  # heart: the method's own cap
    m.dataset = "xor"
    assert m.method_params.sparsity == 0.5  # xor 2-4-1 at 0.9 could not grow one connection
    m.dataset = "heart"
    assert m.method_params.sparsity == 0.9
    m.method_params.sparsity = 0.8
    m.dataset = "moons"
    assert m.method_params.sparsity == 0.8  # what the user set stays
    for sparsity in ("0.9", "0.5"):
        linked = SessionModel()
        assert linked.apply_query({"dataset": "moons", "method": "random", "sparsity": sparsity}) == []
        again = SessionModel()
        again.apply_query(linked.query())
        assert again.method_params.sparsity == float(sparsity)  # the link round trip keeps it


def test_xor_with_a_growing_method_grows_from_the_start():
    app = make({"dataset": "xor", "arch": "4", "method": "strategic+prune", "epochs": "100"})
    try:
        assert app.session.model.method_params.sparsity == 0.5
        play_to(app, 20)
        assert sum(app.curves.source.data["grown"]) > 0 and "reached" not in app.strip.text
    finally:
        app.close()


def _snap(masks, names=("x1", "x2"), **kw):
    from types import SimpleNamespace

    masks = tuple(np.asarray(m, bool) for m in masks)
    return SimpleNamespace(masks=masks, sizes=(masks[0].shape[1], *(m.shape[0] for m in masks)), feature_names=names,
                           epoch=0, extra={}, **kw)  # fmt: skip


def test_inputs_that_reach_no_output_are_a_warning_in_the_strip_and_once_as_a_toast(monkeypatch):
    from growlab.ui.status import reach_warning, unreached_inputs

    both = _snap([[[1, 0], [0, 1]], [[1, 1]]])
    one = _snap([[[1, 0], [0, 0]], [[1, 1]]])  # x2 feeds nothing
    dead_end = _snap([[[1, 0], [0, 1]], [[0, 1]]])  # x1's hidden unit does not reach the output
    none = _snap([[[1, 1], [1, 1]], [[0, 0]]])
    assert unreached_inputs(both) == [] and reach_warning(both) == ""
    assert unreached_inputs(one) == [1] and "1 of 2 inputs reach no output (x2)" in reach_warning(one)
    assert unreached_inputs(dead_end) == [0] and "(x1)" in reach_warning(dead_end)
    assert unreached_inputs(none) == [0, 1] and "cannot learn" in reach_warning(none)
    assert unreached_inputs(_snap([np.ones((2, 2, 3, 3))])) is None  # a conv layer: not judged here
    app = make({"dataset": "xor", "arch": "4"})
    try:
        told = []
        monkeypatch.setattr(app.session, "_notify", lambda level, text: told.append((level, text)))
        app._warn_false_start(one, fresh=True)
        app._warn_false_start(one, fresh=False)
        assert told == [("warning", "1 of 2 inputs reach no output (x2): the network ignores them as it starts. "
                                    "Lower the sparsity, widen the layers or pick another seed")]
    finally:
        app.close()


def test_the_strip_shows_the_reach_warning():
    from growlab.ui.status import strip_html

    app = make({"dataset": "xor", "arch": "4"})
    try:
        snap = app.session.runner.snapshot
        cut = [m.copy() for m in snap.masks]
        cut[0][:, 1] = False  # x2 feeds nothing
        html = strip_html(dataclasses.replace(snap, masks=tuple(cut)))
        assert "gl-reach" in html and "reach no output (x2)" in html
        assert "gl-reach" not in strip_html(snap)
    finally:
        app.close()


def test_links_keep_the_speed_the_tab_and_the_layout():
    from growlab.ui.model import SessionModel

    app = make({"dataset": "xor", "speed": "fast", "tab": "events", "layout": "projector"})
    try:
        m = app.session.model
        assert (m.speed, m.tab, m.layout) == ("fast", "events", "projector") and app.tabs.active == 3
        assert app.events.active and app.projector.value
        app.tabs.active = 4
        assert m.tab == "export" and "tab=export" in app.share.search and "speed=fast" in app.share.search
        again = SessionModel()
        assert again.apply_query(m.query()) == []
        assert (again.speed, again.tab, again.layout) == ("fast", "export", "projector")
        assert SessionModel().apply_query({"tab": "nope"})[0].startswith("link: tab must be one of")
    finally:
        app.close()
