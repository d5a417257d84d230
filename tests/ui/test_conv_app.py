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
    assert len(d.block_source.data["y"]) == 16  # conv 2's channels: blocks of flattened columns
    lookup = d.conv_source.data
    assert lookup["n_conv"][0] == 2 and len(lookup["taps"][1]) == 16 * 6 * 9 and len(lookup["taps"][2]) == 0
    assert "kernels" in d.note.text and d.is_conv and d.conv_note.visible
    # the strip: every channel of conv 1, then of conv 2 when a conv-2 channel is selected
    assert len(d.maps.source.data["image"]) == 6 and d.maps._view.visible
    d.selected = {"kind": "neuron", "layer": 2, "unit": 4}
    assert d.maps.layer == 2 and len(d.maps.source.data["image"]) == 16 and len(d.maps.mark.data["x"]) == 1
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
        assert runner.snapshot.extra["analysis"]["available"]  # false starts & redundancy
        stored = torch.load(io.BytesIO(runner.model_bytes()), weights_only=True)  # the compacted model
        assert "Conv2d" in repr(stored) and "MaxPool2d" in repr(stored)
        assert len(runner.history()) == 1 and len(runner.events()) > 0
    finally:
        lab.close()
