"""A server-wide cap on how many runs train at the same moment.

Every browser session owns a run, but CPU cores are few: when more runs train at once than
the machine can serve, every session crawls. A runner takes a slot while it trains and
gives it back when it pauses, finishes or closes; when none is free, Play is refused with
a message saying so (the session stays usable: it can look, step later, or export).
"""

from __future__ import annotations

import os
import threading

#: Environment variable read when no cap was set explicitly (``growlab serve --max-runs``).
ENV_VAR = "GROWLAB_MAX_RUNS"


def default_max_runs() -> int:
    """``$GROWLAB_MAX_RUNS`` when set, else the number of CPU cores (at least 2)."""
    text = os.environ.get(ENV_VAR, "").strip()
    if text:
        value = int(text) if text.isdigit() else -1
        if value < 1:
            raise ValueError(f"{ENV_VAR} must be a positive integer, got {text!r}")
        return value
    return max(2, os.cpu_count() or 2)


class CapacityError(RuntimeError):
    """No training slot is free; the message says what the user can do."""


class TrainingSlots:
    """Counts runners training at once and refuses more than ``max_runs``.

    Args:
        max_runs: the cap; ``None`` reads :func:`default_max_runs` on every check, so the
            environment variable set by ``growlab serve`` applies to runners made later.

    Example:
        >>> slots = TrainingSlots(max_runs=1)
        >>> slots.acquire("a"); slots.acquire("a")   # holding one already: no-op
        >>> slots.acquire("b")
        Traceback (most recent call last):
        ...
        growlab.run.slots.CapacityError: the server is already training 1 run at once (its limit); pause another session's run or try again shortly
    """

    def __init__(self, max_runs: int | None = None):
        if max_runs is not None and (not isinstance(max_runs, int) or max_runs < 1):
            raise ValueError(f"max_runs must be a positive integer, got {max_runs!r}")
        self._max = max_runs
        self._holders: set = set()
        self._lock = threading.Lock()

    @property
    def max_runs(self) -> int:
        return self._max if self._max is not None else default_max_runs()

    @max_runs.setter
    def max_runs(self, value: int | None) -> None:
        if value is not None and (not isinstance(value, int) or value < 1):
            raise ValueError(f"max_runs must be a positive integer, got {value!r}")
        self._max = value

    @property
    def active(self) -> int:
        """Runners holding a slot now."""
        return len(self._holders)

    def holds(self, owner) -> bool:
        return owner in self._holders

    def acquire(self, owner) -> None:
        """Take a slot for ``owner`` (no-op if it holds one); ``CapacityError`` when full."""
        with self._lock:
            if owner in self._holders:
                return
            cap = self.max_runs
            if len(self._holders) >= cap:
                runs = "run" if cap == 1 else "runs"
                raise CapacityError(
                    f"the server is already training {cap} {runs} at once (its limit); "
                    "pause another session's run or try again shortly"
                )
            self._holders.add(owner)

    def release(self, owner) -> None:
        """Give ``owner``'s slot back (no-op if it holds none)."""
        with self._lock:
            self._holders.discard(owner)


#: The process-wide slots every :class:`~growlab.run.runner.Runner` uses by default.
SLOTS = TrainingSlots()
