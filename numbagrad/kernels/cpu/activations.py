"""Activation kernels: ``<name>_forward`` and ``<name>_backward``.

Every pair has the contracts of
:func:`numbagrad.kernels.signatures.activation_forward_signature` and
:func:`~numbagrad.kernels.signatures.activation_backward_signature`::

    <name>_forward(z, out, params)                      out = f(z)
    <name>_backward(z, out, grad_out, grad_in, params)  grad_in = grad_out * f'(z)

over C-ordered ``(batch, features)`` matrices of one dtype (float32 or
float64); ``params`` holds the hyperparameters in declaration order.

Aliasing: each kernel reads an element before it writes that element and
never reads an element it has written, so ``out`` may be ``z`` itself and
``grad_in`` may be ``grad_out`` itself. A backward kernel may read ``z``,
``out`` or both, so a caller keeps both as the forward pass left them (a
forward pass run in place loses ``z``).

Precision: piecewise-linear activations (linear, relu, leaky_relu) compute in
the arrays' precision, where they are exact. The others evaluate in float64
and round once to the arrays' precision: without a vector math library
(SVML) every ``exp`` is a scalar call anyway, so float64 costs no more and
float32 results are correctly rounded more often.

Definitions and subgradients follow PyTorch (``torch.nn.functional``),
including the value of the derivative where the function has a kink; each
kernel's docstring gives its formula and that value.
"""

from __future__ import annotations

import math

import numpy as np

from numbagrad.kernels.cpu.jit import kernel
from numbagrad.kernels.cpu.scalars import sigmoid as _sigmoid
from numbagrad.kernels.cpu.scalars import softplus as _softplus

__all__ = [
    "linear_forward",
    "linear_backward",
    "relu_forward",
    "relu_backward",
    "leaky_relu_forward",
    "leaky_relu_backward",
    "elu_forward",
    "elu_backward",
    "selu_forward",
    "selu_backward",
    "gelu_forward",
    "gelu_backward",
    "sigmoid_forward",
    "sigmoid_backward",
    "tanh_forward",
    "tanh_backward",
    "softplus_forward",
    "softplus_backward",
    "silu_forward",
    "silu_backward",
    "softmax_forward",
    "softmax_backward",
]


# --- linear ------------------------------------------------------------------


@kernel
def linear_forward(z, out, params):
    """Identity: ``f(z) = z``. params = []."""
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            out[i, j] = z[i, j]


@kernel
def linear_backward(z, out, grad_out, grad_in, params):
    """``f'(z) = 1``."""
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            grad_in[i, j] = grad_out[i, j]


# --- relu, leaky_relu --------------------------------------------------------


@kernel
def relu_forward(z, out, params):
    """``f(z) = max(z, 0)``; NaN stays NaN (as ``torch.relu``). params = []."""
    zero = z.dtype.type(0.0)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            x = z[i, j]
            out[i, j] = zero if x <= zero else x


@kernel
def relu_backward(z, out, grad_out, grad_in, params):
    """``f'(z) = 1`` for ``z > 0``, else 0; the subgradient at 0 is 0, as PyTorch's."""
    zero = z.dtype.type(0.0)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            g = grad_out[i, j]
            grad_in[i, j] = g if z[i, j] > zero else zero


@kernel
def leaky_relu_forward(z, out, params):
    """``f(z) = z`` for ``z > 0``, else ``alpha z``. params = [alpha]."""
    zero = z.dtype.type(0.0)
    alpha = z.dtype.type(params[0])
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            x = z[i, j]
            out[i, j] = x if x > zero else x * alpha


@kernel
def leaky_relu_backward(z, out, grad_out, grad_in, params):
    """``f'(z) = 1`` for ``z > 0``, else ``alpha``: at 0 it is ``alpha``, as PyTorch's."""
    zero = z.dtype.type(0.0)
    alpha = z.dtype.type(params[0])
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            g = grad_out[i, j]
            grad_in[i, j] = g if z[i, j] > zero else g * alpha


# --- elu, selu ---------------------------------------------------------------


@kernel
def elu_forward(z, out, params):
    """``f(z) = z`` for ``z > 0``, else ``alpha (exp(z) - 1)`` (``expm1``). params = [alpha]."""
    alpha = params[0]
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            x = np.float64(z[i, j])
            out[i, j] = alpha * math.expm1(x) if x <= 0.0 else x


