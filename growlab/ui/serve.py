"""``growlab serve``: the app on a Bokeh/Panel server, with a small JSON status page.

Binds 127.0.0.1 unless told otherwise. The websocket origins allowed are exactly the
addresses the server answers on (plus any given), so other web pages cannot drive a session:
on loopback ``localhost`` and ``127.0.0.1``; bound to every interface (``--address 0.0.0.0``,
or ``--classroom``) also this machine's name and each of its network addresses, which is
what students type (``http://192.168.1.20:5006/``). ``--allow-websocket-origin`` adds more
(a proxy's name). ``/growlab-status`` reports open runs, runs training, the cap and the
memory budget, for health checks.
"""

from __future__ import annotations

import json
import os
import socket
import sys

import panel as pn
from tornado.web import RequestHandler

from growlab.config import format_bytes

from growlab.run.runner import open_runners
from growlab.run.slots import ENV_VAR, MEMORY, MEMORY_ENV_VAR, SLOTS, parse_bytes, physical_memory
from growlab.ui import compat

STATUS_PATH = "/growlab-status"
WILDCARDS = ("0.0.0.0", "::", "")
#: Seconds: Bokeh frees a session no page is connected to after this long, counted from its
#: creation too, so it must cover a slow first page load.
MIN_LIFETIME = 5.0
#: Seconds a page's session, and its run, live after the page is left (``--session-lifetime``):
#: the grace period in which a reload, or the tab reopened, gets the run back (:mod:`growlab.ui.resume`).
DEFAULT_LIFETIME = 15.0
#: ... as this server process was started with.
LIFETIME = {"s": DEFAULT_LIFETIME}
#: Share of the machine's memory that runs may take together unless ``--memory-budget`` says otherwise.
DEFAULT_BUDGET_SHARE = 0.5
#: Largest websocket message accepted: an upload at the 10 MiB limit, base64-encoded, fits
#: (the page refuses bigger files before sending them).
MAX_MESSAGE_BYTES = 24 * 2**20
#: Seconds a thread holds the GIL before another may take it, served (Python's default is 0.005;
#: ``$GROWLAB_SWITCH_INTERVAL`` overrides it, for benchmarks).
SWITCH_INTERVAL_S = 0.0005
SWITCH_ENV_VAR = "GROWLAB_SWITCH_INTERVAL"


def switch_interval() -> float:
    """The GIL switch interval to serve with: :data:`SWITCH_INTERVAL_S`, or ``$GROWLAB_SWITCH_INTERVAL``
    (a positive number of seconds; anything else is refused with a ``ValueError`` saying so)."""
    text = os.environ.get(SWITCH_ENV_VAR, "").strip()
    if not text:
        return SWITCH_INTERVAL_S
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < 1:  # (nan fails too)
        raise ValueError(f"${SWITCH_ENV_VAR} must be a number of seconds in (0, 1), got {text!r}")
    return value


class StatusHandler(RequestHandler):
    """``GET /growlab-status`` → ``{"runs", "workers", "training", "max_runs"}``."""

    def get(self) -> None:
        runners = open_runners()
        body = {
            "runs": len(runners),
            "workers": sum(r.alive for r in runners),
            "training": SLOTS.active,
            "max_runs": SLOTS.max_runs,
            "memory_used": MEMORY.used,
            "memory_budget": MEMORY.limit,
            "epochs": sum(r.snapshot.epoch for r in runners),  # of every open run (benchmarks: epochs/s)
            **_follow_counts(),
        }
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.write(json.dumps(body))


def add_quiet_periodic_callback(callback, period: int):
    """``pn.state.add_periodic_callback`` without Panel's busy indicator.

    Panel marks the whole process busy around every ordinary periodic callback and then sets
    the busy indicator of *every* open page, at the start and at the end: with n sessions
    refreshing a few times a second that is n² messages a second on the one event loop they
    share (30 pages: thousands). A refresh is not something to show a spinner for anyway.
    """
    from panel.io.callbacks import PeriodicCallback

    cb = PeriodicCallback(callback=callback, period=period, background=True, log=False)
    cb.start()
    doc = pn.state.curdoc
    if doc is not None:  # stopped with the session, as Panel's own are
        compat.keep_periodic(doc, cb)
    return cb


def _follow_counts() -> dict:
    """Runs shared live and their viewers (``{}`` before the app was ever imported)."""
    import sys

    follow = sys.modules.get("growlab.ui.follow")
    return follow.HUB.counts() if follow is not None else {"shared": 0, "viewers": 0}


