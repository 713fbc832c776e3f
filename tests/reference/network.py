"""A plain NumPy multilayer perceptron and training loop, the reference for the model and trainer.

It is the loop a PyTorch user writes by hand (Linear, activation, ...,
PyTorch's loss, ``optimizer.step()`` per batch), transcribed to NumPy in
float64: the trainer must reproduce its weights.
"""

from __future__ import annotations

import numpy as np
from reference.optimizers import REFERENCE_STEPS


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


ACTIVATIONS = {
    "linear": (lambda z: z, lambda z, a, g: g),
    "relu": (lambda z: np.maximum(z, 0), lambda z, a, g: g * (z > 0)),
    "tanh": (np.tanh, lambda z, a, g: g * (1 - a * a)),
    "sigmoid": (_sigmoid, lambda z, a, g: g * a * (1 - a)),
    "softmax": (_softmax, lambda z, a, g: a * (g - (g * a).sum(axis=1, keepdims=True))),
}


def _one_hot(labels, classes):
    out = np.zeros((labels.shape[0], classes))
    out[np.arange(labels.shape[0]), labels.astype(int).ravel()] = 1.0
    return out


# Each loss: (value, gradient with respect to the prediction), both averaged as PyTorch's "mean".
def mse(p, y):
    d = p - y
    return np.mean(d * d), 2 * d / d.size


def mae(p, y):
    d = p - y
    return np.mean(np.abs(d)), np.sign(d) / d.size


def huber(p, y, delta=1.0):
    d = p - y
    small = np.abs(d) <= delta
    value = np.where(small, 0.5 * d * d, delta * (np.abs(d) - 0.5 * delta))
    grad = np.where(small, d, delta * np.sign(d))
    return value.mean(), grad / d.size


def categorical_crossentropy_logits(z, labels):
    """PyTorch's CrossEntropyLoss on logits with integer labels (one column)."""
    y = _one_hot(labels, z.shape[1])
    shifted = z - z.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    value = -(y * log_softmax).sum(axis=1).mean()
    return value, (np.exp(log_softmax) - y) / z.shape[0]


def binary_crossentropy_logits(z, y):
    """PyTorch's BCEWithLogitsLoss."""
    value = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
    return value.mean(), (_sigmoid(z) - y) / z.size


LOSSES = {
    "mse": mse,
    "mae": mae,
    "huber": huber,
    "categorical_crossentropy": categorical_crossentropy_logits,
    "binary_crossentropy": binary_crossentropy_logits,
}
# Losses computed from the last layer's pre-activation values when it has this activation.
FUSED = {"categorical_crossentropy": "softmax", "binary_crossentropy": "sigmoid"}


def forward(weights, activations, x, fused_last=False):
    zs, outs = [], []
    a = x
    for k, name in enumerate(activations):
        W, b = weights[2 * k], weights[2 * k + 1]
        z = a @ W + b
        last = k == len(activations) - 1
        a = z if (last and fused_last) else ACTIVATIONS[name][0](z)
        zs.append(z)
        outs.append(a)
    return zs, outs


def value_and_grad(weights, activations, loss, x, y):
    fused = FUSED.get(loss) == activations[-1]
    zs, outs = forward(weights, activations, x, fused)
    value, g = LOSSES[loss](outs[-1], y)
    grads = [None] * len(weights)
    for k in range(len(activations) - 1, -1, -1):
        if not (k == len(activations) - 1 and fused):
            g = ACTIVATIONS[activations[k]][1](zs[k], outs[k], g)
        inputs = x if k == 0 else outs[k - 1]
        grads[2 * k] = inputs.T @ g
        grads[2 * k + 1] = g.sum(axis=0)
        g = g @ weights[2 * k].T
    return value, grads


def fit(weights, activations, loss, optimizer, hyperparameters, X, Y, batch_size, orders, clip_norm=None):
    """Train ``weights`` (list [W1, b1, ...], updated in place) one epoch per entry of ``orders``.

    Returns the sample-weighted mean loss of each epoch.
    """
    states = [{} for _ in weights]
    step = 0
    epoch_losses = []
    for order in orders:
        total = 0.0
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            value, grads = value_and_grad(weights, activations, loss, X[rows], Y[rows])
            total += value * len(rows)
            if clip_norm is not None:
                norm = np.sqrt(sum(float((g * g).sum()) for g in grads))
                coefficient = clip_norm / (norm + 1e-6)
                if coefficient < 1:
                    grads = [g * coefficient for g in grads]
            step += 1
            for w, g, s in zip(weights, grads, states):
                REFERENCE_STEPS[optimizer](w, g, s, hyperparameters, step)
        epoch_losses.append(total / len(order))
    return epoch_losses
