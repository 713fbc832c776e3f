"""ROC AUC, exact: against scikit-learn's ``roc_auc_score`` on the same predictions, in evaluate,
fit's history and validation, across chunks, with L-BFGS; its growing totals and their errors."""

from __future__ import annotations

import numpy as np
import pytest

import numbagrad as ng
from numbagrad import metrics
from numbagrad.metrics import MetricSpec
from numbagrad.metrics.builtin import roc_auc_merge, roc_auc_result
from numbagrad.train.chunks import ArrayChunks

sklearn_metrics = pytest.importorskip("sklearn.metrics")

#: (output columns, last activation, loss) of each kind of classifier.
CASES = {
    "one sigmoid": (1, "sigmoid", "binary_crossentropy"),
    "two columns": (2, "softmax", "sparse_categorical_crossentropy"),
    "four classes": (4, "softmax", "sparse_categorical_crossentropy"),
}


def data(rows, classes, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 5))
    y = (X[:, :2].sum(axis=1) > 0).astype(np.int64) if classes == 2 else np.argmax(X[:, :classes] + rng.normal(size=(rows, classes)), axis=1)
    return X, y


def classifier(case, optimizer="adam", **compile_options):
    outputs, last, loss = CASES[case]
    model = ng.Sequential([ng.Dense(6, "tanh"), ng.Dense(outputs, last)], input_dim=5, dtype="float64", seed=4)
    # F1 beside it: every metric's kernel gets its own totals, not the row as wide as ROC AUC's records.
    return model.compile(optimizer, loss, metrics=["roc_auc", "f1_macro", "accuracy"], **compile_options)


def scikit_learn(y, scores):
    if scores.shape[1] == 1:
        return sklearn_metrics.roc_auc_score(y, scores[:, 0])
    if scores.shape[1] == 2:
        return sklearn_metrics.roc_auc_score(y, scores[:, 1])
    return sklearn_metrics.roc_auc_score(y, scores, multi_class="ovr", average="macro")


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("batch_size", [7, 200])
def test_evaluate_equals_scikit_learn(case, batch_size):
    X, y = data(173, max(2, CASES[case][0]))
    model = classifier(case)
    model.fit(X, y, epochs=2, batch_size=16, verbose=0, seed=0)
    values = model.evaluate(X, y, batch_size=batch_size)
    scores = model.predict(X)
    assert values["roc_auc"] == pytest.approx(scikit_learn(y, scores), rel=1e-12)
    predicted = (scores[:, 0] > 0.5).astype(int) if scores.shape[1] == 1 else scores.argmax(axis=1)
    assert values["f1_macro"] == pytest.approx(sklearn_metrics.f1_score(y, predicted, average="macro"), rel=1e-12)


def test_ties_count_one_half_as_in_scikit_learn():
    scores = np.array([[0.5], [0.5], [0.2], [0.5], [0.9], [0.2]])
    y = np.array([1, 0, 0, 1, 1, 0])
    assert metrics.get("roc_auc")(scores, y) == pytest.approx(sklearn_metrics.roc_auc_score(y, scores[:, 0]), rel=1e-15)


@pytest.mark.parametrize("case", CASES)
def test_validation_in_fit_equals_scikit_learn_on_the_predictions(case):
    X, y = data(240, max(2, CASES[case][0]), seed=1)
    model = classifier(case)
    history = model.fit(X[:180], y[:180], epochs=3, batch_size=16, verbose=0, seed=0, validation_data=(X[180:], y[180:])).history
    assert len(history["roc_auc"]) == 3 and 0.0 <= history["roc_auc"][-1] <= 1.0
    scores = model.predict(X[180:])
    assert history["val_roc_auc"][-1] == pytest.approx(scikit_learn(y[180:], scores), rel=1e-12)
    predicted = (scores[:, 0] > 0.5).astype(int) if scores.shape[1] == 1 else scores.argmax(axis=1)
    assert history["val_f1_macro"][-1] == pytest.approx(sklearn_metrics.f1_score(y[180:], predicted, average="macro"), rel=1e-12)


