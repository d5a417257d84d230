"""``ConvDiagram``: the network diagram that also draws conv networks as channels and kernels.

A conv network is drawn as its channel graph (DESIGN §3b, :mod:`growlab.run.conv_snapshot`):
each conv layer is a column of **channels** (nodes) and each **kernel** ``c_in → c_out`` an
edge, width ∝ the kernel's norm, coloured by the sign of its tap sum, opacity by the fraction
of its taps still live. The dense layers after the flatten are drawn as for an MLP; an edge
from the last conv layer is that channel's whole block of H·W flattened columns, and each of
those channels is drawn as one block (a grey bar behind its node). Every MLP overlay works
unchanged (grown green, pruned red ghosts, redundant dashed, focal junctures gold, ε-useless
channels hollow, dormant channel capacity faint), since they read the same per-edge arrays.

The input column is the image of the chosen validation example (``diagram-conv-input``).
Hovering a kernel shows its k×k taps as a small heat map (live taps coloured by value,
pruned ones grey with a cross), its norm, live taps, birth epoch and cause; a click selects it
for the inspector. Under the diagram a :class:`~growlab.ui.feature_maps.FeatureMaps` strip
shows every channel's map of the selected layer on the example.

For an MLP snapshot it is exactly :class:`~growlab.ui.diagram.NetworkDiagram`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import panel as pn
from bokeh.models import ColumnDataSource, CustomJSHover, HoverTool, Image, LinearColorMapper, Rect
from bokeh.models.dom import Div, ValueRef
from bokeh.palettes import Greys256

from growlab.view import palette
from growlab.ui.diagram import NetworkDiagram, _label
from growlab.ui.diagram_figure import axes
from growlab.view.diagram_layout import Y_RANGE, Layout, layer_names
from growlab.ui.feature_maps import FeatureMaps
from growlab.ui.theme import plain

#: Lowest opacity factor of a kernel with almost no live taps (1 with all of them live).
LIVE_ALPHA_FLOOR = 0.3
#: Gap in x (data units) between the input image and the input channel column.
INPUT_GAP = 0.1

_INPUT_COLUMNS = ("image", "x", "y", "dw", "dh")
_CONV_COLUMNS = ("n_conv", "k", "n_in", "taps", "mask", "live")

#: The kernel tooltip, built in the browser from the ``diagram-conv`` lookup source.
_TIP_JS = """
const d = src.data, i = special_vars.index
const l = d.layer[i], s = d.source[i], g = d.target[i]
const names = t.data.names[0] ?? [], lnames = t.data.lnames[0] ?? [], causes = t.data.causes[0] ?? []
const name = (k, u) => (names[k] ?? [])[u] ?? String(u)
const el = (tag, style, text) => { const e = document.createElement(tag); if (style) e.style.cssText = style;
                                   if (text != null) e.textContent = text; return e }
