"""Weight regularizers on a model on "cuda" (the simulator): fit, evaluate and value_and_grad equal the CPU's."""

from __future__ import annotations

import numpy as np
import pytest

from numbagrad import Dense, Sequential

LOSS = "sparse_categorical_crossentropy"


def make(device, **clip):
    layers = [
        Dense(6, "tanh", kernel_regularizer={"name": "l1_l2", "l1": 0.003, "l2": 0.02}, bias_regularizer="l1"),
        Dense(3, "softmax", kernel_regularizer={"name": "l2", "l2": 0.1, "per_sample": True}),
    ]
    model = Sequential(layers, input_dim=5, dtype="float64", seed=1, device=device)
    model.compile({"name": "sgd", "lr": 0.1}, LOSS, **clip)
    return model


@pytest.mark.parametrize("clip", [{"clip_value": 0.05}, {"clip_norm": 0.1}])
def test_fit_evaluate_and_value_and_grad_equal_the_cpu(clip):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(9, 5)), rng.integers(0, 3, 9)
    cpu, gpu = make("cpu", **clip), make("cuda", **clip)
    expected = cpu.fit(X, y, epochs=1, batch_size=4, verbose=0).history["loss"]
    got = gpu.fit(X, y, epochs=1, batch_size=4, verbose=0).history["loss"]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    for a, b in zip(gpu.get_weights(), cpu.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    assert gpu.evaluate(X, y, batch_size=4)["loss"] == pytest.approx(cpu.evaluate(X, y, batch_size=4)["loss"], rel=1e-13)
    value, grad = gpu.value_and_grad(X, y, LOSS)
    cpu_value, cpu_grad = cpu.value_and_grad(X, y, LOSS)
    assert value == pytest.approx(cpu_value, rel=1e-13)
    np.testing.assert_allclose(grad.copy_to_host(), cpu_grad, rtol=1e-12, atol=1e-16)
