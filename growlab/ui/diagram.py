"""``NetworkDiagram``: the live picture of the network that grows and shrinks (DESIGN §7).

Neurons sit in columns per layer; every drawn connection is a line whose width is ∝ |w| and
whose colour gives its sign (Playground blue/orange). Overlays: recently grown edges are
green and recently pruned ones linger as red dotted ghosts, both fading over
``FADE_EPOCHS``; redundant edges are dashed grey; focal junctures are outlined gold;
ε-useless units are hollow; dormant capacity is faint. Large networks show the latest
cycle's changes plus the strongest of the rest up to ``edge_budget`` and say so under the
title; image inputs are a map of outgoing-connection counts. Hover names the connection or
neuron; a click sets :attr:`selected`, which the diagram outlines in black.

The view reads only numpy arrays of a :class:`~growlab.run.snapshot.Snapshot`. ``update``
replaces a ColumnDataSource's ``.data`` once when its rows change and ``.patch``-es it when
only weights (widths, colours, fading) change; the layout is never rebuilt.

Example:
    >>> from growlab import Run
    >>> from growlab.run.snapshot import snapshot_of
    >>> diagram = NetworkDiagram()
    >>> diagram.update(snapshot_of(Run("heart", "16-8", epochs=1)))
    >>> len(diagram.sources["edges"].data["w"])
    568
"""

from __future__ import annotations

import numpy as np
import panel as pn
import param
from bokeh.core.property.descriptors import UnsetValueError

from growlab.ui.diagram_figure import axes, empty_sources, make_figure
from growlab.view.diagram_layout import Y_RANGE, Layout, layout_key, layout_of
from growlab.ui.diagram_legend import legend_html
from growlab.ui.diagram_tables import tables
from growlab.ui.text import phase_text

_EDGE_DYNAMIC = ("w", "width", "alpha", "positive", "birth", "ev", "ev_epoch", "cause", "focal")
#: Columns that may change without the rows changing (patched instead of replaced).
_DYNAMIC = {
    "edges": _EDGE_DYNAMIC,
    "redundant": _EDGE_DYNAMIC,
    "ghosts": ("width", "alpha", "ev_epoch", "cause"),
    "halos": ("width", "outer", "alpha"),
    "fresh": ("width", "alpha"),
    "neurons": ("kind", "fill_alpha", "line_alpha", "line_width", "bias", "fan_in", "fan_out"),
}
#: Sources a tap selects from.
_TAPPABLE = ("edges", "redundant", "ghosts", "neurons")


