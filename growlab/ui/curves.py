"""Training curves: quality, loss, size and grown/pruned per epoch, with parameter-change markers.

New history rows are appended with ``ColumnDataSource.stream``; a new run (``fresh``) clears
the sources with one ``.data`` assignment. ``param`` events become markers: a dashed
vertical span on every plot and a hoverable triangle (with the change) on the top plot.
"""

from __future__ import annotations

import math

import pandas as pd
import panel as pn
import param
from bokeh.layouts import gridplot
from bokeh.models import ColumnDataSource, DataRange1d, HoverTool, Line, LinearAxis, Range1d, Span, VBar, VSpan

from growlab.ui.theme import AUC, DENSITY, GROWN, MARKER, PARAMS, PHASE, PRUNED, TRAIN, VAL, new_figure, plain, style_figure

#: Columns of the curve source (one row per epoch).
COLUMNS = ("epoch", "val_q", "train_q", "val_auc", "val_loss", "train_loss", "density", "active_params",
           "grown", "minus_pruned")  # fmt: skip


def _nan(x) -> float:
    return float("nan") if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def curve_rows(rows: list[dict], task: str) -> dict[str, list]:
    """History rows → columns of the curve source (quality = accuracy, or MSE for regression)."""
    q = "mse" if task == "regression" else "acc"
    out = {c: [] for c in COLUMNS}
    for r in rows:
        out["epoch"].append(r["epoch"])
        out["val_q"].append(_nan(r.get(f"val_{q}")))
        out["train_q"].append(_nan(r.get(f"train_{q}")))
        out["val_auc"].append(_nan(r.get("val_auc")))
        out["val_loss"].append(_nan(r.get("val_loss")))
        out["train_loss"].append(_nan(r.get("train_loss")))
        out["density"].append(_nan(r.get("density")))
        out["active_params"].append(_nan(r.get("active_params")))
        out["grown"].append(int(r.get("grown", 0)))
        out["minus_pruned"].append(-int(r.get("pruned", 0)))
    return out


#: Events drawn as phase markers: NeST's and ODF2NNA's phase changes, lottery rounds, removed layers.
PHASE_KINDS = ("phase", "rewind", "bridge")
#: The size curve's right axis label, on a full-height curve and on a short (projector) one.
PARAMS_LABEL = {False: "active parameters", True: "params"}


def marker_rows(events: pd.DataFrame, kinds: tuple[str, ...] = ("param",)) -> dict[str, list]:
    """Events of ``kinds`` (parameter changes by default) → marker columns ``epoch, cause``."""
    if events.empty:
        return {"epoch": [], "cause": []}
    p = events[events["kind"].isin(kinds)]
    return {"epoch": [int(e) for e in p["epoch"]], "cause": [str(c) for c in p["cause"]]}


