"""Record a run's life as an animation: the network diagram at every (k-th) epoch.

``growlab record RUN.growlab --out life.gif``, ``run.record("life.gif")`` or
``record(run, path)``. Frames are drawn with matplotlib (no browser), from the run's
timeline (:meth:`growlab.Run.at`), and written as a GIF with Pillow or, with the optional
``mp4`` extra (``pip install "growlab[mp4]"``, which brings ``imageio-ffmpeg`` and its
ffmpeg), as an H.264 MP4.

A frame is 1024×576 (16:9, readable on a projector): a title, the epoch counter, the diagram
(columns of neurons as in the app, dormant capacity faint), a legend, the connection count,
and a strip with validation accuracy (or loss) and density, with a cursor at the frame's
epoch. Connections that the latest structural change grew are drawn green and thick, those
it pruned as red dotted ghosts; they stay until the next change. By default connections are
drawn by structure alone (one colour, one width), so the diagram changes exactly where the
structure changes and a GIF stays small (a 200-epoch ``strategic+prune`` run on ``heart``,
whose structure changes in 37 of its epochs: 1.9 MB at every epoch, 0.5 MB at every 5th);
``weights=True`` draws widths ∝ |w| and the weight's sign in colour as in the app (weights
between checkpoints are the last checkpoint's, see :mod:`growlab.run.timeline`).

Large networks draw at most ``edge_budget`` connections: a fixed pseudo-random sample of
every layer's connections (the same connection is in or out in every frame, so the sample
does not flicker), plus the connections of the latest change (a fixed sample of a quarter of the
budget when the change is larger, never none); the frame says so.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

#: Frame size in pixels (16:9; both sides a multiple of 16 for video encoders).
FRAME_PX = (1024, 576)
DPI = 100
#: Where the diagram sits in the frame, as figure fractions (left, bottom, width, height).
DIAGRAM_BOX = (0.02, 0.25, 0.72, 0.62)
#: The most connections a frame draws.
EDGE_BUDGET = 4000
FORMATS = (".gif", ".mp4")
ACTIVE = "#7d8790"  # a connection, drawn by structure alone


def frame_epochs(first: int, last: int, every: int) -> list[int]:
    """The epochs a recording draws: ``first``, every ``every``-th after it, and always ``last``."""
    out = list(range(first, last + 1, every))
    if out[-1] != last:
        out.append(last)
    return out


def diagram_pixels(frame: np.ndarray) -> np.ndarray:
    """The diagram's part of a decoded frame ``(H, W, ...)`` (what changes with the structure)."""
    h, w = frame.shape[:2]
    x0, y0, bw, bh = DIAGRAM_BOX
    top, bottom = int(round((1 - y0 - bh) * h)), int(round((1 - y0) * h))
    return frame[top:bottom, int(round(x0 * w)) : int(round((x0 + bw) * w))]


