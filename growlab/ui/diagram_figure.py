"""The Bokeh figure of the network diagram: glyph renderers, axes as labels, hover and tap.

Built once per diagram; updates only replace or patch its ColumnDataSources, set a few axis
properties when the architecture changes, and refresh the hover's lookup tables. Input and
output names are axis tick labels, so Bokeh hides the ones that would overlap
(``NoOverlap``) and they never cover the network. The sources hold numbers only; the hover
turns them into names and sentences in the browser (:class:`Lookups`).
"""

from __future__ import annotations

from bokeh.models import (
    ColumnDataSource, CustomJS, CustomJSHover, FixedTicker, HoverTool, Image, LinearAxis, LinearColorMapper, NoOverlap,
    Range1d, Scatter, Segment, TapTool, Title,
)  # fmt: skip
from bokeh.palettes import Greys256
from bokeh.plotting import figure
from bokeh.transform import transform

from growlab.ui.theme import plain
from growlab.view import palette
from growlab.view.diagram_layout import Y_RANGE
from growlab.ui.diagram_tables import NEURON_STATUS

_LABEL_FONT = "12pt"
_SEG = ("x0", "y0", "x1", "y1", "width", "alpha")
_EDGE = (*_SEG, "w", "positive", "layer", "source", "target", "birth", "ev", "ev_epoch", "cause", "focal")
_COLUMNS = {
    "ghosts": (*_SEG, "w", "layer", "source", "target", "ev", "ev_epoch", "cause", "focal"),
    "halos": (*_SEG, "outer"),
    "redundant": _EDGE,
    "edges": _EDGE,
    "fresh": _SEG,
    "map": ("image", "x", "y", "dw", "dh"),
    "neurons": ("x", "y", "size", "kind", "fill_alpha", "line_alpha", "line_width", "layer", "unit", "bias",
                "fan_in", "fan_out"),
    "sel_edge": ("x0", "y0", "x1", "y1"),
    "sel_node": ("x", "y", "size"),
}  # fmt: skip
#: Sources by name, bottom to top as drawn.
SOURCES = tuple(_COLUMNS)

_TIP = '<div style="font-size:14px;line-height:1.35;max-width:380px">{}</div>'
EDGE_TIP = _TIP.format(
    "<b>@source{src} → @target{tgt}</b><br>@layer{lname}<br>weight <b>@w{+0.000}</b> · born in epoch @birth"
    '<br>@ev{status}<br><span style="color:#555">@cause{cause}</span>'
)
GHOST_TIP = _TIP.format(
    "<b>@source{src} → @target{tgt}</b><br>@layer{lname}<br>@ev{status} · weight then @w{+0.000}"
    '<br><span style="color:#555">@cause{cause}</span>'
)
NEURON_TIP = _TIP.format("<b>@unit{name}</b> · @layer{column}<br>@kind{status}<br>@bias{bias} · "
                         "in @fan_in · out @fan_out")  # fmt: skip
MAP_TIP = _TIP.format("input pixel: <b>@image{0}</b> outgoing connections")

_JS = {
    "src": "const names = t.data.names[0]; return names[src.data.layer[special_vars.index]][value] ?? String(value)",
    "tgt": "const names = t.data.names[0]; return names[src.data.layer[special_vars.index] + 1][value] ?? String(value)",
    "lname": "return t.data.lnames[0][value] ?? ''",
    "cause": "return value >= 0 ? (t.data.causes[0][value] ?? '') : ''",
    "name": "const names = t.data.names[0]; return names[src.data.layer[special_vars.index]][value] ?? String(value)",
    "column": "return t.data.columns[0][value] ?? ''",
    "bias": "return Number.isFinite(value) ? 'bias ' + (value >= 0 ? '+' : '') + value.toFixed(3) : 'an input: no bias'",
    "nstatus": "return status[value] ?? ''",
    "status": """
        const d = src.data, i = special_vars.index
        const text = d.ev[i] == 2 ? 'pruned in epoch ' + d.ev_epoch[i]
              : (d.ev[i] == 1 ? 'grown in epoch ' + d.ev_epoch[i] + ' · ' : '') + (red ? 'redundant: carries nothing to an output' : 'active')
        return d.focal[i] ? text + ' · focal juncture' : text""",
}


_AWAY_FROM_ENDS = """
const {row, vars} = cb_data
const dx = row.x1 - row.x0, dy = row.y1 - row.y0
const t = ((vars.x - row.x0) * dx + (vars.y - row.y0) * dy) / (dx * dx + dy * dy)
return t > 0.06 && t < 0.94"""


_ONLY_GHOST = """
if (edges.inspected.indices.length > 0 || redundant.inspected.indices.length > 0) return false"""


