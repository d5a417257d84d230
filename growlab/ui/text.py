"""Text from outside (a user, a file, a URL) made safe to show: escaped for HTML or Markdown, kept short.

Column names, class labels, file names, query values and the messages that quote them are
shown as they are written, never interpreted: ``<img onerror=…>`` appears as those
characters. Views that build HTML or Markdown pass every such value through :func:`html`
or :func:`markdown`; toasts get :func:`html` (Notyf sets its message as HTML).

Example:
    >>> html("<b>a&b</b>")
    '&lt;b&gt;a&amp;b&lt;/b&gt;'
    >>> markdown("**bold** <i>")
    '\\\\*\\\\*bold\\\\*\\\\* &lt;i&gt;'
    >>> short("x" * 100, 10)
    'xxxxxxxxx…'
"""

from __future__ import annotations

import html as _html
import re

#: Characters Markdown gives a meaning to; a backslash makes each literal.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")
#: Longest piece of outside text echoed in a message.
MAX_ECHO = 120


def html(text) -> str:
    """``text`` as HTML text: ``<``, ``>``, ``&`` and quotes escaped."""
    return _html.escape(str(text), quote=True)


def markdown(text) -> str:
    """``text`` as Markdown text: shown literally (no markup, no HTML, no links)."""
    return _MD_SPECIAL.sub(r"\\\1", html(text))


def short(text, limit: int = MAX_ECHO) -> str:
    """``text`` cut to ``limit`` characters (with "…") so a huge value is not echoed whole."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


#: How each method's ``overlays()["phase"]`` reads by the diagram's title.
PHASE_NAMES = {"nest": "NeST {} phase", "odf2nna": "ODF2NNA {} phase", "lottery": "lottery {}"}


def phase_text(snap) -> str:
    """The method's current phase as a label ("NeST growth phase", "lottery round 2/5"), or ""."""
    phase = (snap.overlays or {}).get("phase")
    if not phase:
        return ""
    return PHASE_NAMES.get(snap.method, "{}").format(phase)