def record(
    run,
    path,
    every: int = 1,
    weights: bool = False,
    fps: float = 10.0,
    hold: float = 2.0,
    edge_budget: int = EDGE_BUDGET,
    title: str | None = None,
    progress: bool = True,
    on_frame=None,
) -> Path:
    """Draw ``run``'s network at every ``every``-th recorded epoch into ``path`` (.gif or .mp4).

    Args:
        run: a :class:`growlab.Run` (trained, or loaded from an archive).
        path: the file to write; its suffix picks the format.
        every: draw every k-th epoch (the first and the last are always drawn).
        weights: draw widths ∝ |w| and colour by sign (else by structure alone, see above).
        fps: frames per second; the last frame is held ``hold`` seconds more.
        edge_budget: the most connections one frame draws.
        title: the frame's title (default: method, dataset, architecture and seed).
        progress: show a tqdm progress bar.
        on_frame: called as ``on_frame(done, total)`` after each frame is drawn (e.g. a progress
            indicator in the app; from the thread that records).

    Returns:
        The path written. ``ValueError`` (and nothing written) for a bad suffix, ``every`` or
        ``fps``, or a run with nothing recorded; ``ImportError`` saying what to install for MP4.
    """
    path = Path(os.fspath(path))
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"cannot record to {path.name!r}: the file must end in {' or '.join(FORMATS)}")
    if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every < 1:
        raise ValueError(f"every must be a whole number of epochs ≥ 1, got {every!r}")
    if not isinstance(fps, (int, float)) or isinstance(fps, bool) or not 0.1 <= fps <= 60:
        raise ValueError(f"fps must be between 0.1 and 60, got {fps!r}")
    if not isinstance(edge_budget, (int, np.integer)) or edge_budget < 1:
        raise ValueError(f"edge_budget must be a whole number ≥ 1, got {edge_budget!r}")
    if suffix == ".mp4":
        try:
            import imageio_ffmpeg  # noqa: F401
        except ImportError:
            raise ImportError('recording MP4 needs the mp4 extra: pip install "growlab[mp4]" (or write a .gif)') from None
    epochs = run.timeline.epochs
    if not epochs:
        raise ValueError("this run has no timeline to record")
    todo = frame_epochs(epochs[0], epochs[-1], int(every))
    if not path.parent.exists():
        raise ValueError(f"cannot record to {path}: the folder {path.parent} does not exist")
    painter = _Painter(run, todo, weights=weights, edge_budget=int(edge_budget), title=title)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), desc=f"recording {path.name}", unit="frame")
    try:
        frames = []
        for epoch in todo:
            frames.append(painter.frame(epoch))
            if bar is not None:
                bar.update(1)
            if on_frame is not None:
                on_frame(len(frames), len(todo))
    finally:
        if bar is not None:
            bar.close()
        painter.close()
    tmp = path.with_name(f".{path.name}.part")
    try:
        (_write_gif if suffix == ".gif" else _write_mp4)(frames, tmp, fps, hold)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _write_gif(frames: list[np.ndarray], path: Path, fps: float, hold: float) -> None:
    from PIL import Image

    # one fixed palette for every frame: a pixel that does not change keeps its colour index
    palette = _palette()
    images = [Image.fromarray(f).quantize(palette=palette, dither=Image.Dither.NONE) for f in frames]
    ms = int(round(1000 / fps))
    durations = [ms] * len(images)
    durations[-1] = ms + int(round(1000 * hold))
    images[0].save(path, format="GIF", save_all=True, append_images=images[1:], duration=durations, loop=0,
                   optimize=False, disposal=1)  # fmt: skip


def _palette():
    """A GIF palette of the frame's colours, each blended towards white (antialiased edges), and greys."""
    from PIL import Image
    from matplotlib.colors import to_rgb

    from growlab.view import palette as pal

    keys = [pal.INK, pal.MUTED, ACTIVE, pal.POSITIVE, pal.NEGATIVE, pal.GROWN, pal.PRUNED, pal.NEURON, pal.DORMANT]
    colors = [np.array(to_rgb(c)) for c in keys]
    rgb = [c * t + (1 - t) for c in colors for t in np.linspace(0.08, 1, 20)]
    rgb += [np.full(3, g) for g in np.linspace(0, 1, 255 - len(rgb))]
    flat = (np.clip(np.array(rgb), 0, 1) * 255).round().astype(np.uint8).reshape(-1)
    img = Image.new("P", (1, 1))
    img.putpalette(list(flat) + [255, 255, 255] * (256 - len(rgb)))
    return img


def _write_mp4(frames: list[np.ndarray], path: Path, fps: float, hold: float) -> None:
    import imageio_ffmpeg

    h, w = frames[0].shape[:2]
    writer = imageio_ffmpeg.write_frames(str(path), (w, h), fps=fps, codec="libx264", macro_block_size=16,
                                         output_params=["-f", "mp4"])  # fmt: skip
    writer.send(None)
    try:
        for f in frames + [frames[-1]] * int(round(hold * fps)):
            writer.send(np.ascontiguousarray(f))
    finally:
        writer.close()