class Curves(pn.viewable.Viewer):
    """Four linked plots of the run's history; call :meth:`update` with each runner update."""

    task = param.String(default="binary", doc="Task of the run shown (decides accuracy vs MSE).")
    n_rows = param.Integer(default=0, doc="History rows drawn.")
    n_markers = param.Integer(default=0, doc="Parameter-change markers drawn.")
    n_phases = param.Integer(default=0, doc="Phase, round and layer-removal markers drawn.")

    def __init__(self, **params):
        super().__init__(**params)
        self.source = ColumnDataSource({c: [] for c in COLUMNS}, name="growlab-curves")
        self.markers = ColumnDataSource({"epoch": [], "cause": []}, name="growlab-markers")
        self.phases = ColumnDataSource({"epoch": [], "cause": []}, name="growlab-phases")
        self.figures = self._figures()
        self._pane = pn.pane.Bokeh(
            gridplot(self.figures, ncols=1, sizing_mode="stretch_width", merge_tools=True, toolbar_location="right"),
            sizing_mode="stretch_width",
        )

    def __panel__(self):
        return self._pane

    # ------------------------------------------------------------------ building
    def _figures(self):
        src, x = self.source, DataRange1d(start=0, min_interval=5)

        def line(fig, y: str, color: str, width: int, label: str, line_dash="solid", **renderer):
            return plain(fig, Line(x="epoch", y=y, line_color=color, line_width=width, line_dash=line_dash), src, label,
                         **renderer)  # fmt: skip

        quality = new_figure("Accuracy & AUC", x, Range1d(0, 1.08))
        self._q_lines = [
            line(quality, "val_q", VAL, 3, "val acc"), line(quality, "train_q", TRAIN, 2, "train acc", line_dash="dashed"),
            line(quality, "val_auc", AUC, 2, "val AUC"),
        ]  # fmt: skip
        tri = quality.scatter("epoch", 1.04, source=self.markers, marker="inverted_triangle", size=13, color=MARKER)
        quality.add_tools(HoverTool(renderers=[tri], tooltips=[("epoch", "@epoch"), ("change", "@cause")]))
        dia = quality.scatter("epoch", 1.04, source=self.phases, marker="diamond", size=15, color=PHASE)
        quality.add_tools(HoverTool(renderers=[dia], tooltips=[("epoch", "@epoch"), ("phase", "@cause")]))
        loss = new_figure("Loss", x)
        line(loss, "val_loss", VAL, 3, "val")
        line(loss, "train_loss", TRAIN, 2, "train", line_dash="dashed")
        size = new_figure("Size", x, Range1d(0, 1.05))
        line(size, "density", DENSITY, 3, "density")
        size.extra_y_ranges = {"params": DataRange1d(start=0)}
        p = line(size, "active_params", PARAMS, 2, "active params", y_range_name="params")
        size.extra_y_ranges["params"].renderers = [p]
        self.params_axis = LinearAxis(y_range_name="params", axis_label=PARAMS_LABEL[False])
        size.add_layout(self.params_axis, "right")
        changes = new_figure("Grown ↑ / pruned ↓", x, x_label="epoch")
        for top, color, label in (("grown", GROWN, "grown"), ("minus_pruned", PRUNED, "pruned")):
            plain(changes, VBar(x="epoch", top=top, width=0.9, fill_color=color, line_color=color), src, label)
        figs = [quality, loss, size, changes]
        self.cursors = []  # the timeline's epoch on every curve (hidden while live)
        for i, f in enumerate(figs):
            plain(f, VSpan(x="epoch", line_color=MARKER, line_dash="dashed", line_width=2), self.markers)
            plain(f, VSpan(x="epoch", line_color=PHASE, line_width=3, line_alpha=0.8), self.phases)
            self.cursors.append(Span(location=0, dimension="height", line_color="#111111", line_width=2, visible=False,
                                     name="growlab-cursor" if i == 0 else f"growlab-cursor-{i}"))  # fmt: skip
            f.add_layout(self.cursors[-1])
            style_figure(f)
        self._quality = quality
        return figs

    # ------------------------------------------------------------------ updating
    def update(self, update) -> None:
        """Draw a runner :class:`~growlab.run.runner.Update` (new rows, new events)."""
        task = update.snapshot.task
        if update.fresh or task != self.task:
            self.reset(task)
        if update.rows:
            self.source.stream(curve_rows(update.rows, task))
            self.n_rows += len(update.rows)
        new = marker_rows(update.events)
        if new["epoch"]:
            self.markers.stream(new)
            self.n_markers += len(new["epoch"])
        phases = marker_rows(update.events, PHASE_KINDS)
        if phases["epoch"]:
            self.phases.stream(phases)
            self.n_phases += len(phases["epoch"])

    def short(self, on: bool) -> None:
        """Curves of the projector layout's height: axis labels that fit them."""
        self.params_axis.axis_label = PARAMS_LABEL[on]

    def cursor(self, epoch: int | None) -> None:
        """Mark ``epoch`` on every curve (the timeline's), or hide the mark (``None``: live)."""
        for span in self.cursors:
            if epoch is None:
                span.visible = False
            else:
                span.update(location=epoch, visible=True)

    def reset(self, task: str) -> None:
        """Clear everything (a new run); relabel for its task."""
        self.source.data = {c: [] for c in COLUMNS}
        self.markers.data = {"epoch": [], "cause": []}
        self.phases.data = {"epoch": [], "cause": []}
        self.param.update(task=task, n_rows=0, n_markers=0, n_phases=0)
        regression = task == "regression"
        q = self._quality
        q.title.text = "Error (MSE)" if regression else "Accuracy & AUC"
        q.y_range = DataRange1d(start=0) if regression else Range1d(0, 1.08)
        self._q_lines[2].visible = not regression
        for line, label in zip(q.legend[0].items, ("val MSE", "train MSE") if regression else ("val acc", "train acc")):
            line.label = {"value": label}
