"""The app in a Jupyter notebook: Panel loaded for offline use, and views that keep the kernel's state.

- :func:`load_panel` loads Panel's notebook support once per kernel, *inline*: BokehJS,
  Panel's models, stylesheets, the Tabulator and the toasts' Notyf come with the output, not
  from a CDN, so the app draws on a machine without internet access.
- :func:`ipywidget` is how a ``Lab`` is shown (inline and by ``lab.widget()``): a
  ``jupyter_bokeh`` widget, whose state lives in the widget model, so changes made while the
  page is still drawing the output (Run All) reach it; Panel's own notebook comms drop them.
- Echoes: the browser sends every change the kernel makes back to the kernel once it has
  applied it. The app changes several times a second, so an echo can arrive after a newer
  change and undo it (a Pause label coming back after the run finished, old rows put back in
  a data source, or a patch of a source that has shrunk since failing). The widget drops the
  values it sent coming back, and every data-source change from the browser (the kernel is
  the only writer of this app's data; the events table is read-only); widget values, clicks,
  selections and sizes still come through. :class:`NotebookView` (a ``Lab`` in a Panel
  layout, ``pn.Row(lab)``) drops the data-source changes.
- :func:`draw` refreshes a view with its document as Panel's current one, so Panel reuses
  the stylesheets the page has instead of sending new ones with each update.

The Panel and jupyter_bokeh internals this needs (the message hooks, the stylesheet cache,
Panel's CDN and dist paths) are reached through :mod:`growlab.ui.compat` only; tested in
``tests/ui/test_lab.py`` and by the JupyterLab browser test.
"""

from __future__ import annotations

import base64
import functools
from typing import Callable

import panel as pn
from bokeh.document import Document
from bokeh.document.events import ModelChangedEvent
from bokeh.models import ImportedStyleSheet, UIElement
from panel.io.state import set_curdoc

from growlab.ui import compat
from growlab.ui.app import GrowlabApp

#: Panel extensions the app's views need in the notebook (the events table is a Tabulator).
EXTENSIONS = ("tabulator",)
#: Change kinds that can set a data source's columns (Bokeh document events, as JSON).
DATA_EVENTS = ("ModelChanged", "ColumnDataChanged", "ColumnsPatched", "ColumnsStreamed")
#: Values sent per property that the widget recognises when they come back.
ECHOES = 8


def _plain(value) -> bool:
    """A value that comes back from the browser as itself (compared with ``==``)."""
    return value is None or isinstance(value, (str, bool, int, float))


def load_panel() -> None:
    """Load Panel's notebook support once per kernel, inline (what ``pn.extension(...)`` does in a cell).

    Also sends the page what inline Panel leaves out: Notyf, the toasts' library, which Panel
    would fetch from its CDN. After the browser page is reloaded with the kernel still
    running, restart the kernel so the page gets all this again.
    """
    missing, loaded = compat.extensions_loaded(EXTENSIONS)
    if missing or not loaded:
        if _in_kernel():
            _publish_notyf()
        pn.extension(*missing, notifications=True, inline=True)


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return hasattr(get_ipython(), "kernel")


def _publish_notyf() -> None:
    from IPython.display import HTML, Javascript, display

    folder = compat.panel_dist()[1] / "bundled" / "notificationarea" / "notyf@3"
    js, css = folder / "notyf.min.js", folder / "notyf.min.css"
    if js.is_file() and css.is_file():
        display(HTML(f"<style>{css.read_text(encoding='utf-8')}</style>"))
        # the page runs this inside a function: make the class global, as a <script> would
        display(Javascript(f"{js.read_text(encoding='utf-8')}\n;window.Notyf = Notyf;"))


def draw(app: GrowlabApp, view: pn.viewable.Viewable, how: Callable[[], bool]) -> bool:
    """``how()`` (``app.refresh`` or ``app.tick``) with ``view``'s document as Panel's current one
    (so panes reuse the inline stylesheets the page has), then push what changed to a Panel
    comm; returns what ``how`` returned."""
    docs = compat.documents_of(view)
    doc = docs[0] if docs else None
    with set_curdoc(doc):
        drew = how()
    if drew and doc is not None:
        for sheet in [m for m in doc.models if isinstance(m, ImportedStyleSheet)]:
            if url := _data_url(sheet.url):  # one Panel brought in from elsewhere
                sheet.url = url
        pn.io.push_notebook(view)  # raw Bokeh changes (diagram, curves) for a Panel-comm display
    return drew


def is_data_event(event: dict) -> bool:
    """Whether a Bokeh document event (JSON) sets a data source's columns.

    Example:
        >>> is_data_event({"kind": "ColumnsPatched", "attr": "data"}), is_data_event({"kind": "ModelChanged", "attr": "value"})
        (True, False)
    """
    return event.get("kind") in DATA_EVENTS and event.get("attr") == "data"


