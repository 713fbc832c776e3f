"""precision, recall and F1 (scikit-learn's scorer names and averages) against scikit-learn's own
functions on the same predictions: across batches, with sample weights, and in fit's history."""

from __future__ import annotations

import numpy as np
import pytest

from numbagrad import Dense, Sequential, metrics

sklearn_metrics = pytest.importorskip("sklearn.metrics")

SCORES = {"precision": sklearn_metrics.precision_score, "recall": sklearn_metrics.recall_score, "f1": sklearn_metrics.f1_score}
NAMES = [f"{score}{suffix}" for score in SCORES for suffix in ("", "_macro", "_micro", "_weighted")]


def expected(name, y_true, y_pred, classes, sample_weight=None):
    score, _, average = name.partition("_")
    average = average or ("binary" if classes == 2 else "macro")
    return SCORES[score](y_true, y_pred, average=average, sample_weight=sample_weight, zero_division=0)


def model_for(outputs, last, loss):
    model = Sequential([Dense(6, "tanh"), Dense(outputs, last)], input_dim=5, dtype="float64", seed=4)
    model.compile("adam", loss, metrics=NAMES + ["accuracy"])
    return model


CASES = {
    "four classes": (4, "softmax", "sparse_categorical_crossentropy"),
    "two columns": (2, "softmax", "sparse_categorical_crossentropy"),
    "one sigmoid": (1, "sigmoid", "binary_crossentropy"),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("weighted", [False, True])
def test_evaluate_equals_scikit_learn(case, weighted):
    outputs, last, loss = CASES[case]
    rng = np.random.default_rng(0)
    X = rng.normal(size=(83, 5))
    classes = max(2, outputs)
    y = rng.integers(0, classes, 83)
    y[:3] = 0  # every class present
    model = model_for(outputs, last, loss)
    weights = rng.uniform(0.1, 3.0, 83) if weighted else None
    values = model.evaluate(X, y, batch_size=10, sample_weight=weights)
    scores = model.predict(X)
    predicted = (scores[:, 0] > 0.5).astype(int) if outputs == 1 else scores.argmax(axis=1)
    for name in NAMES:
        assert values[name] == pytest.approx(expected(name, y, predicted, classes, weights), rel=1e-12, abs=1e-15), name
    assert values["f1_micro"] == pytest.approx(values["accuracy"], rel=1e-12)


def test_a_class_never_predicted_scores_zero_and_absent_classes_are_left_out_of_macro():
    """A constant prediction: classes 1 and 2 are never predicted (precision 0/0 -> 0, as scikit-learn's
    zero_division=0); class 3 neither occurs nor is predicted, so macro leaves it out."""
    X = np.zeros((6, 5))
    y = np.array([0, 1, 2, 0, 1, 2])
    model = model_for(4, "softmax", "sparse_categorical_crossentropy")
    model.set_weights([np.zeros((5, 6)), np.zeros(6), np.zeros((6, 4)), np.array([1.0, 0.0, 0.0, 0.0])])
    values = model.evaluate(X, y)
    for name in NAMES:
        assert values[name] == pytest.approx(expected(name, y, np.zeros(6, dtype=int), 4), abs=1e-15), name


def test_fit_reports_them_per_epoch_and_the_names_are_registered():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(64, 5)), rng.integers(0, 3, 64)
    history = model_for(3, "softmax", "sparse_categorical_crossentropy").fit(X, y, epochs=2, batch_size=16, verbose=0)
    assert all(len(history.history[name]) == 2 and 0 <= history.history[name][-1] <= 1 for name in NAMES)
    assert set(NAMES) <= set(metrics.available())
    assert metrics.get("f1_score").spec.name == "f1"


def test_the_names_in_the_command_line_report(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    from helpers import run_cli

    monkeypatch.chdir(tmp_path)
    status, out, _ = run_cli(capsys, "train", "--data", "iris", "--epochs", "2", "--metrics", "accuracy,f1_macro,recall_weighted", "-q")
    assert status == 0 and "f1_macro" in out and "recall_weighted" in out
