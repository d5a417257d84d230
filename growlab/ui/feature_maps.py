"""``FeatureMaps``: every channel's map of one conv layer on the chosen validation example.

Reads ``snapshot.extra["conv"]`` (plain arrays, :mod:`growlab.run.conv_snapshot`): the maps
after pooling and activation of each conv layer on one validation example, redrawn with every
snapshot, so a student watches the maps sharpen, die (a pruned channel goes flat and faint)
and appear (a grown channel) as training goes. One shared colour scale per layer (white = 0)
keeps the maps comparable; a dormant channel is drawn faint. The example is chosen with the
number box (``on_example`` is called with the row, e.g. ``runner.show_example``).

Bokeh source names for tests: ``conv-maps`` (one row per channel), ``conv-map-labels`` (with
the ``prefix`` given: the projector layout's strip beside the diagram is ``side-conv-maps``…).
"""

from __future__ import annotations

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource, LinearColorMapper, Range1d
from bokeh.palettes import Greys256
from bokeh.plotting import figure

from growlab.view import palette
from growlab.ui.text import html
from growlab.ui.theme import button_args

#: Most maps per row of the strip.
PER_ROW = 10
ROW_PX = 90
#: CSS that lets a column holding the fixed-width maps be narrower than them (they scroll).
NARROWS = {"min-width": "0px"}
#: Height of a row of maps in map units: the map, then room for its label.
ROW_SPAN = 1.3


