"""Where the notebooks are, and the Jupyter setup the notebook tests run them in.

Notebooks run in a kernel started from a kernel spec written for the test session, so they
use the Python running pytest (the project's ``.venv``) whatever other ``python3`` kernel
specs the machine has. ``GROWLAB_QUICK=1`` in the kernel's environment shortens training.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sys
import urllib.request
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
ARTIFACTS = ROOT / "artifacts"


def write_kernel_spec(data_dir: Path) -> Path:
    """A ``python3`` kernel spec under ``data_dir/kernels`` that starts ``sys.executable``."""
    spec = data_dir / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "Python 3 (ipykernel)", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel))
    return data_dir


def kernel_env(**extra: str) -> dict[str, str]:
    """The environment notebooks run in: ``GROWLAB_QUICK=1`` (short training), unbuffered output."""
    return {**os.environ, "GROWLAB_QUICK": "1", "PYTHONUNBUFFERED": "1", **extra}


@contextlib.contextmanager
def jupyter_lab(tmp: Path, start_s: float = 120.0) -> Iterator[tuple[str, str, Path]]:
    """``jupyter lab`` on a free loopback port with a token, serving the empty folder
    ``tmp/root`` (put the notebooks there), with this session's kernel spec and temporary
    settings (no workspace state, no news or update checks). Yields ``(base URL, token, root)``.
    """
    from growlab.ui.serve import free_port
    from serving import serving

    root, data, settings = tmp / "root", tmp / "data", tmp / "settings"
    root.mkdir()
    write_kernel_spec(data)  # python3 = this interpreter, whatever else the machine has
    notes = settings / "@jupyterlab" / "apputils-extension"
    notes.mkdir(parents=True)
    (notes / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    env = kernel_env(
        JUPYTER_PATH=str(data), JUPYTER_DATA_DIR=str(data), JUPYTER_CONFIG_DIR=str(tmp / "config"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"), JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"), IPYTHONDIR=str(tmp / "ipython"),
    )  # fmt: skip
    port, token = free_port(), secrets.token_hex(16)
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--LabApp.extension_manager=readonly",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    base = f"http://127.0.0.1:{port}"
    ready = lambda: urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5).close()  # noqa: E731
    with serving(cmd, ready, tmp / "jupyterlab.log", what="jupyter lab", start_s=start_s, cwd=root, env=env, poll_s=0.5, stop_s=20):
        yield base, token, root