@kernel
def elu_backward(z, out, grad_out, grad_in, params):
    """``f'(z) = 1`` for ``z > 0``, else ``alpha exp(z)``: at 0 it is ``alpha``, as PyTorch's."""
    alpha = params[0]
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            x = np.float64(z[i, j])
            g = np.float64(grad_out[i, j])
            grad_in[i, j] = g * alpha * math.exp(x) if x <= 0.0 else g


@kernel
def selu_forward(z, out, params):
    """``f(z) = scale z`` for ``z > 0``, else ``scale alpha (exp(z) - 1)``. params = [].

    ``scale = 1.0507009873554804934193349852946`` and
    ``alpha = 1.6732632423543772848170429916717`` (Klambauer et al., 2017),
    PyTorch's constants.
    """
    scale = 1.0507009873554804934193349852946
    alpha = 1.6732632423543772848170429916717
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            x = np.float64(z[i, j])
            out[i, j] = scale * alpha * math.expm1(x) if x <= 0.0 else scale * x


@kernel
def selu_backward(z, out, grad_out, grad_in, params):
    """``f'(z) = scale`` for ``z > 0``, else ``scale alpha exp(z)``: at 0 it is ``scale alpha``, as PyTorch's."""
    scale = 1.0507009873554804934193349852946
    alpha = 1.6732632423543772848170429916717
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            x = np.float64(z[i, j])
            g = np.float64(grad_out[i, j])
            grad_in[i, j] = g * scale * alpha * math.exp(x) if x <= 0.0 else g * scale


# --- gelu --------------------------------------------------------------------


@kernel
def gelu_forward(z, out, params):
    """Gaussian error linear unit (Hendrycks & Gimpel, 2016). params = [approximate].

    ``approximate = 0``: ``f(z) = z Phi(z) = z (1 + erf(z / sqrt(2))) / 2``, exact.
    ``approximate = 1``: ``f(z) = z (1 + tanh(sqrt(2 / pi) (z + 0.044715 z^3))) / 2``,
    ``torch.nn.GELU(approximate="tanh")``.
    """
    approximate = params[0] != 0.0
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            x = np.float64(z[i, j])
            if approximate:
                inner = 0.7978845608028654 * (x + 0.044715 * x * x * x)
                out[i, j] = 0.5 * x * (1.0 + math.tanh(inner))
            else:
                out[i, j] = 0.5 * x * (1.0 + math.erf(x * 0.7071067811865476))


@kernel
def gelu_backward(z, out, grad_out, grad_in, params):
    """Exact: ``f'(z) = Phi(z) + z phi(z)``, ``phi(z) = exp(-z^2 / 2) / sqrt(2 pi)``.

    Tanh form, with ``t = tanh(k (z + c z^3))``, ``k = sqrt(2 / pi)``, ``c = 0.044715``:
    ``f'(z) = (1 + t) / 2 + z / 2 (1 - t^2) k (1 + 3 c z^2)``, PyTorch's formula.
    """
    approximate = params[0] != 0.0
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            x = np.float64(z[i, j])
            g = np.float64(grad_out[i, j])
            if approximate:
                x_squared = x * x
                t = math.tanh(0.7978845608028654 * (x + 0.044715 * x_squared * x))
                derivative = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * 0.7978845608028654 * (
                    1.0 + 3.0 * 0.044715 * x_squared
                )
            else:
                cdf = 0.5 * (1.0 + math.erf(x * 0.7071067811865476))
                pdf = 0.3989422804014327 * math.exp(-0.5 * x * x)
                derivative = cdf + x * pdf
            grad_in[i, j] = g * derivative


# --- sigmoid, tanh, softplus, silu -----------------------------------------------


@kernel
def sigmoid_forward(z, out, params):
    """``f(z) = 1 / (1 + exp(-z))``, evaluated as ``exp(z) / (1 + exp(z))`` for ``z < 0``
    so that no ``exp`` overflows. params = []."""
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            out[i, j] = _sigmoid(np.float64(z[i, j]))


