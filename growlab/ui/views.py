"""Factories of the app's views: the diagram, the inspector, the decision boundary and the
Compare tab (each written in its own module), built with the app's sizes and hooks.

A view that fails to import is a broken install or a bug, not a missing feature: the import
error propagates (no stand-in hides it).
"""

from __future__ import annotations

from growlab.ui.boundary import DecisionBoundary
from growlab.ui.compare import CompareView
from growlab.ui.conv_diagram import ConvDiagram
from growlab.ui.conv_inspector import ConvInspector


def make_diagram(runner=None) -> ConvDiagram:
    """The network diagram (it also draws conv networks; ``runner`` picks their example)."""
    on_example = runner.show_example if runner is not None else None
    return ConvDiagram(on_example=on_example, height=560, sizing_mode="stretch_width")


def make_inspector(runner, diagram) -> ConvInspector:
    """The inspector of what is selected in ``diagram``."""
    return ConvInspector(runner=runner, diagram=diagram)


def make_compare(slots, live: bool) -> CompareView:
    """The Compare tab (an experiment over seeds and methods); it counts against ``slots``."""
    return CompareView(slots=slots, live=live)


def make_boundary() -> DecisionBoundary:
    """The decision boundary of a 2-D dataset."""
    return DecisionBoundary(height=420)
