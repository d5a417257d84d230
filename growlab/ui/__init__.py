"""The growlab app (Panel). Importing this imports panel; importing ``growlab`` does not.

Example:
    ``panel serve apps/growlab.py`` or ``growlab serve``; in Python, ``create_app().servable()``;
    in a notebook, ``growlab.Lab(...)`` (:mod:`growlab.ui.lab`).
"""

from __future__ import annotations

import panel as pn

from growlab.run.slots import TrainingSlots
from growlab.ui.app import PERIOD_MS, GrowlabApp
from growlab.ui.model import SessionModel
from growlab.ui.offload import Offload
from growlab.ui.session import Session
from growlab.ui.share import session_query
from growlab.ui.sidebar import guard_uploads, page_keys
from growlab.ui.text import short

TITLE = "growlab — grow and prune neural networks while they train"
#: Sidebar width in pixels: a projector's 1280 px keeps 1,000 for the diagram and curves.
SIDEBAR_WIDTH = 270
#: Header colour: dark enough for white text on a washed-out projector.
ACCENT = "#1f4e5f"


def create_app(query: dict[str, str] | None = None, slots: TrainingSlots | None = None, live: bool = True,
               resume: str | None = None):
    """One session's app: a template with the sidebar, the diagram, curves and tabs.

    Args:
        query: setup from a link (default: the browser request's query parameters).
        slots: the training cap (default: the process-wide one, ``GROWLAB_MAX_RUNS``).
        live: start the periodic refresh and stop the run when the session ends (set
            ``False`` in tests that call ``template.growlab.refresh()`` themselves).
        resume: the token of a page that was left, whose run this page takes over (default:
            the request's :data:`~growlab.ui.resume.COOKIE`, served; see :mod:`growlab.ui.resume`).

    Returns:
        A ``FastListTemplate``; its ``growlab`` attribute is the :class:`GrowlabApp`.
    """
    from growlab.ui.follow import FOLLOW_KEY, ShareLive, create_follow_app
    from growlab.ui.resume import GONE, RESUMES, cookie_token, remember
    from growlab.ui.serve import LIFETIME

    query = session_query() if query is None else query
    if FOLLOW_KEY in query:  # a viewer of a run shared live (classroom follow mode)
        return create_follow_app(query[FOLLOW_KEY], live=live)
    pn.extension("tabulator", notifications=True)
    _no_web_font()
    resume = cookie_token() if resume is None else resume
    kept = RESUMES.claim(resume) if resume else None
    offload = Offload(pn.state.curdoc) if live and pn.state.curdoc is not None else None  # builds off the loop
    if kept is not None:  # a reload: the left page's run, as it is, with its choices
        old = kept.app.session
        session = Session(model=old.model.copy(), slots=slots, offload=offload, runner=old.runner)
        session.dirty, problems = old.dirty, []
        notes = [("success", f"Your run is back, at epoch {old.runner.snapshot.epoch}")]
    else:
        model = SessionModel()
        problems = model.apply_query(query)
        session = Session(model=model, slots=slots, offload=offload)
        notes = [("info", GONE.format(seconds=LIFETIME["s"]))] if resume else []
    app = GrowlabApp(session=session, live=live, lazy_tabs=live)
    share_live = ShareLive(session=session)
    template = _Template(
        title="growlab", sidebar=[app.sidebar], main=app.main(), header=[pn.Row(app.share, share_live, app.projector, margin=0)],
        sidebar_width=SIDEBAR_WIDTH,
        accent=ACCENT, header_background=ACCENT, theme_toggle=False, main_layout=None,
        meta_description=TITLE, font=FONT, font_url="", busy_indicator=pn.indicators.LoadingSpinner(width=20, height=20),
    )  # fmt: skip
    template.growlab = app
    template.share_live = share_live
    if live:
        token = RESUMES.admit(app, share_live)
        template.resume_token = token
        shared = kept is not None and kept.share_live is not None and kept.share_live.share is not None
        _go_live(app, problems, template.busy_indicator, notes, reshare=share_live if shared else None)
        # the page's run (and a live share of it) is freed when the page's session ends, unless a reload took it
        pn.state.on_session_destroyed(lambda context: RESUMES.release(token, app))
        if pn.state.curdoc is not None:
            guard_uploads(pn.state.curdoc)
            page_keys(pn.state.curdoc)
            remember(pn.state.curdoc, token, LIFETIME["s"])
    return template


def _no_web_font() -> None:
    """Panel's Fast design asks Google's font server for Open Sans on every page load (which
    fails offline, e.g. in a classroom without internet); growlab pages use the system's fonts
    (:data:`FONT`) instead, so the design's web font is dropped, once, for this process."""
    from growlab.ui.compat import drop_web_font

    drop_web_font()


#: The page's font: what the system has (no download).
FONT = "system-ui, 'DejaVu Sans', 'Liberation Sans', Arial, sans-serif"


class _Template(pn.template.FastListTemplate):
    """The page; its models join the session's document in one go.

    Bokeh re-indexes every model of a document each time a root is added; a template adds
    a dozen roots, so without the freeze a page load indexes the whole app a dozen times.
    """

    def server_doc(self, doc=None, title=None, location=True):
        from bokeh.io import curdoc

        doc = doc or curdoc()
        with doc.models.freeze():
            return super().server_doc(doc, title, location)


def _go_live(app: GrowlabApp, problems: list[str], busy=None, notes=(), reshare=None) -> None:
    """Refresh every :data:`PERIOD_MS`; say what there is to say once the page is connected.

    The refresh is a quiet callback (:func:`growlab.ui.serve.add_quiet_periodic_callback`): Panel's
    header spinner otherwise counts it as work and spins for good; it spins while a callback
    answers the user, or a run is being built.
    """
    from growlab.ui.serve import add_quiet_periodic_callback

    add_quiet_periodic_callback(app.tick, period=PERIOD_MS)
    if busy is not None:
        app.session.param.watch(lambda e: setattr(busy, "value", e.new or pn.state.busy), "building")
    pn.state.onload(lambda: _loaded(app, problems, notes, reshare))


def _loaded(app: GrowlabApp, problems: list[str], notes=(), reshare=None) -> None:
    """The browser is connected: mark the page live and say, in one message, what the link could not set;
    after a reload, say whether the run is back (and share it on if the page left shared it live)."""
    app.strip.live = True
    if problems:
        app.session.notify("warning", link_summary(problems))
    for level, text in notes:
        app.session.notify(level, text)
    if reshare is not None:  # the same share: the class's links go on working
        reshare.start()
    app.session.connected()


def link_summary(problems: list[str], shown: int = 3) -> str:
    """One message for everything a link could not set: the first few, then how many more.

    Example:
        >>> link_summary(["link: a", "link: b"])
        'link: a; b'
    """
    parts = [short(p.removeprefix("link: "), 200) for p in problems[:shown]]
    more = f"; and {len(problems) - shown:,} more ignored" if len(problems) > shown else ""
    return "link: " + "; ".join(parts) + more


def __getattr__(name: str):
    """``growlab.ui.Lab`` (the notebook face of the same app) is imported on first use: a
    served app never loads the notebook code."""
    if name == "Lab":
        from growlab.ui.lab import Lab

        return Lab
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["GrowlabApp", "Lab", "Session", "SessionModel", "create_app"]
