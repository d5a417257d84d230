"""Grow/prune methods: parts in registries, named presets, live parameters.

Never imports panel, bokeh or ipywidgets.
"""

from __future__ import annotations

from growlab.methods.base import Method, Parameterized, Part
from growlab.methods.context import CycleContext
from growlab.methods.events import EventLog
from growlab.methods.params import Param
from growlab.methods.presets import METHODS
from growlab.methods import lottery, nest, odf2nna  # noqa: F401,E402  (register the phase methods)
from growlab.methods.registry import Registry
from growlab.methods.schedules import due


def make_method(name: str, **params) -> Method:
    """A named method with its parameters validated.

    Raises:
        ValueError: unknown method (lists valid names) or a bad parameter value.

    Example:
        >>> make_method("dense").name
        'dense'
    """
    return METHODS.make(name, **params)


def available() -> dict[str, dict]:
    """Every named method with its doc, source and parameters (defaults, ranges, docs)."""
    return {name: METHODS.get(name).describe() for name in METHODS}


__all__ = [
    "METHODS",
    "CycleContext",
    "EventLog",
    "Method",
    "Param",
    "Parameterized",
    "Part",
    "Registry",
    "available",
    "due",
    "make_method",
]
