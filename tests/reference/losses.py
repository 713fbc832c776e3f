"""Plain NumPy (float64) versions of every built-in loss and its gradient.

``LOSSES[name](p, y, **h) -> (loss, grad)`` for a prediction matrix ``p``
and targets ``y`` (one label column for categorical labels), written from
the PyTorch and Keras definitions.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, log_softmax, logsumexp, softmax


def _elementwise(values, grads):
    n = values.size
    return float(values.sum() / n), grads / n


def _one_hot(y, p):
    if y.shape[1] == 1 and p.shape[1] > 1:
        rows = np.zeros_like(p)
        rows[np.arange(len(p)), y[:, 0].astype(int)] = 1.0
        return rows
    return y


def mae(p, y):
    d = p - y
    return _elementwise(np.abs(d), np.sign(d))


def mse(p, y):
    d = p - y
    return _elementwise(d**2, 2 * d)


def huber(p, y, delta):
    d = p - y
    small = np.abs(d) < delta
    return _elementwise(np.where(small, 0.5 * d**2, delta * (np.abs(d) - 0.5 * delta)), np.clip(d, -delta, delta))


def log_cosh(p, y):
    d = p - y
    return _elementwise(np.logaddexp(d, -d) - np.log(2.0), np.tanh(d))


def msle(p, y, epsilon):
    d = np.log(np.maximum(p, epsilon) + 1) - np.log(np.maximum(y, epsilon) + 1)
    return _elementwise(d**2, np.where(p >= epsilon, 2 * d / (np.maximum(p, epsilon) + 1), 0.0))


def binary_crossentropy(p, y, from_logits):
    if from_logits:
        values = np.logaddexp(0.0, p) - p * y
        return _elementwise(values, expit(p) - y)
    with np.errstate(divide="ignore"):
        values = -(y * np.maximum(np.log(p), -100) + (1 - y) * np.maximum(np.log(1 - p), -100))
    return _elementwise(values, (p - y) / np.maximum(p * (1 - p), 1e-12))


def categorical_crossentropy(p, y, from_logits, epsilon):
    rows = len(p)
    t = _one_hot(y, p)
    if from_logits:
        value = -np.sum(t * log_softmax(p, axis=1)) / rows
        grad = (softmax(p, axis=1) * t.sum(axis=1, keepdims=True) - t) / rows
        return float(value), grad
    s = p.sum(axis=1, keepdims=True)
    q = p / s
    c = np.clip(q, epsilon, 1 - epsilon)
    value = -np.sum(t * np.log(c)) / rows
    a = np.where((q >= epsilon) & (q <= 1 - epsilon), -t / c, 0.0)
    grad = (a - np.sum(a * q, axis=1, keepdims=True)) / s / rows
    return float(value), grad


def kl_divergence(p, y, epsilon):
    rows = len(p)
    yc = np.clip(y, epsilon, 1)
    pc = np.clip(p, epsilon, 1)
    value = np.sum(yc * np.log(yc / pc)) / rows
    grad = np.where((p >= epsilon) & (p <= 1), -yc / pc, 0.0) / rows
    return float(value), grad


def poisson(p, y, epsilon):
    return _elementwise(p - y * np.log(p + epsilon), 1 - y / (p + epsilon))


def hinge(p, y):
    y = np.where(y == 0, -1.0, y)
    margin = 1 - y * p
    return _elementwise(np.maximum(margin, 0.0), np.where(margin > 0, -y, 0.0))


LOSSES = {
    "mae": mae,
    "mse": mse,
    "huber": huber,
    "log_cosh": log_cosh,
    "msle": msle,
    "binary_crossentropy": binary_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "kl_divergence": kl_divergence,
    "poisson": poisson,
    "hinge": hinge,
}

__all__ = ["LOSSES", "logsumexp"]
