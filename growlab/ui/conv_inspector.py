"""``ConvInspector``: the inspector, plus a kernel's taps and a channel's feature map on conv nets.

For a selected **kernel** (an edge of a conv layer) it shows its k×k taps now (live taps by
value, pruned ones blank) and every tap over time (one row per tap, one column per traced
epoch, from the runner's weight trace); for a selected **channel** its feature map on the
chosen validation example (the input image for the input channel). Everything comes from the
snapshot's ``extra["conv"]`` and the runner's plain-data queries; on an MLP it is exactly
:class:`~growlab.ui.inspector.Inspector`.

Bokeh source names for tests: ``inspector-kernel``, ``inspector-taps``, ``inspector-map``.
"""

from __future__ import annotations

import numpy as np
import panel as pn
from bokeh.models import ColumnDataSource, LinearColorMapper
from bokeh.plotting import figure

from growlab.view import palette
from growlab.ui.conv_diagram import conv_layer_names
from growlab.view.diagram_layout import neuron_name
from growlab.ui.inspector import Inspector, _valid
from growlab.ui.text import html

_IMAGE = ("image", "x", "y", "dw", "dh")


def _empty() -> dict:
    return {c: [] for c in _IMAGE}


def _image(a: np.ndarray, x0: float = 0.0, dw: float | None = None) -> dict:
    a = np.asarray(a, np.float32)
    return {"image": [a[::-1]], "x": [x0], "y": [0.0], "dw": [float(a.shape[1] if dw is None else dw)],
            "dh": [float(a.shape[0])]}  # fmt: skip


