"""The timeline bar under the diagram: rewind the network to any past epoch.

A slider over the epochs trained so far, with « (first), ◀ / ▶ (one epoch), Replay (play
from the slider to the latest epoch) and **Live**. Moving it shows the network as it was
after that epoch (from the run's timeline, :mod:`growlab.run.timeline`), puts a cursor on
every curve at that epoch and lists that epoch's events. The run itself is never touched:
it may go on training meanwhile, and Live (or Reset) returns to the current network.
"""

from __future__ import annotations

import logging

import panel as pn
import param

from growlab.ui.text import html
from growlab.ui.theme import button_args

log = logging.getLogger(__name__)

#: Events listed for one epoch (the rest are counted).
MAX_EVENTS = 8
#: Milliseconds between frames while the timeline plays.
PLAY_MS = 300


class TimelineBar(pn.viewable.Viewer):
    """Scrub a run's past; ``viewing`` is the epoch shown (``None``: live).

    Args:
        runner: where the past comes from (``runner.at(epoch)`` → a snapshot; never waits).
        diagram: the view that draws a snapshot (``update``).
        curves: the curves, whose ``cursor(epoch)`` marks the epoch shown.
    """

    viewing = param.Integer(default=None, allow_None=True, doc="The past epoch shown, or None for live.")
    latest = param.Integer(default=0, doc="The latest epoch trained.")
    playing = param.Boolean(default=False, doc="The timeline replays towards the latest epoch.")

    def __init__(self, runner=None, diagram=None, curves=None, **params):
        super().__init__(**params)
        self.runner, self.diagram, self.curves = runner, diagram, curves
        self.slider = pn.widgets.IntSlider(start=0, end=1, value=0, step=1, sizing_mode="stretch_width",
                                           margin=(4, 10), css_classes=["growlab-timeline-slider"])  # fmt: skip
        small = {"width": 46, "margin": (4, 2)}
        self.first = pn.widgets.Button(**button_args("«"), description="first epoch", **small)
        self.back = pn.widgets.Button(**button_args("◀"), description="one epoch back", **small)
        self.forward = pn.widgets.Button(**button_args("▶"), description="one epoch forward", **small)
        self.play = pn.widgets.Button(**button_args("Replay"), description="replay from here", width=80, margin=(4, 2))
        self.live = pn.widgets.Button(**button_args("● Live", color="primary"), width=80, margin=(4, 2),
                                      description="back to the network as it is now")  # fmt: skip
        self.label = pn.pane.HTML("", margin=(4, 8), styles={"font-size": "15px"}, css_classes=["growlab-timeline-label"])
        self.events = pn.pane.HTML("", margin=(0, 10), styles={"font-size": "13px"}, sizing_mode="stretch_width",
                                   css_classes=["growlab-timeline-events"])  # fmt: skip
        self.slider.param.watch(self._slid, "value")
        self.first.on_click(lambda _: self.show(0))
        self.back.on_click(lambda _: self.show((self.viewing if self.viewing is not None else self.latest) - 1))
        self.forward.on_click(lambda _: self.show((self.viewing if self.viewing is not None else self.latest) + 1))
        self.play.on_click(lambda _: self.toggle_play())
        self.live.on_click(lambda _: self.go_live())
        self._callback = None
        self._syncing = False
        self._draw_label()

    # ------------------------------------------------------------------ live updates
    def update(self, snap) -> None:
        """A new live snapshot: the slider reaches its epoch (and follows it while live)."""
        self.latest = snap.epoch
        self._syncing = True
        try:
            self.slider.end = max(1, snap.epoch)
            self.slider.disabled = snap.epoch == 0
            if self.viewing is None:
                self.slider.value = snap.epoch
            elif self.viewing > snap.epoch:  # a rollback undid the epoch shown
                self.go_live()
        finally:
            self._syncing = False
        self._draw_label()

    def reset(self) -> None:
        """A new run: back to live."""
        self.go_live(redraw=False)

    # ------------------------------------------------------------------ scrubbing
    def show(self, epoch: int) -> bool:
        """Show the network after ``epoch`` (clamped to 0..latest); the latest epoch is the live view."""
        epoch = max(0, min(int(epoch), self.latest))
        if epoch == self.latest and not self.playing:
            self.go_live()
            return True
        try:
            snap = self.runner.at(epoch)
        except ValueError as e:  # e.g. an archive from before timelines: say why, stay where we are
            self.events.object = f"<span style='color:#b00020'>{html(str(e))}</span>"
            return False
        self.viewing = epoch
        self.diagram.update(snap)
        if self.curves is not None:
            self.curves.cursor(epoch)
        self._syncing = True
        try:
            self.slider.value = epoch
        finally:
            self._syncing = False
        self._draw_label(snap.extra.get("timeline", {}))
        self._draw_events(epoch)
        return True

    def go_live(self, redraw: bool = True) -> None:
        """Back to the run as it is now."""
        self.stop_play()
        was = self.viewing
        self.viewing = None
        if self.curves is not None:
            self.curves.cursor(None)
        self._syncing = True
        try:
            self.slider.value = min(self.latest, self.slider.end)
        finally:
            self._syncing = False
        self.events.object = ""
        self._draw_label()
        if redraw and was is not None and self.runner is not None:
            self.diagram.update(self.runner.snapshot)

    def _slid(self, event) -> None:
        if not self._syncing:
            self.show(event.new)

    # ------------------------------------------------------------------ playing
    def toggle_play(self) -> None:
        self.stop_play() if self.playing else self.start_play()

    def start_play(self) -> None:
        """Replay from the epoch shown (from 0 when live) to the latest, one epoch per tick."""
        if self.latest == 0:
            return
        start = 0 if self.viewing is None or self.viewing >= self.latest else self.viewing
        self.playing = True
        self.play.param.update(**button_args("Stop replay"))
        self.show(start)
        try:
            self._callback = pn.state.add_periodic_callback(self._tick, period=PLAY_MS)
        except Exception:  # no event loop (a script): nothing to play on
            log.debug("no periodic callbacks here; the timeline does not play")
            self.stop_play()

    def stop_play(self) -> None:
        if self._callback is not None:
            try:
                self._callback.stop()
            except Exception:
                pass
            self._callback = None
        if self.playing:
            self.playing = False
            self.play.param.update(**button_args("Replay"))

    def _tick(self) -> None:
        if not self.playing or self.viewing is None:
            self.stop_play()
            return
        if self.viewing >= self.latest:
            self.stop_play()
            return
        self.show(self.viewing + 1)

    # ------------------------------------------------------------------ text
    def _draw_label(self, info: dict | None = None) -> None:
        if self.viewing is None:
            self.label.object = f"<b>Live</b> · epoch {self.latest}"
            return
        weights = "exact" if (info or {}).get("exact") else f"weights of epoch {(info or {}).get('checkpoint', '?')}"
        self.label.object = (f"<b>Epoch {self.viewing}</b> of {self.latest} · <span title='between checkpoints the "
                             f"structure is exact and the weights are the last checkpoint’s'>{weights}</span>")  # fmt: skip

    def _draw_events(self, epoch: int) -> None:
        try:
            ev = self.runner.events_at(epoch)
        except Exception as e:  # the list is a convenience: never let it break scrubbing
            log.debug("events of epoch %s: %s", epoch, e)
            ev = None
        if ev is None or ev.empty:
            self.events.object = f"<i>No events in epoch {epoch}.</i>"
            return
        counts = ev["kind"].value_counts()
        summary = ", ".join(f"{n} {html(k)}" for k, n in counts.items())
        rows = []
        for r in ev.head(MAX_EVENTS).itertuples():
            where = "" if r.layer is None or r.layer != r.layer else f"layer {int(r.layer)}"
            if r.source is not None and r.source == r.source and r.target is not None and r.target == r.target:
                where += f" {int(r.source)} → {int(r.target)}"
            cause = "" if r.cause is None else html(str(r.cause))
            rows.append(f"<tr><td>{html(str(r.kind))}</td><td>{where}</td><td>{cause}</td></tr>")
        more = f"<div>… and {len(ev) - MAX_EVENTS} more (Events tab)</div>" if len(ev) > MAX_EVENTS else ""
        self.events.object = (f"<div><b>Epoch {epoch}:</b> {summary}</div><table class='growlab-timeline-table'>"
                              f"{''.join(rows)}</table>{more}")  # fmt: skip

    def __panel__(self):
        return pn.Column(
            pn.Row(self.first, self.back, self.play, self.forward, self.slider, self.live, sizing_mode="stretch_width"),
            pn.Row(self.label, sizing_mode="stretch_width"),
            self.events,
            sizing_mode="stretch_width", margin=0,
        )  # fmt: skip


