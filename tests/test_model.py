"""Sequential and Dense: the parameter buffer, weights, predictions, gradients and every input error."""

from __future__ import annotations

import numpy as np
import pytest
from reference import network as reference

import numbagrad
import numbagrad.autodiff as ad
from numbagrad import Dense, Sequential
from numbagrad.errors import UnknownNameError
from numbagrad.nn import initializers


def small_model(dtype=np.float64, seed=0, activations=("relu", "softmax"), units=(5, 3), input_dim=4, use_bias=True):
    layers = [Dense(u, activation=a, use_bias=use_bias) for u, a in zip(units, activations)]
    return Sequential(layers, input_dim=input_dim, dtype=dtype, seed=seed)


def data(rows=7, features=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((rows, features)), rng.integers(0, 3, rows)


# --- the parameter buffer ------------------------------------------------------------


def test_layers_are_views_into_one_aligned_buffer():
    model = small_model()
    assert model.parameters.ctypes.data % 64 == 0
    assert model.count_params() == 4 * 5 + 5 + 5 * 3 + 3
    for layer in model.layers:
        assert np.shares_memory(layer.weight, model.parameters)
        assert np.shares_memory(layer.bias, model.parameters)
    model.layers[0].weight[0, 0] = 42.0
    assert model.parameters[0] == 42.0
    assert model.layers[1].weight.shape == (5, 3)


def test_get_weights_are_copies_in_layer_order_and_set_weights_round_trips():
    model = small_model()
    weights = model.get_weights()
    assert [w.shape for w in weights] == [(4, 5), (5,), (5, 3), (3,)]
    weights[0][...] = 1.0
    assert not np.all(model.layers[0].weight == 1.0)
    model.set_weights(weights)
    np.testing.assert_array_equal(model.layers[0].weight, np.ones((4, 5)))


def test_layers_without_bias_have_no_bias_entry():
    model = small_model(use_bias=False)
    assert [w.shape for w in model.get_weights()] == [(4, 5), (5, 3)]
    assert model.count_params() == 35


def test_same_seed_same_weights_and_different_seed_different_weights():
    np.testing.assert_array_equal(small_model(seed=3).parameters, small_model(seed=3).parameters)
    assert not np.array_equal(small_model(seed=3).parameters, small_model(seed=4).parameters)


@pytest.mark.parametrize(
    "name, check",
    [
        ("glorot_uniform", lambda w, fi, fo: np.abs(w).max() <= np.sqrt(6 / (fi + fo))),
        ("he_uniform", lambda w, fi, fo: np.abs(w).max() <= np.sqrt(6 / fi)),
        ("glorot_normal", lambda w, fi, fo: abs(w.std() - np.sqrt(2 / (fi + fo))) < 0.05 * np.sqrt(2 / (fi + fo))),
        ("he_normal", lambda w, fi, fo: abs(w.std() - np.sqrt(2 / fi)) < 0.05 * np.sqrt(2 / fi)),
        ("lecun_normal", lambda w, fi, fo: abs(w.std() - np.sqrt(1 / fi)) < 0.05 * np.sqrt(1 / fi)),
        ("zeros", lambda w, fi, fo: not w.any()),
        ("ones", lambda w, fi, fo: np.all(w == 1)),
    ],
)
def test_initializers_follow_their_definitions(name, check):
    weight = initializers.get(name)((400, 300), np.random.default_rng(0))
    assert weight.shape == (400, 300) and check(weight, 400, 300)


def test_initializers_with_options():
    weight = initializers.get({"name": "normal", "std": 0.2})((300, 300), np.random.default_rng(1))
    assert abs(weight.std() - 0.2) < 0.01
    bounded = initializers.get("uniform", limit=0.1)((50, 50), np.random.default_rng(1))
    assert np.abs(bounded).max() <= 0.1


# --- predictions and gradients ----------------------------------------------------------


@pytest.mark.parametrize("batch_size", [1, 3, 7, 100])
def test_predict_equals_the_reference_forward_pass_at_every_batch_size(batch_size):
    model = small_model()
    X, _ = data(rows=7)
    _, outs = reference.forward(model.get_weights(), ["relu", "softmax"], X)
    np.testing.assert_allclose(model.predict(X, batch_size=batch_size), outs[-1], rtol=1e-12)


def test_float32_model_predicts_in_float32():
    model = small_model(dtype=np.float32)
    X, _ = data()
    out = model.predict(X.astype(np.float32))
    assert out.dtype == np.float32
    _, outs = reference.forward([w.astype(np.float64) for w in model.get_weights()], ["relu", "softmax"], X.astype(np.float32).astype(np.float64))
    np.testing.assert_allclose(out, outs[-1], rtol=1e-5)


@pytest.mark.parametrize(
    "activations, loss, target",
    [
        (("relu", "softmax"), "categorical_crossentropy", "labels"),
        (("tanh", "linear"), "mse", "real"),
        (("sigmoid", "sigmoid"), "binary_crossentropy", "binary"),
        (("gelu", "linear"), "huber", "real"),
        (("elu", "softmax"), "kl_divergence", "probabilities"),
    ],
)
def test_value_and_grad_equals_the_autodiff_engine(activations, loss, target):
    units = (6, 1) if target == "binary" else (6, 3)
    model = small_model(activations=activations, units=units)
    rng = np.random.default_rng(2)
    X = rng.standard_normal((9, 4))
    y = {
        "labels": rng.integers(0, 3, 9),
        "real": rng.standard_normal((9, 3)),
        "binary": rng.integers(0, 2, (9, 1)).astype(float),
        "probabilities": rng.dirichlet(np.ones(3), 9),
    }[target]
    value, grad = model.value_and_grad(X, y, loss)

    def network(W1, b1, W2, b2):
        hidden = ad.dense(X, W1, b1, activation=activations[0])
        return ad.loss(loss, ad.dense(hidden, W2, b2, activation=activations[1]), y)

    expected_value, expected_grads = ad.value_and_grad(network, argnums=(0, 1, 2, 3))(*model.get_weights())
    assert value == pytest.approx(float(expected_value), rel=1e-10)
    flat = np.concatenate([g.ravel() for g in expected_grads])
    np.testing.assert_allclose(grad, flat, rtol=1e-9, atol=1e-12)


def test_value_and_grad_matches_finite_differences():
    model = small_model(activations=("tanh", "softmax"))
    X, labels = data(rows=5)
    _, grad = model.value_and_grad(X, labels, "categorical_crossentropy")
    base = model.parameters.copy()
    step = 1e-6
    for index in range(0, model.count_params(), 7):
        model.parameters[...] = base
        model.parameters[index] += step
        up, _ = model.value_and_grad(X, labels, "categorical_crossentropy")
        model.parameters[index] -= 2 * step
        down, _ = model.value_and_grad(X, labels, "categorical_crossentropy")
        assert grad[index] == pytest.approx((up - down) / (2 * step), rel=1e-5, abs=1e-8)


def test_value_and_grad_feeds_an_optimizer_over_the_parameter_buffer():
    model = small_model(activations=("relu", "softmax"))
    X, labels = data(rows=30)
    opt = numbagrad.optim.Adam([model.parameters], lr=0.05)
    first, _ = model.value_and_grad(X, labels, "categorical_crossentropy")
    for _ in range(50):
        value, grad = model.value_and_grad(X, labels, "categorical_crossentropy")
        opt.step([grad])
    assert value < 0.5 * first


def test_summary_lists_layers_shapes_and_counts():
    text = small_model().summary(print_fn=None)
    assert "dense_0" in text and "(None, 5)" in text and "relu" in text and "Total params: 43" in text


def test_config_round_trip_rebuilds_the_same_model():
    model = Sequential([Dense(5, activation={"name": "leaky_relu", "alpha": 0.2}, kernel_initializer="he_normal"), Dense(2)], input_dim=3, seed=9)
    again = Sequential.from_config(model.get_config())
    np.testing.assert_array_equal(again.parameters, model.parameters)
    assert again.layers[0].activation_options == {"alpha": 0.2}


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build, error, message",
    [
        (lambda: Dense(0), ValueError, "Dense: units must be an integer >= 1; got 0"),
        (lambda: Dense(2.5), ValueError, "units must be an integer >= 1; got 2.5"),
        (lambda: Dense(3, activation="relux"), UnknownNameError, "unknown activation 'relux'. Did you mean 'relu'"),
        (lambda: Dense(3, activation={"name": "leaky_relu", "alpah": 0.2}), TypeError, "unknown hyperparameter 'alpah' (did you mean 'alpha'?)"),
        (lambda: Dense(3, kernel_initializer="glorot"), UnknownNameError, "unknown initializer 'glorot'. Did you mean"),
        (lambda: Dense(3, use_bias="yes"), TypeError, "use_bias must be True or False; got 'yes'"),
        (lambda: Sequential([], input_dim=3), ValueError, "layers must be a non-empty list of Dense layers"),
        (lambda: Sequential([Dense(2), "dense"], input_dim=3), TypeError, "layers[1] must be a numbagrad.nn.Dense, Dropout, BatchNormalization, LayerNormalization or Activation; got str"),
        (lambda: Sequential([Dense(2)], input_dim=0), ValueError, "input_dim must be an integer >= 1; got 0"),
        (lambda: Sequential([Dense(2)], input_dim=3, dtype=np.int32), TypeError, "dtype must be float32 or float64; got int32"),
        (lambda: Sequential([Dense(2)], input_dim=3, seed=-1), ValueError, "seed must be an integer >= 0; got -1"),
    ],
)
def test_bad_architecture(build, error, message):
    with pytest.raises(error) as raised:
        build()
    assert message in str(raised.value)


