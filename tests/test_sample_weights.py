"""fit and evaluate with sample_weight and class_weight: against repeated rows, a NumPy reference of
the weighted mean, and each error."""

from __future__ import annotations

import numpy as np
import pytest

from numbagrad import Dense, Sequential
from numbagrad.train.chunks import ArrayChunks

LOSS = "sparse_categorical_crossentropy"


def data(rows=30, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(rows, 4)), rng.integers(0, 3, rows), rng.integers(0, 4, rows)


def network(optimizer=None, loss=LOSS, outputs=3, last="softmax", metrics=("accuracy", "roc_auc"), penalty=True):
    regularizer = {"name": "l2", "l2": 0.1, "per_sample": True} if penalty else None
    model = Sequential([Dense(5, "tanh", kernel_regularizer=regularizer), Dense(outputs, last)], input_dim=4, dtype="float64", seed=2)
    model.compile(optimizer or {"name": "sgd", "lr": 0.1}, loss, metrics=list(metrics))
    return model


@pytest.mark.parametrize("optimizer", [{"name": "sgd", "lr": 0.1}, {"name": "adam", "lr": 0.01}, {"name": "lbfgs", "max_iter": 5}])
def test_integer_weights_train_as_repeated_rows(optimizer):
    X, y, w = data()
    weighted, repeated = network(optimizer), network(optimizer)
    history = weighted.fit(X, y, sample_weight=w, batch_size=len(X), epochs=3, verbose=0)
    expected = repeated.fit(np.repeat(X, w, axis=0), np.repeat(y, w), batch_size=int(w.sum()), epochs=3, verbose=0)
    np.testing.assert_allclose(weighted.parameters, repeated.parameters, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(history.history["loss"], expected.history["loss"], rtol=1e-10)
    if optimizer["name"] != "lbfgs":
        assert history.history["accuracy"] == pytest.approx(expected.history["accuracy"], rel=1e-12)
    if optimizer["name"] != "lbfgs":
        assert history.history["roc_auc"] == pytest.approx(expected.history["roc_auc"], rel=1e-12)
    want = repeated.evaluate(np.repeat(X, w, axis=0), np.repeat(y, w))
    assert weighted.evaluate(X, y, sample_weight=w) == pytest.approx(want, rel=1e-12)
    # In batches of 7 the metrics stay (the per-sample penalty in the loss depends on the batches).
    got = weighted.evaluate(X, y, sample_weight=w, batch_size=7)
    assert {k: got[k] for k in ("accuracy", "roc_auc")} == pytest.approx({k: want[k] for k in ("accuracy", "roc_auc")}, rel=1e-12)


@pytest.mark.parametrize(
    "loss, outputs, last, metrics",
    [("mse", 2, "linear", ("mae", "rmse", "r2")), ("binary_crossentropy", 1, "sigmoid", ("binary_accuracy", "roc_auc"))],
)
def test_regression_and_binary_losses_weight_the_same_way(loss, outputs, last, metrics):
    X, _, w = data(seed=1)
    y = np.random.default_rng(5).normal(size=(len(X), 2)) if outputs == 2 else (X[:, 0] > 0).astype(float)
    weighted, repeated = network(loss=loss, outputs=outputs, last=last, metrics=metrics), network(loss=loss, outputs=outputs, last=last, metrics=metrics)
    history = weighted.fit(X, y, sample_weight=w.astype(float), batch_size=len(X), epochs=2, verbose=0)
    expected = repeated.fit(np.repeat(X, w, axis=0), np.repeat(y, w, axis=0), batch_size=int(w.sum()), epochs=2, verbose=0)
    np.testing.assert_allclose(weighted.parameters, repeated.parameters, rtol=1e-10, atol=1e-13)
    for key, values in expected.history.items():
        np.testing.assert_allclose(history.history[key], values, rtol=1e-10)


def row_losses_and_grads(model, X, y):
    """Each row's loss and gradient alone (the unweighted model on a batch of one row)."""
    pairs = [model.value_and_grad(X[i : i + 1], y[i : i + 1], LOSS) for i in range(len(X))]
    return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])


def test_minibatches_take_the_weighted_mean_of_each_batch():
    """Batches of 8 (the last of 6), real-valued weights: each SGD step on sum w_i g_i / sum w_i."""
    X, y, _ = data()
    w = np.random.default_rng(3).uniform(0.0, 2.0, len(X))
    model, reference = network(penalty=False), network(penalty=False)
    history = model.fit(X, y, sample_weight=w, batch_size=8, epochs=2, shuffle=False, verbose=0)
    losses = []
    for _ in range(2):
        batch_losses, batch_weights = [], []
        for start in range(0, len(X), 8):
            rows = slice(start, start + 8)
            values, grads = row_losses_and_grads(reference, X[rows], y[rows])
            share = w[rows] / w[rows].sum()
            reference.parameters[...] -= 0.1 * share @ grads
            batch_losses.append(share @ values)
            batch_weights.append(w[rows].sum())
        losses.append(np.dot(batch_losses, batch_weights) / np.sum(batch_weights))
    np.testing.assert_allclose(model.parameters, reference.parameters, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(history.history["loss"], losses, rtol=1e-12)


def test_equal_weights_change_nothing_but_rounding():
    """(Without a per-sample penalty: that one divides by the batch's weight, 2.5 times its rows here.)"""
    X, y, _ = data()
    weighted, plain = network(penalty=False), network(penalty=False)
    weighted.fit(X, y, sample_weight=np.full(len(X), 2.5), batch_size=8, epochs=2, verbose=0)
    plain.fit(X, y, batch_size=8, epochs=2, verbose=0)
    np.testing.assert_allclose(weighted.parameters, plain.parameters, rtol=1e-12, atol=1e-15)


def test_class_weight_multiplies_the_sample_weights():
    X, y, w = data()
    table = {0: 2.0, 2: 0.5}  # class 1 left out: weight 1
    by_class, by_sample = network(), network()
    by_class.fit(X, y, sample_weight=w, class_weight=table, batch_size=8, epochs=2, verbose=0)
    by_sample.fit(X, y, sample_weight=w * np.array([2.0, 1.0, 0.5])[y], batch_size=8, epochs=2, verbose=0)
    np.testing.assert_array_equal(by_class.parameters, by_sample.parameters)
    balanced, expected = network(), network()
    balanced.fit(X, y, class_weight="balanced", batch_size=8, epochs=1, verbose=0)
    counts = np.bincount(y, minlength=3)
    expected.fit(X, y, sample_weight=(len(y) / (3 * counts))[y], batch_size=8, epochs=1, verbose=0)
    np.testing.assert_array_equal(balanced.parameters, expected.parameters)


def test_class_weight_reads_one_hot_rows_and_binary_targets():
    X, y, _ = data()
    one_hot = np.eye(3)[y]
    a, b = network(loss="categorical_crossentropy"), network(loss="categorical_crossentropy")
    a.fit(X, one_hot, class_weight={1: 3.0}, batch_size=8, epochs=1, verbose=0)
    b.fit(X, one_hot, sample_weight=np.where(y == 1, 3.0, 1.0), batch_size=8, epochs=1, verbose=0)
    np.testing.assert_array_equal(a.parameters, b.parameters)


def test_validation_keeps_its_weights():
    X, y, w = data()
    model = network()
    history = model.fit(X, y, sample_weight=w, validation_split=0.3, batch_size=8, epochs=1, verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(model.evaluate(X[21:], y[21:], sample_weight=w[21:])["loss"])
    other = network()
    history = other.fit(X[:20], y[:20], validation_data=(X[20:], y[20:], w[20:]), batch_size=8, epochs=1, verbose=0)
    assert history.history["val_accuracy"][0] == pytest.approx(other.evaluate(X[20:], y[20:], sample_weight=w[20:])["accuracy"])


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(sample_weight=np.ones(29)), ValueError, r"fit: sample_weight must have one weight per sample, shape \(30,\); got shape \(29,\)"),
        (dict(sample_weight=np.ones((30, 2))), ValueError, r"shape \(30,\); got shape \(30, 2\)"),
        (dict(sample_weight=np.r_[np.ones(29), -1.0]), ValueError, r"fit: sample_weight\[29\] = -1.0; weights must be finite numbers >= 0"),
        (dict(sample_weight=np.r_[np.nan, np.ones(29)]), ValueError, r"sample_weight\[0\] = nan; weights must be finite"),
        (dict(sample_weight=["a"] * 30), TypeError, r"sample_weight must be numbers"),
        (dict(sample_weight=np.zeros(30)), ValueError, r"the sample weights sum to 0"),
        (dict(class_weight={3: 1.0}), ValueError, r"class_weight has the key 3; keys are class indices in \[0, 3\)"),
        (dict(class_weight={0: -1.0}), ValueError, r"class_weight\[0\] = -1.0; weights must be finite numbers >= 0"),
        (dict(class_weight="balance"), ValueError, r"class_weight must be a dict \{class index: weight\} or 'balanced'; got 'balance'"),
        (dict(class_weight=[1.0, 2.0, 3.0]), TypeError, r"class_weight must be a dict"),
        (dict(validation_data=(np.ones((2, 4)), np.ones(2), np.ones(3))), ValueError, r"validation_data\[2\] must have one weight per sample"),
    ],
)
def test_bad_weights_are_refused_before_training(kwargs, error, message):
    X, y, _ = data()
    model = network()
    before = model.parameters.copy()
    with pytest.raises(error, match=message):
        model.fit(X, y, epochs=1, verbose=0, **kwargs)
    np.testing.assert_array_equal(model.parameters, before)


