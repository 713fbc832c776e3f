"""Lion, found by name, trains to a low loss: Rosenbrock's valley and a least-squares fit."""

from __future__ import annotations

import numpy as np
import pytest
import numbagrad
from numbagrad import optim, schedules


def rosenbrock(point):
    x, y = point
    value = (1 - x) ** 2 + 100 * (y - x * x) ** 2
    return value, np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])


def train(opt, gradient, rates):
    """One step per learning rate, the rate set on the optimizer first (as a trainer will)."""
    for rate in rates:
        opt.param_groups[0]["lr"] = float(rate)
        opt.step([gradient()])


def test_rosenbrock_with_a_cosine_schedule():
    point = np.array([-1.5, 2.0])
    opt = optim.get("lion", [point])
    rates = schedules.get("cosine", T_max=5000).with_lr(3e-3)(np.arange(5000))
    train(opt, lambda: rosenbrock(point)[1], rates)
    assert rosenbrock(point)[0] < 1e-8
    np.testing.assert_allclose(point, [1.0, 1.0], atol=1e-4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_least_squares_with_warmup_and_inverse_sqrt(dtype):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((64, 16))
    truth = rng.standard_normal(16)
    b = a @ truth
    x = np.zeros(16, dtype=dtype)
    opt = optim.get("lion", [x], weight_decay=0.0)
    plan = schedules.join(
        [schedules.get("inverse_sqrt", lr=0.05, warmup_steps=100), schedules.get("cosine", lr=0.005, T_max=2000)], [1000]
    )
    train(opt, lambda: (a.T @ (a @ x - b) / len(b)).astype(dtype), plan(np.arange(3000)))
    loss = 0.5 * np.mean((a @ x - b) ** 2)
    assert loss < 1e-6
    np.testing.assert_allclose(x, truth, atol=1e-3)


def test_trains_a_model_by_name():
    """The user's view: optimizer="lion" in a model's compile options."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((512, 8)).astype(np.float32)
    y = (X[:, 0] - X[:, 2] > 0).astype(int)
    model = numbagrad.Sequential(
        [numbagrad.Dense(16, activation="relu"), numbagrad.Dense(2, activation="softmax")], input_dim=8
    )
    model.compile(optimizer={"name": "lion", "lr": 3e-3}, loss="categorical_crossentropy", metrics=["accuracy"])
    assert type(model.training.optimizer.spec).__name__ == "OptimizerSpec"
    assert model.training.optimizer.spec.name == "lion"
    history = model.fit(X, y, epochs=20, verbose=0)
    assert history.history["accuracy"][-1] > 0.95
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
