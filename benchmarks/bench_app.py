"""Does the page stay responsive while a run trains? (DESIGN §9; prints, asserts nothing)

Serves the app (``growlab serve`` on a free loopback port), opens it in Debian's Chromium and
times click → server → page round trips: the Pause/Play button, whose new label comes back
from the server. First with nothing training, then while ``--sessions`` tabs train at once.
Also times the server side of one refresh (every view updated from a new snapshot) in-process.

    python benchmarks/bench_app.py [--sessions 2] [--clicks 10] [--query "dataset=heart&method=strategic%2Bprune"]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip


def start_server(port: int, env: dict | None = None) -> subprocess.Popen:
    """``growlab serve`` on ``port`` (8 runs at most), once its status page answers."""
    cmd = [sys.executable, "-m", "growlab.cli", "serve", "--port", str(port), "--max-runs", "8"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/growlab-status", timeout=2)
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("growlab serve did not start")


def open_page(browser, url: str):
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.set_default_timeout(120_000)
    page.goto(url)
    page.locator(".gl-strip.gl-live").wait_for()
    return page


def round_trip(page, label: str, expect: str) -> float:
    """Seconds from clicking ``label`` to the server's answer (the button reading ``expect``)."""
    t0 = time.perf_counter()
    page.get_by_role("button", name=label, exact=True).click()
    page.get_by_role("button", name=expect, exact=True).wait_for()
    return time.perf_counter() - t0


def toggles(page, clicks: int, playing: bool) -> list[float]:
    """Alternate Pause/Play (or Play/Pause) ``clicks`` times; ends in the state it started in."""
    out = []
    for i in range(clicks):
        if playing == (i % 2 == 0):
            out.append(round_trip(page, "Pause", "Play"))
        else:
            out.append(round_trip(page, "Play", "Pause"))
    return out


def summary(name: str, times: list[float]) -> None:
    ms = sorted(t * 1000 for t in times)
    p90 = ms[min(len(ms) - 1, int(0.9 * len(ms)))]
    print(f"{name:<38} median {statistics.median(ms):7.0f} ms   p90 {p90:7.0f} ms   (n={len(ms)})")


def server_refresh(query: dict, epochs: int = 30) -> None:
    """Server-side cost of one refresh with a new snapshot, per view (in this process)."""
    from growlab.run.slots import TrainingSlots
    from growlab.ui import create_app

    app = create_app(query=query, slots=TrainingSlots(2), live=False).growlab
    app.events.active = True  # the worst case: the events table shown
    times: dict[str, list[float]] = {}
    draw = app._draw

    def timed(name, view, arg):
        t0 = time.perf_counter()
        draw(name, view, arg)
        times.setdefault(name, []).append(time.perf_counter() - t0)

    app._draw = timed
    runner = app.session.runner
    for n in range(1, epochs + 1):
        runner.step()
        runner.wait(lambda s, n=n: s.epoch == n)
        t0 = time.perf_counter()
        app.refresh()
        times.setdefault("whole refresh", []).append(time.perf_counter() - t0)
    app.session.close()
    for name, ts in times.items():
        print(f"  {name:<20} median {statistics.median(ts) * 1000:6.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=2, help="tabs training at once during the second measurement")
    ap.add_argument("--clicks", type=int, default=10)
    ap.add_argument("--query", default="dataset=heart&arch=16-8&method=strategic%2Bprune&epochs=100000")
    args = ap.parse_args()
    from urllib.parse import parse_qsl

    from playwright.sync_api import sync_playwright

    from growlab.ui.serve import free_port

    print(f"machine: {os.cpu_count()} CPUs; app setup: {args.query}")
    print("server side, one refresh after one epoch:")
    server_refresh(dict(parse_qsl(args.query)))
    port = free_port()
    proc = start_server(port)
    url = f"http://127.0.0.1:{port}/?{args.query}"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS, headless=True)
            page = open_page(browser, url)
            page.get_by_role("button", name="Play", exact=True).click()  # warm up: one Play/Pause
            page.get_by_role("button", name="Pause", exact=True).click()
            page.get_by_role("button", name="Play", exact=True).wait_for()
            summary("click round trip, idle", toggles(page, args.clicks, playing=False))
            others = [open_page(browser, url) for _ in range(args.sessions - 1)]
            for other in others:
                other.get_by_role("button", name="Play", exact=True).click()
            page.get_by_role("button", name="Play", exact=True).click()
            page.get_by_role("button", name="Pause", exact=True).wait_for()
            time.sleep(2)
            summary(f"click round trip, {args.sessions} sessions training", toggles(page, args.clicks, playing=True))
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
