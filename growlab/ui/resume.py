"""A reload keeps the run: a page that is left hands its run to the next page of the same browser.

Every served page's session is held in :data:`RESUMES` under a random token (the follow
mode's :class:`~growlab.ui.follow.TokenHub`). When the page is left (reloaded, or its tab
closed) the browser writes the token into a short-lived cookie (:data:`COOKIE`, ``SameSite=Strict``,
never in the address bar, so a copied link cannot take someone's run); the next page load
from that browser within the server's session lifetime (``growlab serve --session-lifetime``,
the grace period: the old page's session, and its run, live that long after it is left)
claims the run (:meth:`ResumeHub.claim`): its new page is built on the same runner — still
training, or paused, at the epoch it had reached — with a copy of the old page's choices.
The old page then stops drawing and, when its session ends, leaves the run alone.

A cookie naming nothing (the grace period is over, the server restarted, a forged value) gives
a new run and a short notice, never an error. When a page's session ends and no newer page
has claimed its run, the run is stopped and freed, as before.
"""

from __future__ import annotations

from dataclasses import dataclass

from growlab.ui.follow import TokenHub

#: The cookie a page that is left writes its token into.
COOKIE = "growlab_resume"
#: Told when the cookie named a run no longer kept.
GONE = "Your earlier run was not kept (the server keeps a left page's run {seconds:g} s); this is a new run"

#: Run once per page: clear the cookie this page load was claimed with; when the page is left,
#: write this page's token for the next load (a page still here a moment later was not left).
RESUME_JS = """
const clear = () => { document.cookie = `${name}=; max-age=0; path=/; samesite=strict`; };
clear();
if (!window._growlab_resume) {
  window._growlab_resume = true;
  window.addEventListener('beforeunload', () => {
    document.cookie = `${name}=${token}; max-age=${age}; path=/; samesite=strict`;
    setTimeout(clear, 1500);
  });
}
"""


@dataclass
class Kept:
    """A page's run as the hub holds it: the page's app (whose session has the runner) and its Share live button."""

    app: object
    share_live: object = None


class ResumeHub(TokenHub):
    """The runs of this server's pages, by token, until their page is left and not reloaded in time."""

    def admit(self, app, share_live=None) -> str:
        """Hold ``app``'s run for its page; returns the page's token."""
        with self._lock:
            return self._add(Kept(app, share_live))

    def claim(self, token) -> Kept | None:
        """The run ``token`` names, handed to the caller's new page (the old page stops drawing and
        keeps no claim on it); ``None`` for a token naming nothing."""
        with self._lock:
            kept = self._find(token)
            if kept is None:
                return None
            self._items.pop(token)
        kept.app.detached = True
        kept.app.compare.close()  # the old page's experiment goes with its page
        if kept.share_live is not None:
            kept.share_live.hand_over()
        return kept

    def release(self, token: str, app) -> bool:
        """``app``'s page session ended: free its run unless a newer page claimed it; returns whether it freed it."""
        with self._lock:
            kept = self._find(token)
            if kept is None or kept.app is not app:
                return False
            self._items.pop(token)
        if kept.share_live is not None:
            kept.share_live.close()  # viewers are told, and keep their last picture
        kept.app.close()
        return True

    def counts(self) -> int:
        """Runs held (pages open, or left within the grace period)."""
        with self._lock:
            return len(self._items)


RESUMES = ResumeHub()


def remember(doc, token: str, seconds: float) -> None:
    """Make the page write ``token`` into :data:`COOKIE` (kept ``seconds``) when it is left (:data:`RESUME_JS`)."""
    from bokeh.events import DocumentReady
    from bokeh.models import CustomJS

    doc.js_on_event(DocumentReady, CustomJS(code=RESUME_JS, args={"name": COOKIE, "token": token, "age": max(1, int(seconds))}))


def cookie_token() -> str | None:
    """The token the page request's cookie carries, or None (outside a server, or no cookie)."""
    import panel as pn

    try:
        value = (pn.state.cookies or {}).get(COOKIE)
    except Exception:  # no session context (a script, a test)
        return None
    return value or None
