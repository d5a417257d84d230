"""Browser-test fixtures: the app served on a free loopback port, driven by Debian's Chromium.

Playwright's own browser download is not used: install Chromium with
``apt-get install -y chromium`` (the tests skip with that hint when it is missing).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import panel as pn
import pytest

from growlab.ui.serve import STATUS_PATH, free_port
from serving import serving

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 120.0
FAILURES = ROOT / "artifacts" / "ui" / "failures"


class Server:
    """A ``growlab serve`` subprocess and helpers to talk to it."""

    def __init__(self, port: int, proc: subprocess.Popen | None, log: Path):
        self.port, self.proc, self.log = port, proc, log
        self.url = f"http://127.0.0.1:{port}/"

    def status(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{STATUS_PATH}", timeout=5) as r:
            return json.loads(r.read())

    def wait_status(self, predicate, timeout: float = 30.0) -> dict:
        """Poll the status page until ``predicate(status)``; fails with the last status."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.status()
            if predicate(status) or time.monotonic() > deadline:
                assert predicate(status), f"server status never matched: {status}"
                return status
            time.sleep(0.2)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The app on a free loopback port; closed tabs are freed after five seconds."""
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "serve.log"
    cmd = [sys.executable, "-m", "growlab.cli", "serve", "--port", str(port), "--max-runs", "4", "--session-lifetime", "5"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    srv = Server(port, None, log)
    with serving(cmd, srv.status, log, what="growlab serve", start_s=START_TIMEOUT, cwd=ROOT, env=env) as proc:
        srv.proc = proc
        yield srv


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Remember each phase's outcome on the test item (for screenshots of failures)."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def open_page(browser, server, request):
    """``open_page(query="", width=1600, height=1000)`` → a loaded page of the app (closed after the test)."""
    contexts = []

    def _open(query: str = "", width: int = 1600, height: int = 1000):
        ctx = browser.new_context(viewport={"width": width, "height": height})
        ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url.rstrip("/"))
        contexts.append(ctx)
        page = ctx.new_page()
        page.set_default_timeout(60_000)
        page.goto(server.url + (f"?{query}" if query else ""))
        page.locator(".gl-strip.gl-live").wait_for()  # the server session is connected, clicks count
        page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0 && "
                               "Bokeh.documents[0].get_model_by_name('growlab-curves') !== null")  # fmt: skip
        return page

    yield _open
    failed = getattr(request.node, "report_call", None)
    for i, ctx in enumerate(contexts):
        if failed is not None and failed.failed:  # what the page looked like when it failed
            for j, page in enumerate(ctx.pages):
                FAILURES.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(FAILURES / f"{request.node.name}-{i}{j}.png"))
        ctx.close()


@pytest.fixture
def restore_panel_config():
    """Displaying a ``growlab.Lab`` loads Panel's notebook support (inline resources, notifications):
    keep it to the test that does."""
    before = {"inline": pn.config.inline, "notifications": pn.config.notifications}
    yield
    for key, value in before.items():
        setattr(pn.config, key, value)