def map_grid(features: np.ndarray, alive: np.ndarray, per_row: int = PER_ROW) -> dict:
    """Image rows of a ``(C, H, W)`` stack laid out in a grid (row 0 on top, channel order)."""
    C = len(features)
    cols = max(1, min(C, per_row))
    rows = max(1, -(-C // cols))
    c = np.arange(C)
    r, q = np.divmod(c, cols)
    pad = 0.08
    return {
        "image": [np.asarray(f, np.float32)[::-1] for f in features],
        "x": (q + pad).astype(float), "y": ((rows - 1 - r) * ROW_SPAN + pad).astype(float),
        "dw": np.full(C, 1 - 2 * pad), "dh": np.full(C, 1 - 2 * pad),
        "channel": c, "alpha": np.where(np.asarray(alive, bool), 1.0, 0.25),
    }  # fmt: skip


class FeatureMaps(pn.viewable.Viewer):
    """The feature-map strip under a conv network's diagram."""

    layer = param.Integer(default=1, bounds=(1, None), doc="Conv layer shown (1 = the first).")

    def __init__(self, on_example=None, map_px: int = ROW_PX, per_row: int = PER_ROW, compact: bool = False,
                 prefix: str = "", **params):
        """``map_px``: a map's side in pixels; ``per_row``: most maps per row; ``compact``: the header
        above the layer buttons (a narrow column, e.g. the projector layout's); ``prefix``: before
        the sources' names (a second strip on the page, e.g. ``side-``)."""
        super().__init__(**params)
        self.on_example = on_example
        self.map_px, self.per_row, self.compact = map_px, per_row, compact
        #: Whether the strip shows at all (a conv network's page may show its maps elsewhere).
        self.enabled = True
        self.snapshot = None
        self.source = ColumnDataSource({c: [] for c in ("image", "x", "y", "dw", "dh", "channel", "alpha")},
                                       name=prefix + "conv-maps")  # fmt: skip
        self.labels = ColumnDataSource({"x": [], "y": [], "text": []}, name=prefix + "conv-map-labels")
        self.mark = ColumnDataSource({"x": [], "y": []}, name=prefix + "conv-map-selected")
        self.frames = ColumnDataSource({"x": [], "y": [], "w": []}, name=prefix + "conv-map-frames")
        self.mapper = LinearColorMapper(palette=list(Greys256[::-1]), low=0, high=1)
        self.figure = None  # built with the first conv snapshot (:meth:`_draw`): an MLP never needs it
        self.header = pn.pane.HTML("", sizing_mode="stretch_width", margin=(2, 10) if not compact else (0, 6))
        self.layers = pn.widgets.RadioButtonGroup(options=["conv 1"], value="conv 1", margin=(2, 10),
                                                  **button_args(color="light"))  # fmt: skip
        self.example = pn.widgets.IntInput(value=0, start=0, end=0, width=150, visible=on_example is not None,
                                           css_classes=["gl-conv-example"],
                                           **button_args(label="validation example"))  # fmt: skip
        self.layers.param.watch(self._on_layer, "value")
        self.example.param.watch(self._on_example, "value")
        controls = (pn.Column(self.header, self.layers, sizing_mode="stretch_width", margin=0) if compact
                    else pn.Row(self.header, self.layers, self.example, sizing_mode="stretch_width"))  # fmt: skip
        # scrolls when wider than the diagram's column (and never widens the column)
        self._plot = pn.Column(scroll="x-auto", sizing_mode="stretch_width", styles=NARROWS)
        self._view = pn.Column(
            controls,
            self._plot,
            sizing_mode="stretch_width", visible=False, styles=NARROWS,
        )  # fmt: skip

    def __panel__(self):
        return self._view

    def _figure(self):
        fig = figure(height=int(self.map_px * ROW_SPAN), width=self.map_px * self.per_row, tools="hover", toolbar_location=None,
                     x_range=Range1d(0, self.per_row), y_range=Range1d(0, ROW_SPAN), match_aspect=False,
                     tooltips=[("channel", "#@channel"), ("activation", "@image{0.00}")])  # fmt: skip
        fig.axis.visible = False
        fig.grid.visible = False
        fig.outline_line_color = None
        fig.min_border = 2
        fig.image(image="image", x="x", y="y", dw="dw", dh="dh", source=self.source, color_mapper=self.mapper,
                  global_alpha="alpha")  # fmt: skip
        fig.rect("x", "y", "w", "w", source=self.frames, fill_color=None, line_color="#b8c0c4", line_width=1)
        fig.rect("x", "y", 0.96, 0.96, source=self.mark, fill_color=None, line_color=palette.SELECTION, line_width=3)
        fig.text("x", "y", "text", source=self.labels, text_font_size="9pt" if self.compact else "10pt", text_color=palette.MUTED,
                 text_baseline="bottom", text_align="center")  # fmt: skip
        return fig

    # ------------------------------------------------------------------ inputs
    def update(self, snapshot) -> None:
        """Draw the maps of ``snapshot`` (hidden for a network without conv layers)."""
        conv = None if snapshot is None else snapshot.extra.get("conv")
        self._view.visible = conv is not None and self.enabled
        self.snapshot = snapshot if conv is not None else None
        if conv is None:
            return
        n = conv["n_conv"]
        options = [f"conv {k}" for k in range(1, n + 1)]
        if list(self.layers.options) != options:
            self.layers.options = options
        if self.layer > n:
            self.layer = 1
        if self.layers.value != f"conv {self.layer}":
            self.layers.value = f"conv {self.layer}"
        self.example.end = max(conv["n_examples"] - 1, 0)
        if self.example.value != conv["example"]:
            self._syncing = True
            try:
                self.example.value = conv["example"]
            finally:
                self._syncing = False
        self._draw(snapshot, conv)

    def select(self, sel: dict | None) -> None:
        """Follow the diagram's selection: a channel (or a kernel's output channel) of a conv layer."""
        self._selected = None
        if sel and self.snapshot is not None:
            n = self.snapshot.extra["conv"]["n_conv"]
            if sel.get("kind") == "neuron" and 1 <= sel["layer"] <= n:
                self._selected = (sel["layer"], sel["unit"])
            elif sel.get("kind") == "edge" and sel["layer"] < n:
                self._selected = (sel["layer"] + 1, sel["target"])
            if self._selected is not None:
                self.layer = self._selected[0]
        if self.snapshot is not None:
            self.update(self.snapshot)

    _selected = None
    _syncing = False

    def _on_layer(self, event) -> None:
        try:
            self.layer = int(str(event.new).split()[-1])
        except ValueError:
            return
        if self.snapshot is not None:
            self._draw(self.snapshot, self.snapshot.extra["conv"])

    def _on_example(self, event) -> None:
        if self._syncing or self.on_example is None or event.new is None:
            return
        try:
            self.on_example(int(event.new))
        except ValueError as e:
            self.header.object = f'<span style="color:{palette.PRUNED}">{html(str(e))}</span>'

    # ------------------------------------------------------------------ drawing
    def _draw(self, snap, conv: dict) -> None:
        if self.figure is None:
            self.figure = self._figure()
            self._plot.objects = [pn.pane.Bokeh(self.figure)]
        k = min(self.layer, conv["n_conv"])
        feats = np.asarray(conv["features"][k - 1])
        alive = np.asarray(snap.alive[k], bool)
        data = map_grid(feats, alive, self.per_row)
        C = len(feats)
        cols = max(1, min(C, self.per_row))
        rows = max(1, -(-C // cols))
        self.figure.x_range.update(start=0, end=cols)
        self.figure.y_range.update(start=0, end=rows * ROW_SPAN)
        self.figure.width = self.map_px * cols + 4  # square maps: a fixed size per map
        self.figure.height = int(self.map_px * rows * ROW_SPAN) + 4
        top = float(feats.max()) if feats.size else 1.0
        self.mapper.high = top if top > 0 else 1.0
        self.mapper.low = min(0.0, float(feats.min()) if feats.size else 0.0)
        self.source.data = data
        self.labels.data = {"x": data["x"] + data["dw"] / 2, "y": data["y"] + data["dh"],
                            "text": [f"#{c}" + ("" if a else " off" if self.compact else " (off)") for c, a in zip(range(C), alive)]}  # fmt: skip
        self.frames.data = {"x": data["x"] + data["dw"] / 2, "y": data["y"] + data["dh"] / 2, "w": data["dw"]}
        sel = self._selected
        if sel is not None and sel[0] == k and 0 <= sel[1] < C:
            i = sel[1]
            self.mark.data = {"x": [data["x"][i] + data["dw"][i] / 2], "y": [data["y"][i] + data["dh"][i] / 2]}
        else:
            self.mark.data = {"x": [], "y": []}
        label = conv["label"]
        names = snap.class_names
        says = ""
        if label is not None:
            name = names[label] if label < len(names) else str(label)
            pred = conv["predicted"]
            pname = names[pred] if pred is not None and pred < len(names) else str(pred)
            says = f" · label <b>{html(name)}</b>, predicted <b>{html(pname)}</b>"
        h, w = feats.shape[1:] if feats.ndim == 3 else (0, 0)
        self.header.object = (
            f'<div style="font-size:14px"><b>Feature maps</b> of conv {k} ({C} channels, {h}×{w}) on validation '
            f"example #{conv['example']}{says}</div>"
        )
