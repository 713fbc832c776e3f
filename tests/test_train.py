"""The trainer against a hand-written reference loop, and its guarantees."""

from __future__ import annotations

import numpy as np
import pytest
from reference import network as reference
from test_optim_rules import CASES

import numbagrad
from numbagrad import Dense, Sequential, optim

OPTIMIZERS = {name: cases[-1] for name, cases in CASES.items()}


def make_data(rows=45, features=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, features))
    labels = rng.integers(0, classes, rows)
    return X, labels


def make_model(activations=("relu", "linear"), units=(8, 3), features=6, dtype=np.float64, seed=1):
    layers = [Dense(u, activation=a) for u, a in zip(units, activations)]
    return Sequential(layers, input_dim=features, dtype=dtype, seed=seed)


def targets_for(loss, labels, classes=3):
    if loss == "categorical_crossentropy":
        return labels.reshape(-1, 1).astype(float), labels
    if loss == "binary_crossentropy":
        y = (labels > 0).astype(float).reshape(-1, 1)
        return y, y
    rng = np.random.default_rng(5)
    y = rng.standard_normal((labels.shape[0], classes))
    return y, y


def shuffles(model_seed, samples, epochs):
    rng = np.random.default_rng(model_seed)
    return [rng.permutation(samples) for _ in range(epochs)]


def check_against_reference(optimizer, options, loss, activations, units, batch_size=8, epochs=2, clip_norm=None):
    X, labels = make_data()
    y_reference, y_fit = targets_for(loss, labels, units[-1])
    model = make_model(activations, units)
    weights = model.get_weights()
    model.compile(optimizer={"name": optimizer, **options}, loss=loss, clip_norm=clip_norm)
    history = model.fit(X, y_fit, batch_size=batch_size, epochs=epochs, verbose=0)
    hyperparameters = model.training.optimizer.param_groups[0]
    expected = reference.fit(
        weights, list(activations), loss, optimizer, hyperparameters, X, y_reference, batch_size,
        shuffles(model.seed, X.shape[0], epochs), clip_norm=clip_norm,
    )
    for got, want in zip(model.get_weights(), weights):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(history.history["loss"], expected, rtol=1e-10)


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_every_optimizer_matches_the_reference_loop(optimizer):
    check_against_reference(optimizer, OPTIMIZERS[optimizer], "categorical_crossentropy", ("tanh", "softmax"), (7, 3))


@pytest.mark.parametrize(
    "loss, activations, units",
    [
        ("mse", ("relu", "linear"), (8, 3)),
        ("mae", ("tanh", "linear"), (8, 3)),
        ("huber", ("sigmoid", "linear"), (5, 3)),
        ("categorical_crossentropy", ("relu", "softmax"), (8, 3)),
        ("binary_crossentropy", ("relu", "sigmoid"), (8, 1)),
    ],
)
def test_losses_match_the_reference_loop(loss, activations, units):
    check_against_reference("adam", {"lr": 0.01}, loss, activations, units)


@pytest.mark.parametrize("batch_size", [1, 7, 45])
def test_online_mini_batch_and_full_batch(batch_size):
    check_against_reference("sgd", {"lr": 0.01, "momentum": 0.5}, "mse", ("relu", "linear"), (8, 3), batch_size=batch_size)


def test_clip_norm_matches_the_reference():
    check_against_reference("sgd", {"lr": 0.1}, "mse", ("relu", "linear"), (8, 3), clip_norm=0.05)


def test_same_seed_same_weights_bit_for_bit():
    X, labels = make_data()
    results = []
    for _ in range(2):
        model = make_model(("relu", "softmax"), (8, 3), dtype=np.float32)
        model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
        model.fit(X.astype(np.float32), labels, epochs=3, verbose=0, seed=7)
        results.append(model.parameters.copy())
    np.testing.assert_array_equal(results[0], results[1])


def test_fit_in_two_parts_equals_one_run():
    X, labels = make_data()
    one = make_model(("relu", "softmax"), (8, 3))
    one.compile("nadam", "categorical_crossentropy")
    one.fit(X, labels, epochs=4, verbose=0)
    two = make_model(("relu", "softmax"), (8, 3))
    two.compile("nadam", "categorical_crossentropy")
    two.fit(X, labels, epochs=2, verbose=0)
    two.fit(X, labels, epochs=2, verbose=0)
    np.testing.assert_array_equal(one.parameters, two.parameters)
    assert two.epoch == 4


