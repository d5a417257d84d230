"""Slow setup work (reading a CSV, building a run) off the server's event loop, with a time limit.

Every session of ``growlab serve`` shares one event loop: a CSV with thousands of columns or
a very deep network built there freezes every page. :class:`Offload` runs such work on a
small server-wide pool of build threads instead and hands the outcome back to the session's
own loop. A build that takes longer than ``timeout`` seconds is reported as refused; when it
finishes anyway, its result is dropped (``work`` asks ``commit()`` before it changes
anything, and only one of the two — the build or the time limit — can win).

Without a document (tests, notebooks) an ``Offload`` runs the work at once, in the caller.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

log = logging.getLogger(__name__)

#: Builds running at once, server-wide (the others queue): each takes a core while it runs.
BUILD_THREADS = 2
#: Seconds a build may take, from when it starts, before it is refused.
BUILD_TIMEOUT_S = 60.0

_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=BUILD_THREADS, thread_name_prefix="growlab-build")
        return _POOL


class Offload:
    """Run ``work(commit)`` on a build thread and ``done(result, error)`` on the session's loop.

    Args:
        doc: the session's Bokeh document (``None``: run everything at once, in the caller).
        timeout: seconds a build may run before it is refused with a ``TimeoutError``.

    A newer :meth:`submit` supersedes an older one still running: the older one's ``commit()``
    answers ``False`` and its ``done`` is never called.
    """

    def __init__(self, doc=None, timeout: float = BUILD_TIMEOUT_S):
        self.doc, self.timeout = doc, float(timeout)
        self._lock = threading.Lock()
        self._current: object | None = None

    @property
    def busy(self) -> bool:
        """A build is running (or waiting for a build thread)."""
        return self._current is not None

    def submit(self, work: Callable[[Callable[[], bool]], Any], done: Callable[[Any, BaseException | None], None]) -> None:
        """Start ``work``; ``done`` gets its result (or the exception it raised, or a timeout)."""
        ticket = object()
        with self._lock:
            self._current = ticket
        won: list[str] = []  # who won the race: "work" or "timer" (once only)

        def claim(who: str = "work") -> bool:
            """Win the race against the time limit (and against newer builds)."""
            with self._lock:
                if self._current is not ticket or won:
                    return who == "work" and won == ["work"]  # the work may ask twice
                won.append(who)
                return True

        def finish(result, error) -> None:
            with self._lock:
                if self._current is ticket:
                    self._current = None
            done(result, error)

        if self.doc is None:
            try:
                result, error = work(claim), None
            except Exception as e:
                result, error = None, e
            if claim():
                finish(result, error)
            return

        def run() -> None:
            self._on_loop(lambda: self.doc.add_timeout_callback(expire, int(self.timeout * 1000)))
            try:
                result, error = work(claim), None
            except Exception as e:
                result, error = None, e
            if claim():  # else the time limit or a newer build won: drop it
                self._on_loop(lambda: finish(result, error))

        def expire() -> None:
            if claim("timer"):
                finish(None, TimeoutError(f"it took longer than {self.timeout:g} s; choose a smaller setup"))

        _pool().submit(run)

    def _on_loop(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the session's event loop, with its document as Panel's current one."""
        from panel.io.state import set_curdoc

        def call() -> None:
            with set_curdoc(self.doc):
                try:
                    fn()
                except Exception:  # never let a callback take the loop down
                    log.exception("growlab: a build's callback failed")

        try:
            self.doc.add_next_tick_callback(call)
        except Exception:  # the session is gone (its tab closed): nobody to tell
            log.debug("growlab: session closed before its build finished", exc_info=True)
