"""Dropout: the masks (statistics and the compiled hash against NumPy's), training steps against a
NumPy reference with the same masks, inference untouched, reproducibility, files, errors."""

from __future__ import annotations

import numpy as np
import pytest

import numbagrad as ng
from numbagrad.nn.dropout import keep_mask


def test_masks_keep_the_expected_fraction():
    rate = 0.3
    mask = keep_mask(key=12345, step=7, layer=1, first_row=0, rows=400, units=250, rate=rate)
    kept = mask.mean()
    sigma = np.sqrt(rate * (1 - rate) / mask.size)
    assert abs(kept - (1 - rate)) < 5 * sigma
    # Different steps, layers and keys give different masks; the same coordinates the same one.
    assert (mask != keep_mask(12345, 8, 1, 0, 400, 250, rate)).mean() > 0.3
    assert (mask != keep_mask(12345, 7, 0, 0, 400, 250, rate)).mean() > 0.3
    assert (mask != keep_mask(54321, 7, 1, 0, 400, 250, rate)).mean() > 0.3
    np.testing.assert_array_equal(mask, keep_mask(12345, 7, 1, 0, 400, 250, rate))
    # A row's mask depends on its place in the batch only: rows 100.. alone are the same rows.
    np.testing.assert_array_equal(mask[100:], keep_mask(12345, 7, 1, 100, 300, 250, rate))


def test_rate_zero_keeps_everything():
    assert keep_mask(1, 2, 0, 0, 50, 20, 0.0).all()


def _model(rate, hidden_activation="tanh", dtype="float64"):
    return ng.Sequential(
        [ng.Dense(16, activation=hidden_activation), ng.Dropout(rate), ng.Dense(3, activation="softmax")],
        input_dim=5, dtype=dtype, seed=4,
    ).compile(optimizer={"name": "sgd", "lr": 0.1}, loss="sparse_categorical_crossentropy")


def _activation(name, z):
    return np.tanh(z) if name == "tanh" else 1 / (1 + np.exp(-z))


def _derivative(name, z):
    a = _activation(name, z)
    return 1 - a * a if name == "tanh" else a * (1 - a)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_training_steps_equal_numpy_with_the_same_masks(activation):
    """Two SGD steps (batches of 20 and 10 rows, in order) against NumPy's forward and backward
    passes with the masks of :func:`keep_mask`; sigmoid's derivative reads the layer's output,
    which must be the one before dropout."""
    rate, seed = 0.4, 9
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 5))
    y = rng.integers(0, 3, size=30)
    model = _model(rate, activation)
    W1, b1, W2, b2 = model.get_weights()
    model.fit(X, y, batch_size=20, epochs=1, shuffle=False, seed=seed, verbose=0)
    key = int(np.random.default_rng(seed).integers(1 << 62))  # the epoch's key: the fit's first draw
    for step, (start, stop) in enumerate([(0, 20), (20, 30)]):
        x, labels, n = X[start:stop], y[start:stop], stop - start
        z1 = x @ W1 + b1
        mask = keep_mask(key, step, 0, 0, n, 16, rate) / (1 - rate)
        h = _activation(activation, z1) * mask
        z2 = h @ W2 + b2
        p = np.exp(z2 - z2.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        g2 = (p - np.eye(3)[labels]) / n
        g1 = (g2 @ W2.T) * mask * _derivative(activation, z1)
        W2, b2 = W2 - 0.1 * (h.T @ g2), b2 - 0.1 * g2.sum(axis=0)
        W1, b1 = W1 - 0.1 * (x.T @ g1), b1 - 0.1 * g1.sum(axis=0)
    for got, expected in zip(model.get_weights(), [W1, b1, W2, b2]):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-13)


def test_dropout_changes_training_but_not_inference():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(64, 5)), rng.integers(0, 3, size=64)
    dropped, plain = _model(0.5), _model(0.0)
    np.testing.assert_array_equal(dropped.predict(X), plain.predict(X))
    assert dropped.evaluate(X, y) == plain.evaluate(X, y)
    dropped.fit(X, y, batch_size=16, epochs=1, seed=0, verbose=0)
    plain.fit(X, y, batch_size=16, epochs=1, seed=0, verbose=0)
    assert not np.allclose(dropped.parameters, plain.parameters)
    # predict is deterministic: no dropout outside training.
    np.testing.assert_array_equal(dropped.predict(X), dropped.predict(X))
    plain.set_weights(dropped.get_weights())
    np.testing.assert_array_equal(dropped.predict(X), plain.predict(X))


