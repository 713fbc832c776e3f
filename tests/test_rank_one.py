"""A batch of one row: the first layer's weight gradient ``x^T dz`` reaches an element-wise optimizer
as the product, never written out (numbagrad.kernels.cpu.training). It must step exactly as the
written gradient does: every optimizer, every layer option, clipping, overflow.

The written path is the same fit with ``clip_value`` far above any gradient: clipping by value
needs the gradient written, and at 1e30 it changes no value.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_overflow import ELEMENTWISE
from test_train import check_against_reference

import numbagrad

WRITTEN = 1e30
UNTOUCHED = 12345.0  # what the gradient buffer holds before the fit


def first_weight_gradient(model):
    """The region of ``model.gradients`` that holds the first layer's weight gradient."""
    fan_in, units, offset = (int(v) for v in model.layer_table[0, :3])
    return model.gradients[offset : offset + fan_in * units]


def data(rows=40, features=12, classes=3, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, features)).astype(dtype)
    return X, rng.integers(0, classes, rows)


def fit_both(build, optimizer, X, y, epochs=2, batch_size=1, fused=True, **fit):
    """The same fit (at batch size 1 unless told) with the product path and with the gradient written:
    ``[(parameters, optimizer state, losses)]`` of each. With ``fused``, the first fit must have
    left the first weight's gradient buffer as it found it."""
    results = []
    for clip_value in (None, WRITTEN):
        model = build()
        model.compile(optimizer, "sparse_categorical_crossentropy", clip_value=clip_value)
        model.gradients[:] = UNTOUCHED
        history = model.fit(X, y, batch_size=batch_size, epochs=epochs, verbose=0, seed=3, **fit)
        state = [np.asarray(value, dtype=np.float64).ravel()
                 for optimizer_ in model.training.optimizers.values()
                 for entry in optimizer_.state_dict()["state"].values() for key, value in entry.items() if key != "step"]
        results.append((model.parameters.copy(), state, history.history["loss"]))
        assert (first_weight_gradient(model) == UNTOUCHED).all() == (fused and clip_value is None)
    return results


def assert_same(results):
    (params, state, losses), (written_params, written_state, written_losses) = results
    np.testing.assert_array_equal(params, written_params)
    assert len(state) == len(written_state)
    for got, want in zip(state, written_state):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(losses, written_losses)


def two_layers(features=12, units=16, dtype=np.float32, **first):
    def build():
        return numbagrad.Sequential(
            [numbagrad.Dense(units, activation="relu", **first), numbagrad.Dense(3, activation="softmax")],
            input_dim=features, dtype=dtype, seed=1,
        )
    return build


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_every_elementwise_optimizer_steps_as_on_the_written_gradient(name):
    X, y = data()
    assert_same(fit_both(two_layers(), {"name": name, "lr": 1e-2}, X, y))


@pytest.mark.parametrize(
    "case",
    ["three layers", "a last batch of one row", "layer norm", "dropout", "sample weights", "float64", "no bias", "roles", "wide, two threads"],
)
def test_every_layer_option_steps_as_on_the_written_gradient(case):
    X, y = data(dtype=np.float64 if case == "float64" else np.float32)
    optimizer, fit, fused = {"name": "adam", "lr": 1e-2}, {}, True
    build = two_layers(dtype=np.float64 if case == "float64" else np.float32)
    if case == "three layers":  # dz of the first layer in the other gradient buffer
        def build():
            layers = [numbagrad.Dense(16, activation="tanh"), numbagrad.Dense(8, activation="relu"), numbagrad.Dense(3, activation="softmax")]
            return numbagrad.Sequential(layers, input_dim=12, seed=1)
    elif case == "a last batch of one row":  # batch normalization refuses a batch size of 1, not this
        X, y = data(rows=41)
        build, fit, fused = two_layers(normalization="batch"), {"batch_size": 4}, False
    elif case == "layer norm":
        build = two_layers(normalization="layer")
    elif case == "dropout":
        build = two_layers(dropout=0.3)
    elif case == "no bias":
        build = two_layers(use_bias=False)
    elif case == "sample weights":
        fit = {"sample_weight": np.random.default_rng(2).uniform(0.0, 2.0, X.shape[0])}
    elif case == "roles":
        optimizer = {"weights": {"name": "rmsprop", "lr": 1e-3}, "biases": {"name": "sgd", "lr": 1e-2, "momentum": 0.9}}
    elif case == "wide, two threads":
        # 300 x 200 weights: in parallel chunks that start and stop inside rows, each in pieces
        # that do too.
        X, y = data(rows=12, features=300)
        build, fit = two_layers(features=300, units=200), {"threads": 2}
    assert_same(fit_both(build, optimizer, X, y, fused=fused, **fit))


def test_a_tensorwise_optimizer_still_gets_the_written_gradient():
    X, y = data()
    optimizer = {"weights": {"name": "muon", "lr": 1e-2}, "biases": {"name": "sgd", "lr": 1e-2}}
    assert_same(fit_both(two_layers(), optimizer, X, y, fused=False))


def test_clip_norm_at_batch_one_matches_the_reference():
    """Clipping by norm takes the product's norm as |x| |dz| and scales dz."""
    check_against_reference("sgd", {"lr": 0.1, "momentum": 0.5}, "mse", ("relu", "linear"), (8, 3), batch_size=1, clip_norm=0.05)
    check_against_reference("adam", {"lr": 0.01}, "categorical_crossentropy", ("tanh", "softmax"), (7, 3), batch_size=1, clip_norm=0.5)


def test_a_product_that_would_overflow_is_written_and_stops_as_a_non_finite_gradient():
    """x of 1e30 times dz of about 1e10 is beyond float32: the gradient is written as the backward
    pass writes it, and the fit stops at that batch's gradient, not at an update."""
    X = np.full((4, 3), 1e30, dtype=np.float32)
    y = np.full((4, 2), 1e10, dtype=np.float32)
    outcomes = []
    for clip_value in (None, WRITTEN):
        model = numbagrad.Sequential(
            [numbagrad.Dense(2, kernel_initializer="zeros"), numbagrad.Dense(2, kernel_initializer="ones")], input_dim=3,
        )
        model.compile({"name": "sgd", "lr": 1e-3}, "mse", clip_value=clip_value)
        with pytest.raises(numbagrad.NonFiniteLossError) as raised:
            model.fit(X, y, batch_size=1, epochs=1, shuffle=False, verbose=0)
        outcomes.append((str(raised.value), model.parameters.copy()))
    assert "gradient" in outcomes[0][0]
    assert outcomes[0][0] == outcomes[1][0]
    np.testing.assert_array_equal(outcomes[0][1], outcomes[1][1])