def test_chunks_keep_every_row_of_the_epoch():
    """The training value over chunks is that of one array (the records of every chunk, merged)."""
    X, y = data(205, 4)
    whole = classifier("four classes")
    expected = whole.fit(X, y, batch_size=10, epochs=2, shuffle=False, verbose=0).history
    chunked = classifier("four classes")
    history = chunked.fit(ArrayChunks(X, y, rows=50), batch_size=10, epochs=2, shuffle=False, verbose=0).history
    np.testing.assert_allclose(history["roc_auc"], expected["roc_auc"], rtol=1e-12)


def test_lbfgs_measures_the_epochs_rows_at_its_end():
    X, y = data(120, 2)
    model = classifier("one sigmoid", {"name": "lbfgs", "lr": 0.5, "max_iter": 3})
    history = model.fit(X, y, batch_size=40, epochs=2, verbose=0, shuffle=False).history
    assert history["roc_auc"][-1] == pytest.approx(scikit_learn(y, model.predict(X)), rel=1e-12)


def test_the_names_people_use():
    for name in ("roc_auc", "auc", "roc_auc_ovr", "AUC"):
        assert metrics.get(name).spec.name == "roc_auc"
    assert metrics.get("auc").spec.higher_is_better


def test_undefined_areas_are_nan_and_absent_classes_are_left_out():
    auc = metrics.get("roc_auc")
    assert np.isnan(auc(np.array([[0.3], [0.8]]), np.array([1, 1])))  # one class only
    assert np.isnan(auc(np.array([[0.3], [np.nan], [0.1]]), np.array([1, 0, 0])))  # a NaN score
    assert np.isnan(auc.result())  # nothing recorded
    # Class 3 never occurs: the mean is over the areas of classes 0, 1 and 2.
    scores = np.array([[0.7, 0.1, 0.1, 0.1], [0.2, 0.5, 0.2, 0.1], [0.1, 0.3, 0.5, 0.1], [0.4, 0.4, 0.1, 0.1]])
    y = np.array([0, 1, 2, 1])
    expected = np.mean([sklearn_metrics.roc_auc_score(y == c, scores[:, c]) for c in range(3)])
    assert auc(scores, y) == pytest.approx(expected, rel=1e-15)


def test_running_totals_grow_with_the_rows_and_merge_in_order():
    rng = np.random.default_rng(3)
    scores, y = rng.random((30, 1)), rng.integers(0, 2, 30)
    auc = metrics.get("roc_auc")
    auc.update(scores[:12], y[:12])
    first = auc.totals.copy()
    assert first.size == 2 + 12 * 3  # a record per row: its score, its class, its weight
    auc.update(scores[12:], y[12:])
    assert auc.totals.size == 2 + 30 * 3 and auc.result() == pytest.approx(sklearn_metrics.roc_auc_score(y, scores[:, 0]))
    second = metrics.get("roc_auc")
    second.update(scores[12:], y[12:])
    np.testing.assert_array_equal(roc_auc_merge(first, second.totals), auc.totals)
    # Padding after the records (totals allocated for more rows than came) changes nothing.
    padded = np.concatenate([first, np.zeros(10)])
    np.testing.assert_array_equal(roc_auc_merge(padded, np.zeros(8)), first)


def test_many_small_updates_grow_the_records_in_linear_time():
    """The kept rows live in a buffer that doubles: 1,000 one-row batches reallocate it about log2(1000)
    times, not a thousand (which copied every record kept so far on every batch)."""
    rng = np.random.default_rng(9)
    scores, y = rng.random((1000, 1)), rng.integers(0, 2, 1000)
    auc = metrics.get("roc_auc")
    buffers = []  # the buffers themselves, kept alive so that none is mistaken for another
    for i in range(1000):
        auc.update(scores[i : i + 1], y[i : i + 1])
        if not any(auc.totals.base is buffer for buffer in buffers):
            buffers.append(auc.totals.base)
    assert len(buffers) <= 12 and auc.totals.size == 2 + 1000 * 3
    assert auc.result() == pytest.approx(sklearn_metrics.roc_auc_score(y, scores[:, 0]), rel=1e-12)


