"""Plain NumPy (float64) versions of every built-in activation and its vector-Jacobian product.

``ACTIVATIONS[name] = (forward(z, **h), backward(z, g, **h))`` where ``h`` are
the validated hyperparameters; written from PyTorch's definitions, without
the kernels' evaluation tricks.
"""

from __future__ import annotations

import numpy as np
from scipy.special import erf, expit
from scipy.special import softmax as _softmax

SELU_SCALE = 1.0507009873554804934193349852946
SELU_ALPHA = 1.6732632423543772848170429916717
TANH_K = np.sqrt(2.0 / np.pi)
TANH_C = 0.044715


def _quiet(function):
    """Evaluate both branches of np.where without warnings about the unused one."""

    def wrapped(*args, **kwargs):
        with np.errstate(all="ignore"):
            return function(*args, **kwargs)

    return wrapped


def _gelu(z, approximate):
    if approximate:
        return 0.5 * z * (1 + np.tanh(TANH_K * (z + TANH_C * z**3)))
    return 0.5 * z * (1 + erf(z / np.sqrt(2)))


def _gelu_derivative(z, approximate):
    if approximate:
        t = np.tanh(TANH_K * (z + TANH_C * z**3))
        return 0.5 * (1 + t) + 0.5 * z * (1 - t**2) * TANH_K * (1 + 3 * TANH_C * z**2)
    return 0.5 * (1 + erf(z / np.sqrt(2))) + z * np.exp(-0.5 * z**2) / np.sqrt(2 * np.pi)


def _softmax_backward(z, g):
    y = _softmax(z, axis=1)
    return y * (g - np.sum(g * y, axis=1, keepdims=True))


ACTIVATIONS = {
    "linear": (lambda z: z.copy(), lambda z, g: g.copy()),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z, g: g * (z > 0)),
    "leaky_relu": (
        lambda z, alpha: np.where(z > 0, z, alpha * z),
        lambda z, g, alpha: g * np.where(z > 0, 1.0, alpha),
    ),
    "elu": (
        _quiet(lambda z, alpha: np.where(z > 0, z, alpha * np.expm1(z))),
        _quiet(lambda z, g, alpha: g * np.where(z > 0, 1.0, alpha * np.exp(z))),
    ),
    "selu": (
        _quiet(lambda z: SELU_SCALE * np.where(z > 0, z, SELU_ALPHA * np.expm1(z))),
        _quiet(lambda z, g: g * SELU_SCALE * np.where(z > 0, 1.0, SELU_ALPHA * np.exp(z))),
    ),
    "gelu": (_quiet(_gelu), _quiet(lambda z, g, approximate: g * _gelu_derivative(z, approximate))),
    "sigmoid": (expit, lambda z, g: g * expit(z) * expit(-z)),
    "tanh": (np.tanh, _quiet(lambda z, g: g / np.cosh(z) ** 2)),
    "softplus": (
        _quiet(lambda z, beta, threshold: np.where(beta * z > threshold, z, np.logaddexp(0.0, beta * z) / beta)),
        lambda z, g, beta, threshold: g * np.where(beta * z > threshold, 1.0, expit(beta * z)),
    ),
    "silu": (lambda z: z * expit(z), lambda z, g: g * expit(z) * (1 + z * (1 - expit(z)))),
    "softmax": (lambda z: _softmax(z, axis=1), _softmax_backward),
}
