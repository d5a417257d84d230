"""The timeline and the recording of a conv run: LeNet-5 on mnist5k (small)."""

import numpy as np
import pytest
from PIL import Image, ImageSequence

from growlab import Run
from growlab.record import diagram_pixels, graph_of
from growlab.run.snapshot import snapshot_of
from growlab.run.timeline import snapshot_at
from tests.run.test_timeline import _network

KW = dict(dataset="mnist5k", arch="lenet-5", method="gradient+prune", epochs=4, seed=0, interval=1, batch_size=500)


@pytest.fixture(scope="module")
def runs():
    """LeNet-5 trained to the end, and the same setup stepped epoch by epoch (its snapshots kept)."""
    full = Run(**KW)
    full.timeline.every = 2
    full.run()
    stopped, then = Run(**KW), []
    for epoch in range(KW["epochs"] + 1):
        if epoch:
            stopped.step()
        then.append((snapshot_of(stopped), [[a.copy() for a in part] for part in _network(stopped)]))
    return full, then


def test_at_matches_a_lenet_5_stopped_at_that_epoch(runs):
    full, then = runs
    assert full.timeline.checkpoints == [0, 2, 4]
    changed = 0
    for epoch, (_, (masks, alive, weights, biases)) in enumerate(then):
        view = full.at(epoch)
        assert view.masks[0].shape == (6, 1, 5, 5) and view.masks[1].shape == (16, 6, 5, 5)
        assert all(np.array_equal(m, v) for m, v in zip(masks, view.masks)), f"structure differs at {epoch}"
        assert all(np.array_equal(a, v) for a, v in zip(alive, view.alive))
        if view.exact:
            assert all(np.array_equal(w, v) for w, v in zip(weights, view.weights))
        if epoch and not view.same_structure(full.at(epoch - 1)):
            changed += 1
    assert changed >= 2


def test_a_past_conv_snapshot_is_the_channel_graph_the_run_had(runs):
    full, then = runs
    live = snapshot_of(full)
    for epoch in (0, 2, 3, 4):
        past, snap = snapshot_at(full, epoch, live), then[epoch][0]
        assert [m.shape for m in past.masks] == [m.shape for m in snap.masks] == [(6, 1), (16, 6), (120, 16), (84, 120),
                                                                                (10, 84)]  # fmt: skip
        assert all(np.array_equal(a, b) for a, b in zip(past.masks, snap.masks))
        assert all(np.array_equal(a, b) for a, b in zip(past.birth_epoch, snap.birth_epoch))
        conv, now = past.extra["conv"], snap.extra["conv"]
        assert all(np.array_equal(a, b) for a, b in zip(conv["tap_mask"], now["tap_mask"]))
        assert all(np.allclose(a, b) for a, b in zip(conv["live"], now["live"]))
        if past.extra["timeline"]["exact"]:  # the weights, and so the feature maps, of that very epoch
            assert all(np.array_equal(a, b) for a, b in zip(past.weights, snap.weights))
            assert all(np.allclose(a, b, atol=1e-5) for a, b in zip(conv["features"], now["features"]))
            assert conv["predicted"] == now["predicted"]
    assert not np.array_equal(snapshot_at(full, 0, live).extra["conv"]["features"][0], live.extra["conv"]["features"][0])


def test_scrubbing_a_conv_run_draws_it_in_the_conv_diagram(runs):
    from growlab.ui.views import make_diagram

    full, _ = runs
    diagram, live = make_diagram(), snapshot_of(full)
    diagram.update(live)
    diagram.update(snapshot_at(full, 1, live))
    assert diagram.snapshot.epoch == 1 and len(diagram.sources["edges"].data["w"]) > 0


def test_a_lenet_5_records_and_its_frames_change_with_the_structure(runs, tmp_path):
    full, _ = runs
    path = full.record(tmp_path / "lenet5.gif", progress=False)
    with Image.open(path) as im:
        frames = [np.asarray(f.convert("RGB")).copy() for f in ImageSequence.Iterator(im)]
    assert len(frames) == KW["epochs"] + 1
    graphs = [graph_of(full.at(e))[0] for e in range(len(frames))]
    taps = 0
    for e in range(1, len(frames)):
        # the diagram is the channel graph: it changes exactly where a kernel (or a channel's
        # flattened map) appears or goes; pruning taps within one shows in the weight count
        graph = any(not np.array_equal(a, b) for a, b in zip(graphs[e], graphs[e - 1]))
        assert graph == (not np.array_equal(diagram_pixels(frames[e]), diagram_pixels(frames[e - 1])))
        taps += not full.at(e).same_structure(full.at(e - 1))
        assert not np.array_equal(frames[e], frames[e - 1])
    assert taps >= 2