def test_a_layer_belongs_to_one_model():
    layer = Dense(2)
    Sequential([layer], input_dim=3)
    with pytest.raises(ValueError, match=r"layers\[0\] already belongs to a model"):
        Sequential([layer], input_dim=3)


@pytest.mark.parametrize(
    "X, error, message",
    [
        (np.zeros((4, 5)), ValueError, "X has 5 columns; the model expects input_dim=4"),
        (np.zeros(4), ValueError, "X must be 2-D (samples, features); got shape (4,)"),
        (np.zeros((0, 4)), ValueError, "X is empty: it has no rows"),
        (np.zeros((3, 4), dtype=np.int64), TypeError, "X has dtype int64; the model computes in float64"),
        (np.array([["a"] * 4]), TypeError, "X has dtype <U1; expected numbers"),
        (np.array([[0.0, np.nan, 0.0, 0.0]]), ValueError, "X contains nan at row 0, column 1; every value must be finite"),
        (np.array([[0.0, 0.0, 0.0, np.inf]]), ValueError, "X contains inf at row 0, column 3"),
        (None, TypeError, "X is None; expected an array of numbers"),
    ],
)
def test_bad_inputs_are_refused(X, error, message):
    model = small_model()
    with pytest.raises(error) as raised:
        model.predict(X)
    assert message in str(raised.value)