@kernel
def sigmoid_backward(z, out, grad_out, grad_in, params):
    """``f'(z) = f(z) (1 - f(z)) = e / (1 + e)^2`` with ``e = exp(-|z|)``, from ``z``.

    Computed from ``z`` rather than from ``out``: ``1 - f(z)`` of a rounded
    ``out`` near 1 keeps almost no correct digits (in float32 from ``|z| > 5``).
    """
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            e = math.exp(-abs(np.float64(z[i, j])))
            one_plus = 1.0 + e
            grad_in[i, j] = np.float64(grad_out[i, j]) * (e / (one_plus * one_plus))


@kernel
def tanh_forward(z, out, params):
    """``f(z) = tanh(z)``. params = []."""
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            out[i, j] = math.tanh(np.float64(z[i, j]))


@kernel
def tanh_backward(z, out, grad_out, grad_in, params):
    """``f'(z) = 1 - tanh(z)^2 = 4 e / (1 + e)^2`` with ``e = exp(-2|z|)``, from ``z``.

    Computed from ``z`` rather than from ``out``, for the same reason as
    :func:`sigmoid_backward`: ``1 - out^2`` cancels where ``|out|`` nears 1.
    """
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            e = math.exp(-2.0 * abs(np.float64(z[i, j])))
            one_plus = 1.0 + e
            grad_in[i, j] = np.float64(grad_out[i, j]) * (4.0 * e / (one_plus * one_plus))


@kernel
def softplus_forward(z, out, params):
    """``f(z) = log(1 + exp(beta z)) / beta``, and ``z`` where ``beta z > threshold``.

    params = [beta, threshold], as ``torch.nn.Softplus``. Below the threshold
    it is evaluated as ``(max(beta z, 0) + log1p(exp(-|beta z|))) / beta``,
    which cannot overflow whatever the threshold.
    """
    beta = params[0]
    threshold = params[1]
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            x = np.float64(z[i, j])
            scaled = beta * x
            out[i, j] = x if scaled > threshold else _softplus(scaled) / beta


@kernel
def softplus_backward(z, out, grad_out, grad_in, params):
    """``f'(z) = sigmoid(beta z)``, and 1 where ``beta z > threshold``."""
    beta = params[0]
    threshold = params[1]
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            scaled = beta * np.float64(z[i, j])
            g = np.float64(grad_out[i, j])
            grad_in[i, j] = g if scaled > threshold else g * _sigmoid(scaled)


@kernel
def silu_forward(z, out, params):
    """SiLU, or swish: ``f(z) = z sigmoid(z)``. params = []."""
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            x = np.float64(z[i, j])
            out[i, j] = x * _sigmoid(x)


@kernel
def silu_backward(z, out, grad_out, grad_in, params):
    """``f'(z) = s (1 + z (1 - s))`` with ``s = sigmoid(z)``."""
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            x = np.float64(z[i, j])
            s = _sigmoid(x)
            grad_in[i, j] = np.float64(grad_out[i, j]) * s * (1.0 + x * (1.0 - s))


# --- softmax (row-wise) ----------------------------------------------------------


@kernel
def softmax_forward(z, out, params):
    """Each row: ``f(z)_j = exp(z_j - m) / sum_k exp(z_k - m)``, ``m = max_k z_k``. params = [].

    Subtracting the row maximum keeps every ``exp`` in (0, 1]; a row holding
    NaN or +inf gives NaN, as ``torch.softmax``.
    """
    for i in range(z.shape[0]):
        row_max = -math.inf
        for j in range(z.shape[1]):
            x = np.float64(z[i, j])
            if x > row_max:
                row_max = x
        total = 0.0
        for j in range(z.shape[1]):
            e = math.exp(np.float64(z[i, j]) - row_max)
            total += e
            out[i, j] = e
        for j in range(z.shape[1]):
            out[i, j] = np.float64(out[i, j]) / total


@kernel
def softmax_backward(z, out, grad_out, grad_in, params):
    """Each row, with ``y = f(z)``: ``grad_in_j = y_j (grad_out_j - sum_k grad_out_k y_k)``."""
    for i in range(z.shape[0]):
        dot = 0.0
        for j in range(z.shape[1]):
            dot += np.float64(grad_out[i, j]) * np.float64(out[i, j])
        for j in range(z.shape[1]):
            grad_in[i, j] = np.float64(out[i, j]) * (np.float64(grad_out[i, j]) - dot)
