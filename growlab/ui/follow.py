"""Follow mode: a teacher shares a run read-only by a link, and a class watches it train once.

The teacher presses **Share live** (:class:`ShareLive`): the session's runner is registered in
the server-wide :data:`HUB` under a random token and the page shows a link such as
``http://host:5006/?follow=<token>``. A page opened on that link (:func:`create_follow_app`)
is a viewer: its own diagram, curves, hover, timeline and inspector, fed from the teacher's
runner through :class:`ReadOnlyRunner`.

What a viewer costs the server:
- no training and no snapshot of its own: the teacher's worker publishes one snapshot per tick
  and every viewer reads that same object (:meth:`Runner.poll` only slices what is new);
- a refresh only when a newer snapshot is there, every :data:`FOLLOW_PERIOD_MS` at most and
  resting twice as long as the last one took (:meth:`GrowlabApp.tick`), each view updating
  what changed (curves stream new rows, the diagram patches its sources; the inspector only
  with a selection, the false-starts verdict only when it changed; no timeline, no export);
- no controls: the viewer page has no sidebar, Play, Reset, Export or Compare, and the
  runner it holds refuses every command (:class:`ReadOnlyError`), so even a crafted message
  cannot change the teacher's run.

When the teacher's session ends (the tab closed), the share ends: viewers are told once
("the teacher's run has ended") and keep their last picture. A reload of the teacher's page is
not an end: the next page takes the run over (:mod:`growlab.ui.resume`) and shares it on, same link.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import weakref
from dataclasses import dataclass, field

import panel as pn
import param

from growlab.ui.app import GrowlabApp, tab_pages
from growlab.ui.false_starts import FalseStartsView
from growlab.ui.model import SessionModel
from growlab.ui.offload import Offload
from growlab.ui.serve import add_quiet_periodic_callback
from growlab.ui.session import Session
from growlab.ui.text import html as escape_html
from growlab.ui.theme import button_args

log = logging.getLogger(__name__)

#: The query parameter of a follow link.
FOLLOW_KEY = "follow"
#: Viewers a shared run takes (a class); the next one is told the run is full.
MAX_VIEWERS = 30
#: Milliseconds between a viewer's refreshes (it draws only when the teacher's run published
#: something newer; the teacher's own page refreshes every ``app.PERIOD_MS``).
FOLLOW_PERIOD_MS = 1000
ENDED = "The teacher's run has ended; this page keeps its last picture"
READ_ONLY = "this is the teacher's run, shared read-only: a viewer cannot change it"


class ReadOnlyError(RuntimeError):
    """A viewer asked the teacher's run to do something."""


class ReadOnlyRunner:
    """The teacher's runner as a viewer sees it: every read, no command.

    Reads (snapshots, updates, history, events, traces, the timeline) go to the teacher's
    runner; commands raise :class:`ReadOnlyError` and change nothing. ``close()`` only lets
    go of the teacher's runner (which the teacher's session closes itself).
    """

    READS = ("snapshot", "status", "alive", "closed", "pending", "poll", "history", "events", "weight_history",
             "neuron_history", "watch", "at", "events_at", "slots", "spec", "example", "wait")  # fmt: skip

    def __init__(self, runner):
        self._runner = runner

    def __getattr__(self, name: str):
        if name in ReadOnlyRunner.READS:
            return getattr(self._runner, name)
        raise AttributeError(name)

    def _refuse(self, *args, **kwargs):
        raise ReadOnlyError(READ_ONLY)

    play = pause = step = cycle = set = reset = stop = call = show_example = _refuse
    prune_redundant = archive_bytes = model_bytes = animation_bytes = _refuse

    def speed(self, delay=None, epochs_per_tick=None) -> None:
        """A viewer's speed is not the teacher's: nothing changes."""

    def close(self) -> None:
        """The viewer is gone; the teacher's run goes on."""


class ViewerSession(Session):
    """A viewer's session: its setup is the teacher's, so any change to it is refused and put back."""

    def _setup_changed(self, *events) -> None:
        if not self._reverting:
            self.notify("error", f"Refused: {READ_ONLY}")
            for e in events:
                self._revert(self.model, e.name, e.old)

    def _live_change(self, owner, event) -> None:
        if not self._reverting and owner in (self.model, self.model.method_params):
            self.notify("error", f"Refused: {READ_ONLY}")
            self._revert(owner, event.name, event.old)