def graph_of(view) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """A :class:`~growlab.run.timeline.NetworkAt` as the graph the diagram draws: per layer an
    ``(out, in)`` bool adjacency and the mean |w| over its taps (conv kernels, flattened maps)."""
    adj, strength = [], []
    for l, (m, w) in enumerate(zip(view.masks, view.weights)):
        n_in = view.capacity[l]
        if m.ndim == 4 or m.shape[1] != n_in:  # a conv kernel's taps, or the flatten's map columns
            mm = m.reshape(m.shape[0], n_in, -1)
            ww = np.abs(w.reshape(m.shape[0], n_in, -1)) * mm
            a = mm.any(axis=2)
            s = ww.sum(axis=2) / np.maximum(mm.sum(axis=2), 1)
            sign = np.sign((w.reshape(m.shape[0], n_in, -1) * mm).sum(axis=2))
            adj.append(a)
            strength.append(s * np.where(sign < 0, -1.0, 1.0))
        else:
            adj.append(m.astype(bool))
            strength.append(np.where(m, w, 0.0))
    return adj, strength


def _keep(shape: tuple[int, int], layer: int, fraction: float) -> np.ndarray:
    """A fixed pseudo-random ``fraction`` of a layer's connections (the same for every frame)."""
    if fraction >= 1:
        return np.ones(shape, bool)
    idx = np.arange(shape[0] * shape[1], dtype=np.uint64) + np.uint64(layer) * np.uint64(1_000_003)
    h = (idx * np.uint64(2654435761)) % np.uint64(2**32)
    return (h < np.uint64(int(fraction * 2**32))).reshape(shape)


def _thin(masks: list[np.ndarray], budget: int) -> list[np.ndarray]:
    """At most about ``budget`` of a change's connections (a fixed sample, never none of them)."""
    n = int(sum(int(m.sum()) for m in masks))
    if n <= budget:
        return masks
    out = [m & _keep(m.shape, l, budget / n) for l, m in enumerate(masks)]
    if not any(o.any() for o in out):  # the frame must still show that something changed
        l = next(l for l, m in enumerate(masks) if m.any())
        first = np.zeros_like(masks[l])
        first.reshape(-1)[np.flatnonzero(masks[l])[0]] = True
        out[l] = first
    return out