def test_inputs_too_large_for_a_float32_model_are_refused():
    model = Sequential([Dense(2)], input_dim=2, dtype=np.float32)
    with pytest.raises(ValueError) as raised:
        model.predict(np.array([[1.0, 0.0], [0.0, -1e39]]))
    assert str(raised.value) == (
        "X contains -1e+39 at row 1, column 1, beyond the range of float32 (largest 3.403e+38); "
        "scale the data, or use a float64 model"
    )


@pytest.mark.parametrize(
    "y, loss, error, message",
    [
        (np.array([0, 1, 3]), "categorical_crossentropy", ValueError, "= 3 is not a class label: labels must be integers in [0, 3)"),
        (np.array([0, -1, 2]), "categorical_crossentropy", ValueError, "= -1 is not a class label"),
        (np.array([0, 1.5, 2]), "categorical_crossentropy", ValueError, "= 1.5 is not a class label"),
        (np.zeros((3, 2)), "mse", ValueError, "y has shape (3, 2); expected (3, 3)"),
        (np.zeros(4), "mse", ValueError, "y has 4 rows; the prediction has 3"),
        (np.array([[0.5, 0.5, np.nan]] * 3), "mse", ValueError, "targets must be finite"),
        (np.array([["a", "b", "c"]] * 3), "mse", TypeError, "y must be an array of numbers"),
        (np.array([[0.5, 0.2, 1.5]] * 3), "kl_divergence", ValueError, "1.5"),
    ],
)
def test_bad_targets_are_refused_before_anything_changes(y, loss, error, message):
    model = small_model()
    X, _ = data(rows=3)
    before = model.parameters.copy()
    with pytest.raises(error) as raised:
        model.value_and_grad(X, y, loss)
    assert message in str(raised.value)
    np.testing.assert_array_equal(model.parameters, before)