class NetworkDiagram(pn.viewable.Viewer):
    """The network diagram with its legend; call :meth:`update` with each new snapshot."""

    selected = param.Dict(
        default=None, allow_None=True,
        doc='The clicked edge {"kind": "edge", "layer", "source", "target"} or neuron '
        '{"kind": "neuron", "layer", "unit"} (neuron layer 0 = inputs); None when nothing is.',
    )  # fmt: skip
    edge_budget = param.Integer(
        default=3000, bounds=(50, 50_000),
        doc="Most connections drawn; beyond it the latest changes and the strongest are shown.",
    )  # fmt: skip
    height = param.Integer(default=600, bounds=(200, 3000), doc="Figure height in pixels.")
    width_hint = param.Integer(
        default=900, bounds=(300, 4000), doc="Typical figure width in pixels; keeps the image map square."
    )
    sizing_mode = param.String(default="stretch_width", doc="Bokeh/Panel sizing mode of the figure.")

    def __init__(self, **params):
        super().__init__(**params)
        self.sources = empty_sources()
        self.figure, self.renderers, self._lookups = make_figure(self.sources, self.height, self.sizing_mode)
        self.note = self.figure.above[0]  # the second title line: which connections are shown
        self.layout: Layout | None = None
        self.snapshot = None
        self._keys: dict[str, np.ndarray] = {}
        self._run_id = object()
        self._syncing = False
        self._frame = (max(self.width_hint - 220, 200), max(self.height - 100, 120))  # until the browser says
        self.figure.on_change("inner_width", self._on_resize)
        self.figure.on_change("inner_height", self._on_resize)
        for name in _TAPPABLE:
            self.sources[name].selected.on_change("indices", self._on_tap)
        self.param.watch(self._draw_selection, "selected")
        self.param.watch(lambda e: self.snapshot is not None and self.update(self.snapshot), "edge_budget")
        self.legend = pn.pane.HTML(legend_html(), sizing_mode="stretch_width", margin=(0, 12))
        self._view = pn.Column(
            pn.pane.Bokeh(self.figure, sizing_mode=self.sizing_mode),
            self.legend,
            sizing_mode=self.sizing_mode, styles={"min-width": "0px"},  # as narrow as its column (conv maps scroll)
        )  # fmt: skip

    def __panel__(self):
        return self._view

    # ------------------------------------------------------------------ updates
    def update(self, snapshot) -> None:
        """Draw ``snapshot``: replace rows that changed, patch the rest in place."""
        run_id = getattr(snapshot, "run_id", None)
        if run_id != self._run_id:  # a new run: nothing of the old one may linger
            self._run_id, self._keys = run_id, {}
            self.selected = None
        if self.layout is None or self.layout.key != layout_key(snapshot):
            self.layout = self._layout_of(snapshot)
            self._keys = {}
            self._apply_layout(snapshot)
        t = self._tables(snapshot)
        self._lookups.set(causes=t.causes)
        self._syncing = True  # new rows invalidate tap indices; clearing them is not a click
        try:
            for name, data in t.data.items():
                self._put(name, data, t.keys[name])
            if t.map is not None and not _same(self.sources["map"].data, t.map, ("image",)):
                self.sources["map"].data = t.map
        finally:
            self._syncing = False
        self._set_text(snapshot, t.note)
        self.snapshot = snapshot
        self._draw_selection()

    def _layout_of(self, snapshot) -> Layout:
        """The layout for a new architecture (a subclass may name or place things its own way)."""
        return layout_of(snapshot, frame_height=self._frame[1], frame_width=self._frame[0])

    def _tables(self, snapshot):
        """What to draw for ``snapshot`` (a subclass may add to the tables)."""
        return tables(snapshot, self.layout, self.edge_budget)

    def _on_resize(self, attr, old, new) -> None:
        """The browser reports the real plot area: size neurons and the image map for it."""
        try:
            w, h = self.figure.inner_width, self.figure.inner_height
        except UnsetValueError:  # the browser reports width and height one after the other
            return
        if not w or not h or (abs(w - self._frame[0]) < 12 and abs(h - self._frame[1]) < 12):
            return
        self._frame = (w, h)
        if self.snapshot is not None:
            self.layout = None
            self.update(self.snapshot)

    def _put(self, name: str, data: dict, keys: np.ndarray) -> None:
        """One ``.data`` assignment when the rows change, else a patch of the changed columns."""
        src = self.sources[name]
        prev = self._keys.get(name)
        if prev is not None and np.array_equal(prev, keys):
            n = len(data["x0"] if "x0" in data else data["x"])
            patch = {c: [(slice(0, n), data[c])] for c in _DYNAMIC[name] if not _same(src.data, data, (c,))}
            if patch and n:
                src.patch(patch)
            return
        src.selected.indices = []
        src.data = data
        self._keys[name] = keys

    def _apply_layout(self, snap) -> None:
        """Ranges and label axes for a new architecture (once per architecture)."""
        lay, ax = self.layout, axes(self.figure)
        self.figure.x_range.update(start=lay.x_range[0], end=lay.x_range[1])
        if lay.map_box is None:
            # many inputs (heart has 27) get a font that fits the room each has, so every name shows
            ax["inputs"].major_label_text_font_size = f"{input_font_px(lay.ys[0], self._frame[1])}px"
            _label(ax["inputs"], lay.ys[0], lay.names[0])
        else:
            _label(ax["inputs"], [], [])
        _label(ax["outputs"], lay.ys[-1], lay.names[-1])
        self.sources["map"].data = {"image": [], "x": [], "y": [], "dw": [], "dh": []}
        self._lookups.set(
            names=[list(map(str, n)) for n in lay.names],
            lnames=[lay.connection_name(l) for l in range(lay.n_layers)],
            columns=list(lay.layer_names),
        )  # fmt: skip

    def _set_text(self, snap, note: str) -> None:
        """Title, the note of what is shown, and column names with alive counts."""
        phase = phase_text(snap)
        self.figure.title.text = f"{snap.dataset} · {snap.method} · epoch {snap.epoch}/{snap.epochs}" + (f" · {phase}" if phase else "")
        lay = self.layout
        self.note.text = note + (" · pixel shade = connections out" if lay.map_box is not None else "")
        labels = []  # two lines each: name, then alive count, so that wide layers never collide
        for k, name in enumerate(lay.layer_names):
            alive, cap = int(snap.alive[k].sum()), len(snap.alive[k])
            if k == 0 and lay.map_box is not None:
                labels.append(f"input\n{lay.image_shape[0]}×{lay.image_shape[1]} pixels")
            else:
                labels.append(f"{name}\n{alive}" + (f" of {cap}" if alive != cap else ""))
        xs = [lay.map_box[0] + lay.map_box[2] / 2 if k == 0 and lay.map_box else float(k) for k in range(len(labels))]
        columns = axes(self.figure)["columns"]
        columns.major_label_text_font_size = f"{column_font_px(self.figure.x_range, self._frame[0], labels)}px"
        _label(columns, xs, labels)

    # ------------------------------------------------------------------ selection
    def _on_tap(self, attr, old, new) -> None:
        if self._syncing:
            return
        self.selected = self._tapped()

    def _tapped(self) -> dict | None:
        """The neuron under a tap wins over edges; among edges, the widest."""
        nsrc = self.sources["neurons"]
        if nsrc.selected.indices:
            i = nsrc.selected.indices[0]
            return {"kind": "neuron", "layer": int(nsrc.data["layer"][i]), "unit": int(nsrc.data["unit"][i])}
        hits = [(self.sources[n].data["width"][i], n, i) for n in _TAPPABLE[:-1] for i in self.sources[n].selected.indices]
        if not hits:
            return None
        _, name, i = max(hits)
        d = self.sources[name].data
        return {"kind": "edge", "layer": int(d["layer"][i]), "source": int(d["source"][i]), "target": int(d["target"][i])}

    def _draw_selection(self, *_) -> None:
        """Outline the selected edge or neuron (wherever it is, drawn or not)."""
        sel, lay = self.selected, self.layout
        edge = {"x0": [], "y0": [], "x1": [], "y1": []}
        node = {"x": [], "y": [], "size": []}
        try:
            if sel and lay is not None and sel.get("kind") == "edge":
                l, s, t = sel["layer"], sel["source"], sel["target"]
                edge = {"x0": [lay.xs[l][s]], "y0": [lay.ys[l][s]], "x1": [lay.xs[l + 1][t]], "y1": [lay.ys[l + 1][t]]}
            elif sel and lay is not None and sel.get("kind") == "neuron":
                k, u = sel["layer"], sel["unit"]
                node = {"x": [lay.xs[k][u]], "y": [lay.ys[k][u]], "size": [max(lay.marker_px[k], 8.0) + 10]}
        except (KeyError, IndexError, TypeError):  # a selection from another architecture
            pass
        for name, data in (("sel_edge", edge), ("sel_node", node)):
            if not _same(self.sources[name].data, data, data.keys()):  # send nothing when nothing moved
                self.sources[name].data = data