@dataclass
class Share:
    """One shared run: the teacher's runner, its viewers, and whether the teacher has left."""

    token: str
    runner: object
    ended: bool = False
    viewers: "weakref.WeakSet" = field(default_factory=weakref.WeakSet)


#: What a token of this server looks like (:func:`secrets.token_urlsafe`); anything else a page
#: sends (a mistyped link, an old cookie) names nothing.
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{8,64}")


class TokenHub:
    """Things of this server process held under random tokens (a shared run, a page's run kept
    for a reload): thread-safe; a token that is not one of ours, or not a token at all, finds nothing."""

    def __init__(self):
        self._items: dict[str, object] = {}
        self._lock = threading.Lock()

    def _add(self, item) -> str:
        """Hold ``item`` under a new token (the caller holds the lock)."""
        token = secrets.token_urlsafe(12)
        self._items[token] = item
        return token

    def _find(self, token) -> object | None:
        """The item ``token`` names, or None (the caller holds the lock)."""
        token = token if isinstance(token, str) else ""
        return self._items.get(token) if TOKEN_RE.fullmatch(token) else None


class FollowHub(TokenHub):
    """Shared runs of this server process, by token (the event loop and tests use it)."""

    def __init__(self, max_viewers: int = MAX_VIEWERS):
        super().__init__()
        self.max_viewers = max_viewers

    def share(self, runner) -> Share:
        """Register ``runner`` (once: sharing it again gives the same share)."""
        with self._lock:
            for s in self._items.values():
                if s.runner is runner and not s.ended:
                    return s
            s = Share("", runner)
            s.token = self._add(s)
            return s

    def get(self, token: str) -> Share | None:
        """The share ``token`` names, ended or not; ``None`` for an unknown token."""
        with self._lock:
            return self._find(token)

    def end(self, share: Share) -> None:
        """The teacher left: viewers are told and keep their last picture; new links are refused."""
        with self._lock:
            share.ended = True
            self._items.pop(share.token, None)

    def join(self, share: Share, viewer) -> None:
        """Count ``viewer`` on ``share`` (``ValueError`` when it is full)."""
        with self._lock:
            if len(share.viewers) >= self.max_viewers:
                raise ValueError(f"this shared run already has {self.max_viewers} viewers")
            share.viewers.add(viewer)

    def counts(self) -> dict:
        """Shared runs and their viewers (for the status page)."""
        with self._lock:
            return {"shared": len(self._items), "viewers": sum(len(s.viewers) for s in self._items.values())}


HUB = FollowHub()


class ShareLive(pn.viewable.Viewer):
    """The teacher's **Share live** button: a read-only link to this run, and how many watch it."""

    session = param.ClassSelector(class_=Session, doc="Whose run is shared.")
    url = param.String(default="", doc="The follow link (empty until shared).")
    watching = param.Integer(default=0, doc="Viewers following now.")

    def __init__(self, hub: FollowHub | None = None, **params):
        super().__init__(**params)
        self.hub = hub or HUB
        self.share: Share | None = None
        self._callback = None
        self.button = pn.widgets.Button(
            **button_args("Share live", "light"), width=130, css_classes=["gl-share-live"],
            description="A read-only link: a class watches this run train (up to 30 viewers)",
            stylesheets=[":host { font-size: 15px; }"],
        )  # fmt: skip
        self.button.on_click(lambda e: self.start())
        self.link = pn.widgets.TextInput(value=self.param.url, visible=False, width=330, css_classes=["gl-follow-url"],
                                         stylesheets=[":host input { font-size: 13px; color: #263238; background: white; }"])  # fmt: skip
        self.count = pn.pane.HTML("", css_classes=["gl-watching"], styles={"color": "white", "font-size": "14px"}, margin=(12, 6))

    def start(self) -> str:
        """Share the run (once) and show the link; returns it."""
        if self.share is None:
            self.share = self.hub.share(self.session.runner)
            if pn.state.curdoc is not None and self._callback is None:
                self._callback = add_quiet_periodic_callback(self._count, period=1000)
        self.url = follow_url(self.share.token)
        self.link.visible = True
        self.button.param.update(**button_args("Sharing live", "success"))
        self._count()
        self.session.notify("success", "Sharing this run live: viewers of the link watch it, and cannot change it")
        return self.url

    def _count(self) -> None:
        if self.share is not None:
            self.watching = len(self.share.viewers)
            self.count.object = f"{self.watching} watching"

    def hand_over(self) -> None:
        """The page reloaded: its next page shares the same run, so the share goes on (no count here)."""
        if self._callback is not None:
            self._callback.stop()
            self._callback = None

    def close(self) -> None:
        """The teacher's session ended: the share ends."""
        if self._callback is not None:
            self._callback.stop()
        if self.share is not None:
            self.hub.end(self.share)

    def __panel__(self):
        return pn.Row(self.button, self.link, self.count, margin=0)


