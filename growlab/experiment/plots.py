"""Bokeh figures of an experiment: Fig. 5's box plots and Fig. 6's similarity heatmap.

Bokeh is imported inside the functions, so ``import growlab.experiment`` stays light.
Quartiles use the *exclusive* method (numpy's ``weibull``, Excel's ``QUARTILE.EXC``) as the
paper's Fig. 5 says it does; whiskers reach the furthest member within 1.5 IQR of the box,
members beyond are drawn as outliers (``o``) and the mean as ``x``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from growlab.experiment.labels import METRICS, threshold_label

#: one colour per method (Tableau 10), in the order of the experiment's methods
COLOURS = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac")


def box_stats(values: np.ndarray) -> dict:
    """Quartiles (exclusive), whiskers, mean and outliers of ``values``.

    Example:
        >>> s = box_stats(np.array([1.0, 2, 3, 4, 5, 6, 7, 100]))
        >>> float(s["q2"]), s["outliers"]
        (4.5, [100.0])
    """
    v = np.sort(np.asarray(values, dtype=float))
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"q1": np.nan, "q2": np.nan, "q3": np.nan, "lo": np.nan, "hi": np.nan, "mean": np.nan, "outliers": []}
    method = "weibull" if v.size >= 3 else "linear"  # exclusive quartiles need at least 3 values
    q1, q2, q3 = np.quantile(v, [0.25, 0.5, 0.75], method=method)
    iqr = q3 - q1
    inside = v[(v >= q1 - 1.5 * iqr) & (v <= q3 + 1.5 * iqr)]
    lo, hi = (inside.min(), inside.max()) if inside.size else (q1, q3)
    out = v[(v < lo) | (v > hi)]
    return {"q1": q1, "q2": q2, "q3": q3, "lo": lo, "hi": hi, "mean": v.mean(), "outliers": out.tolist()}


def box_frame(result, metric: str = "accuracy") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Box statistics per (threshold, method) in percent, and the outliers, for :func:`boxplot`."""
    col = METRICS[metric]
    scale = 100 if col != "redundant" else 1
    boxes, outliers = [], []
    for (t, m), rows in result.frame.groupby(["threshold", "method"], sort=False):
        s = box_stats(rows[col].to_numpy() * scale)
        x = (threshold_label(t), m)
        boxes.append({"x": x, "method": m, **{k: s[k] for k in ("q1", "q2", "q3", "lo", "hi", "mean")}})
        outliers += [{"x": x, "method": m, "y": y} for y in s["outliers"]]
    return pd.DataFrame(boxes), pd.DataFrame(outliers, columns=["x", "method", "y"])


def boxplot(result, metric: str = "accuracy"):
    """Fig. 5: one box per method within each threshold."""
    from bokeh.models import ColumnDataSource, FactorRange
    from bokeh.plotting import figure
    from bokeh.transform import factor_cmap

    boxes, outliers = box_frame(result, metric)
    factors = [(threshold_label(t), m) for t in result.thresholds for m in result.methods]
    label = {"accuracy": "validation accuracy (%)", "auc": "validation AUC (%)"}.get(metric, metric.replace("_", " "))
    fig = figure(
        x_range=FactorRange(*factors, group_padding=1.2), height=460, sizing_mode="stretch_width",
        title=f"Final {label} of every member by sparsity threshold (Fig. 5)", y_axis_label=label,
        tools="pan,wheel_zoom,box_zoom,reset,save,hover", toolbar_location="right",
        tooltips=[("", "@x"), ("median", "@q2{0.0}"), ("mean", "@mean{0.0}"), ("IQR", "@q1{0.0} – @q3{0.0}")],
    )  # fmt: skip
    colour = factor_cmap("method", palette=list(COLOURS[: len(result.methods)]), factors=list(result.methods))
    src = ColumnDataSource(boxes)
    fig.segment("x", "lo", "x", "q1", source=src, line_color="#444")
    fig.segment("x", "q3", "x", "hi", source=src, line_color="#444")
    fig.vbar("x", 0.7, "q2", "q3", source=src, fill_color=colour, line_color="#333", legend_field="method")
    fig.vbar("x", 0.7, "q1", "q2", source=src, fill_color=colour, line_color="#333")
    fig.scatter("x", "mean", source=src, marker="x", size=9, line_color="black", line_width=2)
    if len(outliers):
        src = ColumnDataSource(outliers)
        fig.scatter("x", "y", source=src, marker="circle", size=6, fill_alpha=0, line_color="#333")
    fig.xaxis.major_label_orientation = 0.9
    fig.xaxis.major_label_text_font_size = "0pt"  # the legend names the methods; the group label names T
    fig.xgrid.grid_line_color = None
    fig.legend.orientation = "horizontal"
    fig.legend.location = "bottom_left"
    fig.add_layout(fig.legend[0], "above")
    fig.toolbar.logo = None
    return fig


