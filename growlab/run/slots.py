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


#: Environment variable read when no memory budget was set explicitly (``growlab serve --memory-budget``).
MEMORY_ENV_VAR = "GROWLAB_MEMORY_BUDGET"
_UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 10**3, "kib": 2**10, "m": 2**20, "mb": 10**6, "mib": 2**20,
          "g": 2**30, "gb": 10**9, "gib": 2**30, "t": 2**40, "tb": 10**12, "tib": 2**40}  # fmt: skip


def parse_bytes(text: str | int) -> int:
    """``"8GiB"``, ``"512 MB"``, ``"2g"`` or a number of bytes → bytes (``ValueError`` otherwise).

    Example:
        >>> parse_bytes("1.5GiB"), parse_bytes("512MB"), parse_bytes(1024)
        (1610612736, 512000000, 1024)
    """
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    else:
        import re

        found = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", str(text))
        unit = found.group(2).lower() if found else None
        if not found or unit not in _UNITS:
            raise ValueError(f"a memory size must look like 8GiB, 512MB or 2G, got {str(text)[:40]!r}")
        value = int(float(found.group(1)) * _UNITS[unit])
    if value < 1:
        raise ValueError(f"a memory size must be positive, got {text!r}")
    return value


def physical_memory() -> int | None:
    """Bytes of RAM on this machine (``None`` where the OS does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


class BudgetError(ValueError):
    """A run would take more memory than the server has left for runs; the message says how much."""


class MemoryBudget:
    """A server-wide cap on the memory runs take together (their estimates, in bytes).

    A runner reserves its run's estimate before building it and gives it back when it is
    replaced or closed; a run that does not fit what the other sessions leave is refused.

    Args:
        limit: bytes; ``None`` reads ``$GROWLAB_MEMORY_BUDGET`` on every check (unset: no budget).

    Example:
        >>> budget = MemoryBudget(limit=100)
        >>> budget.reserve("a", 60)
        >>> budget.reserve("b", 60)
        Traceback (most recent call last):
        ...
        growlab.run.slots.BudgetError: this setup needs about 60 B, but the server's memory budget for runs (100 B) has 40 B left (1 other run holds the rest); choose smaller widths, a smaller batch, or try again later
        >>> budget.release("a"); budget.reserve("b", 60); budget.used
        60
    """

    def __init__(self, limit: int | None = None):
        self._limit = None if limit is None else parse_bytes(limit)
        self._held: dict = {}
        self._lock = threading.Lock()

    @property
    def limit(self) -> int | None:
        if self._limit is not None:
            return self._limit
        text = os.environ.get(MEMORY_ENV_VAR, "").strip()
        return parse_bytes(text) if text else None

    @limit.setter
    def limit(self, value: int | str | None) -> None:
        self._limit = None if value is None else parse_bytes(value)

    @property
    def used(self) -> int:
        """Bytes reserved now."""
        return sum(self._held.values())

    def reserve(self, owner, nbytes: int) -> None:
        """Reserve ``nbytes`` for ``owner`` (replacing what it held); ``BudgetError`` when they do not fit."""
        from growlab.config import format_bytes

        with self._lock:
            limit, others = self.limit, {k: v for k, v in self._held.items() if k is not owner}
            if limit is not None and sum(others.values()) + nbytes > limit:
                left = max(limit - sum(others.values()), 0)
                held = f" ({len(others)} other run{'s' if len(others) != 1 else ''} hold{'s' if len(others) == 1 else ''} the rest)" if others else ""
                raise BudgetError(
                    f"this setup needs about {format_bytes(nbytes)}, but the server's memory budget for runs "
                    f"({format_bytes(limit)}) has {format_bytes(left)} left{held}; choose smaller widths, "
                    "a smaller batch, or try again later"
                )
            self._held[owner] = int(nbytes)

    def release(self, owner) -> None:
        """Give back what ``owner`` holds (no-op if nothing)."""
        with self._lock:
            self._held.pop(owner, None)


#: The process-wide memory budget every :class:`~growlab.run.runner.Runner` reserves from.
MEMORY = MemoryBudget()