def test_totals_too_short_for_their_count_are_refused():
    totals = np.array([3.0, 1.0, 0.5, 1.0, 1.0, 0.2, 0.0, 1.0])  # three rows counted, room for two
    with pytest.raises(RuntimeError, match="count 3 rows but hold room for 2"):
        roc_auc_result(totals)
    with pytest.raises(ValueError, match="cannot merge records of 1 and 2 columns"):
        roc_auc_merge(np.array([1.0, 1.0, 0.3, 1.0, 1.0]), np.array([1.0, 2.0, 0.3, 0.7, 1.0, 1.0]))


def scikit_learn_weighted(y, scores, weights):
    if scores.shape[1] <= 2:
        return sklearn_metrics.roc_auc_score(y, scores[:, -1], sample_weight=weights)
    return sklearn_metrics.roc_auc_score(y, scores, multi_class="ovr", average="macro", sample_weight=weights)


@pytest.mark.parametrize("case", CASES)
def test_weighted_evaluate_and_validation_equal_scikit_learn(case):
    X, y = data(173, max(2, CASES[case][0]), seed=2)
    weights = np.random.default_rng(7).uniform(0.0, 3.0, len(y))
    model = classifier(case)
    history = model.fit(
        X[:120], y[:120], sample_weight=weights[:120], validation_data=(X[120:], y[120:], weights[120:]),
        epochs=2, batch_size=16, verbose=0, seed=0,
    ).history
    assert history["val_roc_auc"][-1] == pytest.approx(scikit_learn_weighted(y[120:], model.predict(X[120:]), weights[120:]), rel=1e-12)
    for batch_size in (7, 173):
        value = model.evaluate(X, y, sample_weight=weights, batch_size=batch_size)["roc_auc"]
        assert value == pytest.approx(scikit_learn_weighted(y, model.predict(X), weights), rel=1e-12)


def test_weighted_ties_and_zero_weights_follow_scikit_learn():
    scores = np.array([[0.5], [0.5], [0.2], [0.5], [0.9], [0.2], [0.7]])
    y = np.array([1, 0, 0, 1, 1, 0, 0])
    weights = np.array([0.5, 2.0, 1.0, 0.0, 3.0, 0.25, 0.0])
    auc = metrics.get("roc_auc")
    expected = sklearn_metrics.roc_auc_score(y, scores[:, 0], sample_weight=weights)
    assert auc(scores, y, sample_weight=weights) == pytest.approx(expected, rel=1e-15)
    auc.update(scores[:3], y[:3], sample_weight=weights[:3])
    auc.update(scores[3:], y[3:], sample_weight=weights[3:])
    assert auc.result() == pytest.approx(expected, rel=1e-15)
    # Every positive weighs nothing: no area, as one class alone.
    assert np.isnan(auc(scores, y, sample_weight=np.where(y == 1, 0.0, 1.0)))


def test_weighted_chunks_equal_one_weighted_array():
    X, y = data(205, 4)
    weights = np.random.default_rng(5).integers(0, 4, len(y)).astype(float)
    whole = classifier("four classes")
    expected = whole.fit(X, y, sample_weight=weights, batch_size=10, epochs=2, shuffle=False, verbose=0).history
    chunked = classifier("four classes")
    history = chunked.fit(ArrayChunks(X, y, rows=50, sample_weight=weights), batch_size=10, epochs=2, shuffle=False, verbose=0).history
    np.testing.assert_allclose(history["roc_auc"], expected["roc_auc"], rtol=1e-12)


def test_a_declaration_that_keeps_rows_needs_a_merge_and_is_not_additive():
    from numbagrad.kernels.cpu.metrics import roc_auc_update

    base = dict(name="kept", update=roc_auc_update, totals=2, result=roc_auc_result, target="labels", row_totals=2)
    with pytest.raises(ValueError, match="needs a merge"):
        MetricSpec(**base).check_declaration()
    with pytest.raises(ValueError, match="not additive"):
        MetricSpec(**base, merge=roc_auc_merge, additive=True).check_declaration()
    with pytest.raises(ValueError, match="row_totals must give an integer >= 0; got -1"):
        MetricSpec(**{**base, "row_totals": -1}, merge=roc_auc_merge).check_declaration()
    spec = MetricSpec(**base, merge=roc_auc_merge)
    spec.check_declaration()
    assert spec.total_count(1, rows=5) == 12