def test_unknown_loss_name():
    with pytest.raises(UnknownNameError, match=r"unknown loss 'mse2'. Did you mean 'mse'"):
        small_model().value_and_grad(*data(), "mse2")


@pytest.mark.parametrize(
    "weights, error, message",
    [
        ([np.zeros((4, 5))], ValueError, "set_weights: got 1 arrays; the model has 4"),
        ([np.zeros((5, 4)), np.zeros(5), np.zeros((5, 3)), np.zeros(3)], ValueError, "weights[0] has shape (5, 4); expected (4, 5)"),
        ([np.zeros((4, 5)), np.zeros(5), np.full((5, 3), np.nan), np.zeros(3)], ValueError, "weights[2] contains NaN or infinity"),
        (np.zeros(4), TypeError, "weights must be a list of 4 arrays"),
        ([np.zeros((4, 5)), np.array(["a"] * 5), np.zeros((5, 3)), np.zeros(3)], TypeError, "weights[1] has dtype <U1"),
    ],
)
def test_bad_set_weights_changes_nothing(weights, error, message):
    model = small_model()
    before = model.parameters.copy()
    with pytest.raises(error) as raised:
        model.set_weights(weights)
    assert message in str(raised.value)
    np.testing.assert_array_equal(model.parameters, before)


def test_bad_predict_batch_size():
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1; got 0"):
        small_model().predict(data()[0], batch_size=0)


def test_a_model_pickles_as_plain_data_and_trains_on_identically():
    """Worker processes (joblib, Dask, Ray) send models by pickle: as plain data, rebuilt compiled,
    with the optimizer state, the shuffling generator, the history and the regularizers."""
    import pickle
    import re

    X = np.random.default_rng(0).normal(size=(40, 3))
    y = np.random.default_rng(1).integers(0, 2, 40)
    model = Sequential([Dense(4, "relu", kernel_regularizer="l2"), Dense(2, "softmax")], input_dim=3, dtype="float64", seed=5)
    assert pickle.loads(pickle.dumps(model)).count_params() == model.count_params()  # not compiled yet
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    data = pickle.dumps(model)
    assert not re.search(rb"numba\.", data), "compiled objects in the pickle"  # numbagrad.* is fine
    copy = pickle.loads(data)
    assert copy.history.history == model.history.history and copy.layers[0].kernel_regularizer.l2 == 0.01
    model.fit(X, y, epochs=1, batch_size=8, verbose=0)
    copy.fit(X, y, epochs=1, batch_size=8, verbose=0)
    np.testing.assert_array_equal(copy.parameters, model.parameters)
