"""The growlab app: layout of one session and the periodic refresh that feeds every view.

The refresh (every ``period`` ms on the session's event loop) asks the runner for what is new
(:meth:`Runner.poll`) and hands it to the views: history rows to the curves, events to the
table, the snapshot to the diagram, boundary, inspector, status strip, false-starts and
export views. It is the only place Bokeh objects change in response to training, so they
are only ever touched on the session's own thread.
"""

from __future__ import annotations

import logging
import time

import panel as pn
import param

from growlab.ui.curves import Curves
from growlab.ui.diagram_legend import legend_html
from growlab.ui.events import EventsView
from growlab.ui.export import ExportView
from growlab.ui.false_starts import FalseStartsView
from growlab.ui.feature_maps import FeatureMaps
from growlab.ui.model import TABS
from growlab.ui.session import Session
from growlab.ui.share import ShareLink
from growlab.ui.sidebar import Sidebar
from growlab.ui.activity import growth_note
from growlab.ui.status import StatusStrip, reach_warning
from growlab.ui.theme import CURVE_HEIGHT, button_args
from growlab.ui.timeline import TimelineBar
from growlab.ui.views import make_boundary, make_compare, make_diagram, make_inspector

log = logging.getLogger(__name__)

#: Milliseconds between refreshes: fast enough to feel live, cheap when nothing changed.
PERIOD_MS = 250
#: After a refresh that took t seconds the next waits until REST·t has passed.
REST = 2.0
BOUNDARY_TAB = TABS.index("boundary")
EVENTS_TAB = TABS.index("events")  # its table is only fed while it is shown
#: Projector layout (1280×720): pixel heights of the diagram, each curve shown and the side boundary,
#: and the side feature maps' side (px) and number per row (a conv network's, beside the diagram).
PROJECTOR = {"diagram": 450, "curve": 128, "boundary": 236, "map": 44, "maps_per_row": 8}
#: The curves the projector layout shows (by index: accuracy, loss, size, grown/pruned).
PROJECTOR_CURVES = (0, 2, 3)
#: ... and with a 2-D toy or a conv network, whose decision boundary or feature maps take the room of one.
PROJECTOR_CURVES_TOY = (0, 2)
ANNOUNCE = {
    "diverged": ("error", "Training diverged — {error}"),
    "error": ("error", "Training stopped by an error: {error}"),
    "finished": ("success", "Finished {epochs} epochs"),
}


def tab_pages(pages: list[tuple[str, object]], active: int = 0, lazy: bool = False, **params) -> pn.Tabs:
    """``pn.Tabs`` of ``(title, view)`` pages, ``active`` shown first.

    With ``lazy`` a page is an empty column until its tab is first opened, and only then gets its
    view (and the view its Bokeh models): a page load costs the server only what the open tab
    shows, and the browser is sent the rest when it is asked for (the tabs are ``dynamic``).
    """
    if not lazy:
        return pn.Tabs(*pages, active=active, **params)
    boxes = [pn.Column(sizing_mode="stretch_width", margin=0) for _ in pages]

    def fill(i: int) -> None:
        if 0 <= i < len(boxes) and not boxes[i].objects:
            boxes[i].objects = [pages[i][1]]

    fill(active)
    tabs = pn.Tabs(*((title, box) for (title, _), box in zip(pages, boxes)), active=active, dynamic=True, **params)
    tabs.param.watch(lambda e: fill(e.new), "active")
    return tabs


