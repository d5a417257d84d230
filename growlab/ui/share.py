"""Shareable links: the URL carries the setup, and a button copies it.

On every setup change the query string is rewritten (``pn.state.location.search``), so the
address bar always reproduces what is on screen; opening such a link applies it before the
first run is built (:func:`session_query`, :meth:`SessionModel.apply_query`).
"""

from __future__ import annotations

from urllib.parse import urlencode

import panel as pn
import param

from growlab.ui.model import URL_KEYS
from growlab.ui.session import Session
from growlab.ui.theme import button_args

COPY_JS = """
const url = window.location.href;
const done = () => { btn.label = 'Link copied'; setTimeout(() => { btn.label = label; }, 2000); };
if (navigator.clipboard && window.isSecureContext) {
  navigator.clipboard.writeText(url).then(done, () => window.prompt('Copy this link:', url));
} else {
  window.prompt('Copy this link:', url);
}
"""


def session_query() -> dict[str, str]:
    """The query parameters of the current browser request (empty outside a server session)."""
    args = pn.state.session_args or {}
    return {k: (v[-1].decode("utf-8", "replace") if isinstance(v[-1], bytes) else str(v[-1])) for k, v in args.items() if v}


class ShareLink(pn.viewable.Viewer):
    """Keeps the URL in step with the session's setup and offers a "copy link" button."""

    session = param.ClassSelector(class_=Session, doc="Whose setup the URL carries.")
    search = param.String(default="", doc="The query string the URL shows (``?dataset=…``).")

    def __init__(self, **params):
        super().__init__(**params)
        self.button = pn.widgets.Button(
            **button_args("Copy link", "light"), description="Copy a link that opens this setup",
            stylesheets=[":host { font-size: 15px; }"], width=140,
        )  # fmt: skip
        self.button.js_on_click(args={"btn": self.button, "label": "Copy link"}, code=COPY_JS)
        model = self.session.model
        model.param.watch(self._sync, [*URL_KEYS, "method_params"])
        model.param.watch(self._watch_method, "method_params")
        self._watch_method()
        self._sync()

    def _watch_method(self, *_) -> None:
        mp = self.session.model.method_params
        if mp.specs:
            mp.param.watch(self._sync, list(mp.specs))

    def _sync(self, *_) -> None:
        self.search = "?" + urlencode(self.session.model.query())
        location = pn.state.location
        if location is not None and location.search != self.search:
            location.search = self.search

    def __panel__(self):
        return self.button