def inline_stylesheets(root: UIElement, doc: Document | None = None) -> None:
    """Point the Panel CDN stylesheets of ``root`` and its children at inline copies (data URLs).

    The stylesheet objects stay; only their URLs change, to ``data:`` URLs of the files Panel
    ships. They also become Panel's stylesheet cache of ``doc`` (``root``'s document), which
    Panel looks in when a pane updates while ``doc`` is the current document (see
    :func:`draw`): it then sends these again rather than new objects pointing at its CDN.
    (Panel's own inline mode swaps in new objects one model at a time instead, recomputing
    the whole document per model: half a minute for the app on two cores.)
    """
    doc = doc if doc is not None else root.document
    cache = compat.stylesheet_cache(doc) if doc is not None else {}
    sheets = [s for m in root.select({"type": UIElement}) for s in m.stylesheets]
    for sheet in [*sheets, *cache.values()]:
        if isinstance(sheet, ImportedStyleSheet) and (url := _data_url(sheet.url)):
            cache.setdefault(sheet.url, sheet)
            sheet.url = url


@functools.lru_cache(maxsize=None)
def _data_url(url: str) -> str | None:
    """A ``data:`` URL with the local copy of one of Panel's CDN files, or ``None``."""
    CDN_DIST, DIST_DIR = compat.panel_dist()
    if not url.startswith(CDN_DIST):
        return None
    path = DIST_DIR / url[len(CDN_DIST) :].split("?")[0]
    if not path.is_file():
        return None
    return "data:text/css;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


class NotebookView(compat.FilteredRow):
    """An app's layout as shown in a notebook output: the served layout, its stylesheets
    inline, without the echoes of the data it sends (see the module docstring)."""

    def __init__(self, app: GrowlabApp, **params):
        layout = app.__panel__()  # its children in a row of the same sizing: laid out as when served
        super().__init__(*layout.objects, sizing_mode=layout.sizing_mode, **params)

    def get_root(self, doc=None, comm=None, preprocess: bool = True):
        root = super().get_root(doc, comm, preprocess)
        inline_stylesheets(root, doc)
        return root

    def filter_manager(self, manager):
        return _DropData(manager)


class _DropData:
    """A Panel comm manager whose assembled messages lose their data-source changes."""

    def __init__(self, manager):
        self._manager = manager

    def assemble(self, msg):
        message = self._manager.assemble(msg)
        events = message.content.get("events")
        if events:
            message.content["events"] = [e for e in events if not is_data_event(e)]
        return message

    def __getattr__(self, name: str):
        return getattr(self._manager, name)


def _echo(sent: dict, content: dict) -> bool:
    """Whether a browser change is a value the kernel sent coming back (then forgotten)."""
    if content.get("kind") != "ModelChanged" or not isinstance(content.get("model"), dict):
        return False
    values = sent.get((content["model"].get("id"), content.get("attr")), [])
    if content.get("new") in values:
        values.remove(content["new"])
        return True
    return False


def ipywidget(view: pn.viewable.Viewable):
    """``view`` as a ``jupyter_bokeh`` widget, with inline stylesheets and without data echoes.

    What ``pn.ipywidget`` does, except that the stylesheets come with the widget (Panel's
    would come from its CDN) and the widget ignores echoes (see the module docstring).
    """
    from panel.io.resources import set_resource_mode

    def start(widget) -> None:
        widget.growlab_sent = {}  # (model id, attribute) → the last values the kernel sent

    def sent(widget, event) -> None:
        if isinstance(event, ModelChangedEvent) and _plain(event.new):
            values = widget.growlab_sent.setdefault((event.model.id, event.attr), [])
            values[:] = [*values[-(ECHOES - 1) :], event.new]

    def refuse(widget, content: dict) -> bool:
        """Data-source changes from the browser, and values the kernel sent coming back."""
        return content.get("event") == "jsevent" and (is_data_event(content) or _echo(widget.growlab_sent, content))

    AppWidget = compat.bokeh_widget_class(sent=sent, refuse=refuse, start=start)
    doc = Document()
    with set_resource_mode("inline"):
        root = view.get_root(doc)
    if root.document is None:
        doc.add_root(root)  # the widget's document, the one Panel's stylesheet cache is for
    inline_stylesheets(root, root.document)  # done already for a NotebookView; any other view gets it here
    return AppWidget(root, combine_events=True)


__all__ = ["DATA_EVENTS", "ECHOES", "EXTENSIONS", "NotebookView", "draw", "inline_stylesheets", "ipywidget", "is_data_event", "load_panel"]