const box = el('div', 'font-size:14px;line-height:1.35;max-width:380px')
box.append(el('b', '', name(l, s) + ' \\u2192 ' + name(l + 1, g)), el('br'), lnames[l] ?? '', el('br'))
const c = k.data, nconv = c.n_conv.length ? c.n_conv[0] : 0
const nin = c.n_in[l], pos = g * nin + s
const live = c.live[l] ? c.live[l][pos] : 1
if (l < nconv) {
  const K = c.k[l], taps = c.taps[l], mask = c.mask[l], off = pos * K * K
  let top = 1e-12
  for (let j = 0; j < K * K; j++) top = Math.max(top, Math.abs(taps[off + j]))
  const grid = el('div', `display:grid;grid-template-columns:repeat(${K},22px);gap:1px;margin:4px 0;` +
                         'background:#ccc;border:1px solid #ccc;width:max-content')
  grid.setAttribute('class', 'growlab-kernel-taps')
  for (let j = 0; j < K * K; j++) {
    const v = taps[off + j], on = mask[off + j]
    let color = '#e6e6e6', mark = '\\u00d7'
    if (on) {
      const a = Math.min(Math.abs(v) / top, 1), base = v >= 0 ? [8, 119, 189] : [245, 147, 34]
      const mix = base.map((x) => Math.round(255 + (x - 255) * a))
      color = `rgb(${mix[0]},${mix[1]},${mix[2]})`; mark = ''
    }
    const cell = el('div', `width:22px;height:22px;background:${color};color:#888;font-size:13px;` +
                           'text-align:center;line-height:22px', mark)
    cell.title = on ? v.toFixed(3) : 'pruned'
    grid.append(cell)
  }
  box.append(`kernel ${K}\\u00d7${K} \\u00b7 ${Math.round(live * K * K)} of ${K * K} taps live`, grid)
} else if (l == nconv && nconv > 0) {
  box.append(`a channel's block of flattened columns \\u00b7 ${Math.round(live * 100)}% live`, el('br'))
}
const sign = d.w[i] >= 0 ? 'excites (tap sum > 0)' : 'inhibits (tap sum < 0)'
box.append(`norm ${Math.abs(d.w[i]).toFixed(3)} \\u00b7 ${sign} \\u00b7 born in epoch ${d.birth[i]}`)
const ev = d.ev[i] == 2 ? 'taps pruned in epoch ' + d.ev_epoch[i] : d.ev[i] == 1 ? 'grown in epoch ' + d.ev_epoch[i] : ''
const state = [ev, red ? 'redundant: carries nothing to an output' : '', d.focal[i] ? 'focal juncture' : ''].filter((x) => x)
if (state.length) box.append(el('br'), state.join(' \\u00b7 '))
const cause = d.cause[i] >= 0 ? causes[d.cause[i]] ?? '' : ''
if (cause) box.append(el('br'), el('span', 'color:#555', cause))
return box
"""


def conv_layer_names(n_channel_layers: int, n_neuron_layers: int) -> tuple[str, ...]:
    """Column names: input, conv 1.., hidden 1.., output."""
    names = list(layer_names(n_neuron_layers))
    for k in range(1, n_channel_layers):
        names[k] = f"conv {k}"
    for k in range(n_channel_layers, n_neuron_layers - 1):
        names[k] = f"hidden {k - n_channel_layers + 1}"
    return tuple(names)


def conv_layout(snap, lay: Layout, frame_height: float, frame_width: float) -> Layout:
    """``lay`` (the MLP layout of the channel graph) with channel names and room for the image."""
    conv = snap.extra["conv"]
    n_ch = conv["n_conv"] + 1
    cols = conv_layer_names(n_ch, len(snap.capacity))
    names = list(lay.names)
    c_in = snap.capacity[0]
    names[0] = np.array(["image"] if c_in == 1 else [f"image ch {c}" for c in range(c_in)], dtype=object)
    for k in range(1, n_ch):
        names[k] = np.array([f"c{k} #{u}" for u in range(snap.capacity[k])], dtype=object)
    box = input_box(conv["image"].shape, len(snap.capacity) - 1, frame_height, frame_width)
    x_range = (box[0] - 0.06, lay.x_range[1])
    return dataclasses.replace(lay, names=tuple(names), layer_names=cols, x_range=x_range)


def input_box(shape, n_weight_layers: int, frame_height: float, frame_width: float) -> tuple[float, float, float, float]:
    """Where the input image is drawn ``(x, y, w, h)``: left of the input channel column, about
    square on screen at the nominal frame size."""
    side_px = min(0.4 * frame_height, 0.2 * frame_width)
    h = side_px * (Y_RANGE[1] - Y_RANGE[0]) / frame_height
    rest = n_weight_layers + 0.12 + INPUT_GAP + 0.06  # x data units besides the image
    w = side_px * rest / max(frame_width - side_px, 1.0) * shape[1] / shape[0]
    return (-INPUT_GAP - w, 0.5 - h / 2, w, h)


class ConvDiagram(NetworkDiagram):
    """:class:`NetworkDiagram` plus conv channels, kernel taps, the input image and feature maps.

    Args:
        on_example: called with a validation row number when the user picks another example
            (the app passes ``runner.show_example``); None hides the picker.
    """

    def __init__(self, on_example=None, **params):
        super().__init__(**params)
        self.conv_source = ColumnDataSource({c: [] for c in _CONV_COLUMNS}, name="diagram-conv")
        self.input_source = ColumnDataSource({c: [] for c in _INPUT_COLUMNS}, name="diagram-conv-input")
        self.block_source = ColumnDataSource({"x": [], "y": [], "w": [], "h": []}, name="diagram-conv-blocks")
        fig = self.figure
        grey = LinearColorMapper(palette=list(Greys256[::-1]))
        self.input_renderer = plain(fig, Image(image="image", x="x", y="y", dw="dw", dh="dh", color_mapper=grey),
                                    self.input_source)  # fmt: skip
        self.block_renderer = plain(fig, Rect(x="x", y="y", width="w", height="h", fill_color="#cfd6da", line_color="#8a969c",
                                              fill_alpha=0.9), self.block_source)  # fmt: skip
        # under every connection and neuron
        fig.renderers = [self.input_renderer, self.block_renderer] + [
            r for r in fig.renderers if r not in (self.input_renderer, self.block_renderer)
        ]
        fig.add_tools(HoverTool(renderers=[self.input_renderer], tooltips="input pixel (@image{0.00} standardized)"))
        self._mlp_tips, self._conv_tips = {}, {}
        for tool in fig.tools:
            if isinstance(tool, HoverTool) and tool.renderers in ([self.renderers["edges"]], [self.renderers["redundant"]]):
                name = "edges" if tool.renderers[0] is self.renderers["edges"] else "redundant"
                self._mlp_tips[name] = (tool, tool.tooltips)
                self._conv_tips[name] = self._tooltip(self.sources[name], redundant=name == "redundant")
        self.is_conv = False
        self._maps_shown = True
        self.maps = FeatureMaps(on_example=on_example)
        self.param.watch(lambda e: self.maps.select(e.new), "selected")
        self.conv_note = pn.pane.HTML(legend_note(), sizing_mode="stretch_width", margin=(0, 12), visible=False)
        self._view.extend([self.conv_note, self.maps])

    def _tooltip(self, src, redundant: bool) -> Div:
        # a synchronous formatter: the tooltip clones its element right after filling it
        js = CustomJSHover(code=_TIP_JS, args={"src": src, "t": self._lookups.tables, "k": self.conv_source,
                                                "red": redundant})  # fmt: skip
        return Div(children=[ValueRef(field="layer", format="kernel", formatter=js)])

    # ------------------------------------------------------------------ hooks
    def _layout_of(self, snapshot) -> Layout:
        lay = super()._layout_of(snapshot)
        if "conv" not in snapshot.extra:
            return lay
        return conv_layout(snapshot, lay, self._frame[1], self._frame[0])

    def _tables(self, snapshot):
        t = super()._tables(snapshot)
        conv = snapshot.extra.get("conv")
        if conv is not None:
            for name in ("edges", "redundant"):
                d = t.data[name]
                if len(d["w"]):
                    live = live_of(conv["live"], d["layer"], d["source"], d["target"])
                    d["alpha"] = d["alpha"] * (LIVE_ALPHA_FLOOR + (1 - LIVE_ALPHA_FLOOR) * live)
        return t

    def update(self, snapshot) -> None:
        conv = snapshot.extra.get("conv")
        self._set_conv(conv is not None)
        super().update(snapshot)
        if conv is None:
            self.maps.update(None)
            return
        self._draw_input(conv)
        self._draw_blocks(snapshot, conv)
        self.conv_source.data = conv_lookup(snapshot, conv)
        self.note.text = self.note.text.replace("connections", "kernels and connections", 1)
        self.maps.update(snapshot)

    def _set_text(self, snap, note: str) -> None:
        """As for an MLP, but column names on two lines: a conv net has many narrow columns."""
        super()._set_text(snap, note)
        if "conv" not in snap.extra:
            return
        labels = []
        for k, name in enumerate(self.layout.layer_names):
            alive, cap = int(snap.alive[k].sum()), len(snap.alive[k])
            labels.append(f"{name}\n{alive}" + (f" of {cap}" if alive != cap else ""))
        _label(axes(self.figure)["columns"], [float(k) for k in range(len(labels))], labels)

    def show_maps(self, on: bool) -> None:
        """Show the feature-map strip and the conv note under the diagram (the projector layout
        shows its own maps beside the diagram, and no note)."""
        self._maps_shown = self.maps.enabled = on
        self.conv_note.visible = on and self.is_conv
        self.maps._view.visible = on and self.maps.snapshot is not None

    # ------------------------------------------------------------------ conv parts
    def _set_conv(self, on: bool) -> None:
        """Kernel tooltips on conv networks, the MLP ones otherwise (changed only on a switch)."""
        if on == self.is_conv:
            return
        self.is_conv = on
        self.conv_note.visible = on and self._maps_shown
        for name, (tool, tips) in self._mlp_tips.items():
            tool.tooltips = self._conv_tips[name] if on else tips
        if not on:
            self.input_source.data = {c: [] for c in _INPUT_COLUMNS}
            self.block_source.data = {"x": [], "y": [], "w": [], "h": []}
            self.conv_source.data = {c: [] for c in _CONV_COLUMNS}

    def _draw_input(self, conv: dict) -> None:
        img = np.asarray(conv["image"], np.float32)
        lay = self.layout
        n_weight_layers = lay.n_layers
        x, _, w, h = input_box(img.shape, n_weight_layers, self._frame[1], self._frame[0])
        y0 = float(np.mean(lay.ys[0])) - h / 2
        data = {"image": [img[::-1]], "x": [x], "y": [y0], "dw": [w], "dh": [h]}
        old = self.input_source.data
        if not (len(old["image"]) and np.array_equal(old["image"][0], data["image"][0]) and old["x"] == data["x"]):
            self.input_source.data = data

    def _draw_blocks(self, snap, conv: dict) -> None:
        """A bar behind each channel of the last conv layer: its block of flattened columns."""
        k = conv["n_conv"]
        lay = self.layout
        ys = lay.ys[k]
        gap = float(abs(ys[0] - ys[1])) if len(ys) > 1 else 0.1
        alive = np.asarray(snap.alive[k], bool)  # a dormant channel has no block yet
        n = int(alive.sum())
        data = {"x": np.full(n, float(k)), "y": ys[alive].astype(float), "w": np.full(n, 0.12),
                "h": np.full(n, 0.8 * gap)}  # fmt: skip
        old = self.block_source.data
        if len(old["y"]) != n or not np.array_equal(np.asarray(old["y"]), data["y"]):
            self.block_source.data = data


def live_of(live: tuple, layer, source, target) -> np.ndarray:
    """Live-tap fractions of edges ``(layer, source → target)``."""
    out = np.ones(len(layer), np.float64)
    for l in np.unique(layer):
        m = layer == l
        out[m] = live[int(l)][target[m], source[m]]
    return out


def conv_lookup(snap, conv: dict) -> dict:
    """The ``diagram-conv`` source: per weight layer its inputs, live fractions and (conv) taps."""
    n_layers = snap.n_layers
    empty = np.zeros(0, np.float32)
    return {
        "n_conv": [conv["n_conv"]] * n_layers,
        "k": [conv["kernel"][l] if l < conv["n_conv"] else 1 for l in range(n_layers)],
        "n_in": [int(snap.capacity[l]) for l in range(n_layers)],
        "taps": [conv["taps"][l].ravel() if l < conv["n_conv"] else empty for l in range(n_layers)],
        "mask": [conv["tap_mask"][l].ravel().astype(np.int8) if l < conv["n_conv"] else empty.astype(np.int8)
                 for l in range(n_layers)],
        "live": [np.asarray(conv["live"][l], np.float32).ravel() for l in range(n_layers)],
    }  # fmt: skip


def legend_note() -> str:
    """One line under the legend for conv networks (what an edge and a node are)."""
    return (
        f'<span style="color:{palette.MUTED}">conv layers: a node is a channel, an edge a kernel '
        "(width ∝ its norm, colour = sign of its tap sum, faint = few taps live); a grey bar is a "
        "channel's block of flattened columns</span>"
    )
