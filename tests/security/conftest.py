"""Security-test fixtures: the app served as a classroom would serve it, and pages that record
any script a hostile name manages to run (:mod:`hostile`)."""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from pathlib import Path

import pytest

from growlab.ui.serve import STATUS_PATH, free_port
from hostile import INIT_JS
from serving import serving

ROOT = Path(__file__).resolve().parents[2]


class Server:
    """A ``growlab serve`` subprocess on a loopback port."""

    def __init__(self, port: int):
        self.port = port
        self.url = f"http://127.0.0.1:{port}/"

    def status(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{STATUS_PATH}", timeout=5) as r:
            return json.loads(r.read())


@pytest.fixture(scope="session")
def classroom(tmp_path_factory):
    """``growlab serve`` with a cap on training runs and a memory budget, as a teacher would run it."""
    port = free_port()
    log = tmp_path_factory.mktemp("classroom") / "serve.log"
    cmd = [sys.executable, "-m", "growlab.cli", "serve", "--port", str(port), "--max-runs", "4",
           "--session-lifetime", "5", "--memory-budget", "256MiB"]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    srv = Server(port)
    with serving(cmd, srv.status, log, what="growlab serve", start_s=120.0, cwd=ROOT, env=env):
        srv.log = log
        yield srv


@pytest.fixture
def hostile_page(browser, classroom):
    """``hostile_page(query="")`` → a loaded app page whose ``__xss``/``alert`` calls are recorded."""
    contexts = []

    def _open(query: str = "", width: int = 1600, height: int = 1000, wait_live: bool = True):
        ctx = browser.new_context(viewport={"width": width, "height": height})
        ctx.add_init_script(INIT_JS)
        contexts.append(ctx)
        page = ctx.new_page()
        page.set_default_timeout(60_000)
        page.dialogs = []
        page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
        page.goto(classroom.url + (f"?{query}" if query else ""))
        if wait_live:
            page.locator(".gl-strip.gl-live").wait_for()
        return page

    yield _open
    for ctx in contexts:
        ctx.close()
