"""The network diagram without a browser: what its ColumnDataSources hold after ``update``."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess

import numpy as np
import pytest
from bokeh.document import Document
from bokeh.document.events import ColumnDataChangedEvent, ColumnsPatchedEvent

import diagram_cases as dc
from growlab.run.snapshot import FADE_EPOCHS, snapshot_of
from growlab.view import palette
from growlab.ui.diagram import NetworkDiagram
from growlab.view.diagram_layout import column_ys
from growlab.ui.diagram_tables import DORMANT, EV_GROWN, USELESS


def drawn(d: NetworkDiagram, name: str = "edges") -> dict:
    return {k: np.asarray(v) for k, v in d.sources[name].data.items()}


def triples(data: dict) -> set:
    return set(zip(data["layer"].tolist(), data["source"].tolist(), data["target"].tolist()))


def active_triples(snap) -> set:
    return {(l, int(s), int(t)) for l, m in enumerate(snap.masks) for t, s in np.argwhere(m)}


@pytest.fixture(scope="module")
def heart():
    run = dc.growlab.Run("heart", "16-8", epochs=5)
    run.run()
    return run, snapshot_of(run)


@pytest.fixture(scope="module")
def sparse():
    return dc.heart_sparse()


@pytest.fixture(scope="module")
def mnist_like(heart):
    return dc.synthetic(heart[1], (784, 300, 100, 10), (28, 28), density=0.3, n_grow=200, n_prune=100)


def diagram_of(snap, **kw) -> NetworkDiagram:
    d = NetworkDiagram(**kw)
    d.update(snap)
    return d


def test_one_line_per_active_connection_at_its_neurons(heart):
    _, snap = heart
    d = diagram_of(snap)
    e = drawn(d)
    assert len(e["w"]) + len(drawn(d, "redundant")["w"]) == sum(int(m.sum()) for m in snap.masks) == 27 * 16 + 16 * 8 + 8
    assert triples(e) | triples(drawn(d, "redundant")) == active_triples(snap)
    lay = d.layout
    for i in (0, len(e["w"]) // 2, len(e["w"]) - 1):
        l, s, t = e["layer"][i], e["source"][i], e["target"][i]
        assert (e["x0"][i], e["y0"][i]) == (lay.xs[l][s], lay.ys[l][s])
        assert (e["x1"][i], e["y1"][i]) == (lay.xs[l + 1][t], lay.ys[l + 1][t])
        assert e["w"][i] == pytest.approx(snap.weights[l][t, s])
    assert "all 568 connections" in d.note.text


def test_width_grows_with_abs_weight_and_colour_follows_sign(heart):
    e = drawn(diagram_of(heart[1]))
    order = np.argsort(np.abs(e["w"]))
    assert np.all(np.diff(e["width"][order]) >= 0)
    assert e["width"][order[-1]] > 3 * e["width"][order[0]]
    assert np.array_equal(e["positive"], (e["w"] >= 0).astype(int))
    mapper = diagram_of(heart[1]).renderers["edges"].glyph.line_color.transform
    assert list(mapper.palette) == [palette.NEGATIVE, palette.POSITIVE] and (mapper.low, mapper.high) == (0, 1)


def test_inputs_and_outputs_are_labelled_by_name(heart):
    d = diagram_of(heart[1])
    axes = {a.name: a for a in (*d.figure.left, *d.figure.right)}
    assert set(axes["inputs"].major_label_overrides.values()) == set(heart[1].feature_names)
    assert list(axes["outputs"].major_label_overrides.values()) == ["P(disease)"]
    assert axes["inputs"].ticker.ticks == sorted(axes["inputs"].ticker.ticks)  # NoOverlap needs ascending ticks


def test_columns_keep_strategic_growth_level(heart):
    """Neuron i is level with β = i·(n'−1)/(n−1) of the next column (DESIGN §4), for wide columns."""
    a, b = column_ys(27), column_ys(14)
    assert a[2] == pytest.approx(b[1]) and a[26] == pytest.approx(b[13]) and a[0] == pytest.approx(b[0])


def test_grown_edges_are_green_and_pruned_ones_red_ghosts(sparse):
    run, snap, info = sparse
    d = diagram_of(snap)
    e, ghosts, fresh = drawn(d), drawn(d, "ghosts"), drawn(d, "fresh")
    grown = {(0, int(s), int(t)) for t, s in np.argwhere(info["grown"])}
    assert {tr for tr, ev in zip(zip(e["layer"], e["source"], e["target"]), e["ev"]) if ev == EV_GROWN} == grown
    assert len(fresh["x0"]) == len(grown) and np.all(fresh["alpha"] > 0.5)
    assert d.renderers["fresh"].glyph.line_color == palette.GROWN
    latest = {(0, int(s), int(t)) for t, s in np.argwhere(info["pruned"])} - grown  # some regrew at once
    assert latest and latest <= triples(ghosts)
    assert not triples(ghosts) & active_triples(snap)  # a ghost is never also a live connection
    assert d.renderers["ghosts"].glyph.line_color == palette.PRUNED
    assert d.renderers["ghosts"].glyph.line_dash == [7, 3]
    order = list(d.figure.renderers)  # ghosts on top of every connection drawn, thicker than most
    assert all(order.index(d.renderers["ghosts"]) > order.index(d.renderers[k]) for k in ("edges", "redundant", "fresh"))
    assert min(ghosts["width"]) >= 2.8 and min(ghosts["alpha"][is_latest := np.asarray(ghosts["ev_epoch"]) == snap.epoch]) > 0.5
    assert ghosts["alpha"][is_latest].min() > ghosts["alpha"][~is_latest].max()  # older ghosts are fainter


def test_overlays_fade_and_disappear(sparse):
    run, snap, _ = sparse
    d = diagram_of(snap)
    before = drawn(d, "fresh")["alpha"].max()
    later = dataclasses.replace(snap, epoch=snap.epoch + 3)
    d.update(later)
    assert 0 < drawn(d, "fresh")["alpha"].max() < before
    gone = dataclasses.replace(snap, epoch=snap.epoch + FADE_EPOCHS + 1, recent=snap.recent.iloc[0:0])
    d.update(gone)
    assert len(drawn(d, "fresh")["x0"]) == 0 and len(drawn(d, "ghosts")["x0"]) == 0


def test_redundant_connections_are_dashed_grey(heart, sparse):
    _, snap, _ = sparse
    d = diagram_of(snap)
    red = drawn(d, "redundant")
    assert len(red["w"]) == sum(int(m.sum()) for m in snap.redundant) > 0
    glyph = d.renderers["redundant"].glyph
    assert (glyph.line_dash, glyph.line_color) == ("dashed", palette.REDUNDANT)
    # given explicitly: exactly those connections move from the solid to the dashed renderer
    _, dense = heart
    masks = [np.zeros_like(m) for m in dense.masks]
    masks[1][3, :] = True  # everything into hidden 2 unit 3
    d = diagram_of(dataclasses.replace(dense, redundant=tuple(masks)))
    assert triples(drawn(d, "redundant")) == {(1, s, 3) for s in range(16)}
    assert not triples(drawn(d)) & triples(drawn(d, "redundant"))


def test_a_redundant_connection_just_grown_is_still_green(heart):
    _, dense = heart
    masks = [np.zeros_like(m) for m in dense.masks]
    masks[1][3, 4] = True
    recent = dc.pd.DataFrame({"epoch": [dense.epoch], "step": [0], "kind": ["grow"], "layer": [1], "source": [4],
                              "target": [3], "weight": [0.2], "cause": ["juncture"]})  # fmt: skip
    d = diagram_of(dataclasses.replace(dense, redundant=tuple(masks), recent=recent))
    assert triples(drawn(d, "redundant")) == {(1, 4, 3)}
    fresh = drawn(d, "fresh")
    assert len(fresh["x0"]) == 1 and fresh["x1"][0] == d.layout.xs[2][3] and fresh["y0"][0] == d.layout.ys[1][4]


def test_focal_junctures_are_outlined_gold(sparse):
    _, snap, _ = sparse
    d = diagram_of(snap)
    halos = drawn(d, "halos")
    lay = d.layout
    want = {(lay.xs[l][s], lay.ys[l][s], lay.xs[l + 1][t], lay.ys[l + 1][t]) for l, s, t in snap.overlays["focal_junctures"]}
    assert set(zip(halos["x0"], halos["y0"], halos["x1"], halos["y1"])) == want
    assert d.renderers["halos"].glyph.line_color == palette.FOCAL
    assert np.all(halos["outer"] > halos["width"])  # the dark rim around the gold


def test_useless_units_are_hollow(sparse):
    _, snap, _ = sparse
    n = drawn(diagram_of(snap), "neurons")
    hollow = set(zip(n["layer"][n["kind"] == USELESS].tolist(), n["unit"][n["kind"] == USELESS].tolist()))
    assert hollow == {(1, 5), (1, 9)}
    fill = diagram_of(snap).renderers["neurons"].glyph.fill_color.transform
    assert fill.palette[USELESS] == "#ffffff" and np.all(n["line_width"][n["kind"] == USELESS] > 1)


def test_dormant_capacity_is_faint(heart):
    snap = dc.with_capacity(heart[1], (27, 24, 12, 1))
    d = diagram_of(snap)
    n = drawn(d, "neurons")
    dormant = n["kind"] == DORMANT
    assert set(zip(n["layer"][dormant].tolist(), n["unit"][dormant].tolist())) == {
        *((1, u) for u in range(16, 24)), *((2, u) for u in range(8, 12))
    }
    assert n["fill_alpha"][dormant].max() < 0.5 <= n["fill_alpha"][~dormant].min()
    assert len(drawn(d)["w"]) == 27 * 16 + 16 * 8 + 8  # dormant units carry no connection


def test_edge_budget_keeps_changes_and_the_strongest(mnist_like):
    snap = mnist_like
    d = diagram_of(snap, edge_budget=3000)
    e, ghosts = drawn(d), drawn(d, "ghosts")
    total = sum(int(m.sum()) for m in snap.masks)
    assert len(e["w"]) + len(ghosts["w"]) == 3000
    assert np.count_nonzero(e["ev"] == EV_GROWN) == 200 and len(ghosts["w"]) == 100
    shown = triples(e)
    rest = [(abs(snap.weights[l][t, s]), (l, s, t)) for l, s, t in active_triples(snap) if (l, s, t) not in shown]
    assert max(w for w, _ in rest) <= np.abs(e["w"][e["ev"] != EV_GROWN]).min() + 1e-12
    assert f"showing {len(e['w']):,} strongest of {total:,} connections" in d.note.text
    assert "incl. all 300 changed in the latest cycle" in d.note.text


def test_a_huge_cycle_takes_at_most_half_the_budget(heart):
    snap = dc.synthetic(heart[1], (784, 300, 100, 10), (28, 28), density=0.5, n_grow=4000, n_prune=0)
    e = drawn(diagram_of(snap, edge_budget=2000))
    assert np.count_nonzero(e["ev"] == EV_GROWN) == 1000 and len(e["w"]) == 2000


def test_image_inputs_are_a_map_of_outgoing_connections(mnist_like):
    d = diagram_of(mnist_like)
    m = d.sources["map"].data
    counts = mnist_like.masks[0].sum(axis=0).reshape(28, 28)
    assert np.array_equal(m["image"][0], counts[::-1])  # row 0 of the image on top
    assert 0 not in drawn(d, "neurons")["layer"]  # no column of 784 dots
    left = d.figure.left[0]
    assert left.ticker.ticks == [] and "28×28" in " ".join(d.figure.below[0].major_label_overrides.values())
    x, y, w, h = (m[k][0] for k in ("x", "y", "dw", "dh"))
    e = drawn(d)
    first = e["layer"] == 0
    assert np.all((e["x0"][first] > x) & (e["x0"][first] < x + w) & (e["y0"][first] > y) & (e["y0"][first] < y + h))


def test_large_columns_use_small_neurons(mnist_like):
    lay = diagram_of(mnist_like).layout
    assert lay.marker_px[1] < lay.marker_px[2] < lay.marker_px[3]  # 300, 100, 10 neurons


def test_hover_shows_names_weight_birth_and_cause(sparse):
    _, snap, _ = sparse
    d = diagram_of(snap)
    hovers = {t.renderers[0].data_source: t for t in d.figure.tools if type(t).__name__ == "HoverTool"}
    edge_tip = hovers[d.sources["edges"]]
    for field in ("@source{src}", "@target{tgt}", "@layer{lname}", "@w{", "@birth", "@ev{status}", "@cause{cause}"):
        assert field in edge_tip.tooltips
    assert {"@source", "@target", "@layer", "@ev", "@cause"} <= set(edge_tip.formatters)
    tables = edge_tip.formatters["@source"].args["t"]
    assert edge_tip.formatters["@cause"].args["t"] is tables  # one shared lookup source
    names = tables.data["names"][0]
    assert names[0] == list(snap.feature_names) and names[-1] == ["P(disease)"]
    assert "test: random" in tables.data["causes"][0]
    assert "@unit{name}" in hovers[d.sources["neurons"]].tooltips and "@fan_in" in hovers[d.sources["neurons"]].tooltips


def test_clicks_select_an_edge_or_a_neuron(heart):
    d = diagram_of(heart[1])
    e = d.sources["edges"]
    e.selected.indices = [5]
    want = {"kind": "edge", "layer": int(e.data["layer"][5]), "source": int(e.data["source"][5]),
            "target": int(e.data["target"][5])}  # fmt: skip
    assert d.selected == want
    assert d.sources["sel_edge"].data["x0"] == [e.data["x0"][5]]
    n = d.sources["neurons"]
    n.selected.indices = [30]
    assert d.selected == {"kind": "neuron", "layer": int(n.data["layer"][30]), "unit": int(n.data["unit"][30])}
    assert len(d.sources["sel_node"].data["x"]) == 1 and len(d.sources["sel_edge"].data["x0"]) == 0
    n.selected.indices, e.selected.indices = [], []  # a tap on empty space clears every source
    assert d.selected is None


def test_only_weight_changes_are_patched_not_replaced(heart):
    _, snap = heart
    d = NetworkDiagram()
    doc = Document()
    doc.add_root(d.figure)
    d.update(snap)
    events = []
    doc.on_change(events.append)
    d.update(dataclasses.replace(snap, weights=tuple(w * 1.5 for w in snap.weights)))
    edge_events = [ev for ev in events if getattr(ev, "model", None) is d.sources["edges"]]
    assert edge_events and all(isinstance(ev, ColumnsPatchedEvent) for ev in edge_events)
    assert np.allclose(drawn(d)["w"], [snap.weights[l][t, s] * 1.5 for l, s, t in zip(*(drawn(d)[k] for k in ("layer", "source", "target")))])
    events.clear()
    masks = list(snap.masks)
    masks[0] = masks[0].copy()
    masks[0][0, 0] = False
    d.update(dataclasses.replace(snap, masks=tuple(masks)))
    replaced = [ev for ev in events if isinstance(ev, ColumnDataChangedEvent) and ev.model is d.sources["edges"]]
    assert len(replaced) == 1 and len(drawn(d)["w"]) == 567


def test_a_new_run_clears_the_selection(heart):
    _, snap = heart
    d = diagram_of(dataclasses.replace(snap, run_id=1))
    d.selected = {"kind": "neuron", "layer": 1, "unit": 2}
    d.update(dataclasses.replace(snap, run_id=1))
    assert d.selected is not None
    d.update(dataclasses.replace(snap, run_id=2))
    assert d.selected is None


def test_a_new_architecture_rebuilds_the_layout_in_place(heart, mnist_like):
    d = diagram_of(heart[1])
    fig = d.figure
    d.update(mnist_like)
    assert d.figure is fig and d.layout.image_shape == (28, 28)
    d.update(heart[1])
    assert d.layout.map_box is None and len(d.sources["map"].data["image"]) == 0


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to compile the hover code")
def test_every_hover_formatter_compiles_as_bokeh_builds_it():
    """Bokeh turns a CustomJSHover into ``new Function(...args, value, format, special_vars, code)``;
    a body that re-declares an argument is a SyntaxError there, and the tooltip silently never shows."""
    d = NetworkDiagram()
    bodies = [[*fmt.args, "value", "format", "special_vars", fmt.code] for fmt in d._lookups.formatters]
    script = f"for (const b of {json.dumps(bodies)}) new Function(...b)"
    done = subprocess.run(["node", "-e", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