def test_save_and_load_continue_bit_exactly(tmp_path):
    X, labels = make_data()
    uninterrupted = make_model(("relu", "softmax"), (8, 3), dtype=np.float32)
    uninterrupted.compile(numbagrad.optim.SGD(lr=0.05, momentum=0.9, nesterov=True), "categorical_crossentropy", metrics=["accuracy"], clip_norm=5.0)
    uninterrupted.fit(X.astype(np.float32), labels, epochs=4, verbose=0)

    first = make_model(("relu", "softmax"), (8, 3), dtype=np.float32)
    first.compile(numbagrad.optim.SGD(lr=0.05, momentum=0.9, nesterov=True), "categorical_crossentropy", metrics=["accuracy"], clip_norm=5.0)
    first.fit(X.astype(np.float32), labels, epochs=2, verbose=0)
    path = tmp_path / "model.ngm"
    first.save(path)
    resumed = numbagrad.load_model(path)
    assert resumed.epoch == 2
    resumed.fit(X.astype(np.float32), labels, epochs=2, verbose=0)
    np.testing.assert_array_equal(resumed.parameters, uninterrupted.parameters)


def test_history_has_keras_keys():
    X, labels = make_data()
    model = make_model(("relu", "softmax"), (8, 3))
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(X, labels, epochs=3, validation_split=0.2, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert all(len(v) == 3 for v in history.history.values())
    assert history.epoch == [0, 1, 2]
    evaluated = model.evaluate(X[-9:], labels[-9:])
    assert evaluated["loss"] == pytest.approx(history.history["val_loss"][-1], rel=1e-12)


def test_predict_applies_the_final_activation():
    X, _ = make_data()
    model = make_model(("relu", "softmax"), (8, 3))
    probabilities = model.predict(X, batch_size=10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-12)
    weights = model.get_weights()
    _, outs = reference.forward(weights, ["relu", "softmax"], X)
    np.testing.assert_allclose(probabilities, outs[-1], rtol=1e-12)


def test_non_finite_loss_stops_with_the_last_finite_weights():
    X, labels = make_data()
    model = make_model(("relu", "linear"), (8, 3))
    model.compile({"name": "sgd", "lr": 1e12}, "mse")
    y = np.random.default_rng(0).standard_normal((X.shape[0], 3))
    with pytest.raises(numbagrad.NonFiniteLossError, match=r"at epoch \d+, batch \d+ of 6"):
        model.fit(X, y, batch_size=8, epochs=50, verbose=0)
    assert np.isfinite(model.parameters).all()


def test_optimizer_given_unbound_is_bound_to_the_model():
    model = make_model()
    opt = optim.Adam(lr=0.01)
    model.compile(opt, "mse")
    assert model.training.optimizer is opt
    # Bound to the weight and bias views of the parameter buffer, in get_weights order.
    assert [p.shape for p in opt.params] == model.weight_shapes()
    assert all(np.shares_memory(p, model.parameters) for p in opt.params)


def test_progress_is_a_line_per_epoch_off_a_terminal(capsys):
    """verbose=1 into a pipe or a log file: one line per epoch, no carriage-return fragments of a
    redrawn bar; on a terminal the bar (tqdm, when installed)."""
    import io

    from numbagrad.train.progress import Progress

    model = Sequential([Dense(4, activation="tanh"), Dense(1)], input_dim=3)
    model.compile("sgd", "mse")
    model.fit(np.ones((8, 3)), np.ones((8, 1)), epochs=2, batch_size=4, verbose=1)
    err = capsys.readouterr().err
    assert "\r" not in err
    assert [line.split(" - ")[0] for line in err.splitlines()] == ["Epoch 1/2", "Epoch 2/2"]

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    tqdm = pytest.importorskip("tqdm")
    assert Progress(1, 2, stream=Terminal())._tqdm is not None and Progress(1, 2, stream=io.StringIO())._tqdm is None
    assert tqdm
