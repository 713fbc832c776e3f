"""Plain NumPy (float64) versions of every built-in metric over a whole data set.

``METRICS[name](p, y, **h) -> float`` for a prediction matrix ``p`` and
targets ``y`` (one label column for categorical labels), written from the
Keras and scikit-learn definitions.
"""

from __future__ import annotations

import numpy as np


def _classes(y, p):
    if y.shape[1] == 1 and p.shape[1] > 1:
        return y[:, 0].astype(int)
    return np.argmax(y, axis=1)


def categorical_accuracy(p, y):
    return float(np.mean(np.argmax(p, axis=1) == _classes(y, p)))


def binary_accuracy(p, y, threshold):
    return float(np.mean((p > threshold) == (y == 1)))


def accuracy(p, y, threshold):
    return binary_accuracy(p, y, threshold) if p.shape[1] == 1 else categorical_accuracy(p, y)


def top_k_accuracy(p, y, k):
    classes = _classes(y, p)
    score = p[np.arange(len(p)), classes]
    larger = np.sum(p > score[:, None], axis=1)
    return float(np.mean(larger < k))


def mae(p, y):
    return float(np.mean(np.abs(p - y)))


def mse(p, y):
    return float(np.mean((p - y) ** 2))


def rmse(p, y):
    return float(np.sqrt(np.mean((p - y) ** 2)))


def r2(p, y):
    """scikit-learn's ``r2_score(y, p)`` (uniform average, force_finite=True)."""
    residual = np.sum((y - p) ** 2, axis=0)
    total = np.sum((y - y.mean(axis=0)) ** 2, axis=0)
    scores = np.where(total > 0, 1 - residual / np.where(total > 0, total, 1), np.where(residual == 0, 1.0, 0.0))
    return float(scores.mean())


def _per_class(p, y, threshold):
    """True positives, false positives and false negatives of each class."""
    if p.shape[1] == 1:
        predicted, actual, classes = (p[:, 0] > threshold).astype(int), (y[:, 0] > 0.5).astype(int), 2
    else:
        predicted, actual, classes = np.argmax(p, axis=1), _classes(y, p), p.shape[1]
    counts = [[np.sum((predicted == c) & (actual == c)), np.sum((predicted == c) & (actual != c)),
               np.sum((predicted != c) & (actual == c))] for c in range(classes)]
    return np.array(counts, dtype=float).T


def _classification(score, average):
    """scikit-learn's precision_score / recall_score / f1_score with ``average`` (zero_division=0);
    "auto" is binary for two classes, macro for more."""

    def ratio(tp, fp, fn):
        numerator, denominator = {"precision": (tp, tp + fp), "recall": (tp, tp + fn), "f1": (2 * tp, 2 * tp + fp + fn)}[score]
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), 0.0)

    def value(p, y, threshold):
        tp, fp, fn = _per_class(p, y, threshold)
        mode = ("binary" if len(tp) == 2 else "macro") if average == "auto" else average
        if mode == "micro":
            return float(ratio(tp.sum(), fp.sum(), fn.sum()))
        scores = ratio(tp, fp, fn)
        if mode == "binary":
            return float(scores[1])
        if mode == "macro":
            return float(scores[(tp + fp + fn) > 0].mean())
        return float(np.sum(scores * (tp + fn)) / np.sum(tp + fn))

    return value


def _pairwise_area(score, positive):
    """The share of (positive, negative) pairs in which the positive scores higher, a tie as half."""
    pos, neg = score[positive], score[~positive]
    if pos.size == 0 or neg.size == 0:
        return float("nan")
    higher = np.count_nonzero(pos[:, None] > neg[None, :])
    ties = np.count_nonzero(pos[:, None] == neg[None, :])
    return (higher + 0.5 * ties) / (pos.size * neg.size)


def roc_auc(p, y):
    """By counting pairs: one column against y > 0.5, two by column 1, more one-vs-rest averaged over
    the classes whose area exists."""
    if p.shape[1] == 1:
        return _pairwise_area(p[:, 0], y[:, 0] > 0.5)
    labels = _classes(y, p)
    if p.shape[1] == 2:
        return _pairwise_area(p[:, 1], labels == 1)
    areas = [_pairwise_area(p[:, c], labels == c) for c in range(p.shape[1])]
    areas = [a for a in areas if not np.isnan(a)]
    return float(np.mean(areas)) if areas else float("nan")


CLASSIFICATION = {
    (score if average == "auto" else f"{score}_{average}"): _classification(score, average)
    for score in ("precision", "recall", "f1")
    for average in ("auto", "macro", "micro", "weighted")
}

METRICS = {
    **CLASSIFICATION,
    "accuracy": accuracy,
    "categorical_accuracy": categorical_accuracy,
    "binary_accuracy": binary_accuracy,
    "top_k_accuracy": top_k_accuracy,
    "mae": mae,
    "mse": mse,
    "rmse": rmse,
    "r2": r2,
    "roc_auc": roc_auc,
}
