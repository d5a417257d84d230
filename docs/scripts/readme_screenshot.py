"""Take the README's screenshot of the running app: ``python docs/scripts/readme_screenshot.py``.

Serves growlab on a free loopback port, opens gradual magnitude pruning on ``heart`` in Debian's
Chromium (a method that visibly works: accuracy rises while red ghosts show what was pruned),
presses Play, pauses after ``--epochs`` epochs and saves ``docs/images/growlab-app.png``.
``--cnn`` takes the conv picture instead: NeST growing a LeNet-5 on ``mnist5k``
(``docs/images/growlab-cnn.png``).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

from growlab.ui.serve import STATUS_PATH, free_port

ROOT = Path(__file__).resolve().parents[2]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip
SETUP = "dataset=heart&arch=16-8&method=prune&epochs=300"
CNN_SETUP = "dataset=mnist5k&arch=lenet-5&method=nest&epochs=30&interval=2"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None, help="pause at this epoch (default 60; --cnn: 12)")
    parser.add_argument("--out", type=Path, default=None, help="where to write (default docs/images/growlab-app.png)")
    parser.add_argument("--cnn", action="store_true", help="NeST on a LeNet-5 (mnist5k) instead")
    args = parser.parse_args()
    setup = CNN_SETUP if args.cnn else SETUP
    if args.epochs is None:
        args.epochs = 12 if args.cnn else 60
    if args.out is None:
        args.out = ROOT / "docs" / "images" / ("growlab-cnn.png" if args.cnn else "growlab-app.png")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "growlab.cli", "serve", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/"
        for _ in range(600):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{STATUS_PATH}", timeout=5)
                break
            except OSError:
                time.sleep(0.2)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.set_default_timeout(120_000)
            page.goto(f"{url}?{setup}")
            page.locator(".gl-strip").first.wait_for()
            page.get_by_role("button", name="Play", exact=True).click()
            epoch = lambda: int(re.search(r"epoch\s*(\d+)\s*/", page.locator(".gl-strip").first.text_content(),  # noqa: E731
                                          re.I).group(1))  # fmt: skip
            while epoch() < args.epochs:
                page.wait_for_timeout(100)
            page.get_by_role("button", name="Pause", exact=True).click()
            page.locator(".gl-badge", has_text="Paused").first.wait_for()
            page.wait_for_timeout(2500)  # the last snapshot is drawn
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out))
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
