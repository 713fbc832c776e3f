"""Every test sees the installed plugins: autoload on, strict mode off, a registry loaded afresh."""

from __future__ import annotations

import pytest
from numbagrad.registry import get_registry


@pytest.fixture(autouse=True)
def installed_plugins(monkeypatch):
    monkeypatch.delenv("NUMBAGRAD_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.delenv("NUMBAGRAD_STRICT_PLUGINS", raising=False)
    get_registry().reset()
    yield
    get_registry().reset()
