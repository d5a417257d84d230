"""``DecisionBoundary``: the model's prediction over the plane for 2-D datasets (as in Playground).

The snapshot's ``boundary`` is a probability grid ``{"x": (G,), "y": (G,), "p": (G, G)}``
(``(G, G, C)`` for several classes) in standardized coordinates; ``extra["points"]`` holds the
data points. Binary grids are shaded orange (class 0) → white → blue (class 1), the colours
of negative and positive weights in the diagram; several classes are shaded by the most
likely class, paler where the model is unsure. Training points are circles, validation
points triangles. Other datasets get a short note instead.

Example:
    >>> from growlab import Run
    >>> from growlab.run.snapshot import snapshot_of
    >>> view = DecisionBoundary()
    >>> view.update(snapshot_of(Run("moons", "4-2", epochs=1)))
    >>> view.sources["grid"].data["image"][0].shape
    (60, 60)
"""

from __future__ import annotations

import numpy as np
import panel as pn
import param
from bokeh.models import ColorBar, ColumnDataSource, LinearColorMapper, Range1d
from bokeh.plotting import figure

from growlab.view import palette

NOTE_2D = "The decision boundary is drawn for datasets with two inputs (xor, circles, moons, spiral, gaussians)."
_WHITE = np.array([250, 250, 250], float)


def _hex_rgb(color: str) -> np.ndarray:
    return np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)], float)


def rgba(p: np.ndarray) -> np.ndarray:
    """The grid as packed RGBA ``uint32`` ``(G, G)``: a diverging shade for binary, the likeliest
    class (paler where unsure) for several classes."""
    if p.ndim == 2:
        t = np.clip(2 * p - 1, -1, 1)[..., None]  # -1: class 0 sure, 1: class 1 sure
        lo, hi = _hex_rgb(palette.NEGATIVE), _hex_rgb(palette.POSITIVE)
        rgb = np.where(t < 0, _WHITE + (lo - _WHITE) * -t, _WHITE + (hi - _WHITE) * t)
    else:
        n = p.shape[-1]
        colors = np.array([_hex_rgb(palette.CATEGORICAL[c % len(palette.CATEGORICAL)]) for c in range(n)])
        best = p.argmax(axis=-1)
        sure = np.clip((p.max(axis=-1) - 1 / n) / (1 - 1 / n), 0, 1)[..., None]
        rgb = _WHITE + (colors[best] - _WHITE) * sure
    rgb = (0.85 * rgb + 0.15 * _WHITE).round().astype(np.uint32)  # soften so the points stand out
    return (255 << 24) | (rgb[..., 2] << 16) | (rgb[..., 1] << 8) | rgb[..., 0]


