"""Named methods (what the method selector shows), each a preset of parts."""

from __future__ import annotations

from growlab.methods.base import Method
from growlab.methods.registry import Registry

METHODS: Registry[Method] = Registry("method")


@METHODS.register("dense")
class Dense(Method):
    """All connections active from the start; nothing grows or is pruned (the baseline)."""

    doc = "all connections active; nothing grows or is pruned (baseline)"
    source = "baseline"