class SideBySide(pn.viewable.Viewer):
    """Two runs' diagrams in step over their epochs, their differences highlighted, and their
    Jaccard similarity per epoch (``lab.compare(other)``).

    On each diagram the connections the *other* run lacks at that epoch are drawn as new
    (green); a curve below gives the Jaccard similarity of the two structures per epoch, with
    a cursor at the epoch shown.

    Args:
        a, b: ``(run, latest_snapshot)`` pairs: the runs to compare (their timelines are read,
            never their training state) and a snapshot to take names and settings from.
        labels: what to call the two runs (default: method and seed).
    """

    epoch = param.Integer(default=0, doc="The epoch both diagrams show.")

    def __init__(self, a, b, labels: tuple[str, str] | None = None, height: int = 430, **params):
        super().__init__(**params)
        from bokeh.models import ColumnDataSource, Range1d, Span

        from growlab.run.timeline import compare_structures
        from growlab.ui.theme import VAL, new_figure, style_figure

        self.sides = [a, b]
        self.table = compare_structures(a[0], b[0])
        if self.table.empty:
            raise ValueError("the two runs have no recorded epoch in common")
        if labels is None:
            labels = tuple(f"{r.config.method} · seed {r.config.seed}" for r, _ in self.sides)
        self.labels = labels
        # a conv network needs the conv diagram (its feature-map strip is wide: the two stack);
        # two MLPs sit side by side in the plain diagram
        self.conv = any(bool(snap.extra.get("conv")) for _, snap in self.sides)
        self.diagrams = []
        for _ in range(2):
            if self.conv:
                from growlab.ui.conv_diagram import ConvDiagram

                d = ConvDiagram(height=height, sizing_mode="stretch_width")
            else:
                from growlab.ui.diagram import NetworkDiagram

                d = NetworkDiagram(height=height, sizing_mode="stretch_width")
            self.diagrams.append(d)
        self.captions = [pn.pane.HTML("", styles={"font-size": "15px"}, margin=(2, 10), css_classes=["growlab-pair-caption"])
                         for _ in range(2)]  # fmt: skip
        epochs = self.table["epoch"].tolist()
        self.slider = pn.widgets.IntSlider(start=epochs[0], end=max(epochs[-1], epochs[0] + 1), value=epochs[-1],
                                           sizing_mode="stretch_width", margin=(4, 10))  # fmt: skip
        self.back = pn.widgets.Button(**button_args("◀"), width=46, margin=(4, 2))
        self.forward = pn.widgets.Button(**button_args("▶"), width=46, margin=(4, 2))
        self.back.on_click(lambda _: self.show(self.epoch - 1))
        self.forward.on_click(lambda _: self.show(self.epoch + 1))
        self.slider.param.watch(lambda e: self.show(e.new), "value")
        fig = new_figure("Jaccard similarity of the two structures", Range1d(epochs[0], max(epochs[-1], 1)),
                         Range1d(0, 1.05), x_label="epoch")  # fmt: skip
        self.source = ColumnDataSource({"epoch": epochs, "jaccard": self.table["jaccard"].tolist()},
                                       name="growlab-jaccard")  # fmt: skip
        fig.line("epoch", "jaccard", source=self.source, color=VAL, line_width=3)
        self.cursor = Span(location=epochs[-1], dimension="height", line_color="#111111", line_width=2,
                           name="growlab-jaccard-cursor")  # fmt: skip
        fig.add_layout(self.cursor)
        style_figure(fig)
        fig.height = 200
        self.figure = fig
        self._syncing = False
        self.show(epochs[-1])

    def show(self, epoch: int) -> None:
        """Both runs after ``epoch`` (clamped to their common epochs)."""
        from growlab.run.timeline import differences, snapshot_at

        epochs = self.table["epoch"].tolist()
        epoch = max(epochs[0], min(int(epoch), epochs[-1]))
        (ra, sa), (rb, sb) = self.sides
        va, vb = ra.timeline.at(epoch), rb.timeline.at(epoch)
        row = self.table[self.table["epoch"] == epoch].iloc[0]
        for i, (run, base, mine, theirs) in enumerate(((ra, sa, va, vb), (rb, sb, vb, va))):
            snap = snapshot_at(run, epoch, base)
            import dataclasses

            only = differences(mine, theirs)
            snap = dataclasses.replace(snap, recent=only, run_id=-1 - i)  # its own diagram state, apart from the app's
            self.diagrams[i].update(snap)
            n_only = int(row["only_a"] if i == 0 else row["only_b"])
            self.captions[i].object = (f"<b>{html(self.labels[i])}</b> · epoch {epoch} · "
                                       f"<span style='color:#009e73'>{n_only} only in this run</span>, "
                                       f"{int(row['both'])} shared")  # fmt: skip
        self.epoch = epoch
        self.cursor.location = epoch
        if not self._syncing:
            self._syncing = True
            try:
                self.slider.value = epoch
            finally:
                self._syncing = False
        jac = row["jaccard"]
        self.summary.object = (f"Epoch {epoch}: Jaccard similarity <b>{jac:.3f}</b> (shared ÷ either run’s "
                               "connections) · <span style='color:#009e73'>green</span>: connections the other run "
                               "lacks at this epoch" if jac == jac
                               else f"Epoch {epoch}: the two networks have different layers here")  # fmt: skip

    @property
    def summary(self):
        if not hasattr(self, "_summary"):
            self._summary = pn.pane.HTML("", styles={"font-size": "15px"}, margin=(4, 10),
                                         css_classes=["growlab-compare-summary"])  # fmt: skip
        return self._summary

    def __panel__(self):
        return pn.Column(
            # each half may shrink below its content's natural width (else the second is cut off)
            (pn.Column if self.conv else pn.Row)(
                *(pn.Column(c, d, sizing_mode="stretch_width", styles={"flex": "1 1 0", "min-width": "0"})
                  for c, d in zip(self.captions, self.diagrams)), sizing_mode="stretch_width"),  # fmt: skip
            pn.Row(self.back, self.forward, self.slider, sizing_mode="stretch_width"),
            self.summary,
            pn.pane.Bokeh(self.figure, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )
