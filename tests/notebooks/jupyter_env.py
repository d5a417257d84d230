"""Where the notebooks are, and the Jupyter setup the notebook tests run them in.

Notebooks run in a kernel started from a kernel spec written for the test session, so they
use the Python running pytest (the project's ``.venv``) whatever other ``python3`` kernel
specs the machine has. ``GROWLAB_QUICK=1`` in the kernel's environment shortens training.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

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
