"""Every registered metric against its NumPy reference, and independent of how an epoch is batched."""

from __future__ import annotations

import numpy as np
import pytest
from reference.metrics import CLASSIFICATION, METRICS
from scipy.special import softmax

from numbagrad import metrics
from numbagrad.registry import BUILTIN_SOURCE, get_registry


def _data(predictions, targets, shape, rng):
    rows, columns = shape
    if predictions == "real":
        p = rng.standard_normal(shape)
    elif predictions == "probability":
        p = rng.random(shape)
    else:  # "scores": rounded so that ties happen
        p = np.round(softmax(rng.standard_normal(shape), axis=1), 1)
    if targets == "real":
        y = p + rng.standard_normal(shape) * 0.5 + 3.0
    elif targets == "binary":
        y = rng.integers(0, 2, shape).astype(float)
    elif targets == "labels":
        y = rng.integers(0, columns, (rows, 1)).astype(float)
    else:  # "one_hot"
        y = np.eye(columns)[rng.integers(0, columns, rows)]
    return p, y


# One table drives the tests: (name, hyperparameters, kind of predictions,
# kind of targets, numbers of columns to try). A built-in missing here fails
# test_every_builtin_is_in_the_table.
CASES = [
    ("accuracy", {}, "probability", "binary", (1,)),
    ("accuracy", {}, "scores", "labels", (3, 65)),
    ("accuracy", {}, "scores", "one_hot", (3, 65)),
    ("accuracy", {"threshold": 0.8}, "probability", "binary", (1,)),
    ("categorical_accuracy", {}, "scores", "labels", (3, 65)),
    ("categorical_accuracy", {}, "scores", "one_hot", (1, 3, 65)),
    ("binary_accuracy", {}, "probability", "binary", (1, 3, 65)),
    ("binary_accuracy", {"threshold": 0.3}, "probability", "binary", (3,)),
    ("top_k_accuracy", {}, "scores", "labels", (3, 65)),
    ("top_k_accuracy", {"k": 2}, "scores", "labels", (3, 65)),
    ("top_k_accuracy", {"k": 1}, "scores", "one_hot", (3, 65)),
    *[(name, {}, "scores", "labels", (2, 3, 65)) for name in CLASSIFICATION],
    *[(name, {}, "scores", "one_hot", (3,)) for name in CLASSIFICATION],
    *[(name, {}, "probability", "binary", (1,)) for name in CLASSIFICATION],
    ("f1", {"threshold": 0.7}, "probability", "binary", (1,)),
    ("mae", {}, "real", "real", (1, 3, 65)),
    ("mse", {}, "real", "real", (1, 3, 65)),
    ("rmse", {}, "real", "real", (1, 3, 65)),
    ("r2", {}, "real", "real", (1, 3, 65)),
    ("roc_auc", {}, "probability", "binary", (1,)),
    ("roc_auc", {}, "scores", "labels", (2, 3, 65)),
    ("roc_auc", {}, "scores", "one_hot", (3,)),
]
ROWS = (1, 7, 33)
DTYPES = [np.float64, np.float32]


def cases():
    for name, options, predictions, targets, columns in CASES:
        label = "-".join(f"{k}={v}" for k, v in options.items()) or "defaults"
        yield pytest.param(name, options, predictions, targets, columns, id=f"{name}-{label}-{targets}")


def reference(name, options, p, y):
    values = get_registry().lookup("metric", name).spec.validate(options)
    return METRICS[name](p.astype(np.float64), y.astype(np.float64), **values)


def test_every_builtin_is_in_the_table():
    builtins = {get_registry().lookup("metric", name).spec.name for name, source in metrics.available().items()
                if source == BUILTIN_SOURCE}
    assert builtins == {case[0] for case in CASES} == set(METRICS)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, options, predictions, targets, columns", list(cases()))
