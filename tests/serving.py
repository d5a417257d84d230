"""A server process for browser tests: started, waited for, and stopped (app and JupyterLab)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def serving(
    cmd: list[str], ready: Callable[[], object], log: Path, *, what: str, start_s: float,
    cwd=None, env=None, poll_s: float = 0.3, stop_s: float = 10.0,
) -> Iterator[subprocess.Popen]:  # fmt: skip
    """Run ``cmd`` (output to ``log``) until the block ends; enter once ``ready()`` stops raising
    ``OSError``. Fails the test with the log's tail when the process exits or ``start_s`` passes first.
    """
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + start_s
    while True:
        try:
            ready()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"{what} did not start:\n{log.read_text()[-3000:]}")
            time.sleep(poll_s)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=stop_s)
        except subprocess.TimeoutExpired:
            proc.kill()
