"""Batch and layer normalization on a model on "cuda": a fit equals the CPU's (weights, running
averages, history, validation by the running averages), with dropout, regularizers, clipping and
L-BFGS around it; predict and value_and_grad equal the CPU's.

Tiny shapes (the simulator runs every GPU thread as a Python thread): 5 inputs, hidden layers of 8
and 6 units, 22 rows in batches of 8 (the last one of 6).
"""

from __future__ import annotations

import numpy as np
import pytest
from cuda_helpers import assert_same_training

import numbagrad as ng

LOSS = "sparse_categorical_crossentropy"
#: A fit on the GPU equals the CPU's to this relative tolerance (float64).
TOLERANCE = 1e-10


def data(samples=22, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((samples, 5)) * 2 + 1, rng.integers(0, 3, samples)


def make(device, kind, last=None, rate=0.0, regularizer=None, **compile_options):
    layers = [ng.Dense(8, normalization=kind, kernel_regularizer=regularizer), ng.Activation("tanh")]
    if rate:
        layers.append(ng.Dropout(rate))
    layers += [ng.Dense(6, "softmax", normalization=kind), ng.Dense(3, "softmax", normalization=last)]
    model = ng.Sequential(layers, input_dim=5, dtype="float64", seed=1, device=device)
    options = dict(optimizer="adam", loss=LOSS, metrics=["accuracy"])
    options.update(compile_options)
    return model.compile(**options)


@pytest.mark.parametrize(
    "kind, last, rate, regularizer, options",
    [
        ("layer", "layer", 0.0, None, {}),
        ("batch", "batch", 0.3, "l2", {"clip_norm": 0.5}),
        ("layer", None, 0.3, None, {"clip_value": 0.01}),
    ],
)
def test_a_fit_equals_the_cpu_fit(kind, last, rate, regularizer, options):
    X, y = data()
    X_val, y_val = data(9, seed=1)
    gpu, cpu = (make(device, kind, last, rate, regularizer, **options) for device in ("cuda", "cpu"))
    for model in (gpu, cpu):
        model.fit(X, y, batch_size=8, epochs=1, seed=3, validation_data=(X_val, y_val), verbose=0)
    assert_same_training(gpu, cpu, TOLERANCE)
    np.testing.assert_allclose(gpu.predict(X_val), cpu.predict(X_val), rtol=TOLERANCE, atol=TOLERANCE)


def test_lbfgs_on_the_gpu_equals_the_cpu():
    X, y = data(16)
    gpu, cpu = (make(device, "batch", optimizer={"name": "lbfgs", "lr": 0.5, "max_iter": 2}) for device in ("cuda", "cpu"))
    for model in (gpu, cpu):
        model.fit(X, y, batch_size=8, epochs=1, verbose=0)
    assert_same_training(gpu, cpu, TOLERANCE, history=False)


@pytest.mark.parametrize("kind", ["batch", "layer"])
def test_value_and_grad_is_a_training_pass_and_predict_is_inference(kind):
    X, y = data(7)
    gpu, cpu = make("cuda", kind, kind), make("cpu", kind, kind)
    for i in range(2):
        got_value, got = gpu.value_and_grad(X[i:], y[i:], LOSS)
        want_value, want = cpu.value_and_grad(X[i:], y[i:], LOSS)
        assert got_value == pytest.approx(want_value, rel=1e-12)
        np.testing.assert_allclose(got.copy_to_host(), want, rtol=1e-10, atol=1e-13)
    assert_same_training(gpu, cpu, TOLERANCE, history=False)  # the running averages moved alike
    np.testing.assert_allclose(gpu.predict(X), cpu.predict(X), rtol=1e-12, atol=1e-14)
    moved = cpu.to("cuda")
    np.testing.assert_allclose(moved.predict(X), gpu.predict(X), rtol=1e-12, atol=1e-14)