def test_matches_reference(name, options, predictions, targets, columns, dtype):
    rng = np.random.default_rng(0)
    for rows in ROWS:
        for width in columns:
            p, y = _data(predictions, targets, (rows, width), rng)
            p, y = p.astype(dtype), y.astype(dtype)
            expected = reference(name, options, p, y)
            value = metrics.get(name, **options)(p, y)
            assert value == pytest.approx(expected, rel=1e-10, abs=1e-12, nan_ok=True), (rows, width)


@pytest.mark.parametrize("name, options, predictions, targets, columns", list(cases()))
def test_epoch_value_does_not_depend_on_batching(name, options, predictions, targets, columns):
    rng = np.random.default_rng(1)
    p, y = _data(predictions, targets, (101, columns[-1]), rng)
    whole = metrics.get(name, **options)(p, y)
    metric = metrics.get(name, **options)
    cuts = np.sort(rng.choice(np.arange(1, 101), 9, replace=False))
    for start, stop in zip(np.r_[0, cuts], np.r_[cuts, 101]):
        metric.update(p[start:stop], y[start:stop])
    assert metric.result() == pytest.approx(whole, rel=1e-12)
    assert metric.result() == pytest.approx(reference(name, options, p, y), rel=1e-10)
    metric.reset()
    assert np.isnan(metric.result())


@pytest.mark.parametrize("name, options, predictions, targets, columns", list(cases()))
def test_integer_sample_weights_count_rows_that_many_times(name, options, predictions, targets, columns):
    """Every built-in takes sample weights (by its weighted kernel, or by scaling additive totals);
    weight 0 drops a row, weight 3 counts it three times, in one batch or several."""
    rng = np.random.default_rng(6)
    p, y = _data(predictions, targets, (61, columns[-1]), rng)
    weights = rng.integers(0, 4, 61)
    weights[:2] = (1, 3)  # keep classes present after the zeros
    expected = metrics.get(name, **options)(np.repeat(p, weights, axis=0), np.repeat(y, weights, axis=0))
    metric = metrics.get(name, **options)
    assert metric.spec.weighable
    assert metric(p, y, sample_weight=weights) == pytest.approx(expected, rel=1e-12, nan_ok=True)
    for start, stop in ((0, 10), (10, 11), (11, 61)):
        metric.update(p[start:stop], y[start:stop], sample_weight=weights[start:stop].astype(float))
    assert metric.result() == pytest.approx(expected, rel=1e-12, nan_ok=True)


def test_weighted_r2_equals_scikit_learn_and_ignores_batches_of_weight_zero():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(8)
    y = 1e6 + rng.standard_normal((300, 3))  # a mean that dwarfs the spread, as above
    p = y + rng.standard_normal((300, 3)) * 0.3
    weights = rng.uniform(0.0, 2.0, 300)
    weights[100:140] = 0.0
    metric = metrics.get("r2")
    for start in range(0, 300, 20):
        metric.update(p[start : start + 20], y[start : start + 20], sample_weight=weights[start : start + 20])
    assert metric.result() == pytest.approx(sklearn_metrics.r2_score(y, p, sample_weight=weights), rel=1e-9)


def test_sample_weights_are_checked_before_the_totals_change(unweighable_metric):
    p, y = np.array([[0.2], [0.7]]), np.array([0, 1])
    metric = metrics.get("r2")
    metric.update(p, y.astype(float))
    before = metric.totals.copy()
    with pytest.raises(ValueError, match=r"R2Score.update\(\): sample_weight must have one weight per sample, shape \(2,\); got shape \(3,\)"):
        metric.update(p, y.astype(float), sample_weight=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"R2Score.update\(\): sample_weight\[1\] = -1.0; weights must be finite numbers >= 0"):
        metric.update(p, y.astype(float), sample_weight=[1.0, -1.0])
    with pytest.raises(ValueError, match=r"sample_weight\[0\] = nan"):
        metric.update(p, y.astype(float), sample_weight=[np.nan, 1.0])
    with pytest.raises(TypeError, match=r"R2Score.__call__\(\): sample_weight must be numbers"):
        metric(p, y.astype(float), sample_weight=["a", "b"])
    np.testing.assert_array_equal(metric.totals, before)
    with pytest.raises(ValueError, match=r"the metric 'max_error' cannot be weighted by sample weights"):
        metrics.get(unweighable_metric).update(p, y.astype(float), sample_weight=[1.0, 2.0])