class LoopProbe:
    """How late the server's event loop runs a timer: a callback every ``interval`` seconds notes
    how long after its due time it ran (what every session's clicks and refreshes wait for).

    Only with ``$GROWLAB_LOOP_PROBE`` set (benchmarks): ``GET /growlab-loop`` answers the lag
    percentiles since the last ``GET /growlab-loop?reset=1``.
    """

    def __init__(self, interval: float = 0.02, keep: int = 100_000):
        from collections import deque

        self.interval, self.lags = interval, deque(maxlen=keep)

    def start(self) -> None:
        import asyncio
        import time

        loop = asyncio.get_event_loop()

        def arm() -> None:
            due = time.monotonic() + self.interval

            def fire() -> None:
                self.lags.append(max(0.0, time.monotonic() - due))
                arm()

            loop.call_later(self.interval, fire)

        arm()

    def summary(self) -> dict:
        lags = sorted(self.lags)
        if not lags:
            return {"n": 0}
        at = lambda q: lags[min(len(lags) - 1, int(q * len(lags)))] * 1000  # noqa: E731
        return {"n": len(lags), "p50_ms": at(0.5), "p90_ms": at(0.9), "p99_ms": at(0.99), "max_ms": lags[-1] * 1000}


LOOP_PATH = "/growlab-loop"
LOOP_ENV_VAR = "GROWLAB_LOOP_PROBE"
PROBE = LoopProbe()


class LoopHandler(RequestHandler):
    """``GET /growlab-loop`` → the event loop's lag percentiles (ms); ``?reset=1`` starts afresh;
    ``?profile=start`` profiles the loop's thread and ``?profile=stop`` answers where its time went."""

    profiler = None

    def get(self) -> None:
        action = self.get_argument("profile", "")
        if action:
            self.set_header("Content-Type", "text/plain")
            self.write(self._profile(action))
            return
        body = PROBE.summary()
        if self.get_argument("reset", ""):
            PROBE.lags.clear()
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.write(json.dumps(body))


    @classmethod
    def _profile(cls, action: str) -> str:
        import cProfile
        import io
        import pstats
        import time

        if action == "start":
            cls.profiler = cProfile.Profile(time.thread_time)  # the loop's own CPU, not its waits for the GIL
            cls.profiler.enable()
            return "profiling"
        if cls.profiler is None:
            return "not profiling"
        cls.profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(cls.profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(25)
        cls.profiler = None
        return out.getvalue()


def free_port(address: str = "127.0.0.1") -> int:
    """A port nobody listens on right now."""
    with socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET) as s:
        s.bind((address if address not in WILDCARDS else "", 0))
        return s.getsockname()[1]


def local_addresses() -> set[str]:
    """This machine's own IP addresses (every interface that is up, IPv4 and global IPv6)."""
    found: set[str] = set()
    try:
        found |= {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None)}
    except OSError:
        pass
    for family, probe in ((socket.AF_INET, ("10.255.255.255", 1)), (socket.AF_INET6, ("fd00::1", 1))):
        try:  # the address a packet out would leave from (nothing is sent)
            with socket.socket(family, socket.SOCK_DGRAM) as s:
                s.connect(probe)
                found.add(s.getsockname()[0])
        except OSError:
            pass
    found |= _linux_addresses()
    return {a.split("%")[0] for a in found if a}


def _linux_addresses() -> set[str]:
    """Every IPv4 address on a Linux machine's interfaces (from ``/proc``); empty elsewhere."""
    try:
        lines = open("/proc/net/fib_trie", encoding="ascii").read().splitlines()
    except OSError:
        return set()
    out = set()
    for before, line in zip(lines, lines[1:]):
        if line.strip() == "/32 host LOCAL":
            out.add(before.split()[-1])
    return out


def resolve_address(address: str) -> str:
    """``address`` if this machine can bind it; ``ValueError`` with a one-line reason otherwise."""
    if address in WILDCARDS:
        return address
    try:
        socket.getaddrinfo(address, None)
    except (socket.gaierror, UnicodeError) as e:
        raise ValueError(f"cannot serve on {address!r}: no such host or address ({e.strerror or e})") from None
    return address


def websocket_origins(address: str, port: int, extra: list[str] | tuple = ()) -> list[str]:
    """Hosts a browser may load the app from: the bound address, and local names for loopback;
    bound to every interface, also this machine's names and addresses (a classroom's links)."""
    hosts = {address}
    if address in ("127.0.0.1", "localhost", "::1"):
        hosts |= {"localhost", "127.0.0.1"}
    elif address in WILDCARDS:
        hosts = {"localhost", "127.0.0.1", socket.gethostname(), socket.getfqdn(), *local_addresses()}
    origins = {f"[{h}]:{port}" if ":" in h else f"{h}:{port}" for h in hosts if h}
    origins |= {o if ":" in o else f"{o}:{port}" for o in extra}
    return sorted(origins)


