"""The diagram, inspector, decision-boundary and compare views, or stand-ins when missing.

Those views are written separately (``diagram.py``, ``inspector.py``, ``boundary.py``,
``compare.py``); the app builds them through these factories so it runs, and says what is
missing, without them.
"""

from __future__ import annotations

import logging

import panel as pn
import param

log = logging.getLogger(__name__)


class Placeholder(pn.viewable.Viewer):
    """Stands in for a view that is not available; accepts and ignores updates."""

    title = param.String(default="", doc="What would be shown here.")
    selected = param.Dict(default=None, allow_None=True, doc="Mirrors the diagram's selection param.")

    def update(self, snapshot) -> None:
        """Nothing to draw."""

    def close(self) -> None:
        """Nothing to stop."""

    def __panel__(self):
        return pn.pane.Alert(f"{self.title} is not available in this build.", alert_type="secondary")


def make_diagram(runner=None):
    """The network diagram (it also draws conv networks; ``runner`` picks their example)."""
    try:
        from growlab.ui.conv_diagram import ConvDiagram
    except ImportError as e:
        log.warning("network diagram unavailable: %s", e)
        return Placeholder(title="The network diagram")
    on_example = runner.show_example if runner is not None else None
    return ConvDiagram(on_example=on_example, height=560, sizing_mode="stretch_width")


def make_inspector(runner, diagram):
    try:
        from growlab.ui.conv_inspector import ConvInspector
    except ImportError as e:
        log.warning("inspector unavailable: %s", e)
        return Placeholder(title="The inspector")
    return ConvInspector(runner=runner, diagram=diagram)


def make_compare(slots, live: bool):
    """The Compare tab (an experiment over seeds and methods); it counts against ``slots``."""
    try:
        from growlab.ui.compare import CompareView
    except ImportError as e:
        log.warning("compare view unavailable: %s", e)
        return Placeholder(title="Comparing methods")
    return CompareView(slots=slots, live=live)


def make_boundary(height: int = 420):
    try:
        from growlab.ui.boundary import DecisionBoundary
    except ImportError as e:
        log.warning("decision boundary unavailable: %s", e)
        return Placeholder(title="The decision boundary")
    return DecisionBoundary(height=height)
