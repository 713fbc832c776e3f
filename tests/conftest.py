"""Shared fixtures: a fresh plugin registry per test that needs one, small kernel tunables."""

from __future__ import annotations

import os

import pytest

from numbagrad import config
from numbagrad.device import simulator_enabled
from numbagrad.registry import get_registry

# tests/cuda runs in its own process: under Numba's CUDA simulator
# (NUMBA_ENABLE_CUDASIM=1, which must be set before Numba is imported, as
# .ci/run does) or on a GPU (NUMBAGRAD_TEST_CUDA=1, as asv_bench/gpu_suite.py
# does). A plain run leaves it out rather than initialise CUDA in this process.
if not (simulator_enabled() or os.environ.get("NUMBAGRAD_TEST_CUDA") == "1"):
    collect_ignore = ["cuda"]


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


@pytest.fixture
def unweighable_metric(fresh_registry):
    """The name of a registered metric that sample weights cannot weight: its totals are a
    maximum (not a sum over rows) and it declares no weighted_update."""
    import numpy as np
    from numba import njit

    from numbagrad import metrics

    @njit(error_model="numpy")
    def max_error_update(prediction, target, totals, params):
        for i in range(prediction.shape[0]):
            for j in range(prediction.shape[1]):
                totals[0] = max(totals[0], abs(prediction[i, j] - target[i, j]))

    metrics.register(
        metrics.MetricSpec(
            name="max_error", update=max_error_update, totals=1, result=lambda totals: float(totals[0]),
            higher_is_better=False, merge=np.maximum,
            cuda_update="cuda_helpers:max_error_update",  # tests/cuda only: a GPU model needs CUDA code
        )
    )
    return "max_error"
