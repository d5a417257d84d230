"""The decision boundary without a browser: grid image, data points, in-place updates."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from bokeh.document import Document
from bokeh.document.events import ColumnsPatchedEvent

import diagram_cases as dc
from growlab.run.snapshot import BOUNDARY_GRID, snapshot_of
from growlab.view import palette
from growlab.ui.boundary import DecisionBoundary, point_colors, rgba


@pytest.fixture(scope="module")
def moons():
    return dc.moons(epochs=10)


def unpack(c: int) -> tuple[int, int, int]:
    return c & 255, (c >> 8) & 255, (c >> 16) & 255


def test_snapshots_of_2d_datasets_carry_their_points(moons):
    run, snap = moons
    pts = snap.extra["points"]
    assert len(pts["x"]) == run.data.n_train + run.data.n_val
    assert np.array_equal(pts["split"], np.r_[np.zeros(run.data.n_train), np.ones(run.data.n_val)])
    assert np.allclose(pts["x"][: run.data.n_train], run.data.X_train[:, 0].numpy())
    assert "points" not in snapshot_of(dc.growlab.Run("heart", "4", epochs=1)).extra


def test_draws_the_probability_grid_and_the_points(moons):
    run, snap = moons
    view = DecisionBoundary()
    view.update(snap)
    img = view.sources["grid"].data["image"][0]
    assert img.shape == (BOUNDARY_GRID, BOUNDARY_GRID) and img.dtype == np.uint32
    p = snap.boundary["p"]
    i, j = np.unravel_index(p.argmax(), p.shape)
    k, m = np.unravel_index(p.argmin(), p.shape)
    assert unpack(img[i, j])[2] > unpack(img[i, j])[0]  # sure of class 1: blue
    assert unpack(img[k, m])[0] > unpack(img[k, m])[2]  # sure of class 0: orange
    train, val = view.sources["train"].data, view.sources["val"].data
    assert (len(train["x"]), len(val["x"])) == (run.data.n_train, run.data.n_val)
    labels = run.data.y_train.numpy()
    assert list(train["color"]) == [palette.POSITIVE if y else palette.NEGATIVE for y in labels]
    assert view.figure.visible and not view.note.visible
    assert "validation accuracy" in view.figure.title.text


def test_later_snapshots_patch_the_grid_in_place(moons):
    run, snap = moons
    view = DecisionBoundary()
    doc = Document()
    view.update(snap)
    doc.add_root(view.figure)
    events = []
    doc.on_change(events.append)
    flipped = dataclasses.replace(snap, boundary={**snap.boundary, "p": 1 - snap.boundary["p"]}, epoch=snap.epoch + 1)
    view.update(flipped)
    grid_events = [e for e in events if getattr(e, "model", None) is view.sources["grid"]]
    assert grid_events and all(isinstance(e, ColumnsPatchedEvent) for e in grid_events)
    assert not [e for e in events if getattr(e, "model", None) is view.sources["train"]]  # points drawn once


def test_other_datasets_show_a_note_instead(moons):
    view = DecisionBoundary()
    view.update(snapshot_of(dc.growlab.Run("heart", "4", epochs=1)))
    assert view.figure is None and view.note.visible and "two inputs" in view.note.object  # never built


def test_several_classes_are_shaded_by_the_likeliest():
    p = np.zeros((4, 4, 3))
    p[..., 0], p[:2, :, 0], p[:2, :, 2] = 1.0, 0.2, 0.8  # top rows: class 2 sure; bottom: class 0 sure
    img = rgba(p)
    assert unpack(img[3, 0]) == unpack(rgba(np.zeros((1, 1)))[0, 0])  # class 0 = orange, like P(1) = 0
    assert unpack(img[0, 0]) != unpack(img[3, 0])
    assert list(point_colors(np.array([0, 1, 2]), 3)) == list(palette.CATEGORICAL[:3])