def heatmap(frame: pd.DataFrame, title: str = "Similarity"):
    """A square heatmap of ``frame`` (values in [0, 1]) with the values written in the cells (Fig. 6)."""
    from bokeh.models import ColumnDataSource, LinearColorMapper
    from bokeh.palettes import Blues256
    from bokeh.plotting import figure

    names = [str(n) for n in frame.index]
    values = frame.to_numpy(dtype=float)
    cells = [{"a": a, "b": b, "v": values[i, j]} for i, a in enumerate(names) for j, b in enumerate(names)]
    df = pd.DataFrame(cells)
    df["text"] = df.v.map("{:.2f}".format)
    df["colour"] = np.where(df.v > 0.6, "white", "black")  # readable on the dark cells
    src = ColumnDataSource(df)
    mapper = LinearColorMapper(palette=list(reversed(Blues256)), low=0.0, high=1.0)
    fig = figure(
        x_range=names, y_range=list(reversed(names)), width=560, height=520, title=title,
        tools="hover,save", tooltips=[("", "@a ↔ @b"), ("Jaccard", "@v{0.000}")], toolbar_location="right",
    )  # fmt: skip
    fig.rect("b", "a", 1, 1, source=src, fill_color={"field": "v", "transform": mapper}, line_color="white")
    fig.text("b", "a", text="text", source=src, text_align="center", text_baseline="middle",
             text_font_size="12px", text_color="colour")  # fmt: skip
    fig.xaxis.major_label_orientation = 0.8
    fig.min_border_bottom = 110  # room for the rotated method names
    fig.grid.grid_line_color = None
    fig.axis.axis_line_color = None
    fig.toolbar.logo = None
    return fig


def interval_plot(claims: pd.DataFrame, readings: list[str], names: list[str]):
    """Paired differences with their 95% intervals: one panel per claim, one row per reading.

    ``claims`` has ``reading, claim, mean, low, high`` (percentage points); a dashed line marks 0,
    where a claim would be neither won nor lost.
    """
    from bokeh.layouts import gridplot
    from bokeh.models import ColumnDataSource, Span, Whisker
    from bokeh.plotting import figure

    panels = []
    lo = float(np.nanmin(claims.low)) if len(claims) else -1.0
    hi = float(np.nanmax(claims.high)) if len(claims) else 1.0
    pad = 0.05 * max(hi - lo, 1.0)
    for i, name in enumerate(names):
        rows = claims[claims.claim == name].set_index("reading").reindex(readings).reset_index()
        rows["colour"] = np.where(rows.low > 0, COLOURS[4], np.where(rows.high < 0, COLOURS[2], "#555"))
        src = ColumnDataSource(rows)
        fig = figure(
            y_range=list(reversed(readings)), x_range=(lo - pad, hi + pad), height=40 + 28 * len(readings),
            width=330 if i else 560, title=name, tools="hover,save", toolbar_location=None,
            tooltips=[("", "@reading"), ("difference", "@mean{+0.0} points"), ("95% interval", "@low{+0.0} … @high{+0.0}")],
            x_axis_label="accuracy difference (points)",
        )  # fmt: skip
        fig.add_layout(Whisker(source=src, base="reading", lower="low", upper="high", dimension="width",
                               line_color="#555"))  # fmt: skip
        fig.scatter("mean", "reading", source=src, size=9, color="colour")
        fig.add_layout(Span(location=0, dimension="height", line_dash="dashed", line_color="#999"))
        if i:
            fig.yaxis.visible = False
        fig.ygrid.grid_line_color = None
        panels.append(fig)
    return gridplot([panels], toolbar_location=None)