def serve(
    port: int = 5006,
    address: str = "127.0.0.1",
    show: bool = False,
    max_runs: int | None = None,
    origins: list[str] | tuple = (),
    session_lifetime: float = DEFAULT_LIFETIME,
    memory_budget: int | str | None = None,
) -> None:
    """Serve the app until interrupted.

    Args:
        port: TCP port (0 picks a free one).
        address: interface to bind; ``0.0.0.0`` exposes it to the network.
        show: open a browser tab.
        max_runs: cap on runs training at once (default ``$GROWLAB_MAX_RUNS`` or the CPU count).
        origins: more ``host[:port]`` the page may be loaded from (e.g. behind a proxy).
        session_lifetime: seconds after a page is left (reloaded, its tab closed) before its run
            is stopped and freed; a reload within them gets the run back (at least 5: a new
            page must connect within it).
        memory_budget: memory all runs may take together (``"8GiB"``, bytes); a setup that
            does not fit is refused with a message (default: half the machine's memory).
    """
    if not 0 <= port <= 65535:
        raise ValueError(f"port must be in [0, 65535], got {port}")
    address = resolve_address(address)
    budget = parse_bytes(memory_budget) if memory_budget is not None else _default_budget()
    if budget is not None:
        MEMORY.limit = budget
        os.environ[MEMORY_ENV_VAR] = str(budget)
    if max_runs is not None:
        SLOTS.max_runs = max_runs  # validates
        os.environ[ENV_VAR] = str(max_runs)
    interval = switch_interval()  # (checked before anything starts)
    if session_lifetime < MIN_LIFETIME:  # a session must outlive its page's first load, or it is freed unseen
        raise ValueError(f"session lifetime must be at least {MIN_LIFETIME:g} seconds, got {session_lifetime:g}")
    port = port or free_port(address)
    import torch

    from growlab.ui import create_app

    # Sessions train side by side on their own threads; intra-op threads on top of that only
    # oversubscribe the cores (OpenMP workers spin) and stall the server's event loop.
    torch.set_num_threads(1)
    # The event loop shares the GIL with every run's worker thread (and the page builds): each
    # time it blocks on a socket or a lock it queues behind them for the GIL again, by default
    # up to 5 ms per thread and wait. A shorter switch interval keeps every page's loop quick.
    sys.setswitchinterval(interval)

    host = f"[{address}]" if ":" in address else address
    budget_text = f", runs share {format_bytes(budget)} of memory" if budget else ""
    print(f"growlab: serving http://{host}:{port}/  (at most {SLOTS.max_runs} runs train at once{budget_text}; "
          "Ctrl+C stops)", flush=True)  # fmt: skip
    if address in WILDCARDS:
        links = sorted(a for a in local_addresses() if not a.startswith(("127.", "::1")))
        if links:
            print("growlab: students open " + ", ".join(f"http://{f'[{a}]' if ':' in a else a}:{port}/" for a in links), flush=True)
    LIFETIME["s"] = session_lifetime
    lifetime_ms = int(session_lifetime * 1000)
    patterns = [(STATUS_PATH, StatusHandler)]
    if os.environ.get(LOOP_ENV_VAR, "").strip():
        from tornado.ioloop import IOLoop

        patterns.append((LOOP_PATH, LoopHandler))
        IOLoop.current().add_callback(PROBE.start)
    pn.serve(
        create_app, port=port, address=address, websocket_origin=websocket_origins(address, port, origins), show=show,
        title="growlab", start=True, verbose=False, extra_patterns=patterns,
        unused_session_lifetime_milliseconds=lifetime_ms,  # also how long a page may take to connect
        check_unused_sessions_milliseconds=1000, websocket_max_message_size=MAX_MESSAGE_BYTES,
    )  # fmt: skip


def _default_budget() -> int | None:
    """:data:`DEFAULT_BUDGET_SHARE` of the machine's memory (``None`` where unknown), or ``$GROWLAB_MEMORY_BUDGET``."""
    if os.environ.get(MEMORY_ENV_VAR, "").strip():
        return parse_bytes(os.environ[MEMORY_ENV_VAR].strip())
    total = physical_memory()
    return int(total * DEFAULT_BUDGET_SHARE) if total else None
