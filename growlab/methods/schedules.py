"""When cycles happen: every ``interval`` epochs between ``start`` and ``stop`` (fractions of training)."""

from __future__ import annotations

from growlab.methods.params import Param

SCHEDULE_PARAMS = (
    Param("interval", 1, "int", low=1, high=10_000, doc="epochs between cycles"),
    Param("start", 0.0, "float", low=0, high=1, doc="first cycle at this fraction of training"),
    Param(
        "stop", 0.8, "float", low=0, high=1,
        doc="no cycle after this fraction of training; the structure is then frozen (the paper's stop delay)",
    ),  # fmt: skip
    Param("offset", 0, "int", low=0, high=10_000, doc="shift cycles by this many epochs (hybrid scheduling)"),
)


def due(epoch: int, epochs: int, interval: int = 1, start: float = 0.0, stop: float = 1.0, offset: int = 0) -> bool:
    """Whether a cycle is due after ``epoch`` (1-based) of ``epochs``.

    Example:
        >>> [e for e in range(1, 11) if due(e, 10, interval=3, stop=0.8)]
        [3, 6]
    """
    if epoch < 1 or epoch > epochs:
        return False
    frac = epoch / epochs
    if frac < start or frac > stop:
        return False
    return (epoch - offset) % interval == 0 and epoch > offset
