"""Shared fixtures: a fresh plugin registry per test that needs one, small kernel tunables."""

from __future__ import annotations

import numpy as np
import pytest

from numbagrad import config
from numbagrad.registry import get_registry


@pytest.fixture
def fresh_registry(monkeypatch):
    """A registry that loads no installed entry point and forgets everything afterwards."""
    monkeypatch.setenv("NUMBAGRAD_DISABLE_PLUGIN_AUTOLOAD", "1")
    registry = get_registry()
    registry.reset()
    yield registry
    registry.reset()


@pytest.fixture
def tiny_chunks(monkeypatch):
    """Make every optimizer step take the parallel path in chunks of 4 elements."""
    monkeypatch.setattr(config, "CHUNK_SIZE", 4)
    monkeypatch.setattr(config, "PARALLEL_THRESHOLD", 1)
