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


METRICS = {
    "accuracy": accuracy,
    "categorical_accuracy": categorical_accuracy,
    "binary_accuracy": binary_accuracy,
    "top_k_accuracy": top_k_accuracy,
    "mae": mae,
    "mse": mse,
    "rmse": rmse,
    "r2": r2,
}