def point_colors(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Orange/blue for binary labels; Okabe–Ito colours for several classes."""
    if n_classes <= 2:
        return np.where(labels > 0, palette.POSITIVE, palette.NEGATIVE).astype(object)
    return np.array([palette.CATEGORICAL[int(c) % len(palette.CATEGORICAL)] for c in labels], dtype=object)


class DecisionBoundary(pn.viewable.Viewer):
    """Predicted class over the input plane with the data on top; call :meth:`update` per snapshot."""

    height = param.Integer(default=420, bounds=(150, 2000), doc="Figure height in pixels.")

    def __init__(self, **params):
        super().__init__(**params)
        self.sources = {
            "grid": ColumnDataSource({"image": [], "x": [], "y": [], "dw": [], "dh": []}, name="boundary-grid"),
            "train": ColumnDataSource({"x": [], "y": [], "color": []}, name="boundary-train"),
            "val": ColumnDataSource({"x": [], "y": [], "color": []}, name="boundary-val"),
        }
        #: Built with the first snapshot of a 2-D dataset: other datasets only ever show the note.
        self.figure = None
        self.note = pn.pane.HTML(f'<div style="font-size:14px;color:#666">{NOTE_2D}</div>', visible=True)
        self._points_key = None
        self._view = pn.Column(self.note, sizing_mode="stretch_width")

    def __panel__(self):
        return self._view

    def _make_figure(self):
        fig = figure(height=self.height, sizing_mode="stretch_width", x_range=Range1d(-2, 2), y_range=Range1d(-2, 2),
                     tools="pan,wheel_zoom,reset,save", active_scroll=None, toolbar_location=None, x_axis_label="x1", y_axis_label="x2")  # fmt: skip
        fig.title.text_font_size = "12pt"
        fig.title.text_font_style = "normal"
        fig.grid.visible = False
        src = self.sources
        fig.image_rgba(image="image", x="x", y="y", dw="dw", dh="dh", source=src["grid"])
        fig.scatter("x", "y", source=src["train"], fill_color="color", line_color="white", size=7, legend_label="training")
        fig.scatter("x", "y", source=src["val"], fill_color="color", line_color=palette.INK, marker="triangle",
                    size=9, legend_label="validation")  # fmt: skip
        fig.legend.location = "top_left"
        fig.legend.background_fill_alpha = 0.75
        fig.legend.label_text_font_size = "11pt"
        self.colorbar = ColorBar(color_mapper=LinearColorMapper(palette=palette.diverging(), low=0, high=1),
                                 title="P(class 1)", width=12, major_label_text_font_size="10pt")  # fmt: skip
        fig.add_layout(self.colorbar, "right")
        return fig

    def update(self, snapshot) -> None:
        """Draw the snapshot's grid (patched in place) and, when they change, its data points."""
        grid = snapshot.boundary
        self.note.visible = grid is None
        if grid is None:
            if self.figure is not None:
                self.figure.visible = False
            return
        if self.figure is None:
            self.figure = self._make_figure()
            self._view.append(pn.pane.Bokeh(self.figure, sizing_mode="stretch_width"))
        self.figure.visible = True
        x, y, p = (np.asarray(grid[k]) for k in ("x", "y", "p"))
        img = rgba(p)
        dx, dy = (x[1] - x[0]) / 2, (y[1] - y[0]) / 2  # grid values are cell centres
        box = {"x": [x[0] - dx], "y": [y[0] - dy], "dw": [x[-1] - x[0] + 2 * dx], "dh": [y[-1] - y[0] + 2 * dy]}
        src = self.sources["grid"]
        if len(src.data["image"]) and src.data["image"][0].shape == img.shape and src.data["x"] == box["x"]:
            src.patch({"image": [(0, img)]})
        else:
            src.data = {"image": [img], **box}
            self.figure.x_range.update(start=box["x"][0], end=box["x"][0] + box["dw"][0])
            self.figure.y_range.update(start=box["y"][0], end=box["y"][0] + box["dh"][0])
        self.colorbar.visible = p.ndim == 2
        self._points(snapshot, p.shape[-1] if p.ndim == 3 else 2)
        row, names = snapshot.last_row or {}, snapshot.feature_names
        acc = f" · validation accuracy {row['val_acc']:.1%}" if "val_acc" in row else ""
        self.figure.title.text = f"{snapshot.dataset} · epoch {snapshot.epoch}{acc}"
        if len(names) == 2:
            self.figure.xaxis.axis_label, self.figure.yaxis.axis_label = names

    def _points(self, snap, n_classes: int) -> None:
        """Data points: drawn once per run (they do not change while it trains)."""
        pts = (snap.extra or {}).get("points")
        key = (getattr(snap, "run_id", None), snap.dataset, None if pts is None else len(pts["x"]))
        if key == self._points_key:
            return
        self._points_key = key
        for name, split in (("train", 0), ("val", 1)):
            if pts is None:
                self.sources[name].data = {"x": [], "y": [], "color": []}
                continue
            m = np.asarray(pts["split"]) == split
            labels = np.asarray(pts["label"])[m]
            self.sources[name].data = {"x": np.asarray(pts["x"])[m], "y": np.asarray(pts["y"])[m],
                                       "color": point_colors(labels, n_classes)}  # fmt: skip