class _Painter:
    """Draws frames of one run on one matplotlib figure (static parts once)."""

    def __init__(self, run, epochs: list[int], weights: bool, edge_budget: int, title: str | None):
        import matplotlib

        matplotlib.use("Agg", force=False)
        from matplotlib.figure import Figure
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        from growlab.config import format_arch
        from growlab.view import palette
        from growlab.view.diagram_layout import column_ys, layer_names, output_names

        self.run, self.weights, self.pal = run, weights, palette
        self._column_ys, self._layer_names, self._output_names = column_ys, layer_names, output_names
        cfg = run.config
        self.title = title if title is not None else f"{cfg.method} on {cfg.dataset} · {format_arch(cfg.arch)} · seed {cfg.seed}"
        self.history = run.history
        # structure of every frame (cheap) to size the edge sample and find the changes
        self.graphs: dict[int, tuple] = {}
        self.taps: dict[int, tuple[int, int]] = {}  # conv: epoch → (active weights, all weights)
        most = 1
        for e in epochs:
            view = run.at(e)
            adj, _ = graph_of(view)
            self.graphs[e] = (view.capacity, [a.copy() for a in adj], [a.copy() for a in view.alive])
            if any(m.shape != a.shape for m, a in zip(view.masks, adj)):  # conv: the taps are the weights
                self.taps[e] = (int(sum(int(m.sum()) for m in view.masks)), int(sum(m.size for m in view.masks)))
            most = max(most, int(sum(int(a.sum()) for a in adj)))
        self.fraction = min(1.0, edge_budget / most)
        self.overlay_budget = max(1, edge_budget // 4)
        self.change: dict[int, tuple[int | None, list, list]] = {}  # epoch → (changed at, grown, pruned)
        last: tuple[int | None, list, list] = (None, [], [])
        prev = None
        for e in epochs:
            cap, adj, alive = self.graphs[e]
            if prev is not None and prev[0] == cap:
                grown = [a & ~b for a, b in zip(adj, prev[1])]
                pruned = [b & ~a for a, b in zip(adj, prev[1])]
                if any(g.any() for g in grown) or any(p.any() for p in pruned) or any(
                    not np.array_equal(a, b) for a, b in zip(alive, prev[2])
                ):
                    last = (e, grown, pruned)
            elif prev is not None:  # a layer was removed: a new layout, nothing to overlay
                last = (e, [], [])
            self.change[e] = last
            prev = (cap, adj, alive)
        w, h = FRAME_PX
        self.fig = Figure(figsize=(w / DPI, h / DPI), dpi=DPI, facecolor="white")
        self.canvas = FigureCanvasAgg(self.fig)
        self._static()

    def close(self) -> None:
        self.fig.clear()

    # ------------------------------------------------------------------ layout
    def _text(self, ax, x, y, s, **kw):
        return ax.text(x, y, s, parse_math=False, **kw)  # user text (CSV columns) is never mathtext

    def _static(self) -> None:
        fig, pal, run = self.fig, self.pal, self.run
        fig.text(0.02, 0.95, self.title, fontsize=17, weight="bold", color=pal.INK, va="center", parse_math=False)
        # the counter sits level with the curve strip, so what changes every frame stays in one band
        self.counter = fig.text(0.98, 0.135, "", fontsize=22, weight="bold", color=pal.INK, ha="right", va="center",
                                animated=True)  # fmt: skip
        self.ax = fig.add_axes(DIAGRAM_BOX)
        self.ax.set_axis_off()
        # legend and figures on the right
        side = fig.add_axes((0.76, 0.25, 0.22, 0.62))
        side.set_axis_off()
        side.set_xlim(0, 1)
        side.set_ylim(0, 1)
        rows = (
            [("line", pal.POSITIVE, 2.5, "-", "positive weight"), ("line", pal.NEGATIVE, 2.5, "-", "negative weight")]
            if self.weights
            else [("line", ACTIVE, 1.5, "-", "connection")]
        ) + [
            ("line", pal.GROWN, 3.5, "-", "grown (latest change)"),
            ("line", pal.PRUNED, 1.5, ":", "pruned (latest change)"),
            ("dot", pal.NEURON, 0, "", "neuron"),
            ("dot", pal.DORMANT, 0, "", "dormant capacity"),
        ]
        y = 0.97
        for kind, color, lw, ls, label in rows:
            if kind == "line":
                side.plot([0.02, 0.16], [y, y], color=color, lw=lw, ls=ls, solid_capstyle="butt")
            else:
                side.scatter([0.09], [y], s=60, color=color, edgecolors="white", zorder=3)
            self._text(side, 0.22, y, label, fontsize=11.5, color=pal.INK, va="center")
            y -= 0.085
        self.stats = self._text(side, 0.02, y - 0.02, "", fontsize=11.5, color=pal.INK, va="top", linespacing=1.5)
        # the curves strip
        self.curve = fig.add_axes((0.07, 0.07, 0.62, 0.13))
        h = self.history
        x = h["epoch"].to_numpy() if len(h) else np.array([])
        metric = "val_acc" if "val_acc" in h else "val_loss"
        label = "validation accuracy" if metric == "val_acc" else "validation loss"
        if len(h):
            self.curve.plot(x, h[metric], color=pal.POSITIVE, lw=1.8, label=label)
            self.curve.plot(x, h["density"], color=pal.GROWN, lw=1.8, label="density")
        self.curve.set_xlim(0, max(run.epochs, 1))
        if metric == "val_acc":
            self.curve.set_ylim(0, 1.02)
        self.curve.tick_params(labelsize=9)
        self.curve.set_xlabel("epoch", fontsize=10, labelpad=1)
        for s in ("top", "right"):
            self.curve.spines[s].set_visible(False)
        self.curve.legend(loc="lower left", bbox_to_anchor=(0.0, 0.98), ncol=2, fontsize=10.5, frameon=False,
                          borderaxespad=0.1)  # fmt: skip
        self.cursor = self.curve.axvline(0, color=pal.INK, lw=1.2, animated=True)
        self.stats.set_animated(True)
        self._layout_key = None
        self._background = None

    def _layout(self, capacity) -> None:
        """Neuron positions and the static column drawing for ``capacity`` (rebuilt when it changes)."""
        if capacity == self._layout_key:
            return
        self._layout_key = capacity
        ax, pal = self.ax, self.pal
        ax.clear()
        ax.set_axis_off()
        n_cols = len(capacity)
        ax.set_xlim(-0.55 if capacity[0] <= 40 else -0.15, n_cols - 1 + 0.45)
        ax.set_ylim(-0.1, 1.06)
        self.ys = [self._column_ys(n) for n in capacity]
        names = list(self._layer_names(n_cols))
        conv = getattr(self.run.network, "n_conv", 0)
        for k in range(1, min(conv, n_cols - 2) + 1):  # a conv layer's nodes are its channels
            names[k] = f"conv {k} (channels)"
        for k, n in enumerate(capacity):
            self._text(ax, k, -0.08, names[k] if k else "input", ha="center", va="center", fontsize=11, color=pal.MUTED)
        data = self.run.data
        if capacity[0] <= 40 and not conv:
            feats = list(data.feature_names)
            for i, y in enumerate(self.ys[0]):
                label = feats[i] if i < len(feats) else f"x{i}"
                self._text(ax, -0.04, y, label[:18], ha="right", va="center", fontsize=7 if capacity[0] > 16 else 9,
                           color=pal.INK)  # fmt: skip
        snap = type("S", (), {"capacity": capacity, "task": data.task, "class_names": tuple(data.class_names)})
        outs = self._output_names(snap)
        if capacity[-1] <= 20:
            for u, y in enumerate(self.ys[-1]):
                self._text(ax, n_cols - 1 + 0.05, y, str(outs[u])[:14], ha="left", va="center", fontsize=9, color=pal.INK)
        self.sizes = [max(4.0, min(140.0, 1800.0 / max(n, 1))) for n in capacity]
        from matplotlib.collections import LineCollection

        self.lines = LineCollection([], zorder=1)
        thin = self.fraction < 1  # a sampled, crowded diagram: thinner overlays
        self.ghosts = LineCollection([], zorder=1, linestyles=":", colors=pal.PRUNED, linewidths=0.7 if thin else 1.4)
        self.halos = LineCollection([], zorder=2, colors=pal.GROWN, linewidths=1.6 if thin else 3.2)
        for c in (self.lines, self.ghosts, self.halos):
            ax.add_collection(c)
        self.dots = [ax.scatter(np.full(n, k), self.ys[k], s=self.sizes[k], zorder=3, edgecolors="white", linewidths=0.6)
                     for k, n in enumerate(capacity)]  # fmt: skip
        # what changes between frames is drawn over a background rendered once per layout
        for a in (self.lines, self.ghosts, self.halos, *self.dots):
            a.set_animated(True)
        self._background = None

    def _segments(self, layer: int, mask: np.ndarray) -> np.ndarray:
        t, s = np.nonzero(mask)
        ys0, ys1 = self.ys[layer], self.ys[layer + 1]
        return np.stack([np.stack([np.full(len(s), layer), ys0[s]], 1), np.stack([np.full(len(t), layer + 1), ys1[t]], 1)], 1)

    # ------------------------------------------------------------------ one frame
    def frame(self, epoch: int) -> np.ndarray:
        pal = self.pal
        capacity, adj, alive = self.graphs[epoch]
        self._layout(capacity)
        at, grown, pruned = self.change[epoch]
        n_grown, n_pruned = (int(sum(int(x.sum()) for x in part)) for part in (grown, pruned))
        grown, pruned = _thin(grown, self.overlay_budget), _thin(pruned, self.overlay_budget)
        keep = [_keep(a.shape, l, self.fraction) for l, a in enumerate(adj)]
        segs, colors, widths = [], [], []
        view = self.run.at(epoch) if self.weights else None
        strength = graph_of(view)[1] if view is not None else None
        for l, a in enumerate(adj):
            shown = a & keep[l]
            if grown:
                shown = shown & ~grown[l]
            if not shown.any():
                continue
            segs.append(self._segments(l, shown))
            if strength is None:
                colors.append(np.tile(np.array([_rgba(ACTIVE)]), (int(shown.sum()), 1)))
                widths.append(np.full(int(shown.sum()), 1.0 if self.fraction >= 1 else 0.6))
            else:
                s = strength[l][shown]
                scale = max(float(np.abs(strength[l][a]).max()) if a.any() else 1.0, 1e-12)
                colors.append(np.where((s >= 0)[:, None], _rgba(pal.POSITIVE), _rgba(pal.NEGATIVE)))
                widths.append(0.4 + 3.2 * np.abs(s) / scale)
        self.lines.set_segments(np.concatenate(segs) if segs else [])
        if segs:
            self.lines.set_color(np.concatenate(colors))
            self.lines.set_linewidths(np.concatenate(widths))
        self.halos.set_segments(np.concatenate([self._segments(l, g) for l, g in enumerate(grown)]) if grown else [])
        self.ghosts.set_segments(np.concatenate([self._segments(l, p) for l, p in enumerate(pruned)]) if pruned else [])
        for k, d in enumerate(self.dots):
            d.set_color(np.where(alive[k][:, None], _rgba(pal.NEURON), _rgba(pal.DORMANT)))
            d.set_edgecolor("white")
        n = int(sum(int(a.sum()) for a in adj))
        possible = int(sum(a.size for a in adj))
        if epoch in self.taps:  # conv: an edge is a kernel (or a channel's flattened map) of many weights
            w, all_w = self.taps[epoch]
            lines = [f"{w:,} weights active", f"density {100 * w / max(all_w, 1):.1f}%", f"{n:,} channel edges"]
        else:
            lines = [f"{n:,} connections", f"density {100 * n / max(possible, 1):.1f}%"]
        if self.fraction < 1:
            lines.append(f"drawing a fixed {100 * self.fraction:.0f}% sample")
        if at is not None:
            lines.append(f"latest change: epoch {at}"
                         + (f"\n+{n_grown:,} grown, −{n_pruned:,} pruned" if grown else "\nlayer removed"))  # fmt: skip
        self.stats.set_text("\n".join(lines))
        self.counter.set_text(f"epoch {epoch} / {self.run.epochs}")
        self.cursor.set_xdata([epoch, epoch])
        if self._background is None:
            self.canvas.draw()  # everything not animated
            self._background = self.canvas.copy_from_bbox(self.fig.bbox)
        self.canvas.restore_region(self._background)
        for a in (self.lines, self.ghosts, self.halos, *self.dots, self.stats, self.counter, self.cursor):
            self.fig.draw_artist(a)
        return np.asarray(self.canvas.buffer_rgba())[..., :3].copy()


def _rgba(color: str) -> tuple[float, float, float, float]:
    from matplotlib.colors import to_rgba

    return to_rgba(color)


def describe(path) -> dict[str, Any]:
    """Frames, size and duration of a recorded GIF (for the CLI's closing line)."""
    from PIL import Image

    path = Path(path)
    out: dict[str, Any] = {"bytes": path.stat().st_size}
    if path.suffix.lower() == ".gif":
        with Image.open(path) as im:
            out["frames"] = getattr(im, "n_frames", 1)
    return out