class Lookups:
    """The hover formatters and the tables they read (names, causes), kept in step by the diagram.

    The tables live in one ColumnDataSource (one row; each column holds a whole table) that
    every formatter references once. Changing a formatter's ``args`` instead would make Bokeh
    re-index every model of the document (``args`` may hold models) — hundreds of ms per
    update on a full app page; a source's ``data`` cannot hold models, so updating it is cheap.
    """

    TABLES = ("names", "lnames", "causes", "columns")

    def __init__(self) -> None:
        self.formatters: list[CustomJSHover] = []
        self.tables = ColumnDataSource({k: [[]] for k in self.TABLES}, name="diagram-lookups")
        self._current: dict = {k: [] for k in self.TABLES}

    def make(self, key: str, src: ColumnDataSource, **extra) -> CustomJSHover:
        args = {"src": src, "t": self.tables, "status": list(NEURON_STATUS), "red": False, **extra}
        fmt = CustomJSHover(code=_JS[key], args=args)
        self.formatters.append(fmt)
        return fmt

    def set(self, **tables) -> None:
        """Replace lookup tables (``names``, ``lnames``, ``columns``, ``causes``) where they changed."""
        unknown = set(tables) - set(self.TABLES)
        if unknown:
            raise ValueError(f"unknown lookup tables {sorted(unknown)}")
        if all(self._current[k] == v for k, v in tables.items()):
            return
        self._current.update({k: list(v) for k, v in tables.items()})
        self.tables.data = {k: [v] for k, v in self._current.items()}


def empty_sources() -> dict[str, ColumnDataSource]:
    """One ColumnDataSource per renderer, with the columns the glyphs and hovers read.

    Each is named ``diagram-<name>`` so browser tests can find it on the page.
    """
    return {name: ColumnDataSource({c: [] for c in cols}, name=f"diagram-{name}") for name, cols in _COLUMNS.items()}


def _same_when_selected(**styles) -> dict:
    """Keep a glyph's look when a tap selects it (the diagram draws its own highlight)."""
    out = dict(styles)
    for prefix in ("selection_", "nonselection_"):
        out.update({prefix + k: v for k, v in styles.items()})
    return out


def make_figure(sources: dict[str, ColumnDataSource], height: int, sizing_mode: str):
    """The figure, its renderers (by name) and the hover :class:`Lookups`."""
    fig = figure(
        height=height, sizing_mode=sizing_mode, output_backend="webgl",
        x_range=Range1d(-0.12, 3.12), y_range=Range1d(*Y_RANGE),
        x_axis_type=None, y_axis_type=None, tools="pan,wheel_zoom,box_zoom,reset,save",
        active_scroll=None,  # the mouse wheel scrolls the page; zoom is a tool to pick, Reset undoes it
        toolbar_location="right", min_border_left=10, min_border_right=10,  # right: clear of the title lines
    )  # fmt: skip
    fig.grid.visible = False
    fig.outline_line_color = None
    fig.title.text_font_size = "13pt"
    fig.title.text_font_style = "normal"
    fig.add_layout(Title(text="", text_font_size="11pt", text_font_style="normal", text_color=palette.MUTED), "above")
    fig.toolbar.logo = None
    fig.toolbar.autohide = False  # the reset button stays in sight
    r = _glyphs(fig, sources)
    lookups = Lookups()
    _add_tools(fig, r, sources, lookups)
    _add_axes(fig)
    return fig, r, lookups


