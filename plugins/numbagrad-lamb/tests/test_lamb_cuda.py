"""LAMB's generated CUDA kernels against its generated CPU kernels, under Numba's CUDA simulator or on a GPU.

Run with ``NUMBA_ENABLE_CUDASIM=1`` (set before Numba is imported, so in a
process of its own; numbagrad's CI does) or, on a GPU, with
``NUMBAGRAD_TEST_CUDA=1``; skipped otherwise, like numbagrad's own CUDA tests.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from numbagrad.device import cuda_status, simulator_enabled

if not (simulator_enabled() or os.environ.get("NUMBAGRAD_TEST_CUDA") == "1"):
    pytest.skip("CUDA tests run under NUMBA_ENABLE_CUDASIM=1, or on a GPU with NUMBAGRAD_TEST_CUDA=1", allow_module_level=True)
if not cuda_status().usable:
    pytest.skip(f"CUDA unusable: {cuda_status().reason}", allow_module_level=True)

from numba import cuda  # noqa: E402
from numbagrad import config, optim  # noqa: E402

SHAPES = [(5, 7), (9,)]
#: Sums in another order than the CPU's (and, on a GPU, fused multiply-adds): rounding apart.
TOLERANCE = {np.float32: 2e-5, np.float64: 1e-12}


@pytest.fixture(autouse=True)
def small_launches(monkeypatch):
    monkeypatch.setattr(config, "CUDA_THREADS_PER_BLOCK", 4)
    monkeypatch.setattr(config, "CUDA_MAX_BLOCKS", 3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", [{}, {"weight_decay": 0.0, "bias_correction": False, "clamp_value": 0.5}], ids=str)
def test_cuda_kernels_follow_the_cpu_kernels(options, dtype):
    rng = np.random.default_rng(0)
    host = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    device = [cuda.to_device(h) for h in host]
    on_host = optim.get("lamb", host, **options)
    on_device = optim.get("lamb", device, **options)
    for step in range(3):
        grads = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
        on_host.step(grads)
        on_device.step([cuda.to_device(g) for g in grads])
    for h, d in zip(host, device):
        np.testing.assert_allclose(d.copy_to_host(), h, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])
    for key in ("exp_avg", "exp_avg_sq"):
        np.testing.assert_allclose(on_device.state_dict()["state"][0][key], on_host.state_dict()["state"][0][key], rtol=TOLERANCE[dtype])