def follow_url(token: str) -> str:
    """The follow link for ``token`` on the page's own address (``?follow=…`` alone outside a server)."""
    loc = pn.state.location
    query = f"?{FOLLOW_KEY}={token}"
    if loc is None or not loc.hostname:
        return query
    port = f":{loc.port}" if loc.port else ""
    return f"{loc.protocol or 'http:'}//{loc.hostname}{port}{loc.pathname or '/'}{query}"


class ViewerFalseStarts(FalseStartsView):
    """The verdict and the redundant count; the prune action stays disabled (it is the teacher's)."""

    def update(self, snap) -> None:
        super().update(snap)
        self.button.disabled = True
        self.button.description = "Only the teacher can prune the shared run"


class FollowApp(GrowlabApp):
    """A viewer's views of a shared run: its own diagram, curves, hover, timeline and inspector."""

    followed = param.Parameter(default=None, doc="The share followed (:class:`Share`).")
    ended = param.Boolean(default=False, doc="The teacher's run has ended (the page keeps its last picture).")

    false_starts_view = ViewerFalseStarts

    def __init__(self, **params):
        super().__init__(**params)
        self.banner = pn.pane.HTML(self._banner(), css_classes=["gl-follow"], sizing_mode="stretch_width", margin=(0, 10))

    #: Views a viewer's page does not show (the teacher's export; the timeline scrubber: its
    #: every move is a round trip, and a class of them would crowd the loop).
    HIDDEN = ("export", "timeline")

    def _controls(self) -> None:
        """None: a viewer's page has no sidebar, Export, link, projector toggle or Compare (nothing
        there could change the teacher's run, and each would cost the page load)."""
        self.sidebar = self.export = self.share = self.projector = self.compare = None

    def _draw(self, name: str, view, arg) -> None:
        """Update a view only where it shows something new: nothing hidden, the inspector only
        with a selection (or for a new run), the false-starts verdict only when it changed."""
        if name in self.HIDDEN:
            return
        run_id = getattr(arg, "run_id", None)
        if name == "inspector" and view.selected is None and run_id == getattr(self, "_inspected", None):
            return
        if name == "false starts":
            verdict = (run_id, repr((arg.extra or {}).get("analysis")))
            if verdict == getattr(self, "_verdict", None):
                return
            self._verdict = verdict
        if name == "inspector":
            self._inspected = run_id
        super()._draw(name, view, arg)

    def tick(self) -> bool:
        """Draw what the teacher's run published since; say once when the teacher has left."""
        drew = super().tick()
        if self.followed is not None and self.followed.ended and not self.ended:
            self.refresh()  # the teacher's last snapshot (the run paused when the session closed)
            self.ended = True
            self.banner.object = self._banner()
            self.session.notify("warning", ENDED)
        return drew

    def _banner(self) -> str:
        if self.ended:
            return f"<div class='gl-follow-ended' style='font-size:16px;font-weight:700;color:#b26a00'>⏹ {escape_html(ENDED)}.</div>"
        return ("<div style='font-size:16px;font-weight:700;color:#1f4e5f'>● Following the teacher's run live</div>"
                "<div style='font-size:13px;color:#607d8b'>Read-only: hover, and click a connection or neuron for the inspector; "
                "the run itself is the teacher's.</div>")  # fmt: skip

    def main(self) -> list:
        top = pn.FlexBox(
            pn.Column(self.diagram, styles={"flex": "3 1 520px"}, sizing_mode="stretch_width", min_width=420),
            pn.Column(self.curves, styles={"flex": "2 1 330px"}, sizing_mode="stretch_width", min_width=300),
            flex_wrap="wrap", sizing_mode="stretch_width",
        )  # fmt: skip
        self.tabs = tab_pages(
            [("Inspector", self.inspector), ("Decision boundary", self.boundary),
             ("False starts & redundancy", self.false_starts), ("Events", self.events)],
            1 if self.session.runner.snapshot.boundary is not None else 0, self.lazy_tabs,
            sizing_mode="stretch_width", stylesheets=[":host .bk-tab { font-size: 15px; }"],
        )  # fmt: skip
        self.events.active = self.tabs.active == 3
        self.tabs.param.watch(lambda e: setattr(self.events, "active", e.new == 3), "active")
        return [pn.Row(self.strip, sizing_mode="stretch_width", margin=(0, 0, 0, 10)), top, self.tabs]

    def close(self) -> None:
        """The viewer left: the teacher's run goes on."""

    def __panel__(self):
        return pn.Column(self.banner, *self.main(), sizing_mode="stretch_width")