class GrowlabApp(pn.viewable.Viewer):
    """All views of one session; :meth:`refresh` moves the newest runner state into them."""

    session = param.ClassSelector(class_=Session, doc="The session shown.")
    live = param.Boolean(default=False, doc="Served: views may start their own periodic callbacks.")
    drawn = param.Integer(default=-1, doc="Version of the newest snapshot drawn.")
    lazy_tabs = param.Boolean(default=False, doc="Build a tab's page in the browser only when it is first opened "
                              "(served: a page load then costs the server much less).")

    def __init__(self, **params):
        super().__init__(**params)
        s = self.session
        self.strip = StatusStrip()
        self.diagram = make_diagram(s.runner)
        self.inspector = make_inspector(s.runner, self.diagram)
        self.boundary = make_boundary()
        self.side_boundary = make_boundary(PROJECTOR["boundary"])  # the projector layout's, beside the diagram
        self.side_maps = FeatureMaps(map_px=PROJECTOR["map"], per_row=PROJECTOR["maps_per_row"], compact=True,
                                     prefix="side-")  # … and a conv net's feature maps
        self.diagram.param.watch(lambda e: self.side_maps.select(e.new), "selected")
        self.curves = Curves()
        self.timeline = TimelineBar(runner=s.runner, diagram=self.diagram, curves=self.curves)
        self.events = EventsView(active=False)  # main() shows it when its tab is the open one
        self.false_starts = self.false_starts_view(session=s)
        self._controls()
        self._seen = (-1, None, 0, 0)  # version, run_id, history rows, events
        self._broken: set[str] = set()
        self._last_status = s.runner.snapshot.status
        self._rest_until = 0.0
        #: The page was left and a reload took its run over: this page draws no more.
        self.detached = False
        s.param.watch(lambda e: self.strip.update(s.runner.snapshot, s.dirty, s.building), ["dirty", "building"])
        self.refresh()

    #: The false-starts view's class (a viewer's cannot prune).
    false_starts_view = FalseStartsView

    def _controls(self) -> None:
        """What acts on the session's own run: the sidebar, Export, the link, the projector toggle, Compare."""
        s = self.session
        self.sidebar = Sidebar(session=s)
        self.export = ExportView(session=s)
        self.share = ShareLink(session=s)
        self.projector = pn.widgets.Toggle(
            **button_args("Projector view", "light"), value=s.model.layout == "projector", width=150, css_classes=["gl-projector"],
            stylesheets=[":host { font-size: 15px; }"],
        )  # fmt: skip
        self.projector.param.watch(lambda e: setattr(s.model, "layout", "projector" if e.new else "standard"), "value")
        s.model.param.watch(lambda e: setattr(self.projector, "value", e.new == "projector"), "layout")
        self.compare = make_compare(s.runner.slots, self.live)  # polls its own job; not fed by refresh()

    # ------------------------------------------------------------------ refresh
    def tick(self) -> bool:
        """The periodic callback: :meth:`refresh`, then rest twice as long as it took.

        The server runs every session's callbacks on one event loop; a slow refresh (a huge
        network, a loaded machine) must leave room for clicks and for the other sessions.
        """
        now = time.monotonic()
        if self.detached or now < self._rest_until:
            return False
        drew = self.refresh()
        self._rest_until = time.monotonic() + REST * (time.monotonic() - now)
        return drew

    def refresh(self) -> bool:
        """Draw whatever the runner published since the last call; returns whether anything was new."""
        version, run_id, n_rows, n_events = self._seen
        update = self.session.runner.poll(version, run_id, n_rows, n_events)
        if update is None:
            return False
        snap = update.snapshot
        self._seen = (snap.version, snap.run_id, snap.n_history, snap.n_events)
        self._warn_false_start(snap, update.fresh)
        if update.fresh and snap.boundary is not None and getattr(self, "tabs", None) and self.tabs.active == 0:
            self.tabs.active = BOUNDARY_TAB  # a 2-D toy: show its decision boundary, as Playground does
        if update.fresh:
            self.timeline.reset()
            self._toy, self._conv = snap.boundary is not None, "conv" in (snap.extra or {})
            self._apply_layout()
        for name, view, arg in (
            ("curves", self.curves, update), ("events", self.events, update), ("timeline", self.timeline, snap),
            ("diagram", self.diagram, snap), ("boundary", self.boundary, snap), ("side boundary", self.side_boundary, snap),
            ("side maps", self.side_maps, snap), ("inspector", self.inspector, snap),
            ("false starts", self.false_starts, snap), ("export", self.export, snap),
        ):  # fmt: skip
            if name == "diagram" and self.timeline.viewing is not None:
                continue  # the diagram shows a past epoch until Live
            if name in ("side boundary", "side maps") and self.session.model.layout != "projector":
                continue  # drawn when the projector layout shows them
            self._draw(name, view, arg)
        data = self.curves.source.data
        activity = growth_note(snap, list(data["epoch"][-1000:]), list(data["grown"][-1000:]))
        self.strip.update(snap, self.session.dirty, self.session.building, activity)
        self._announce(snap)
        self.session.status = snap.status
        self.drawn = snap.version
        return True

    def _warn_false_start(self, snap, fresh: bool) -> None:
        """Say so, once a run, as soon as its network cannot reach an output (at epoch 0, or after a
        cycle), and at epoch 0 when some inputs reach no output (the strip keeps saying it)."""
        if fresh:
            self._warned_false_start = False
        if getattr(self, "_warned_false_start", False):
            return
        analysis = (snap.extra or {}).get("analysis") or {}
        when = "as it starts" if snap.epoch == 0 else f"at epoch {snap.epoch}"
        if analysis.get("false_start"):
            self._warned_false_start = True
            reason = (analysis.get("reason") or "no input has a path to an output").removeprefix("false start: ")
            self.session.notify("warning", f"This network cannot learn {when}: {reason}. Lower the sparsity, "
                                           "widen the layers or pick another seed")  # fmt: skip
        elif snap.epoch == 0 and (warning := reach_warning(snap)):
            self._warned_false_start = True
            self.session.notify("warning", f"{warning[:1].upper()}{warning[1:]} {when}. Lower the sparsity, "
                                           "widen the layers or pick another seed")  # fmt: skip

    def _draw(self, name: str, view, arg) -> None:
        """Update one view; a failing view is reported once and the others still update."""
        try:
            view.update(arg)
        except Exception as e:
            log.exception("updating the %s view failed", name)
            if name not in self._broken:
                self._broken.add(name)
                self.session.notify("error", f"The {name} view failed: {type(e).__name__}: {e}")

    def _announce(self, snap) -> None:
        """Say so once when the run finishes, diverges or fails."""
        previous, self._last_status = self._last_status, snap.status
        if snap.status != previous and snap.status in ANNOUNCE:
            level, text = ANNOUNCE[snap.status]
            self.session.notify(level, text.format(error=snap.error, epochs=snap.epoch))

    # ------------------------------------------------------------------ layout
    def main(self) -> list:
        """The main area: Play and the status strip, the diagram beside the curves, then the tabs.

        The model's ``layout`` arranges it: ``standard`` (everything, scrolling) or ``projector``
        (:meth:`_apply_layout`: diagram, three curves or two and the decision boundary, legend
        and tabs on one 1280×720 screen).
        """
        m = self.session.model
        self._timeline_box = pn.Column(self.timeline, sizing_mode="stretch_width", margin=0)
        self._side_box = pn.Column(self.side_boundary, sizing_mode="stretch_width", margin=0, visible=False,
                                   css_classes=["gl-side-boundary"])  # fmt: skip
        self._left = pn.Column(self.diagram, self._timeline_box, sizing_mode="stretch_width", min_width=420,
                               css_classes=["gl-left"])  # fmt: skip
        self._maps_box = pn.Column(self.side_maps, sizing_mode="stretch_width", margin=0, visible=False,
                                   css_classes=["gl-side-maps"])  # fmt: skip
        self._right = pn.Column(self.curves, self._side_box, self._maps_box, sizing_mode="stretch_width", min_width=300,
                                css_classes=["gl-right"])  # fmt: skip
        top = pn.FlexBox(self._left, self._right, flex_wrap="wrap", sizing_mode="stretch_width",
                         css_classes=["gl-top"])  # fmt: skip
        if m.tab != m.param.tab.default:  # from a link
            active = TABS.index(m.tab)
        else:
            active = BOUNDARY_TAB if self.session.runner.snapshot.boundary is not None else 0
        self.tabs = tabs = tab_pages(
            [("Inspector", self.inspector), ("Decision boundary", self.boundary),
             ("False starts & redundancy", self.false_starts), ("Events", self.events), ("Export", self.export),
             ("Compare", self.compare)], active, self.lazy_tabs,
            sizing_mode="stretch_width", stylesheets=[":host .bk-tab { font-size: 15px; }"], css_classes=["gl-tabs"],
        )  # fmt: skip
        self.events.active = tabs.active == EVENTS_TAB
        tabs.param.watch(self._tab_changed, "active")
        m.param.watch(lambda e: setattr(self.tabs, "active", TABS.index(e.new)), "tab")
        m.param.watch(lambda e: self._apply_layout(), "layout")
        first = self.session.runner.snapshot
        self._toy, self._conv = first.boundary is not None, "conv" in (first.extra or {})
        self._apply_layout()
        head = pn.Row(self.sidebar.play_top, self.strip, sizing_mode="stretch_width", margin=(0, 0, 0, 10))
        return [head, top, tabs]

    def _tab_changed(self, event) -> None:
        self.events.active = event.new == EVENTS_TAB
        self.session.model.tab = TABS[event.new]

    def _apply_layout(self) -> None:
        """Size and show the views for the model's layout (nothing moves between containers)."""
        if getattr(self, "_left", None) is None:
            return
        projector = self.session.model.layout == "projector"
        toy, conv = getattr(self, "_toy", False), getattr(self, "_conv", False)
        shown = (PROJECTOR_CURVES_TOY if toy or conv else PROJECTOR_CURVES) if projector else range(len(self.curves.figures))
        self.curves.short(projector)
        for i, fig in enumerate(self.curves.figures):
            fig.visible = i in shown
            fig.height = (PROJECTOR["curve"] if projector else CURVE_HEIGHT) + (22 if fig.xaxis[0].axis_label else 0)
        figure = getattr(self.diagram, "figure", None)
        if figure is not None:
            figure.height = PROJECTOR["diagram"] if projector else self.diagram.height
            self.diagram.legend.object = legend_html(compact=projector)
        self._timeline_box.visible = not projector
        self._side_box.visible = projector and toy
        self._maps_box.visible = projector and conv
        self.diagram.show_maps(not projector)  # the projector's are beside the diagram
        if projector and toy:
            self._draw("side boundary", self.side_boundary, self.session.runner.snapshot)
        if projector and conv:
            self._draw("side maps", self.side_maps, self.session.runner.snapshot)
        # side by side, 3 : 2, down to the columns' minimum widths (then the curves go under the diagram)
        self._left.styles = {"flex": "3 1 0px", "min-width": "420px", "width": "auto"}
        self._right.styles = {"flex": "2 1 0px", "min-width": "300px", "width": "auto"}

    def close(self) -> None:
        """The session ended: stop the run's worker and any experiment."""
        self.session.close()
        self.compare.close()

    def __panel__(self):
        return pn.Row(pn.Column(self.sidebar, width=360), pn.Column(*self.main(), sizing_mode="stretch_width"),
                      sizing_mode="stretch_width")  # fmt: skip
