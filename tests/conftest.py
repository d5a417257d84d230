"""Shared test settings: small, deterministic, CPU-only unless a test asks for CUDA."""

import os
import shutil

import pytest
import torch

torch.set_num_threads(1)  # one thread per test process: faster here, and member-exact (DESIGN §3c)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]  # fmt: skip


@pytest.fixture(scope="session")
def heart():
    from growlab.data import load_cached

    return load_cached("heart")


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium through Playwright, one for the whole test session (the app's and the
    notebooks' browser tests share it: Playwright's sync API allows one instance per thread).
    Skipped, with the install hint, when Chromium is missing."""
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        pytest.skip("Debian's Chromium is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()
