"""Lion's CUDA kernel against its CPU kernel, under Numba's CUDA simulator or on a GPU.

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

import numbagrad  # noqa: E402
from numba import cuda  # noqa: E402
from numbagrad import config, optim  # noqa: E402

from numbagrad_lion import LION_SPEC  # noqa: E402

OPTIONS = [
    {},
    {"lr": 0.01, "weight_decay": 0.1},
    {"lr": 3e-3, "betas": (0.5, 0.8), "maximize": True},
]
#: On a GPU, the CUDA compiler's fused multiply-adds round once where the CPU rounds twice.
GPU_TOLERANCE = {np.float32: 4e-6, np.float64: 1e-12}


@pytest.fixture(autouse=True)
def small_launches(monkeypatch):
    # 37 elements on 3 blocks of 4 threads: block boundaries crossed, the grid wrapped around.
    monkeypatch.setattr(config, "CUDA_THREADS_PER_BLOCK", 4)
    monkeypatch.setattr(config, "CUDA_MAX_BLOCKS", 3)


def test_lion_declares_its_cuda_kernel():
    kernel = LION_SPEC.cuda_kernel()
    assert kernel is not None and kernel.py_func.__name__ == "lion_update"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", OPTIONS)
def test_cuda_kernel_follows_the_cpu_kernel(options, dtype):
    rng = np.random.default_rng(0)
    host = rng.standard_normal(37).astype(dtype)
    device = cuda.to_device(host)
    on_host = optim.get("lion", [host], **options)
    on_device = optim.get("lion", [device], **options)
    for step in range(4):
        grad = (np.cos(np.arange(37) + step) * 0.1).astype(dtype)
        grad[step] = 0.0  # sign(0) = 0: the update leaves that coordinate to the weight decay
        on_host.step([grad])
        on_device.step([cuda.to_device(grad)])
        got, state = device.copy_to_host(), on_device.state_dict()["state"][0]["exp_avg"]
        expected, expected_state = host, on_host.state_dict()["state"][0]["exp_avg"]
        if cuda_status().simulator:
            np.testing.assert_array_equal(got, expected)
            np.testing.assert_array_equal(state, expected_state)
        else:
            np.testing.assert_allclose(got, expected, rtol=GPU_TOLERANCE[dtype], atol=GPU_TOLERANCE[dtype])
            np.testing.assert_allclose(state, expected_state, rtol=GPU_TOLERANCE[dtype], atol=GPU_TOLERANCE[dtype])


def test_a_model_on_the_gpu_trains_with_lion_as_on_the_cpu(monkeypatch):
    monkeypatch.setattr(config, "CUDA_GEMM_TILE", 4)
    monkeypatch.setattr(config, "CUDA_GEMM_TILE_K", 2)
    monkeypatch.setattr(config, "CUDA_GEMM_THREAD_TILE", 2)
    rng = np.random.default_rng(1)
    X = rng.standard_normal((9, 4))
    y = rng.standard_normal((9, 2))
    models = []
    for device in ("cpu", "cuda"):
        model = numbagrad.Sequential(
            [numbagrad.Dense(5, activation="tanh"), numbagrad.Dense(2)], input_dim=4, dtype=np.float64, seed=3, device=device
        )
        model.compile({"name": "lion", "lr": 0.01}, "mse")
        model.fit(X, y, batch_size=4, epochs=1, verbose=0)
        models.append(model)
    for got, want in zip(models[1].get_weights(), models[0].get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
