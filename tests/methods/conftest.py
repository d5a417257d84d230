"""Fixtures of the methods tests."""

import pytest
from method_helpers import build_ctx


@pytest.fixture
def make_ctx():
    """``build_ctx(...)``: a small trained population and its cycle context."""
    return build_ctx
