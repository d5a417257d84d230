"""Where each neuron of the network diagram sits, what it is called and how big it is drawn.

Pure numpy (no Bokeh), so it is cheap to test. Neuron layer ``k`` is column ``x = k``; a
column spans the full height ``y ∈ [0, 1]`` once it has ``FULL_SPAN_AT`` neurons or more, so
neuron ``i`` of one layer is level with ``β = i·(n_{l+1} − 1)/(n_l − 1)`` of the next (the
point strategic growth aims at, DESIGN §4); smaller columns are compact and centred.
Index 0 is at the top. Image inputs are a 28×28 map left of the first hidden column.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: A column with at least this many neurons spans the full height.
FULL_SPAN_AT = 11
#: Marker diameters in screen pixels: the largest (few neurons) and the smallest (hundreds).
MAX_NEURON_PX, MIN_NEURON_PX = 22.0, 3.0
#: Gap in x (data units) between the image map and the first hidden column.
MAP_GAP = 0.06
#: The y range shown: a little room above and below the columns for the markers.
Y_RANGE = (-0.07, 1.07)


@dataclass(frozen=True, eq=False)
class Layout:
    """Positions ``xs[k]``, ``ys[k]`` ``(cap[k],)`` and names of every neuron, per neuron layer."""

    xs: tuple[np.ndarray, ...]
    ys: tuple[np.ndarray, ...]
    names: tuple[np.ndarray, ...]  # object arrays of str
    marker_px: tuple[float, ...]
    layer_names: tuple[str, ...]  # "input", "hidden 1", ..., "output"
    image_shape: tuple[int, int] | None
    map_box: tuple[float, float, float, float] | None  # x, y, width, height of the image map
    x_range: tuple[float, float]
    key: tuple

    @property
    def n_layers(self) -> int:
        """Weight layers."""
        return len(self.xs) - 1

    def connection_name(self, layer: int) -> str:
        """``"input → hidden 1"`` for weight layer ``layer``."""
        return f"{self.layer_names[layer]} → {self.layer_names[layer + 1]}"


def layout_key(snap) -> tuple:
    """What the layout depends on; a new layout is built only when this changes."""
    return (snap.capacity, snap.image_shape, snap.feature_names, snap.class_names, snap.task)


def layer_names(n_neuron_layers: int) -> tuple[str, ...]:
    """Column names: input, hidden 1.., output."""
    return ("input", *(f"hidden {k}" for k in range(1, n_neuron_layers - 1)), "output")


def output_names(snap) -> list[str]:
    """Output neuron labels: the class names, ``P(class)`` for a binary logit."""
    n_out = snap.capacity[-1]
    if snap.task == "binary" and n_out == 1:
        name = snap.class_names[-1] if snap.class_names else "1"
        return [f"P(class {name})" if name.isdigit() else f"P({name})"]  # "P(1)" reads like a formula
    if snap.task == "regression":
        return ["prediction"] if n_out == 1 else [f"output {u}" for u in range(n_out)]
    names = list(snap.class_names)
    return names + [f"output {u}" for u in range(len(names), n_out)]


def column_ys(n: int) -> np.ndarray:
    """Heights of ``n`` neurons: full span from ``FULL_SPAN_AT`` on, else compact and centred."""
    if n == 1:
        return np.array([0.5])
    span = min(1.0, (n - 1) / (FULL_SPAN_AT - 1))
    return 0.5 + span / 2 - np.arange(n) * (span / (n - 1))


def marker_px(n: int, frame_height: float) -> float:
    """A neuron's diameter: 70% of the spacing between neighbours, within sensible bounds."""
    ys = column_ys(n)
    spacing = frame_height * (ys[0] - ys[1]) / (Y_RANGE[1] - Y_RANGE[0]) if n > 1 else frame_height
    return float(np.clip(0.7 * spacing, MIN_NEURON_PX, MAX_NEURON_PX))


def layout_of(snap, frame_height: float = 470.0, frame_width: float = 860.0) -> Layout:
    """The diagram layout for a snapshot's architecture.

    Args:
        snap: a :class:`~growlab.run.snapshot.Snapshot` (only shapes and names are read).
        frame_height, frame_width: the expected plot area in pixels; they size the neurons
            and keep the image map close to square (the figure itself may stretch).
    """
    caps = snap.capacity
    n_cols = len(caps)
    names = layer_names(n_cols)
    xs, ys, labels, px = [], [], [], []
    for k, n in enumerate(caps):
        xs.append(np.full(n, float(k)))
        ys.append(column_ys(n))
        px.append(marker_px(n, frame_height))
        if k == 0:
            feats = list(snap.feature_names) + [f"x{i}" for i in range(len(snap.feature_names), n)]
            labels.append(np.array(feats[:n], dtype=object))
        elif k == n_cols - 1:
            labels.append(np.array(output_names(snap), dtype=object))
        else:
            labels.append(np.array([f"h{k} #{u}" for u in range(n)], dtype=object))
    x_range = (-0.12, n_cols - 1 + 0.12)
    box = None
    if snap.image_shape is not None and int(np.prod(snap.image_shape)) == caps[0]:
        box = _image_map(snap.image_shape, n_cols - 1, frame_height, frame_width)
        xs[0], ys[0], labels[0] = _pixel_positions(snap.image_shape, box)
        px[0] = 0.0
        x_range = (box[0] - 0.08, x_range[1])
    return Layout(
        tuple(xs), tuple(ys), tuple(labels), tuple(px), names,
        snap.image_shape if box else None, box, x_range, layout_key(snap),
    )  # fmt: skip


def _image_map(shape, n_weight_layers, frame_height, frame_width) -> tuple[float, float, float, float]:
    """The map's box ``(x, y, w, h)`` in data units, sized to look square at the nominal frame."""
    side_px = min(0.7 * frame_height, 0.3 * frame_width)
    h = side_px * (Y_RANGE[1] - Y_RANGE[0]) / frame_height
    rest = n_weight_layers + 0.12 + MAP_GAP + 0.08  # x data units besides the map
    w = side_px * rest / max(frame_width - side_px, 1.0) * shape[1] / shape[0]
    return (-MAP_GAP - w, 0.5 - h / 2, w, h)


def _pixel_positions(shape, box):
    """Centres and names of the image's pixels inside the map box (row-major, row 0 on top)."""
    rows, cols = shape
    x0, y0, w, h = box
    r, c = np.divmod(np.arange(rows * cols), cols)
    xs = x0 + (c + 0.5) * w / cols
    ys = y0 + h - (r + 0.5) * h / rows
    names = np.array([f"pixel ({i}, {j})" for i, j in zip(r, c)], dtype=object)
    return xs, ys, names


def neuron_name(snap, k: int, u: int) -> str:
    """The diagram's name for unit ``u`` of neuron layer ``k`` (a feature, ``h1 #3``, a class)."""
    last = len(snap.capacity) - 1
    conv = (getattr(snap, "extra", None) or {}).get("conv")
    if conv is not None and 1 <= k <= conv["n_conv"]:  # a conv network's channel (see conv_diagram)
        return f"c{k} #{u}"
    if k == 0:
        if snap.image_shape is not None:
            return f"pixel ({u // snap.image_shape[1]}, {u % snap.image_shape[1]})"
        return snap.feature_names[u] if u < len(snap.feature_names) else f"x{u}"
    if k == last:
        names = output_names(snap)
        return names[u] if u < len(names) else f"output {u}"
    return f"h{k} #{u}"