def kernel_image(taps: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A kernel's taps with pruned taps as NaN (drawn blank)."""
    return np.where(np.asarray(mask, bool), np.asarray(taps, np.float32), np.nan)


class ConvInspector(Inspector):
    """:class:`Inspector` with kernel taps (now and over time) and channel feature maps."""

    def __init__(self, runner=None, diagram=None, **params):
        self.kernel = ColumnDataSource(_empty(), name="inspector-kernel")
        self.taps = ColumnDataSource(_empty(), name="inspector-taps")
        self.fmap = ColumnDataSource(_empty(), name="inspector-map")
        self.signed = LinearColorMapper(palette=_signed_palette(), low=-1, high=1, nan_color="#eeeeee")
        self.greys = LinearColorMapper(palette="Greys256", low=0, high=1)
        self.conv_title = pn.pane.HTML("", sizing_mode="stretch_width", margin=(2, 10))
        # the figures are built when a kernel or a channel is first selected (:meth:`_build_conv`)
        self.kernel_fig = self.taps_fig = self.map_fig = None
        self.kernel_pane = pn.Row(sizing_mode="stretch_width", visible=False)
        self.map_pane = pn.Row(visible=False)
        self.conv_view = pn.Column(self.conv_title, self.kernel_pane, self.map_pane, sizing_mode="stretch_width",
                                   visible=False)  # fmt: skip
        super().__init__(runner=runner, diagram=diagram, **params)
        self._view.insert(1, self.conv_view)

    def _build_conv(self, kernel: bool, fmap: bool) -> None:
        """The kernel's figures (taps now, taps over time) or the feature map's, once each."""
        if kernel and self.kernel_fig is None:
            self.kernel_fig = self._fig("taps now", 190, self.kernel, self.signed)
            self.taps_fig = self._fig("taps over time (a row per tap)", 190, self.taps, self.signed, stretch=True)
            self.taps_fig.xaxis.visible = True
            self.taps_fig.xaxis.axis_label = "epoch"
            self.kernel_pane.objects = [pn.pane.Bokeh(self.kernel_fig),
                                        pn.pane.Bokeh(self.taps_fig, sizing_mode="stretch_width")]  # fmt: skip
        if fmap and self.map_fig is None:
            self.map_fig = self._fig("feature map on the example", 210, self.fmap, self.greys)
            self.map_pane.objects = [pn.pane.Bokeh(self.map_fig)]

    @staticmethod
    def _fig(title: str, height: int, source, mapper, stretch: bool = False):
        kw = {"sizing_mode": "stretch_width"} if stretch else {"width": height}
        fig = figure(height=height, title=title, toolbar_location=None, tools="hover", match_aspect=not stretch,
                     tooltips=[("value", "@image{+0.000}")], **kw)  # fmt: skip
        fig.axis.visible = False
        fig.grid.visible = False
        fig.title.text_font_size = "11pt"
        fig.image(image="image", x="x", y="y", dw="dw", dh="dh", source=source, color_mapper=mapper)
        return fig

    def _refresh(self) -> None:
        super()._refresh()
        if hasattr(self, "conv_view"):  # the base constructor refreshes before ours has finished
            self._conv_refresh()
            snap = self.snapshot
            if snap is not None and "conv" in snap.extra and _valid(snap, self.selected):
                self.header.object = conv_header(snap, self.selected)

    def _conv_refresh(self) -> None:
        snap, sel = self.snapshot, self.selected
        conv = None if snap is None else snap.extra.get("conv")
        kernel = fmap = None
        if conv is not None and sel:
            try:
                if sel["kind"] == "edge" and sel["layer"] < conv["n_conv"]:
                    kernel = sel
                elif sel["kind"] == "neuron" and sel["layer"] <= conv["n_conv"]:
                    fmap = sel
            except (KeyError, TypeError):
                pass
        self._build_conv(kernel is not None, fmap is not None)
        self.conv_view.visible = kernel is not None or fmap is not None
        self.kernel_pane.visible, self.map_pane.visible = kernel is not None, fmap is not None
        names = conv_layer_names(conv["n_conv"] + 1, len(snap.capacity)) if conv is not None else ()
        if kernel is not None:
            self._draw_kernel(conv, kernel, names)
        if fmap is not None:
            self._draw_map(conv, fmap, names)

    def _draw_kernel(self, conv, sel, names) -> None:
        l, s, t = sel["layer"], sel["source"], sel["target"]
        try:
            taps, mask = conv["taps"][l][t, s], conv["tap_mask"][l][t, s]
        except IndexError:
            return
        k = taps.shape[-1]
        top = float(np.abs(taps).max()) or 1.0
        history = self._tap_history(l, s, t)
        if history is not None and history.size:
            top = max(top, float(np.abs(history).max()))
        self.signed.update(low=-top, high=top)
        self.kernel.data = _image(kernel_image(taps, mask))
        if history is not None and history.size:
            epochs = self._epochs
            x0, x1 = float(epochs[0]) - 0.5, float(epochs[-1]) + 0.5
            self.taps.data = _image(history.T, x0=x0, dw=max(x1 - x0, 1.0))
        else:
            self.taps.data = _empty()
        live = int(np.asarray(mask, bool).sum())
        src = "image" if l == 0 else f"c{l} #{s}"
        self.conv_title.object = (
            f'<div style="font-size:14px"><b>kernel {src} → c{l + 1} #{t}</b> · {names[l]} → {names[l + 1]} · '
            f'{k}×{k}, {live} of {k * k} taps live <span style="color:{palette.MUTED}">(blue +, orange −, '
            "grey = pruned)</span></div>"
        )

    _epochs = np.zeros(0)

    def _tap_history(self, l, s, t) -> np.ndarray | None:
        """``(epochs, taps)`` from the runner's weight trace, or None without one."""
        if self.runner is None:
            return None
        frame = self.runner.weight_history(l, s, t)
        if "taps" not in frame or not len(frame):
            return None
        self._epochs = frame["epoch"].to_numpy(float)
        return np.stack([np.asarray(v, np.float32) for v in frame["taps"]])

    def _draw_map(self, conv, sel, names) -> None:
        k, u = sel["layer"], sel["unit"]
        if k == 0:
            img, what = conv["image"], "the input image"
        else:
            maps = conv["features"][k - 1]
            if not 0 <= u < len(maps):
                return
            img, what = maps[u], f"channel c{k} #{u}"
        img = np.asarray(img, np.float32)
        self.greys.update(low=min(0.0, float(img.min())), high=max(float(img.max()), 1e-6))
        self.fmap.data = _image(img)
        h, w = img.shape
        self.conv_title.object = (
            f'<div style="font-size:14px"><b>{what}</b> · {names[k]} · {h}×{w} map on validation example '
            f"#{conv['example']}</div>"
        )


def conv_header(snap, sel) -> str:
    """The inspector's first lines for a conv network: channel and column names, the state now."""
    conv = snap.extra["conv"]
    cols = conv_layer_names(conv["n_conv"] + 1, len(snap.capacity))
    if sel["kind"] == "edge":
        l, s, t = sel["layer"], sel["source"], sel["target"]
        what = "kernel" if l < conv["n_conv"] else ("block of flattened columns" if l == conv["n_conv"] else "weight")
        state = (f"{what} · {'norm' if l <= conv['n_conv'] else 'weight'} <b>{snap.weights[l][t, s]:+.3f}</b> · "
                 f"born in epoch {int(snap.birth_epoch[l][t, s])}" if snap.masks[l][t, s]
                 else f"{what} not active now (dormant or pruned)")  # fmt: skip
        title = f"{html(neuron_name(snap, l, s))} → {html(neuron_name(snap, l + 1, t))}"
        where = f"{cols[l]} → {cols[l + 1]}"
    else:
        k, u = sel["layer"], sel["unit"]
        fan_in = int(snap.masks[k - 1][u].sum()) if k > 0 else 0
        fan_out = int(snap.masks[k][:, u].sum()) if k < snap.n_layers else 0
        unit = "channel" if k <= conv["n_conv"] else "neuron"
        bias = f" · bias {snap.biases[k - 1][u]:+.3f}" if k > 0 else ""
        state = f"{unit} · {'alive' if snap.alive[k][u] else 'dormant'} · {fan_in} in · {fan_out} out{bias}"
        title, where = html(neuron_name(snap, k, u)), cols[k]
    return f'<div style="font-size:15px"><b>{title}</b> <span style="color:#666">· {where}</span><br>{state}</div>'


def _signed_palette(n: int = 101) -> list[str]:
    """Orange (negative) → white → blue (positive), the diagram's sign colours."""
    return palette.diverging(n)
