"""Notebook-test fixtures: the session's kernel spec (the browser is tests/conftest.py's)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_env import write_kernel_spec


@pytest.fixture(scope="session")
def kernel_dir(tmp_path_factory) -> Path:
    """A Jupyter data directory holding a ``python3`` kernel spec that runs this interpreter."""
    return write_kernel_spec(tmp_path_factory.mktemp("jupyter-data"))