def column_font_px(x_range, frame_width: float, labels, big: int = 16, small: int = 11) -> int:
    """The column names' font size in pixels: as large as ``big`` while the longest line of a name
    fits the room between neighbouring columns (one x unit apart), at least ``small``.

    Example:
        >>> from types import SimpleNamespace as R
        >>> column_font_px(R(start=-0.12, end=3.12), 900, ["input\\n27", "hidden 1\\n16"]), column_font_px(R(start=-0.3, end=5.3), 400, ["hidden 2\\n84"])
        (16, 14)
    """
    per_column = frame_width / max(float(x_range.end) - float(x_range.start), 1e-9)
    longest = max((len(line) for lab in labels for line in str(lab).split("\n")), default=1)
    return int(max(small, min(big, (per_column - 8) / (0.56 * longest))))


#: Input names' font: at most this (px), at least this, and this share of the room per name.
INPUT_FONT_PX = (16, 9, 0.82)


def input_font_px(ys, frame_height: float) -> int:
    """The input names' font size in pixels: as large as :data:`INPUT_FONT_PX` allows while each
    name fits the room between neighbouring inputs (``ys``: their positions, ``Y_RANGE`` units).

    Example:
        >>> input_font_px([0.9, 0.1], 400), input_font_px([i / 26 for i in range(27)], 360)
        (16, 9)
    """
    big, small, share = INPUT_FONT_PX
    if len(ys) < 2:
        return big
    gap = float(np.min(np.abs(np.diff(np.sort(np.asarray(ys, dtype=float))))))
    room = frame_height * gap / (Y_RANGE[1] - Y_RANGE[0])
    return int(max(small, min(big, share * room)))


def _label(axis, ticks, labels) -> None:
    """Put ``labels`` at ``ticks`` on a label axis (Bokeh hides overlapping ones).

    Ticks must ascend: Bokeh's ``NoOverlap`` measures the gap from each kept label to the
    next assuming ascending order, and hides every label after the first otherwise.
    """
    pairs = sorted(zip((float(t) for t in ticks), (str(lab) for lab in labels)))
    axis.ticker.ticks = [t for t, _ in pairs]
    axis.major_label_overrides = dict(pairs)


def _same(a: dict, b: dict, cols) -> bool:
    """Whether columns ``cols`` hold equal values in two data dicts (images compared per item)."""
    for c in cols:
        x, y = a.get(c), b.get(c)
        if x is None or y is None or len(x) != len(y):
            return False
        pairs = zip(x, y) if c == "image" else [(x, y)]
        if not all(np.array_equal(np.asarray(p), np.asarray(q)) for p, q in pairs):
            return False
    return True
