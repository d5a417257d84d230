"""Conv networks in the app: snapshots as channel graphs, the conv diagram, feature maps, the
inspector's kernel taps, conv-on-tabular refusals, and (browser) the served app on `digits`.

Kept small: `digits` (8×8 images) with a small conv net, so every test trains in seconds.
Screenshots (git-ignored ``artifacts/``): ``conv_app_1440.png``, ``conv_app_1280.png``,
``conv_kernel_hover.png``, ``conv_inspector.png``.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import growlab
from growlab import Run
from growlab.run.runner import Runner, plan_run
from growlab.run.snapshot import snapshot_of
from growlab.ui.conv_diagram import LIVE_ALPHA_FLOOR, ConvDiagram
from growlab.ui.conv_inspector import ConvInspector
from growlab.ui.model import SessionModel
from growlab.ui.session import Session

ARCH = "c6k3-c16k3-p2-32"  # on 8×8 digits: 6×6, 4×4, pooled 2×2, then 32 neurons
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


@pytest.fixture(scope="module")
def trained():
    """A small conv run on digits after a few epochs of pruning and growth."""
    torch.set_num_threads(1)
    run = Run("digits", ARCH, "strategic+prune", epochs=8, seed=0)
    for _ in range(4):
        run.step()
    return run


# ---------------------------------------------------------------------------- snapshots
def test_a_conv_snapshot_is_its_channel_graph_with_taps_and_feature_maps(trained):
    run, net = trained, trained.network
    snap = snapshot_of(run, example=3)
    assert snap.capacity == (1, 6, 16, 32, 10)
    assert [w.shape for w in snap.weights] == [(6, 1), (16, 6), (32, 16), (10, 32)]
    assert snap.feature_names == ("image",) and snap.image_shape is None
    # an edge is active when any tap is, and its weight is the live taps' norm signed like their sum
    w1 = net.weights[1][0].detach().numpy() * net.active_float(1)[0].numpy()
    live = np.abs(w1).sum(axis=(2, 3)) > 0
    assert np.array_equal(snap.masks[1], net.active_float(1)[0].numpy().any(axis=(2, 3)))
    t, s = np.argwhere(live)[0]
    norm = np.sqrt((w1[t, s] ** 2).sum())
    assert snap.weights[1][t, s] == pytest.approx(np.sign(w1[t, s].sum()) * norm, rel=1e-5)
    assert not snap.weights[1][~snap.masks[1]].any()
    conv = snap.extra["conv"]
    assert conv["example"] == 3 and conv["kernel"] == (3, 3) and conv["maps"] == ((8, 8), (6, 6), (2, 2))
    assert conv["taps"][1].shape == (16, 6, 3, 3) and conv["tap_mask"][1].dtype == bool
    assert conv["live"][1][t, s] == pytest.approx(conv["tap_mask"][1][t, s].mean())
    assert [f.shape for f in conv["features"]] == [(6, 6, 6), (16, 2, 2)]
    assert conv["image"].shape == (8, 8)
    x = run.data.X_val[3].reshape(8, 8).numpy()
    assert np.allclose(conv["image"], x)
    assert conv["label"] == int(run.data.y_val[3])
    # the flatten: a channel's block of 2×2 columns is one edge; it is live when any column is
    flat = net.active_float(2)[0].numpy().reshape(32, 16, 4)
    assert np.array_equal(snap.masks[2], flat.any(axis=2))
    assert np.allclose(conv["live"][2], flat.mean(axis=2))


def test_a_bad_example_index_falls_back_or_is_refused(trained):
    assert snapshot_of(trained, example=10**6).extra["conv"]["example"] == 0
    with Runner(run=trained) as r:
        with pytest.raises(ValueError, match="validation row number"):
            r.show_example(10**6)
        with pytest.raises(ValueError, match="validation row number"):
            r.show_example("seven")
        assert r.show_example(7) == 7
        assert r.wait(lambda s: s.extra["conv"]["example"] == 7)


def test_the_weight_trace_of_a_kernel_holds_its_taps():
    with Runner({"dataset": "digits", "arch": ARCH, "method": "dense", "epochs": 3}) as r:
        r.step()
        r.wait(lambda s: s.epoch == 1, timeout=60)
        r.step()
        r.wait(lambda s: s.epoch == 2, timeout=60)
        h = r.weight_history(1, 2, 3)
        assert list(h["epoch"]) == [0, 1, 2] and all(len(t) == 9 for t in h["taps"])
        snap = r.snapshot
        taps = snap.extra["conv"]["taps"][1][3, 2].ravel()
        assert np.allclose(h["taps"].iloc[-1], taps, atol=1e-6)
        assert h["weight"].iloc[-1] == pytest.approx(abs(snap.weights[1][3, 2]) / 3.0, rel=1e-4)  # rms of 9 live taps
        n = r.neuron_history(2, 5)  # a conv-2 channel: its kernels in, its block of columns out
        assert len(n) == 3 and n["in_abs"].iloc[-1] > 0 and n["out_abs"].iloc[-1] > 0


def test_plan_run_knows_conv_capacities():
    capacity, need = plan_run({"dataset": "digits", "arch": ARCH, "method": "nest"})
    assert capacity[0] == 1 and len(capacity) == 5 and need > 0
    with pytest.raises(ValueError, match="tabular"):
        plan_run({"dataset": "heart", "arch": "lenet-5"})
    with pytest.raises(ValueError, match="does not fit 8×8"):
        plan_run({"dataset": "digits", "arch": "lenet-5"})


# ---------------------------------------------------------------------------- the session
def test_a_conv_architecture_on_a_tabular_dataset_is_refused_and_nothing_changes():
    said = []
    s = Session(SessionModel(dataset="heart"), notify=lambda level, text: said.append((level, text)))
    try:
        before = s.runner.snapshot.run_id, s.runner.spec["arch"]
        s.model.preset = "lenet-5 (conv, 28×28)"
        assert said[-1][0] == "error" and "tabular" in said[-1][1] and "mnist5k" in said[-1][1]
        assert s.model.arch == "16-8" and s.model.preset == "paper 16-8"
        assert (s.runner.snapshot.run_id, s.runner.spec["arch"]) == before
    finally:
        s.close()
    said.clear()
    s = Session(SessionModel(dataset="digits", arch=ARCH), notify=lambda level, text: said.append((level, text)))
    try:
        assert "conv" in s.runner.snapshot.extra
        s.model.dataset = "heart"  # the conv net stays; the dataset goes back
        assert said[-1][0] == "error" and "tabular" in said[-1][1]
        assert s.model.dataset == "digits" and s.runner.snapshot.dataset == "digits"
    finally:
        s.close()


def test_a_link_with_a_conv_architecture_on_a_table_falls_back_with_the_reason():
    said = []
    model = SessionModel(dataset="heart", arch="lenet-5")
    s = Session(model, notify=lambda level, text: said.append((level, text)))
    try:
        assert "tabular" in said[-1][1] and s.runner.snapshot.dataset == "heart" and "conv" not in s.runner.snapshot.extra
    finally:
        s.close()


# ---------------------------------------------------------------------------- the views
def test_the_conv_diagram_draws_channels_kernels_the_image_and_blocks(trained):
    snap = snapshot_of(trained, version=1)
    d = ConvDiagram()
    d.update(snap)
    lay = d.layout
    assert lay.layer_names == ("input", "conv 1", "conv 2", "hidden 1", "output")
    assert list(lay.names[0]) == ["image"] and lay.names[2][5] == "c2 #5"
    e = d.sources["edges"].data
    active = sum(int(m.sum()) for m in snap.masks)
    assert len(e["w"]) + len(d.sources["redundant"].data["w"]) == active
    # opacity follows the live taps: a kernel with few live taps is fainter than its plain alpha
    plain = ConvDiagram.__mro__[1]()
    plain.update(snap)
    conv = snap.extra["conv"]
    ref = {(l, s, t): a for l, s, t, a in zip(*(plain.sources["edges"].data[c] for c in ("layer", "source", "target", "alpha")))}
    checked = 0
    for l, s, t, a in zip(e["layer"], e["source"], e["target"], e["alpha"]):
        frac = conv["live"][l][t, s]
        assert a == pytest.approx(ref[(l, s, t)] * (LIVE_ALPHA_FLOOR + (1 - LIVE_ALPHA_FLOOR) * frac))
        checked += frac < 1
    assert checked > 0  # some kernels have pruned taps
    assert len(d.input_source.data["image"]) == 1 and d.input_source.data["image"][0].shape == (8, 8)
    assert d.input_source.data["x"][0] + d.input_source.data["dw"][0] < 0  # left of the input channel
    assert len(d.block_source.data["y"]) == int(snap.alive[2].sum()) == 16  # conv 2: blocks of flattened columns
    lookup = d.conv_source.data
    assert lookup["n_conv"][0] == 2 and len(lookup["taps"][1]) == 16 * 6 * 9 and len(lookup["taps"][2]) == 0
    assert "kernels" in d.note.text and d.is_conv and d.conv_note.visible
    # the strip: every channel of conv 1, then of conv 2 when a conv-2 channel is selected
    assert len(d.maps.source.data["image"]) == 6 and d.maps._view.visible
    d.selected = {"kind": "neuron", "layer": 2, "unit": 4}
    assert d.maps.layer == 2 and len(d.maps.source.data["image"]) == 16 and len(d.maps.mark.data["x"]) == 1
    # the next snapshot of the same network keeps the layout (rows are patched, not rebuilt)
    layout = d.layout
    d.update(snapshot_of(trained, version=2))
    assert d.layout is layout
    # back to an MLP: exactly the MLP diagram again
    d.update(snapshot_of(Run("heart", "16-8", epochs=1)))
    assert not d.is_conv and not d.maps._view.visible and len(d.input_source.data["image"]) == 0
    assert isinstance(d._mlp_tips["edges"][0].tooltips, str)


def test_the_inspector_shows_a_kernels_taps_and_a_channels_map(trained):
    snap = snapshot_of(trained, version=1, example=2)
    d = ConvDiagram()
    ins = ConvInspector(diagram=d)
    d.update(snap)
    ins.update(snap)
    assert not ins.conv_view.visible
    conv = snap.extra["conv"]
    t, s = np.argwhere(snap.masks[1])[0]
    d.selected = {"kind": "edge", "layer": 1, "source": int(s), "target": int(t)}
    assert ins.conv_view.visible and ins.kernel_pane.visible and not ins.map_pane.visible
    img = ins.kernel.data["image"][0][::-1]
    mask = conv["tap_mask"][1][t, s]
    assert np.allclose(img[mask], conv["taps"][1][t, s][mask]) and np.isnan(img[~mask]).all()
    assert f"c2 #{t}" in ins.conv_title.object and "taps live" in ins.conv_title.object
    assert f"c1 #{s} → c2 #{t}" in ins.header.object and "conv 1 → conv 2" in ins.header.object
    d.selected = {"kind": "neuron", "layer": 1, "unit": 4}
    assert ins.map_pane.visible and not ins.kernel_pane.visible
    assert np.allclose(ins.fmap.data["image"][0][::-1], conv["features"][0][4])
    d.selected = {"kind": "neuron", "layer": 0, "unit": 0}
    assert np.allclose(ins.fmap.data["image"][0][::-1], conv["image"]) and "input image" in ins.conv_title.object


def test_a_conv_run_exports_reports_and_shows_in_the_lab():
    lab = growlab.Lab(dataset="digits", arch=ARCH, method="strategic+prune", epochs=4)
    try:
        runner = lab.session.runner
        runner.step()
        assert runner.wait(lambda s: s.epoch == 1, timeout=60)
        lab.app.refresh()
        assert lab.app.diagram.is_conv and "conv" in runner.snapshot.extra
        summary = runner.snapshot.extra["analysis"]  # false starts & redundancy
        assert summary["available"] and summary["redundant"] == int(runner.history()["redundant"].iloc[-1])  # taps
        stored = torch.load(io.BytesIO(runner.model_bytes()), weights_only=True)  # the compacted model
        assert "Conv2d" in repr(stored) and "MaxPool2d" in repr(stored)
        assert len(runner.history()) == 1 and len(runner.events()) > 0
    finally:
        lab.close()


def test_prune_redundant_paths_on_a_conv_run_logs_one_event_per_tap_named_by_channels():
    with Runner({"dataset": "digits", "arch": ARCH, "method": "strategic+prune", "epochs": 5}) as r:
        for i in range(3):
            r.step()
            assert r.wait(lambda s, e=i + 1: s.epoch == e, timeout=60)
        redundant = sum(int(m.sum()) for m in r.snapshot.redundant)
        out = r.prune_redundant()
        ev = r.events()
        ev = ev[ev["cause"] == "redundant path"]
        assert out["removed"] == len(ev) and (redundant == 0) == (len(ev) == 0)
        caps = r.snapshot.capacity
        for layer, s, t in zip(ev["layer"], ev["source"], ev["target"]):
            assert 0 <= s < caps[layer] and 0 <= t < caps[layer + 1]  # channel-graph nodes, not columns
        assert np.isfinite(ev["weight"].to_numpy(float)).all()


def test_compare_runs_an_experiment_over_conv_members():
    from growlab.run.slots import TrainingSlots
    from growlab.ui.compare import CompareSettings, CompareView

    settings = CompareSettings(dataset="digits", arch=ARCH, methods=["dense", "prune"], thresholds=[0.8], seeds=2,
                               epochs=2)  # fmt: skip
    view = CompareView(slots=TrainingSlots(2), live=False, settings=settings)
    try:
        assert view.run() and view.job.wait(300)
        view.poll()
        assert view.job.state == "done"
        assert list(view.tables["mean"].object.index) == ["dense", "prune"]
    finally:
        view.close()


# ---------------------------------------------------------------------------- the browser
CONV_URL = f"dataset=digits&arch={ARCH}&method=strategic%2Bprune&epochs=3000&sparsity=0.9"  # the method's own density cap: it grows and prunes at once
SHOTS = ARTIFACTS / "ui"
# page coordinates of a data point of the figure that draws the source named `name`
TO_PAGE = """([name, x, y]) => {
  let pv = null; const seen = new Set();
  const visit = (v) => { if (!v || seen.has(v)) return; seen.add(v);
    if (pv === null && v.frame && (v.model.renderers ?? []).some((r) => r.data_source && r.data_source.name == name)) pv = v;
    for (const c of (v.child_views ?? [])) visit(c); };
  for (const v of Bokeh.index) visit(v);
  const r = pv.canvas_view.el.getBoundingClientRect();
  return [r.left + pv.frame.x_scale.compute(x), r.top + pv.frame.y_scale.compute(y)];
}"""


def _data(page, name: str, column: str):
    return page.evaluate(
        """([name, col]) => { const m = Bokeh.documents[0].get_model_by_name(name);
             return m === null ? null : Array.from(m.data[col] ?? [], (v) => v.length === undefined ? v : v.length); }""",
        [name, column],
    )


def _epoch(page) -> int:
    import re

    return int(re.search(r"epoch\s*(\d+)\s*/", page.locator(".gl-strip").first.text_content()).group(1))


def _wait_epoch(page, at_least: int) -> None:
    deadline = time.monotonic() + 90
    while _epoch(page) < at_least:
        assert time.monotonic() < deadline, f"stuck at epoch {_epoch(page)}"
        page.wait_for_timeout(200)


def _shot(page, name: str, full: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full)


@pytest.mark.browser
def test_a_conv_net_grows_and_shrinks_in_the_browser_with_kernel_hover_click_and_maps(open_page):
    page = open_page(CONV_URL, width=1440, height=900)
    page.wait_for_function("() => Bokeh.documents[0].get_model_by_name('diagram-conv-input').data.image.length == 1")
    assert _data(page, "conv-maps", "image") == [36] * 6  # conv 1: six 6×6 maps of the example
    page.get_by_text("Feature maps").first.wait_for()
    before = _data(page, "diagram-edges", "w")
    page.get_by_role("button", name="Play", exact=True).click()
    _wait_epoch(page, 6)
    rows = "name => Bokeh.documents[0].get_model_by_name(name).data.x0.length > 0"
    page.wait_for_function(rows, arg="diagram-ghosts")  # pruned kernels: red ghosts
    page.wait_for_function(rows, arg="diagram-fresh")  # grown kernels: green
    assert _data(page, "diagram-edges", "w") != before
    page.get_by_role("button", name="Pause", exact=True).click()
    page.locator(".gl-badge", has_text="Paused").wait_for()
    page.wait_for_timeout(800)
    _shot(page, "conv_app_1440")
    # hover a kernel image → conv 1: its 3×3 taps as a heat map
    layer = _data(page, "diagram-edges", "layer")
    width = _data(page, "diagram-edges", "width")
    ends = {c: _data(page, "diagram-edges", c) for c in ("x0", "y0", "x1", "y1")}
    i = max((j for j in range(len(layer)) if layer[j] == 0), key=lambda j: width[j])
    mid = ["diagram-edges", (ends["x0"][i] + ends["x1"][i]) / 2, (ends["y0"][i] + ends["y1"][i]) / 2]
    page.mouse.move(*page.evaluate(TO_PAGE, mid))
    grid = page.locator(".growlab-kernel-taps").first
    grid.wait_for()
    assert grid.locator("div").count() == 9
    page.get_by_text("taps live").first.wait_for()
    _shot(page, "conv_kernel_hover")
    # click it → the inspector shows its taps now and over time
    page.mouse.click(*page.evaluate(TO_PAGE, mid))
    page.wait_for_function("() => Bokeh.documents[0].get_model_by_name('inspector-kernel')?.data.image.length == 1")
    page.wait_for_function("() => Bokeh.documents[0].get_model_by_name('inspector-taps')?.data.image.length == 1")
    title = page.get_by_text("grey = pruned").first  # the inspector names the kernel
    title.wait_for()
    title.scroll_into_view_if_needed()
    page.wait_for_timeout(600)
    _shot(page, "conv_inspector")
    # another example: the input image and the maps follow
    pixels = "() => Array.from(Bokeh.documents[0].get_model_by_name('diagram-conv-input').data.image[0]).join(',')"
    old = page.evaluate(pixels)
    box = page.locator(".gl-conv-example input").first
    box.fill("5")
    box.press("Enter")
    page.get_by_text("example #5").first.wait_for()
    page.wait_for_function(f"() => ({pixels})() != {old!r}")  # the input image is the new example
    page.get_by_text("Feature maps").first.scroll_into_view_if_needed()
    page.wait_for_timeout(600)
    _shot(page, "conv_feature_maps")


@pytest.mark.browser
def test_the_conv_app_reads_at_1280_by_720(open_page):
    page = open_page(CONV_URL, width=1280, height=720)
    page.wait_for_function("() => Bokeh.documents[0].get_model_by_name('diagram-conv-input').data.image.length == 1")
    page.get_by_role("button", name="Step", exact=True).click()
    _wait_epoch(page, 1)
    page.wait_for_timeout(800)
    _shot(page, "conv_app_1280")


@pytest.mark.browser
def test_a_conv_architecture_on_a_table_is_refused_in_the_browser(open_page):
    page = open_page("dataset=xor&arch=6-4&epochs=3000")
    arch = page.locator(".gl-arch input").first
    arch.fill("lenet-5")
    arch.press("Enter")
    page.locator(".notyf__message", has_text="tabular").first.wait_for(timeout=30_000)
    page.locator(".gl-strip", has_text="2-6-4-1").wait_for()  # the run is unchanged
    page.wait_for_timeout(1500)
    assert arch.input_value() == "6-4"
    assert page.locator(".notyf__message", has_text="tabular").count() == 1  # said once
    _shot(page, "conv_refused")


@pytest.mark.browser
def test_choosing_lenet_5_on_mnist5k_builds_trains_and_draws_it(open_page):
    """LeNet-5 itself, typed as the preset's name: one epoch, its channel columns and the 28×28 input."""
    page = open_page("dataset=mnist5k&arch=16-8&method=nest&epochs=5", width=1440, height=900)
    arch = page.locator(".gl-arch input").first
    arch.fill("lenet-5")
    arch.press("Enter")
    page.locator(".gl-strip", has_text="1-6-16-120-84-10").wait_for(timeout=120_000)
    page.get_by_role("button", name="Step", exact=True).click()
    deadline = time.monotonic() + 180
    while _epoch(page) < 1:
        assert time.monotonic() < deadline, "LeNet-5 did not train an epoch"
        page.wait_for_timeout(300)
    page.wait_for_function("() => Bokeh.documents[0].get_model_by_name('diagram-conv-input').data.image.length == 1")
    image = page.evaluate(
        "() => { const d = Bokeh.documents[0].get_model_by_name('diagram-conv-input').data.image[0];"
        " return [d.length ?? d.shape?.[0], (d[0] ?? []).length ?? d.shape?.[1]]; }"
    )
    assert 784 in image or image == [28, 28], image  # the example, not 784 dots
    maps = _data(page, "conv-maps", "image")
    assert maps == [144] * 6, maps  # the strip: conv 1's six 12×12 maps of that example