def _glyphs(fig, sources) -> dict:
    """All renderers, bottom to top."""
    r, seg = {}, dict(x0="x0", y0="y0", x1="x1", y1="y1")
    sign = transform("positive", LinearColorMapper(palette=[palette.NEGATIVE, palette.POSITIVE], low=0, high=1))
    line = lambda name, **kw: fig.segment(**seg, source=sources[name], **kw)  # noqa: E731
    # sources never tapped: one glyph model each (:func:`plain`), not a look for selected-away rows too
    fixed = lambda name, **kw: plain(fig, Segment(**seg, **kw), sources[name])  # noqa: E731
    # a gold band with a dark rim: gold alone is too close to the orange of negative weights
    r["halo_rims"] = fixed("halos", line_cap="round", line_width="outer", line_color=palette.FOCAL_RIM, line_alpha="alpha")
    r["halos"] = fixed("halos", line_cap="round", line_width="width", line_color=palette.FOCAL, line_alpha="alpha")
    r["redundant"] = line("redundant", line_dash="dashed", **_same_when_selected(
        line_width="width", line_color=palette.REDUNDANT, line_alpha="alpha"))  # fmt: skip
    r["edges"] = line("edges", **_same_when_selected(line_width="width", line_color=sign, line_alpha="alpha"))
    r["fresh"] = fixed("fresh", line_width="width", line_color=palette.GROWN, line_alpha="alpha")
    # pruned connections on top of the live ones, thick and dashed: a pruning must be seen from the back row
    r["ghosts"] = line("ghosts", line_dash=[7, 3], line_cap="round", **_same_when_selected(
        line_width="width", line_color=palette.PRUNED, line_alpha="alpha"))  # fmt: skip
    mapper = LinearColorMapper(palette=list(Greys256[::-1][:210]), low=0)  # white → dark grey, not black
    r["map"] = plain(fig, Image(image="image", x="x", y="y", dw="dw", dh="dh", color_mapper=mapper), sources["map"])
    kinds = dict(low=0, high=3)  # alive, dormant, ε-useless (hollow), removed recently (a red ring)
    fill = transform("kind", LinearColorMapper(palette=[palette.NEURON, palette.DORMANT, "#ffffff", "#ffffff"], **kinds))
    rim = transform("kind", LinearColorMapper(palette=[palette.NEURON_LINE, palette.DORMANT, palette.NEURON, palette.PRUNED],
                                              **kinds))  # fmt: skip
    r["neurons"] = fig.scatter("x", "y", size="size", source=sources["neurons"], **_same_when_selected(
        fill_color=fill, fill_alpha="fill_alpha", line_color=rim, line_alpha="line_alpha", line_width="line_width"))
    r["sel_edge"] = fixed("sel_edge", line_color=palette.SELECTION, line_width=4, line_alpha=0.9, line_cap="round")
    r["sel_node"] = plain(fig, Scatter(x="x", y="y", size="size", fill_color=None, line_color=palette.SELECTION, line_width=3),
                          sources["sel_node"])  # fmt: skip
    return r


def _edge_formatters(lookups: Lookups, src: ColumnDataSource, redundant: bool = False) -> dict:
    return {
        "@source": lookups.make("src", src), "@target": lookups.make("tgt", src),
        "@layer": lookups.make("lname", src), "@cause": lookups.make("cause", src),
        "@ev": lookups.make("status", src, red=redundant),
    }  # fmt: skip


def _add_tools(fig, r, sources, lookups: Lookups) -> None:
    neuron_fmt = {"@unit": lookups.make("name", sources["neurons"]),
                  "@layer": lookups.make("column", sources["neurons"]),
                  "@kind": lookups.make("nstatus", sources["neurons"]),
                  "@bias": lookups.make("bias", sources["neurons"])}  # fmt: skip
    def hover(name, tip, fmt, code=_AWAY_FROM_ENDS, **args):
        # one connection per tooltip, and none near the ends, where the neuron's own tooltip shows
        return HoverTool(renderers=[r[name]], tooltips=tip, formatters=fmt, line_policy="interp", limit=1,
                         filters={"@x0": CustomJS(code=code, args=args)})  # fmt: skip

    fig.add_tools(
        HoverTool(renderers=[r["neurons"]], tooltips=NEURON_TIP, formatters=neuron_fmt, attachment="right"),
        hover("edges", EDGE_TIP, _edge_formatters(lookups, sources["edges"])),  # fresh lies on these edges
        hover("redundant", EDGE_TIP, _edge_formatters(lookups, sources["redundant"], redundant=True)),
        # a ghost's tooltip only where no live connection is under the mouse (they would overlap)
        hover("ghosts", GHOST_TIP, _edge_formatters(lookups, sources["ghosts"]), code=_ONLY_GHOST + _AWAY_FROM_ENDS,
              edges=sources["edges"], redundant=sources["redundant"]),
        HoverTool(renderers=[r["map"]], tooltips=MAP_TIP),
        TapTool(renderers=[r["edges"], r["redundant"], r["ghosts"], r["neurons"]]),
    )


def _axis(**kw) -> LinearAxis:
    axis = LinearAxis(ticker=FixedTicker(ticks=[]), major_label_policy=NoOverlap(min_distance=1), **kw)
    axis.axis_line_color = None
    axis.major_tick_line_color = None
    axis.minor_tick_line_color = None
    axis.major_label_text_font_size = _LABEL_FONT
    axis.major_label_text_color = palette.INK
    return axis


def _add_axes(fig) -> None:
    """Left: input names; right: output names; below: column names (set per layout)."""
    fig.add_layout(_axis(name="inputs"), "left")
    fig.add_layout(_axis(name="outputs"), "right")
    below = _axis(name="columns")
    below.major_label_text_color = palette.MUTED
    below.major_label_standoff = 4
    fig.add_layout(below, "below")


def axes(fig) -> dict[str, LinearAxis]:
    """The three label axes by name."""
    return {a.name: a for a in (*fig.left, *fig.right, *fig.below)}