def test_seeded_fits_are_reproducible_and_resume_exactly(tmp_path):
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(90, 5)), rng.integers(0, 3, size=90)
    once, twice, saved = _model(0.3), _model(0.3), _model(0.3)
    once.fit(X, y, batch_size=8, epochs=4, seed=5, verbose=0)
    twice.fit(X, y, batch_size=8, epochs=2, seed=5, verbose=0)
    twice.fit(X, y, batch_size=8, epochs=2, verbose=0)
    np.testing.assert_array_equal(once.parameters, twice.parameters)
    saved.fit(X, y, batch_size=8, epochs=2, seed=5, verbose=0)
    saved.save(tmp_path / "m.ngm")
    loaded = ng.load_model(tmp_path / "m.ngm")
    assert loaded.layers[0].dropout == 0.3 and loaded.has_dropout
    loaded.fit(X, y, batch_size=8, epochs=2, verbose=0)
    np.testing.assert_array_equal(once.parameters, loaded.parameters)


def test_a_model_without_dropout_trains_as_before():
    """No dropout, no extra draw from the generator: the shuffles are those of earlier releases."""
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(40, 5)), rng.integers(0, 3, size=40)
    model = _model(0.0)
    model.fit(X, y, batch_size=8, epochs=2, seed=1, verbose=0)
    generator = np.random.default_rng(1)
    generator.permutation(40)
    generator.permutation(40)
    assert model.rng.bit_generator.state == generator.bit_generator.state


def test_lbfgs_trains_with_dropout():
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(40, 5)), rng.integers(0, 3, size=40)
    model = ng.Sequential([ng.Dense(8, activation="tanh"), ng.Dropout(0.2), ng.Dense(3, activation="softmax")], input_dim=5,
                          dtype="float64", seed=0).compile(optimizer={"name": "lbfgs", "lr": 0.1}, loss="sparse_categorical_crossentropy")
    history = model.fit(X, y, batch_size=40, epochs=3, seed=0, verbose=0).history
    assert np.isfinite(history["loss"]).all() and history["loss"][-1] < history["loss"][0]


@pytest.mark.parametrize("rate", [1.0, -0.1, float("nan"), "0.5", True])
def test_bad_rates_are_refused(rate):
    with pytest.raises(ValueError, match=r"Dropout: rate must be a number in \[0, 1\)"):
        ng.Dropout(rate)
    with pytest.raises(ValueError, match=r"Dense: dropout: rate must be a number in \[0, 1\)"):
        ng.Dense(4, dropout=rate)


@pytest.mark.parametrize("layers, message", [
    (lambda: [ng.Dropout(0.5), ng.Dense(2)], r"layers\[0\] is a Dropout that is not between two Dense layers"),
    (lambda: [ng.Dense(4), ng.Dropout(0.5)], r"layers\[1\] is a Dropout that is not between two Dense layers"),
    (lambda: [ng.Dense(4), ng.Dropout(0.5), ng.Dropout(0.2), ng.Dense(2)], r"layers\[1\] is a Dropout that is not between"),
    (lambda: [ng.Dense(4), ng.Dense(2, dropout=0.5)], r"the last Dense layer has dropout"),
    (lambda: [ng.Dense(4, dropout=0.1), ng.Dropout(0.5), ng.Dense(2)], r"layers\[0\] has dropout=0.1 and is followed by Dropout\(0.5\)"),
])
def test_misplaced_dropout_is_refused(layers, message):
    with pytest.raises(ValueError, match=message):
        ng.Sequential(layers(), input_dim=3)


