"""``Inspector``: the selected connection's or neuron's weight history and its events.

The selection is the diagram's (``{"kind": "edge", "layer", "source", "target"}`` or
``{"kind": "neuron", "layer", "unit"}``). With a runner (``growlab.run.runner.Runner``) the
history comes from its weight trace (small networks are traced from epoch 0) and the events
from its whole event log. Without one (tests, notebooks) the inspector records the selected
item from each snapshot it is given, from the selection on, and takes events from the
snapshots' recent grow/prune rows.

Example:
    >>> inspector = Inspector()
    >>> inspector.selected = {"kind": "edge", "layer": 0, "source": 1, "target": 2}
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import panel as pn
import param
from bokeh.models import ColumnDataSource, HoverTool, Span
from bokeh.plotting import figure

from growlab.view import palette
from growlab.view.diagram_layout import layer_names, neuron_name
from growlab.ui.text import html

HISTORY = {"edge": ("weight",), "neuron": ("bias", "in_abs", "out_abs")}
_LINES = {"weight": ("weight", palette.INK), "bias": ("bias", palette.INK),
          "in_abs": ("Σ|w| in", palette.POSITIVE), "out_abs": ("Σ|w| out", palette.NEGATIVE)}  # fmt: skip
TABLE_COLUMNS = ["epoch", "kind", "connection", "weight", "cause"]


def events_for(events: pd.DataFrame | None, sel: dict | None) -> pd.DataFrame:
    """Rows of an event log about the selected edge, or about a neuron and its connections."""
    if events is None or len(events) == 0 or not sel:
        return pd.DataFrame(columns=["epoch", "step", "kind", "layer", "source", "target", "weight", "cause"])
    num = {c: pd.to_numeric(events[c], errors="coerce").to_numpy(float) for c in ("layer", "source", "target")}
    conn = ~np.isnan(num["target"])  # connection events name a target; unit events do not
    if sel["kind"] == "edge":
        hit = conn & (num["layer"] == sel["layer"]) & (num["source"] == sel["source"]) & (num["target"] == sel["target"])
    else:
        k, u = sel["layer"], sel["unit"]
        into = (num["layer"] == k - 1) & (num["target"] == u)
        out_of = (num["layer"] == k) & (num["source"] == u)
        unit = ~conn & (num["layer"] == k) & (num["source"] == u)
        hit = (conn & (into | out_of)) | unit
    return events[hit].reset_index(drop=True)


def values_of(snap, sel: dict) -> tuple[float, ...]:
    """What the history plots for ``sel`` in one snapshot (like the runner's weight trace)."""
    if sel["kind"] == "edge":
        return (float(snap.weights[sel["layer"]][sel["target"], sel["source"]]),)
    k, u, n = sel["layer"], sel["unit"], snap.n_layers
    bias = float(snap.biases[k - 1][u]) if k >= 1 else 0.0
    in_abs = float(np.abs(snap.weights[k - 1][u, :]).sum()) if k >= 1 else 0.0
    out_abs = float(np.abs(snap.weights[k][:, u]).sum()) if k < n else 0.0
    return bias, in_abs, out_abs


def _valid(snap, sel: dict | None) -> bool:
    """Whether ``sel`` names something in this snapshot's network."""
    if not sel:
        return False
    try:
        values_of(snap, sel)
        return min(v for k, v in sel.items() if k != "kind") >= 0
    except (IndexError, KeyError, TypeError):
        return False


class Inspector(pn.viewable.Viewer):
    """Weight history and events of the selected connection or neuron."""

    selected = param.Dict(default=None, allow_None=True, doc="The selection (see the module docstring).")
    max_points = param.Integer(default=4000, bounds=(10, None), doc="Most epochs kept when recording locally.")

    def __init__(self, runner=None, diagram=None, **params):
        super().__init__(**params)
        self.runner = runner
        self.snapshot = None
        self._local: dict[int, tuple] = {}  # epoch → values, when there is no runner
        self._events = events_for(None, None)
        self._n_events = 0
        self._run_id = object()
        self.history = ColumnDataSource({c: [] for c in ("epoch", *_LINES)}, name="inspector-history")
        self.marks = ColumnDataSource({"epoch": [], "value": [], "color": [], "marker": [], "kind": []},
                                      name="inspector-events")  # fmt: skip
        #: The history plot, built when something is first selected (:meth:`_build`): most pages
        #: never select anything, and a page's figures are what its load costs the server.
        self.figure = None
        self.lines: dict = {}
        self.birth = Span(location=0, dimension="height", line_color=palette.GROWN, line_width=2, visible=False)
        self.header = pn.pane.HTML("", sizing_mode="stretch_width", margin=(4, 10))
        self.table = pn.widgets.Tabulator(
            pd.DataFrame(columns=TABLE_COLUMNS), disabled=True, show_index=False, height=170,
            sizing_mode="stretch_width", layout="fit_data_stretch", visible=False,
        )  # fmt: skip
        # a Column toggles visibility: a hidden Bokeh pane hides its figure and does not show it again
        self.plot = pn.Column(sizing_mode="stretch_width", visible=False)
        self._view = pn.Column(self.header, self.plot, sizing_mode="stretch_width")  # the table joins with the plot
        if diagram is not None:
            diagram.param.watch(lambda e: setattr(self, "selected", e.new), "selected")
            self.selected = diagram.selected
        self.param.watch(self._on_select, "selected")
        self._refresh()

    def __panel__(self):
        return self._view

    def _build(self) -> None:
        """The history plot and the events table, on the first selection (then kept)."""
        if self.figure is None:
            self.figure = self._make_figure()
            self.plot.objects = [pn.pane.Bokeh(self.figure, sizing_mode="stretch_width")]
            self._view.append(self.table)

    def _make_figure(self):
        fig = figure(height=200, sizing_mode="stretch_width", tools="pan,wheel_zoom,reset,save", active_scroll=None,
                     toolbar_location=None, x_axis_label="epoch")  # fmt: skip
        fig.add_layout(Span(location=0, dimension="width", line_color=palette.MUTED, line_dash="dotted"))
        self.lines = {c: fig.line("epoch", c, source=self.history, line_color=color, line_width=2.5, legend_label=name)
                      for c, (name, color) in _LINES.items()}  # fmt: skip
        self._mark_renderer = fig.scatter("epoch", "value", source=self.marks, color="color", size=12, marker="marker",
                    line_width=2, legend_field="kind")  # fmt: skip
        fig.add_layout(self.birth)
        fig.add_tools(HoverTool(tooltips=[("epoch", "@epoch"), ("weight", "@weight{+0.000}")], mode="vline",
                                renderers=[self.lines["weight"]]))  # fmt: skip
        legend = fig.legend[0]
        legend.orientation, legend.label_text_font_size, legend.spacing = "horizontal", "10pt", 12
        legend.border_line_color = None
        fig.add_layout(legend, "above")  # above the plot: a narrow inspector has no room beside it
        return fig

    # ------------------------------------------------------------------ inputs
    def update(self, snapshot) -> None:
        """Take a new snapshot: record the selection (without a runner), fetch new events, redraw."""
        run_id = getattr(snapshot, "run_id", None)
        if run_id != self._run_id:  # a new run: the old history and events are not this one's
            self._run_id = run_id
            self._local, self._events, self._n_events = {}, events_for(None, None), 0
            if self.snapshot is not None and self.selected and not _valid(snapshot, self.selected):
                self.selected = None
        self.snapshot = snapshot
        sel = self.selected
        if _valid(snapshot, sel):
            if self.runner is None:
                self._record(snapshot, sel)
            self._add_events(snapshot, sel)
        self._refresh()

    def reset(self) -> None:
        """Forget the recorded history and events (e.g. when the app starts a new run)."""
        self._local, self._events, self._n_events = {}, events_for(None, None), 0
        self._refresh()

    def _record(self, snap, sel) -> None:
        self._local[snap.epoch] = values_of(snap, sel)
        if len(self._local) > self.max_points:  # keep it bounded: drop every other old epoch
            epochs = sorted(self._local)
            self._local = {e: self._local[e] for e in epochs[:-1:2] + epochs[-1:]}

    def _add_events(self, snap, sel) -> None:
        if self.runner is not None:
            new = self.runner.events(since=self._n_events)
            self._n_events = self._n_events + len(new)
        else:
            new = snap.recent
        rows = events_for(new, sel)
        if len(rows):
            both = pd.concat([self._events, rows], ignore_index=True) if len(self._events) else rows
            self._events = both.drop_duplicates(["epoch", "step", "kind", "layer", "source", "target"]).reset_index(drop=True)

    def _on_select(self, event) -> None:
        sel = event.new
        self._local = {}
        self._events = events_for(None, None)
        if self.runner is not None:
            self.runner.watch(sel)
            if sel:
                whole = self.runner.events()
                self._n_events = len(whole)
                self._events = events_for(whole, sel)
        if self.snapshot is not None and _valid(self.snapshot, sel) and self.runner is None:
            self._record(self.snapshot, sel)
            self._add_events(self.snapshot, sel)
        self._refresh()

    # ------------------------------------------------------------------ drawing
    def history_frame(self) -> pd.DataFrame:
        """The plotted history of the selection: ``epoch`` and the values of its kind."""
        sel = self.selected
        if not sel or self.snapshot is None or not _valid(self.snapshot, sel):
            return pd.DataFrame(columns=["epoch"])
        if self.runner is not None:
            if sel["kind"] == "edge":
                return self.runner.weight_history(sel["layer"], sel["source"], sel["target"])
            return self.runner.neuron_history(sel["layer"], sel["unit"])
        epochs = sorted(self._local)
        return pd.DataFrame([(e, *self._local[e]) for e in epochs], columns=["epoch", *HISTORY[sel["kind"]]])

    def _refresh(self) -> None:
        sel, snap = self.selected, self.snapshot
        ok = snap is not None and _valid(snap, sel)
        self.header.object = _header(snap, sel) if ok else _EMPTY
        if ok:
            self._build()
        self.plot.visible = self.table.visible = ok  # nothing selected: just the hint
        frame = self.history_frame() if ok else pd.DataFrame(columns=["epoch"])
        data = {c: frame[c].to_numpy(float) if c in frame else np.full(len(frame), np.nan) for c in ("epoch", *_LINES)}
        if not _same(self.history.data, data):
            self.history.data = data
        kind = sel["kind"] if ok else "edge"
        for c, r in self.lines.items():
            r.visible = c in HISTORY[kind]
        for item in self.figure.legend[0].items if self.figure is not None else ():  # the legend names only what is drawn
            marks = item.renderers[0] is self._mark_renderer
            item.visible = kind == "edge" if marks else all(r.visible for r in item.renderers)
        self._draw_events(snap, sel if ok else None)

    def _draw_events(self, snap, sel) -> None:
        ev = self._events if sel else events_for(None, None)
        edge = bool(sel) and sel["kind"] == "edge"
        kinds = ev["kind"].astype(str).to_numpy() if len(ev) else np.zeros(0, str)
        marks = {
            "epoch": ev["epoch"].to_numpy(float) if edge else [],
            "value": pd.to_numeric(ev["weight"], errors="coerce").to_numpy(float) if edge else [],
            "color": [palette.GROWN if k == "grow" else palette.PRUNED for k in kinds] if edge else [],
            "marker": ["triangle" if k == "grow" else "x" for k in kinds] if edge else [],
            "kind": list(kinds) if edge else [],
        }
        if not _same(self.marks.data, marks):
            self.marks.data = marks
        self.birth.visible = edge and bool(snap.masks[sel["layer"]][sel["target"], sel["source"]])
        if self.birth.visible:
            self.birth.location = int(snap.birth_epoch[sel["layer"]][sel["target"], sel["source"]])
        table = _table(snap, ev)
        if len(table) != len(self.table.value) or not table.equals(self.table.value):
            self.table.value = table


_EMPTY = '<div style="font-size:14px;color:#666">Click a connection or a neuron in the diagram to inspect it.</div>'


def _header(snap, sel) -> str:
    """One or two lines naming the selection and its state now."""
    cols = layer_names(len(snap.capacity))
    if sel["kind"] == "edge":
        l, s, t = sel["layer"], sel["source"], sel["target"]
        active = bool(snap.masks[l][t, s])
        state = (f"weight <b>{snap.weights[l][t, s]:+.3f}</b> · born in epoch {int(snap.birth_epoch[l][t, s])}"
                 if active else "not active now (dormant or pruned)")  # fmt: skip
        title = f"{html(neuron_name(snap, l, s))} → {html(neuron_name(snap, l + 1, t))}"
        where = f"{cols[l]} → {cols[l + 1]}"
    else:
        k, u = sel["layer"], sel["unit"]
        alive = bool(snap.alive[k][u])
        fan_in = int(snap.masks[k - 1][u].sum()) if k > 0 else 0
        fan_out = int(snap.masks[k][:, u].sum()) if k < snap.n_layers else 0
        bias = f" · bias {snap.biases[k - 1][u]:+.3f}" if k > 0 else ""
        state = f"{'alive' if alive else 'dormant'} · {fan_in} in · {fan_out} out{bias}"
        title, where = html(neuron_name(snap, k, u)), cols[k]
    return f'<div style="font-size:15px"><b>{title}</b> <span style="color:#666">· {where}</span><br>{state}</div>'


def _table(snap, ev: pd.DataFrame) -> pd.DataFrame:
    """Events as the table shows them, newest first."""
    if snap is None or len(ev) == 0:
        return pd.DataFrame(columns=TABLE_COLUMNS)
    names = []
    for layer, s, t in zip(*(pd.to_numeric(ev[c], errors="coerce") for c in ("layer", "source", "target"))):
        if np.isnan(t):
            names.append(neuron_name(snap, int(layer), int(s)) if not np.isnan(s) else "")
        else:
            names.append(f"{neuron_name(snap, int(layer), int(s))} → {neuron_name(snap, int(layer) + 1, int(t))}")
    out = pd.DataFrame({"epoch": ev["epoch"].astype(int), "kind": ev["kind"], "connection": names,
                        "weight": pd.to_numeric(ev["weight"], errors="coerce").round(4), "cause": ev["cause"]})  # fmt: skip
    return out.iloc[::-1].reset_index(drop=True)


def _same(a: dict, b: dict) -> bool:
    """Whether two ColumnDataSource data dicts hold the same columns and values."""
    if a.keys() != b.keys():
        return False
    return all(len(a[k]) == len(b[k]) and np.array_equal(np.asarray(a[k]), np.asarray(b[k]), equal_nan=np.asarray(a[k]).dtype.kind == "f") for k in a)
