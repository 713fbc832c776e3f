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

The arithmetic is that of :mod:`numbagrad.kernels.formulas`, shared with the
CUDA kernels: each kernel computes its coefficients once, then calls the
formula for every element (or row), inlined.

Definitions and subgradients follow PyTorch (``torch.nn.functional``),
including the value of the derivative where the function has a kink; each
kernel's docstring gives its formula and that value.
"""

from __future__ import annotations

from numbagrad.kernels.cpu.formulas import FORMULAS as F
from numbagrad.kernels.cpu.jit import kernel

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
    c = F.no_coefficients(z, params)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            out[i, j] = F.linear_forward(z, c, i, j)


@kernel
def linear_backward(z, out, grad_out, grad_in, params):
    """``f'(z) = 1``."""
    c = F.no_coefficients(z, params)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            grad_in[i, j] = F.linear_backward(z, out, grad_out, c, i, j)


# --- relu, leaky_relu --------------------------------------------------------


@kernel
def relu_forward(z, out, params):
    """``f(z) = max(z, 0)``; NaN stays NaN (as ``torch.relu``). params = []."""
    c = F.relu_coefficients(z, params)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            out[i, j] = F.relu_forward(z, c, i, j)


@kernel
def relu_backward(z, out, grad_out, grad_in, params):
    """``f'(z) = 1`` for ``z > 0``, else 0; the subgradient at 0 is 0, as PyTorch's."""
    c = F.relu_coefficients(z, params)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            grad_in[i, j] = F.relu_backward(z, out, grad_out, c, i, j)


@kernel
def leaky_relu_forward(z, out, params):
    """``f(z) = z`` for ``z > 0``, else ``alpha z``. params = [alpha]."""
    c = F.leaky_relu_coefficients(z, params)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            out[i, j] = F.leaky_relu_forward(z, c, i, j)


@kernel
def leaky_relu_backward(z, out, grad_out, grad_in, params):
    """``f'(z) = 1`` for ``z > 0``, else ``alpha``: at 0 it is ``alpha``, as PyTorch's."""
    c = F.leaky_relu_coefficients(z, params)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            grad_in[i, j] = F.leaky_relu_backward(z, out, grad_out, c, i, j)


# --- elu, selu ---------------------------------------------------------------


@kernel
def elu_forward(z, out, params):
    """``f(z) = z`` for ``z > 0``, else ``alpha (exp(z) - 1)`` (``expm1``). params = [alpha]."""
    c = F.first_parameter(z, params)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            out[i, j] = F.elu_forward(z, c, i, j)


@kernel
def elu_backward(z, out, grad_out, grad_in, params):
    """``f'(z) = 1`` for ``z > 0``, else ``alpha exp(z)``: at 0 it is ``alpha``, as PyTorch's."""
    c = F.first_parameter(z, params)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            grad_in[i, j] = F.elu_backward(z, out, grad_out, c, i, j)


@kernel
def selu_forward(z, out, params):
    """``f(z) = scale z`` for ``z > 0``, else ``scale alpha (exp(z) - 1)``. params = [].

    ``scale = 1.0507009873554804934193349852946`` and
    ``alpha = 1.6732632423543772848170429916717`` (Klambauer et al., 2017),
    PyTorch's constants.
    """
    c = F.no_coefficients(z, params)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            out[i, j] = F.selu_forward(z, c, i, j)


@kernel
def selu_backward(z, out, grad_out, grad_in, params):
    """``f'(z) = scale`` for ``z > 0``, else ``scale alpha exp(z)``: at 0 it is ``scale alpha``, as PyTorch's."""
    c = F.no_coefficients(z, params)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            grad_in[i, j] = F.selu_backward(z, out, grad_out, c, i, j)


# --- gelu --------------------------------------------------------------------


@kernel
def gelu_forward(z, out, params):
    """Gaussian error linear unit (Hendrycks & Gimpel, 2016). params = [approximate].

    ``approximate = 0``: ``f(z) = z Phi(z) = z (1 + erf(z / sqrt(2))) / 2``, exact.
    ``approximate = 1``: ``f(z) = z (1 + tanh(sqrt(2 / pi) (z + 0.044715 z^3))) / 2``,
    ``torch.nn.GELU(approximate="tanh")``.
    """
    c = F.gelu_coefficients(z, params)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            out[i, j] = F.gelu_forward(z, c, i, j)


