"""Look of the app's own plots and text: readable on a projector and on a laptop.

Grown/pruned colours come from the diagram's palette so a green edge on the diagram and a
green bar on the curves mean the same thing.
"""

from __future__ import annotations

from bokeh.plotting import figure

from growlab.view.palette import GROWN, PRUNED  # noqa: F401  (re-exported for the curves)

VAL = "#0877bd"  # validation: the diagram's positive blue, drawn solid
TRAIN = "#0877bd"  # training: same hue, dashed
AUC = "#f59322"
DENSITY = "#37474f"
PARAMS = "#8e6bbf"
MARKER = "#c2185b"  # parameter changes: magenta, unlike any curve
PHASE = "#4a148c"  # phase changes, lottery rewinds, removed layers: deep purple, solid
FONT = "14px"
TITLE_FONT = "15px"

#: Status → (label, colour) for the status badge.
STATUS = {
    "ready": ("Ready", "#546e7a"),
    "running": ("Training", "#2e7d32"),
    "paused": ("Paused", "#ef6c00"),
    "finished": ("Finished", "#1565c0"),
    "diverged": ("Diverged", "#c62828"),
    "error": ("Error", "#c62828"),
}


#: Height of one curve plot: four stacked fit beside the diagram on a 720-pixel-high projector.
CURVE_HEIGHT = 165


def new_figure(title: str, x_range, y_range=None, x_label: str | None = None):
    """A curve plot with the app's sizes and tools (canvas: a few hundred points need no WebGL)."""
    kw = {"y_range": y_range} if y_range is not None else {}
    return figure(
        title=title, x_range=x_range, height=CURVE_HEIGHT + (22 if x_label else 0), sizing_mode="stretch_width",
        tools="pan,wheel_zoom,box_zoom,reset,save", active_scroll=None, x_axis_label=x_label, **kw,
    )  # fmt: skip


def plain(fig, glyph, source, legend_label: str | None = None, **renderer):
    """Draw ``glyph`` from ``source`` on ``fig`` as it is, named ``legend_label`` in its legend.

    One glyph model where ``fig.line`` and the like make three (the looks of a selected-away and
    of a muted glyph): on a plot where nothing is selected or muted they are never seen, and
    every model is built by the server and sent with each page.
    """
    from bokeh.models import Legend, LegendItem

    r = fig.add_glyph(source, glyph, **renderer)
    if legend_label is not None:
        if not fig.legend:
            fig.add_layout(Legend())  # where figure(legend_label=…) puts it
        fig.legend[0].items.append(LegendItem(label=legend_label, renderers=[r]))
    return r


def style_figure(fig) -> None:
    """Large fonts, light grid, compact legend that can hide lines."""
    fig.title.text_font_size = TITLE_FONT
    fig.title.text_font_style = "bold"
    for axis in (*fig.xaxis, *fig.yaxis):
        axis.axis_label_text_font_size = FONT
        axis.major_label_text_font_size = "13px"
        axis.axis_label_text_font_style = "normal"
    fig.grid.grid_line_alpha = 0.35
    fig.toolbar.logo = None
    fig.min_border_left = 56
    fig.min_border_right = 56  # the size plot's second axis; the same on all keeps their x axes aligned
    fig.yaxis.ticker.desired_num_ticks = 4
    if fig.legend:  # above the plot, in one row: small plots have no room to cover
        legend = fig.legend[0]
        fig.center.remove(legend)
        fig.add_layout(legend, "above")
        legend.orientation = "horizontal"
        legend.click_policy = "hide"
        legend.label_text_font_size = "12px"
        legend.glyph_width = 16
        legend.padding = 0
        legend.spacing = 6
        legend.margin = 0
        legend.border_line_alpha = 0


def _new_button_api() -> bool:
    import panel as pn

    return "color" in pn.widgets.Button.param  # Panel 1.9 renamed name/button_type to label/color


NEW_BUTTONS = _new_button_api()


def button_args(label: str | None = None, color: str | None = None) -> dict:
    """Keyword arguments for a button's text and colour in this Panel version."""
    out = {}
    if label is not None:
        out["label" if NEW_BUTTONS else "name"] = label
    if color is not None:
        out["color" if NEW_BUTTONS else "button_type"] = color
    return out


def label_args(widget_class, label: str) -> dict:
    """The keyword for a widget's title in this Panel version (1.9 renamed ``name`` to ``label``)."""
    return {"label" if "label" in widget_class.param else "name": label}


def button_label(button) -> str:
    """The text a button shows."""
    return button.label if NEW_BUTTONS else button.name