def test_class_weight_needs_class_labels():
    X, _, _ = data()
    model = network(loss="mse", outputs=2, last="linear", metrics=())
    with pytest.raises(ValueError, match=r"class_weight needs class labels"):
        model.fit(X, np.random.default_rng(0).normal(size=(len(X), 2)), class_weight="balanced", verbose=0)


def test_a_metric_that_weights_cannot_weight_is_refused_with_them(unweighable_metric):
    X, _, w = data()
    model = network(loss="mse", outputs=2, last="linear", metrics=(unweighable_metric,))
    y = np.random.default_rng(0).normal(size=(len(X), 2))
    before = model.parameters.copy()
    with pytest.raises(ValueError, match=r"fit: the metric 'max_error' cannot be weighted by sample weights \(it has no weighted_update"):
        model.fit(X, y, sample_weight=w, verbose=0)
    with pytest.raises(ValueError, match=r"evaluate: the metric 'max_error' cannot be weighted"):
        model.evaluate(X, y, sample_weight=w)
    np.testing.assert_array_equal(model.parameters, before)


def test_chunks_carry_their_own_weights():
    """Weighted chunks are tested in test_fit_large.py; fit's sample_weight is for arrays."""
    X, y, w = data()
    with pytest.raises(ValueError, match="sample_weight is for arrays X, y; chunks carry their own weights"):
        network().fit(ArrayChunks(X, y, rows=10), sample_weight=w, verbose=0)


def test_the_sklearn_estimators_take_sample_weight_in_fit_and_score():
    pytest.importorskip("sklearn")
    from sklearn.metrics import accuracy_score

    from numbagrad.sklearn import MLPClassifier

    X, y, w = data(rows=60)
    full = dict(hidden_layer_sizes=(5,), batch_size=1000, epochs=5, dtype="float64", learning_rate=0.05, random_state=0)
    weighted = MLPClassifier(**full).fit(X, y, sample_weight=w)
    repeated = MLPClassifier(**full).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X), rtol=1e-10)
    assert weighted.score(X, y, sample_weight=w) == accuracy_score(y, weighted.predict(X), sample_weight=w)
    with pytest.raises(ValueError, match=r"only 1 class has a sample weight > 0 \(\[2\]\)"):
        MLPClassifier(**full).fit(X, y, sample_weight=(y == 2).astype(float))
