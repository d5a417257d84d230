"""Every Panel, Bokeh and jupyter_bokeh internal growlab leans on, in one place, with the
versions it was tested against.

The app needs a few things these libraries do not offer publicly: a slider's value box and
track, Panel's record of loaded extensions and of the documents a view is shown in, its
per-document stylesheet cache, the web font of the Fast design, the hook through which a
Panel view receives browser messages, and jupyter_bokeh's hooks for kernel-side changes and
browser messages. Nothing else in growlab touches a private name of these libraries; when one
of them changes, this module is what to fix.

The tested versions (:data:`TESTED`) are the upper bounds in ``pyproject.toml`` (a test keeps
the two in step). Importing this module with an untested Panel or Bokeh warns
(:class:`UntestedVersion`) once; one older than the lowest supported is an ``ImportError``
saying what to install. jupyter_bokeh and ipywidgets are checked when a notebook widget is made.
"""

from __future__ import annotations

import re
import warnings
from importlib import metadata
from typing import Any, Callable

#: distribution → (lowest supported, newest tested) (major, minor) versions; pyproject.toml says
#: the same as ``>=low, <newest-minor + 1``
TESTED: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {
    "panel": ((1, 4), (1, 9)),
    "bokeh": ((3, 4), (3, 9)),
    "jupyter_bokeh": ((4, 0), (4, 1)),
    "ipywidgets": ((8, 0), (8, 1)),
}


class UntestedVersion(UserWarning):
    """A Panel, Bokeh, jupyter_bokeh or ipywidgets newer than growlab was tested with."""


def _minor(version: str) -> tuple[int, int] | None:
    m = re.match(r"(\d+)\.(\d+)", version)
    return (int(m.group(1)), int(m.group(2))) if m else None


def check_version(name: str, version: str | None = None) -> None:
    """Warn (:class:`UntestedVersion`) for a version of ``name`` newer than tested; ``ImportError``
    for one older than supported. ``version`` defaults to the installed one.

    Example:
        >>> check_version("panel", "1.9.4")  # tested: silent
    """
    low, high = TESTED[name]
    if version is None:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            return  # not installed as a distribution (a source checkout): nothing to compare
    found = _minor(version)
    if found is None:
        return
    if found < low:
        raise ImportError(f"growlab needs {name} {low[0]}.{low[1]} or newer, found {version}: "
                          f'pip install "{name}>={low[0]}.{low[1]},<{high[0]}.{high[1] + 1}"')  # fmt: skip
    if found > high:
        warnings.warn(
            f"{name} {version} is newer than growlab was tested with ({high[0]}.{high[1]}); the app leans on a few "
            f"of its internals (growlab/ui/compat.py) and may misbehave. Tested: "
            f'pip install "{name}<{high[0]}.{high[1] + 1}"',
            UntestedVersion,
            stacklevel=2,
        )


check_version("panel")
check_version("bokeh")

import panel as pn  # noqa: E402  (after the version check: an old Panel fails there, saying why)
from panel.io.state import state  # noqa: E402


# ------------------------------------------------------------------ widgets
def slider_value_box(slider) -> Any:
    """The number box of a Panel ``EditableFloatSlider`` / ``EditableIntSlider``."""
    return slider._value_edit


def slider_track(slider) -> Any:
    """The slider (track and knob) inside an editable slider."""
    return slider._slider


def drop_web_font() -> None:
    """Stop Panel's Fast design asking Google's font server for Open Sans on every page (for
    this process)."""
    from panel.theme.fast import Fast

    if "font" in Fast._resources:
        Fast._resources = {k: v for k, v in Fast._resources.items() if k != "font"}


# ------------------------------------------------------------------ notebook
def extensions_loaded(names) -> tuple[list[str], bool]:
    """``(the extensions of names not loaded yet, whether Panel's notebook support is loaded)``."""
    return [e for e in names if e not in pn.extension._loaded_extensions], bool(pn.extension._loaded)


def documents_of(view) -> list:
    """The Bokeh documents a Panel view is shown in (in a notebook: one per output)."""
    return [state._views[ref][2] for ref in view._models if ref in state._views]


def stylesheet_cache(doc) -> dict:
    """Panel's stylesheet cache of ``doc`` (URL → stylesheet), which a pane reuses when it
    updates while ``doc`` is current."""
    return state._stylesheets.setdefault(doc, {})


def panel_dist() -> tuple[str, Any]:
    """``(Panel's CDN URL, the folder of the files it serves)``."""
    from panel.io.resources import CDN_DIST, DIST_DIR

    return CDN_DIST, DIST_DIR


class FilteredRow(pn.Row):
    """A ``pn.Row`` whose browser messages go through :meth:`filter_manager` first: the comm
    manager it returns assembles them (Panel's ``_on_msg`` hook)."""

    def filter_manager(self, manager):
        return manager

    def _on_msg(self, ref: str, manager, msg) -> None:
        super()._on_msg(ref, self.filter_manager(manager), msg)


def bokeh_widget_class(
    sent: Callable[[Any, Any], None], refuse: Callable[[Any, dict], bool], start: Callable[[Any], None]
) -> type:
    """A ``jupyter_bokeh`` ``BokehModel`` subclass with three hooks: ``start(widget)`` when it
    takes a model, ``sent(widget, event)`` for each change the kernel makes (Bokeh document
    event), and ``refuse(widget, content) -> bool`` for each message from the browser (dropped
    when true)."""
    check_version("jupyter_bokeh")
    check_version("ipywidgets")
    from jupyter_bokeh.widgets import BokehModel

    class Widget(BokehModel):
        def update_from_model(self, model) -> None:
            start(self)
            super().update_from_model(model)

        def _document_patched(self, event) -> None:
            if event.setter is not self:
                sent(self, event)
            super()._document_patched(event)

        def _sync_model(self, model, content: dict[str, Any], buffers: list[Any]) -> None:
            if not refuse(self, content):
                super()._sync_model(model, content, buffers)

    return Widget


__all__ = [
    "TESTED", "FilteredRow", "UntestedVersion", "bokeh_widget_class", "check_version", "documents_of", "drop_web_font",
    "extensions_loaded", "panel_dist", "slider_track", "slider_value_box", "stylesheet_cache",
]  # fmt: skip


def keep_periodic(doc, callback) -> None:
    """Register a periodic ``callback`` started by hand with ``doc``'s session, so that Panel
    stops it when the session ends, as it does its own (``pn.state._periodic``)."""
    from panel.io.state import state

    state._periodic.setdefault(doc, []).append(callback)


def forget_notification(notifications, toast) -> None:
    """Stop Panel's notification area watching ``toast`` (``_notification_watchers``)."""
    watcher = getattr(notifications, "_notification_watchers", {}).pop(toast, None)
    if watcher is not None:
        toast.param.unwatch(watcher)
