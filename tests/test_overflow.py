"""Updates that overflow: after any fit every weight and every optimizer state value is finite, or fit
raised and the model holds the last step whose weights were finite."""

from __future__ import annotations

import numpy as np
import pytest

import numbagrad
from numbagrad import optim

ELEMENTWISE = sorted(
    name for name, source in optim.available().items()
    if source == "numbagrad" and not optim.get(name).spec.closure and not optim.get(name).spec.tensorwise
)


def data(rows=64, scale=1.0, seed=0):
    rng = np.random.default_rng(seed)
    X = (rng.standard_normal((rows, 4)) * scale).astype(np.float32)
    return X, (X[:, 0] > 0).astype(int)


def network(seed=0):
    return numbagrad.Sequential(
        [numbagrad.Dense(8, activation="tanh"), numbagrad.Dense(2, activation="softmax")], input_dim=4, seed=seed
    )


def state_values(model):
    values = []
    for optimizer in model.training.optimizers.values():
        for entry in optimizer.state_dict()["state"].values():
            values += [np.asarray(v, dtype=np.float64).ravel() for k, v in entry.items() if k != "step"]
    return np.concatenate(values) if values else np.zeros(0)


@pytest.mark.parametrize("name", [*ELEMENTWISE, "adafactor", "muon", "lbfgs"])
def test_a_huge_learning_rate_never_leaves_non_finite_weights(name):
    X, y = data(scale=1e3)
    model = network()
    largest = float(np.finfo(np.float32).max) / 4
    config = {"name": name, "lr": largest}
    if name == "muon":
        config = {"weights": config, "biases": {"name": "sgd", "lr": largest}}
    model.compile(config, "sparse_categorical_crossentropy")
    assert len(ELEMENTWISE) >= 12
    try:
        with np.errstate(over="ignore", invalid="ignore"):  # L-BFGS's line search computes in NumPy
            model.fit(X, y, batch_size=8, epochs=3, verbose=0)
    except numbagrad.NonFiniteLossError as error:
        assert "last finite step" in str(error)
    assert np.isfinite(model.parameters).all(), name
    assert np.isfinite(state_values(model)).all(), name


@pytest.mark.parametrize("batch_size", [1, 8])
def test_an_update_that_overflows_mid_segment_leaves_the_weights_of_the_step_before(batch_size):
    """The learning rate grows tenfold each step; the update that overflows is rolled back, and the
    model holds exactly the weights a fit of only the batches before it gives. (The segment runs
    unchecked first, is found non-finite at its end, and runs again checking every step; at batch
    size 1 the first weight's gradient is a product never written.)"""
    X, y = data(rows=16 * batch_size)
    schedule = {"name": "exponential", "gamma": 1e6}

    def compiled():
        model = network()
        model.compile({"name": "sgd", "lr": 1e-3}, "sparse_categorical_crossentropy", schedule=schedule)
        return model

    model = compiled()
    with pytest.raises(numbagrad.NonFiniteLossError, match=r"the optimizer's update at epoch 1, batch (\d+) of 16 made weights"):
        model.fit(X, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
    done = len(model.epoch_losses)
    assert 2 <= done < 15
    reference = compiled()
    reference.fit(X[: done * batch_size], y[: done * batch_size], batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_array_equal(model.parameters, reference.parameters)
    assert model.training.optimizer.steps == done


@pytest.mark.parametrize("batch_size", [1, 8])
def test_the_state_counts_too(batch_size):
    """Adam's second moment overflows in float32 (g^2 > 3.4e38) although the weights stay finite
    (and so does every loss after it: only the check of the state finds it)."""
    X, y = data(scale=1e25)
    model = numbagrad.Sequential([numbagrad.Dense(8), numbagrad.Dense(2, activation="softmax")], input_dim=4)
    model.compile({"name": "adam", "lr": 1e-3}, "sparse_categorical_crossentropy")
    assert np.isfinite(model.value_and_grad(X[:8], y[:8], "sparse_categorical_crossentropy")[1]).all()
    with pytest.raises(numbagrad.NonFiniteLossError):
        model.fit(X, y, batch_size=batch_size, epochs=1, verbose=0)
    assert np.isfinite(model.parameters).all() and np.isfinite(state_values(model)).all()


def test_hyperparameters_the_dtype_cannot_hold_are_refused():
    model = network()
    with pytest.raises(ValueError, match=r"lr=1e\+39 cannot be represented in the parameters' dtype float32"):
        model.compile({"name": "sgd", "lr": 1e39}, "mse")
    assert model.training is None
    with pytest.raises(ValueError, match=r"Adam: lr must be a finite number >= 0; got 1000"):
        optim.Adam([np.zeros(2)], lr=10**400)
