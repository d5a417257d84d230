"""Can one user freeze the server? (issue 13; prints figures, asserts nothing)

Serves the app (``growlab serve`` on a free loopback port) and measures, in one run:

1. **CPU per page load**: server CPU seconds (``/proc/<pid>/stat``) spent per plain
   ``GET /`` (each one builds a session: model, first run, every view, the template).
2. **How long another session waits**: session B trains ``xor`` in Chromium while session A
   (another tab) uploads a wide CSV, then types a very deep architecture, then a big one. The figure is the
   longest gap between two updates of B's status strip while A's work is in progress (B
   refreshes several times a second when nothing else happens), and the longest the server's
   event loop took to answer ``/growlab-status`` meanwhile (asked every 50 ms from another
   thread: what every session waits for, without the browser's own rendering in it).

    python benchmarks/bench_server.py [--gets 5] [--columns 20000] [--rows 20] [--layers 1000] [--big 4000-4000]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_app import ARGS, open_page, start_server  # noqa: E402

from growlab.ui.serve import free_port  # noqa: E402


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_per_get(pid: int, url: str, gets: int) -> list[float]:
    """Server CPU seconds for each of ``gets`` page loads (after one warm-up load)."""
    urllib.request.urlopen(url, timeout=120).read()
    time.sleep(1.0)
    out = []
    for _ in range(gets):
        before = cpu_seconds(pid)
        urllib.request.urlopen(url, timeout=120).read()
        time.sleep(0.5)  # let the work the request started finish
        out.append(cpu_seconds(pid) - before)
    return out


STATUS = ""


def wide_csv(columns: int, rows: int = 20) -> bytes:
    """A CSV with ``columns`` small integer features and a binary target."""
    rng = np.random.default_rng(0)
    out = io.StringIO()
    out.write(",".join(f"c{i}" for i in range(columns)) + ",label\n")
    for r in range(rows):
        out.write(",".join(map(str, rng.integers(0, 10, columns))) + f",{r % 2}\n")
    return out.getvalue().encode()


def strip(page) -> str:
    return page.locator(".gl-strip").first.text_content()


class LoopProbe:
    """Asks the server's status page (answered on the event loop every session shares) every 50 ms
    from another thread; ``worst`` is the longest answer, i.e. how long the loop was busy."""

    def __init__(self, url: str):
        import threading

        self.url, self.worst, self._stop = url, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            t = time.monotonic()
            urllib.request.urlopen(self.url, timeout=600).read()
            self.worst = max(self.worst, time.monotonic() - t)
            time.sleep(0.05)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def watch(b, busy_until, timeout: float = 600.0, status: str | None = None) -> tuple[float, float, float]:
    """Poll B's strip until ``busy_until()`` is true; returns (longest gap between B's updates,
    seconds busy, longest the server's event loop took to answer)."""
    t0 = last = time.monotonic()
    seen, gap = strip(b), 0.0
    with LoopProbe(status or STATUS) as probe:
        while not busy_until():
            now = time.monotonic()
            text = strip(b)
            if text != seen:
                gap, last, seen = max(gap, now - last), now, text
            if now - t0 > timeout:
                break
            time.sleep(0.05)
    return max(gap, time.monotonic() - last), time.monotonic() - t0, probe.worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gets", type=int, default=5)
    ap.add_argument("--columns", type=int, default=20_000)
    ap.add_argument("--rows", type=int, default=20, help="rows of the wide CSV")
    ap.add_argument("--layers", type=int, default=1_000)
    ap.add_argument("--big", default="4000-4000", help="hidden widths of the big network A builds on heart")
    ap.add_argument("--skip-browser", action="store_true")
    args = ap.parse_args()
    port = free_port()
    proc = start_server(port)
    url = f"http://127.0.0.1:{port}/"
    global STATUS
    STATUS = f"http://127.0.0.1:{port}/growlab-status"
    try:
        cpu = cpu_per_get(proc.pid, url, args.gets)
        print(f"server CPU per GET /: median {np.median(cpu):.2f} s (each: {', '.join(f'{c:.2f}' for c in cpu)})")
        if args.skip_browser:
            return
        from playwright.sync_api import sync_playwright

        data = wide_csv(args.columns, args.rows)
        csv_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"wide-{args.columns}.csv"
        csv_path.write_bytes(data)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS, headless=True)
            b = open_page(browser, url + "?dataset=xor&arch=4&epochs=100000")
            a = open_page(browser, url + "?dataset=xor&arch=4")
            b.get_by_role("button", name="Play", exact=True).click()
            b.get_by_role("button", name="Pause", exact=True).wait_for()
            idle_gap, _, idle_loop = watch(b, lambda t=time.monotonic(): time.monotonic() - t > 5)
            print(f"nothing else happening: B's longest gap between updates {idle_gap:.2f} s; loop answered within {idle_loop:.2f} s")

            # A: a wide CSV
            a.get_by_role("combobox").first.select_option("csv")
            a.locator("input[type=file]").wait_for(state="attached")
            a.locator("input[type=file]").set_input_files(str(csv_path))
            notes = a.locator(".notyf__message")
            done = lambda: "csv ·" in strip(a) or notes.filter(has_text="wide-").count() > 0  # noqa: E731
            gap, busy, loop = watch(b, done)
            print(f"wide CSV ({args.columns:,} columns, {len(data) / 2**20:.1f} MiB): B waited up to {gap:.2f} s, the loop "
                  f"up to {loop:.2f} s, while A's upload took {busy:.1f} s; A shows: {strip(a)[:80]!r} / "
                  f"{[t[:90] for t in notes.all_inner_texts()][-2:]}")  # fmt: skip

            # A: a very deep architecture, then a big one
            for what, arch, shown in ((f"deep architecture ({args.layers:,} hidden layers)", "-".join(["8"] * args.layers), "-8-8-8"),
                                      (f"big network (heart {args.big})", args.big, f"27-{args.big}-1")):  # fmt: skip
                a.goto(url + "?dataset=heart&arch=4")
                a.locator(".gl-strip.gl-live").wait_for()
                box = a.locator(".gl-arch input")
                box.fill(arch)
                box.press("Enter")
                settled = lambda: a.locator(".notyf__message").count() > 0 or (shown in strip(a) and "building" not in strip(a))  # noqa: E731
                gap, busy, loop = watch(b, settled)
                print(f"{what}: B waited up to {gap:.2f} s, the loop up to {loop:.2f} s, while A's build took {busy:.1f} s; A shows: "
                      f"{strip(a)[:60]!r} / {[t[:90] for t in a.locator('.notyf__message').all_inner_texts()][-2:]}")
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


if __name__ == "__main__":
    main()