def test_a_corrupt_dropout_in_a_model_file_is_refused(tmp_path):
    import json
    import zipfile

    from numbagrad.train.checkpoint import ModelFileError

    _model(0.3).save(tmp_path / "m.ngm")
    with zipfile.ZipFile(tmp_path / "m.ngm") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(members["numbagrad.json"])
    manifest["model"]["layers"][0]["dropout"] = 1.5
    members["numbagrad.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(tmp_path / "bad.ngm", "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(ModelFileError, match=r"model.layers\[0\].dropout must be a number in \[0, 1\); got 1.5"):
        ng.load_model(tmp_path / "bad.ngm")


def test_autodiff_dropout_gives_the_compiled_steps_gradient():
    """``ad.dropout`` with the fit's key and step: its gradient by finite differences in float64,
    and the first SGD step of a fit recovered from it."""
    import numbagrad.autodiff as ad

    rate, seed = 0.25, 3
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(12, 5)), rng.integers(0, 3, size=12)
    model = _model(rate)
    W1, b1, W2, b2 = model.get_weights()
    key = int(np.random.default_rng(seed).integers(1 << 62))

    def objective(W1):
        hidden = ad.dropout(ad.dense(X, W1, b1, "tanh"), rate, key, step=0, layer=0)
        return ad.loss("sparse_categorical_crossentropy", ad.dense(hidden, W2, b2, "softmax"), y)

    value, gradient = ad.value_and_grad(objective)(W1)
    shift = np.zeros_like(W1)
    shift[2, 3] = 1e-6
    numeric = (ad.value_and_grad(objective)(W1 + shift)[0] - ad.value_and_grad(objective)(W1 - shift)[0]) / 2e-6
    assert abs(numeric - gradient[2, 3]) < 1e-8
    model.fit(X, y, batch_size=12, epochs=1, shuffle=False, seed=seed, verbose=0)
    np.testing.assert_allclose(model.get_weights()[0], W1 - 0.1 * gradient, rtol=1e-10, atol=1e-13)


def test_autodiff_dropout_checks_its_arguments():
    import numbagrad.autodiff as ad

    with pytest.raises(ValueError, match=r"dropout: rate must be a number in \[0, 1\)"):
        ad.dropout(np.ones((2, 2)), 1.0, key=1)
    with pytest.raises(ValueError, match=r"dropout: x must be a matrix"):
        ad.dropout(np.ones(3), 0.5, key=1)
    with pytest.raises(ValueError, match=r"dropout: key must be an integer in \[0, 2\*\*63\); got -1"):
        ad.dropout(np.ones((2, 2)), 0.5, key=-1)


def test_summary_shows_the_dropout():
    text = _model(0.3).summary(print_fn=None)
    assert "dense_0_dropout" in text and "dropout 0.3" in text


def test_the_cli_and_the_estimators_take_a_dropout(tmp_path):
    for module in ("sklearn", "tomli_w", "matplotlib"):  # the cli extra
        pytest.importorskip(module)
    from numbagrad.cli import main

    assert main(["train", "--data", "iris", "--hidden", "8", "--dropout", "0.2", "--epochs", "2", "--quiet",
                 "--output", str(tmp_path), "--name", "run"]) == 0
    assert ng.load_model(tmp_path / "run" / "model.ngm").layers[0].dropout == 0.2
    assert main(["train", "--data", "iris", "--dropout", "1", "--epochs", "1", "--quiet", "--output", str(tmp_path)]) == 1
    from numbagrad.sklearn import MLPClassifier

    X = np.random.default_rng(0).normal(size=(40, 4))
    y = (X[:, 0] > 0).astype(int)
    estimator = MLPClassifier(hidden_layer_sizes=(8,), dropout=0.25, epochs=2, random_state=0).fit(X, y)
    assert estimator.model_.layers[0].dropout == 0.25
    with pytest.raises(ValueError, match=r"dropout must be a number in \[0, 1\); got 1.5"):
        MLPClassifier(dropout=1.5).fit(X, y)


def test_export_writes_the_network_at_inference(tmp_path):
    pytest.importorskip("onnx")
    onnxruntime = pytest.importorskip("onnxruntime")
    model = _model(0.5)
    model.export_onnx(tmp_path / "m.onnx")
    X = np.random.default_rng(6).normal(size=(7, 5))
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"))
    (out,) = session.run(None, {"input": X})
    np.testing.assert_allclose(out, model.predict(X), rtol=1e-10, atol=1e-12)