def setup_text(snapshot) -> str:
    """One line on what the shared run is: dataset · method · layer sizes."""
    sizes = "-".join(str(int(n)) for n in getattr(snapshot, "sizes", ()) or ())
    return " · ".join(x for x in (snapshot.dataset, snapshot.method, sizes) if x)


def create_follow_app(token: str, hub: FollowHub | None = None, live: bool = True):
    """A viewer's page for the shared run ``token`` (a page saying why, when there is none).

    Served, the page comes at once with a "joining" note and the views are built on a build
    thread (:class:`~growlab.ui.offload.Offload`): a viewer's figures take a second or more of
    CPU to build, and a class arriving together would otherwise hold the event loop that
    long per viewer, freezing every page. Outside a server everything is built at once.
    """
    from growlab.ui import ACCENT, FONT, TITLE, _no_web_font, _Template

    hub = hub or HUB
    pn.extension("tabulator", notifications=True)
    _no_web_font()
    share = hub.get(token)
    common = dict(accent=ACCENT, header_background=ACCENT, theme_toggle=False, main_layout=None,
                  meta_description=TITLE, font=FONT, font_url="")  # fmt: skip
    if share is None or share.ended:
        text = ("This live link does not lead to a run: the teacher's run has ended, or the link is mistyped. "
                "Ask for a new link, or [start a run of your own](./).")  # fmt: skip
        gone = pn.pane.Alert(text, alert_type="warning", css_classes=["gl-follow-missing"], styles={"font-size": "16px"})
        return _Template(title="growlab — follow", main=[gone], **common)
    about = pn.pane.HTML(
        f"<div style='font-size:15px'><b>Watching a shared run</b><br>{escape_html(setup_text(share.runner.snapshot))}"
        "<br><span style='color:#607d8b;font-size:13px'>The teacher runs it; this page follows it live and "
        "cannot change it.</span></div>", sizing_mode="stretch_width",
    )  # fmt: skip
    page = pn.Column(pn.pane.HTML("<div style='font-size:16px;color:#607d8b'>Joining the teacher's run…</div>"),
                     sizing_mode="stretch_width")  # fmt: skip
    template = _Template(title="growlab — following", sidebar=[about], main=[page], sidebar_width=300, **common)
    try:
        hub.join(share, template)
    except ValueError as e:
        full = pn.pane.Alert(escape_html(str(e)) + "; ask the teacher.", alert_type="warning", css_classes=["gl-follow-missing"])
        return _Template(title="growlab — follow", main=[full], **common)
    doc = pn.state.curdoc if live else None

    def build(commit) -> FollowApp:
        session = ViewerSession(model=SessionModel(), runner=ReadOnlyRunner(share.runner))
        return FollowApp(session=session, followed=share, live=live, lazy_tabs=live)

    def built(app: FollowApp | None, error: BaseException | None) -> None:
        if error is not None:
            log.error("building a viewer's page failed", exc_info=error)
            page.objects = [pn.pane.Alert(f"Could not show the shared run: {escape_html(str(error))}", alert_type="danger")]
            return
        template.growlab = app
        page.objects = [app]
        if doc is not None:
            location = pn.state.location
            if location is not None:  # the address bar keeps the follow link (a reload follows again)
                location.search = f"?{FOLLOW_KEY}={share.token}"
            add_quiet_periodic_callback(app.tick, period=FOLLOW_PERIOD_MS)
            pn.state.on_session_destroyed(lambda context: app.close())
            app.strip.live = True

    Offload(doc).submit(build, built)
    return template
