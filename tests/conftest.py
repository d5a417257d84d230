"""Shared test settings: small, deterministic, CPU-only unless a test asks for CUDA."""

import os

import pytest
import torch

os.environ.setdefault("GROWLAB_TEST", "1")
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(scope="session")
def heart():
    from growlab.data import load_cached

    return load_cached("heart")