@kernel
def gelu_backward(z, out, grad_out, grad_in, params):
    """Exact: ``f'(z) = Phi(z) + z phi(z)``, ``phi(z) = exp(-z^2 / 2) / sqrt(2 pi)``.

    Tanh form, with ``t = tanh(k (z + c z^3))``, ``k = sqrt(2 / pi)``, ``c = 0.044715``:
    ``f'(z) = (1 + t) / 2 + z / 2 (1 - t^2) k (1 + 3 c z^2)``, PyTorch's formula.
    """
    c = F.gelu_coefficients(z, params)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            grad_in[i, j] = F.gelu_backward(z, out, grad_out, c, i, j)


# --- sigmoid, tanh, softplus, silu -----------------------------------------------


@kernel
def sigmoid_forward(z, out, params):
    """``f(z) = 1 / (1 + exp(-z))``, evaluated as ``exp(z) / (1 + exp(z))`` for ``z < 0``
    so that no ``exp`` overflows. params = []."""
    c = F.no_coefficients(z, params)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            out[i, j] = F.sigmoid_forward(z, c, i, j)


@kernel
def sigmoid_backward(z, out, grad_out, grad_in, params):
    """``f'(z) = f(z) (1 - f(z)) = e / (1 + e)^2`` with ``e = exp(-|z|)``, from ``z``.

    Computed from ``z`` rather than from ``out``: ``1 - f(z)`` of a rounded
    ``out`` near 1 keeps almost no correct digits (in float32 from ``|z| > 5``).
    """
    c = F.no_coefficients(z, params)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            grad_in[i, j] = F.sigmoid_backward(z, out, grad_out, c, i, j)


@kernel
def tanh_forward(z, out, params):
    """``f(z) = tanh(z)``. params = []."""
    c = F.no_coefficients(z, params)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            out[i, j] = F.tanh_forward(z, c, i, j)


@kernel
def tanh_backward(z, out, grad_out, grad_in, params):
    """``f'(z) = 1 - tanh(z)^2 = 4 e / (1 + e)^2`` with ``e = exp(-2|z|)``, from ``z``.

    Computed from ``z`` rather than from ``out``, for the same reason as
    :func:`sigmoid_backward`: ``1 - out^2`` cancels where ``|out|`` nears 1.
    """
    c = F.no_coefficients(z, params)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            grad_in[i, j] = F.tanh_backward(z, out, grad_out, c, i, j)


@kernel
def softplus_forward(z, out, params):
    """``f(z) = log(1 + exp(beta z)) / beta``, and ``z`` where ``beta z > threshold``.

    params = [beta, threshold], as ``torch.nn.Softplus``. Below the threshold
    it is evaluated as ``(max(beta z, 0) + log1p(exp(-|beta z|))) / beta``,
    which cannot overflow whatever the threshold.
    """
    c = F.softplus_coefficients(z, params)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            out[i, j] = F.softplus_forward(z, c, i, j)


@kernel
def softplus_backward(z, out, grad_out, grad_in, params):
    """``f'(z) = sigmoid(beta z)``, and 1 where ``beta z > threshold``."""
    c = F.softplus_coefficients(z, params)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            grad_in[i, j] = F.softplus_backward(z, out, grad_out, c, i, j)


@kernel
def silu_forward(z, out, params):
    """SiLU, or swish: ``f(z) = z sigmoid(z)``. params = []."""
    c = F.no_coefficients(z, params)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            out[i, j] = F.silu_forward(z, c, i, j)


@kernel
def silu_backward(z, out, grad_out, grad_in, params):
    """``f'(z) = s (1 + z (1 - s))`` with ``s = sigmoid(z)``."""
    c = F.no_coefficients(z, params)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            grad_in[i, j] = F.silu_backward(z, out, grad_out, c, i, j)


# --- softmax (row-wise) ----------------------------------------------------------


@kernel
def softmax_forward(z, out, params):
    """Each row: ``f(z)_j = exp(z_j - m) / sum_k exp(z_k - m)``, ``m = max_k z_k``. params = [].

    Subtracting the row maximum keeps every ``exp`` in (0, 1]; a row holding
    NaN or +inf gives NaN, as ``torch.softmax``.
    """
    for i in range(z.shape[0]):
        F.softmax_forward_row(z, out, params, i)


@kernel
def softmax_backward(z, out, grad_out, grad_in, params):
    """Each row, with ``y = f(z)``: ``grad_in_j = y_j (grad_out_j - sum_k grad_out_k y_k)``."""
    for i in range(z.shape[0]):
        F.softmax_backward_row(z, out, grad_out, grad_in, params, i)