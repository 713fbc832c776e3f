"""What only a real GPU can check: the real tile and launch configuration, Numba's driver-level
launches, and agreement with the CPU within the rounding of a GPU's fused multiply-adds.

Every test here is marked ``gpu``: skipped under the simulator, run by
``python asv_bench/gpu_suite.py`` (its ``tests`` section) on a borrowed GPU.
"""

from __future__ import annotations

import numpy as np
import pytest

import numbagrad
from numbagrad import Dense, Sequential, config
from numbagrad.kernels.cuda.launch import Launch

pytestmark = pytest.mark.gpu

#: A GPU's fused multiply-adds and its own exp and log round differently from the CPU's.
TOLERANCE = {np.float64: 1e-9, np.float32: 2e-4}


def data(samples=300, features=70, classes=10, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((samples, features)).astype(dtype), rng.integers(0, classes, samples)


def make(device, dtype=np.float32):
    # 70 inputs, 130 and 10 units: every product crosses the default 64-wide tiles.
    model = Sequential([Dense(130, activation="gelu"), Dense(10, activation="softmax")], input_dim=70, dtype=dtype, seed=2, device=device)
    return model.compile("adam", "categorical_crossentropy", metrics=["accuracy"], clip_norm=1.0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_one_epoch_on_the_gpu_equals_the_cpu(dtype):
    X, labels = data(dtype=dtype)
    cpu, gpu = make("cpu", dtype), make("cuda", dtype)
    for model in (cpu, gpu):
        model.fit(X, labels, batch_size=32, epochs=1, verbose=0)
    for got, want in zip(gpu.get_weights(), cpu.get_weights()):
        np.testing.assert_allclose(got, want, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype] * float(np.abs(want).max()))
    np.testing.assert_allclose(gpu.history.history["loss"], cpu.history.history["loss"], rtol=TOLERANCE[dtype])


def test_prepared_launches_are_used_and_give_the_dispatchers_results(monkeypatch):
    from numba import cuda

    from numbagrad.kernels.cuda.activations import relu_forward

    values = cuda.to_device(np.linspace(-1, 1, 1000, dtype=np.float32).reshape(10, 100))
    out = cuda.device_array_like(values)
    launch = Launch(relu_forward, 4, 256, [values, out, cuda.to_device(np.zeros(1))])
    assert launch.prepared
    launch()
    np.testing.assert_array_equal(out.copy_to_host(), np.maximum(values.copy_to_host(), 0))

    X, labels = data()
    results = []
    for prepared in (1, 0):
        monkeypatch.setattr(config, "CUDA_PREPARED_LAUNCHES", prepared)
        model = make("cuda")
        model.fit(X, labels, batch_size=32, epochs=1, verbose=0)
        results.append(model.parameters.copy_to_host())
    np.testing.assert_array_equal(results[0], results[1])


def test_training_twice_gives_the_same_bits():
    X, labels = data()
    results = []
    for _ in range(2):
        model = make("cuda")
        model.fit(X, labels, batch_size=16, epochs=2, verbose=0)
        results.append(model.parameters.copy_to_host())
    np.testing.assert_array_equal(results[0], results[1])


def test_a_non_finite_loss_on_the_gpu_keeps_the_last_finite_weights():
    X, labels = data()
    y = np.random.default_rng(1).standard_normal((X.shape[0], 10)).astype(np.float32)
    models = {}
    for device in ("cpu", "cuda"):
        model = Sequential([Dense(130, activation="relu"), Dense(10)], input_dim=70, seed=2, device=device)
        model.compile({"name": "sgd", "lr": 1e30}, "mse")
        with pytest.raises(numbagrad.NonFiniteLossError):
            model.fit(X, y, batch_size=32, epochs=2, verbose=0)
        models[device] = model
    assert models["cuda"].training.optimizer.steps == models["cpu"].training.optimizer.steps
    assert np.isfinite(models["cuda"].parameters.copy_to_host()).all()