@pytest.mark.parametrize("name, options, predictions, targets, columns", list(cases()))
def test_totals_of_disjoint_rows_merge_into_the_totals_of_all(name, options, predictions, targets, columns):
    """What ranks training on their own rows, and an epoch's chunks, rely on."""
    rng = np.random.default_rng(4)
    p, y = _data(predictions, targets, (57, columns[-1]), rng)
    spec = metrics.get(name, **options).spec
    parts = []
    for start, stop in ((0, 20), (20, 21), (21, 57)):
        metric = metrics.get(name, **options)
        metric.update(p[start:stop], y[start:stop])
        parts.append(metric.totals)
    merged = spec.merged(parts)  # ROC AUC's totals are as long as their rows need
    assert spec.result(merged) == pytest.approx(metrics.get(name, **options)(p, y), rel=1e-12)
    empty = np.zeros_like(parts[0])
    np.testing.assert_allclose(spec.merged([empty, parts[0], empty]), parts[0], rtol=1e-15)


def test_r2_is_exact_when_the_targets_mean_dwarfs_their_spread():
    rng = np.random.default_rng(2)
    y = 1e9 + rng.standard_normal((1000, 2))
    p = y + rng.standard_normal((1000, 2)) * 0.1
    metric = metrics.get("r2")
    for start in range(0, 1000, 64):
        metric.update(p[start : start + 64], y[start : start + 64])
    assert metric.result() == pytest.approx(METRICS["r2"](p, y), rel=1e-9)


def test_r2_of_constant_targets_follows_scikit_learn():
    y = np.array([[2.0, 5.0], [2.0, 5.0]])
    assert metrics.get("r2")(y, y) == 1.0
    assert metrics.get("r2")(np.array([[2.0, 5.0], [2.0, 4.0]]), y) == 0.5


def test_accuracy_picks_binary_or_categorical_by_width():
    accuracy = metrics.get("accuracy")
    assert accuracy(np.array([[0.9], [0.4], [0.6]]), np.array([1, 0, 0])) == pytest.approx(2 / 3)
    assert accuracy(np.array([[0.9, 0.1], [0.4, 0.6], [0.6, 0.4]]), np.array([0, 1, 1])) == pytest.approx(2 / 3)
    assert metrics.get("acc").spec is accuracy.spec


def test_top_k_counts_ties_at_the_boundary_as_in():
    """As tf.math.in_top_k: the true class is in when fewer than k classes score strictly higher."""
    p = np.array([[0.5, 0.2, 0.2, 0.1], [0.5, 0.2, 0.2, 0.1]])
    assert metrics.get("top_k_accuracy", k=2)(p, np.array([2, 3])) == 0.5
    assert metrics.get("top_k_accuracy", k=1)(p, np.array([0, 1])) == 0.5


def test_higher_is_better_is_declared():
    assert metrics.get("accuracy").spec.higher_is_better
    assert not metrics.get("rmse").spec.higher_is_better
    assert metrics.get("r2").spec.higher_is_better


def test_calling_leaves_the_running_totals_alone():
    metric = metrics.get("mae")
    metric.update(np.array([[1.0]]), np.array([[0.0]]))
    assert metric(np.array([[5.0]]), np.array([[0.0]])) == 5.0
    assert metric.result() == 1.0


def test_kernel_table_holds_the_update_and_weighted_update_addresses():
    table = metrics.get("r2").spec.kernel_table(np.float64)
    assert table.dtype == np.int64 and table.shape == (4,) and np.all(table > 0)
    metrics.check_kernels(metrics.get("r2").spec)
    plain = metrics.get("mae").spec.kernel_table(np.float64)
    assert np.all(plain[:2] > 0) and np.all(plain[2:] == 0)
