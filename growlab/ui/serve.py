"""``growlab serve``: the app on a Bokeh/Panel server, with a small JSON status page.

Binds 127.0.0.1 unless told otherwise. The websocket origins allowed are exactly the
addresses the server answers on (plus any given), so other web pages cannot drive a session.
``/growlab-status`` reports open runs, runs training and the cap, for health checks.
"""

from __future__ import annotations

import json
import os
import socket

import panel as pn
from tornado.web import RequestHandler

from growlab.run.runner import open_runners
from growlab.run.slots import ENV_VAR, SLOTS

STATUS_PATH = "/growlab-status"
WILDCARDS = ("0.0.0.0", "::", "")
#: Seconds: Bokeh frees a session no page is connected to after this long, counted from its
#: creation too, so it must cover a slow first page load.
MIN_LIFETIME = 5.0


class StatusHandler(RequestHandler):
    """``GET /growlab-status`` → ``{"runs", "workers", "training", "max_runs"}``."""

    def get(self) -> None:
        runners = open_runners()
        body = {
            "runs": len(runners),
            "workers": sum(r.alive for r in runners),
            "training": SLOTS.active,
            "max_runs": SLOTS.max_runs,
        }
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.write(json.dumps(body))


def free_port(address: str = "127.0.0.1") -> int:
    """A port nobody listens on right now."""
    with socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET) as s:
        s.bind((address if address not in WILDCARDS else "", 0))
        return s.getsockname()[1]


def websocket_origins(address: str, port: int, extra: list[str] | tuple = ()) -> list[str]:
    """Hosts a browser may load the app from: the bound address, and local names for loopback."""
    hosts = {address}
    if address in ("127.0.0.1", "localhost", "::1"):
        hosts |= {"localhost", "127.0.0.1"}
    elif address in WILDCARDS:
        hosts = {"localhost", "127.0.0.1", socket.gethostname(), socket.getfqdn()}
    origins = {f"[{h}]:{port}" if ":" in h else f"{h}:{port}" for h in hosts if h}
    origins |= {o if ":" in o else f"{o}:{port}" for o in extra}
    return sorted(origins)


def serve(
    port: int = 5006,
    address: str = "127.0.0.1",
    show: bool = False,
    max_runs: int | None = None,
    origins: list[str] | tuple = (),
    session_lifetime: float = 15.0,
) -> None:
    """Serve the app until interrupted.

    Args:
        port: TCP port (0 picks a free one).
        address: interface to bind; ``0.0.0.0`` exposes it to the network.
        show: open a browser tab.
        max_runs: cap on runs training at once (default ``$GROWLAB_MAX_RUNS`` or the CPU count).
        origins: more ``host[:port]`` the page may be loaded from (e.g. behind a proxy).
        session_lifetime: seconds after a tab closes before its run is stopped and freed
            (at least 5: a new page must connect within it).
    """
    if not 0 <= port <= 65535:
        raise ValueError(f"port must be in [0, 65535], got {port}")
    if max_runs is not None:
        SLOTS.max_runs = max_runs  # validates
        os.environ[ENV_VAR] = str(max_runs)
    if session_lifetime < MIN_LIFETIME:  # a session must outlive its page's first load, or it is freed unseen
        raise ValueError(f"session lifetime must be at least {MIN_LIFETIME:g} seconds, got {session_lifetime:g}")
    port = port or free_port(address)
    import torch

    from growlab.ui import create_app

    # Sessions train side by side on their own threads; intra-op threads on top of that only
    # oversubscribe the cores (OpenMP workers spin) and stall the server's event loop.
    torch.set_num_threads(1)

    host = f"[{address}]" if ":" in address else address
    print(f"growlab: serving http://{host}:{port}/  (at most {SLOTS.max_runs} runs train at once; Ctrl+C stops)", flush=True)
    lifetime_ms = int(session_lifetime * 1000)
    pn.serve(
        create_app, port=port, address=address, websocket_origin=websocket_origins(address, port, origins), show=show,
        title="growlab", start=True, verbose=False, extra_patterns=[(STATUS_PATH, StatusHandler)],
        unused_session_lifetime_milliseconds=lifetime_ms,  # also how long a page may take to connect
        check_unused_sessions_milliseconds=1000,
    )  # fmt: skip
