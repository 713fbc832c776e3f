"""Muon: momentum orthogonalised by a Newton-Schulz iteration, for weight matrices.

A tensor-wise optimizer: each step multiplies whole matrices (three matrix
products per Newton-Schulz iteration, through BLAS), which no element-wise
kernel can express.
"""

from __future__ import annotations

import math

import numpy as np

from numbagrad.hyperparameters import Hyperparameter
from numbagrad.kernels.cpu.jit import kernel
from numbagrad.kernels.cpu.formulas import lerp
from numbagrad.optim.common import lr
from numbagrad.optim.optimizer import Optimizer
from numbagrad.optim.spec import OptimizerSpec

__all__ = ["Muon", "MUON_SPEC", "muon_update", "newton_schulz", "adjusted_lr"]

#: PyTorch's defaults: the quintic's coefficients (a, b, c) and the number of iterations.
NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)
NS_STEPS = 5


def _check_shape(shape):
    if len(shape) != 2:
        raise ValueError(
            "Muon updates 2-D parameters (weight matrices) only; optimize biases and other parameters with "
            "another optimizer: torch-style parameter groups in two optimizers, or in a model "
            "compile(optimizer={'weights': 'muon', 'biases': 'adamw'})"
        )


@kernel
def adjusted_lr(lr_, mode, rows, cols):
    """PyTorch's ``_adjust_lr`` for a matrix of ``rows x cols`` (A x B): ``mode`` 0 or -1 (None):
    ``lr sqrt(max(1, A / B))``; 1 (``"match_rms_adamw"``): ``0.2 lr sqrt(max(A, B))``."""
    if mode <= 0:
        return lr_ * math.sqrt(max(1.0, rows / cols))
    return lr_ * (0.2 * math.sqrt(max(rows, cols)))


@kernel
def newton_schulz(matrix, a, b, c, steps, eps):
    """The orthogonalisation of ``matrix`` (``_zeropower_via_newtonschulz``), in its dtype; a new array.

    With ``X = M / max(||M||, eps)``, transposed when it has more rows than
    columns, each of ``steps`` iterations computes ``G = X X^T``,
    ``X = a X + (b G + c G G) X``.
    """
    T = matrix.dtype.type
    tall = matrix.shape[0] > matrix.shape[1]
    X = np.ascontiguousarray(matrix.T) if tall else matrix.copy()
    m = X.shape[0]
    total = 0.0
    for value in X.ravel():
        total += float(value) * float(value)
    norm = max(T(math.sqrt(total)), T(eps))
    X /= norm
    gram = np.empty((m, m), dtype=X.dtype)
    square = np.empty((m, m), dtype=X.dtype)
    product = np.empty_like(X)
    ta, tb, tc = T(a), T(b), T(c)
    for _ in range(steps):
        np.dot(X, X.T, gram)
        np.dot(gram, gram, square)
        for i in range(m):
            for j in range(m):
                square[i, j] = tb * gram[i, j] + tc * square[i, j]
        np.dot(square, X, product)
        for i in range(m):
            for j in range(X.shape[1]):
                X[i, j] = ta * X[i, j] + product[i, j]
    return np.ascontiguousarray(X.T) if tall else X


@kernel
def muon_update(param, grad, state, hyper, step, shape, statistics, tensor):
    """One Muon step of one matrix (PyTorch's ``torch.optim.Muon``, in the parameters' dtype).

    ``hyper``: lr, weight_decay, momentum, nesterov, ns_coefficients (3),
    eps, ns_steps, adjust_lr_fn (-1 None, 0 original, 1 match_rms_adamw),
    matrix_layout (0 out_in, 1 in_out). ``state``: momentum_buffer.
    """
    T = param.dtype.type
    lr_, weight_decay, momentum = hyper[0], hyper[1], hyper[2]
    nesterov = hyper[3] != 0.0
    a, b, c, eps = hyper[4], hyper[5], hyper[6], hyper[7]
    steps, mode, layout = int(hyper[8]), int(hyper[9]), int(hyper[10])
    rows, cols = shape[0], shape[1]
    buf = state[: param.size]
    weight = T(1.0 - momentum)
    one_minus_weight = T(1.0) - weight
    nesterov_weight = T(momentum)
    nesterov_complement = T(1.0) - nesterov_weight
    update = np.empty_like(param)
    for i in range(param.size):
        buf[i] = lerp(buf[i], grad[i], weight, one_minus_weight)
        update[i] = lerp(grad[i], buf[i], nesterov_weight, nesterov_complement) if nesterov else buf[i]
    ortho = newton_schulz(update.reshape((rows, cols)), a, b, c, steps, eps).ravel()
    # A Dense layer's weight is stored (inputs, units): its torch.nn.Linear shape is the transpose.
    step_size = T(-(adjusted_lr(lr_, mode, cols, rows) if layout == 1 else adjusted_lr(lr_, mode, rows, cols)))
    decay = T(1.0 - lr_ * weight_decay)
    for i in range(param.size):
        param[i] = param[i] * decay
        param[i] = param[i] + step_size * ortho[i]


MUON_SPEC = OptimizerSpec(
    name="muon",
    title="Muon",
    tensorwise=True,
    update=muon_update,
    cuda_update="numbagrad.kernels.cuda.muon:muon_update",
    check_shape=_check_shape,
    hyperparameters=(
        lr(1e-3),
        Hyperparameter("weight_decay", 0.1, minimum=0.0, doc="decoupled weight decay: shrinks the parameters by lr * weight_decay"),
        Hyperparameter("momentum", 0.95, minimum=0.0, doc="momentum factor"),
        Hyperparameter("nesterov", True, kind="bool", doc="orthogonalise the Nesterov look-ahead instead of the buffer"),
        Hyperparameter("ns_coefficients", NS_COEFFICIENTS, kind="floats", length=3, doc="(a, b, c) of the Newton-Schulz quintic"),
        Hyperparameter("eps", 1e-7, minimum=0.0, doc="floor of the norm the matrix is divided by"),
        Hyperparameter("ns_steps", NS_STEPS, kind="int", minimum=0, maximum=99, doc="Newton-Schulz iterations"),
        Hyperparameter(
            "adjust_lr_fn", None, kind="choice", choices=("original", "match_rms_adamw"), optional=True,
            doc="the learning rate's scaling by the matrix's shape (None: 'original')",
        ),
        Hyperparameter(
            "matrix_layout", "out_in", kind="choice", choices=("out_in", "in_out"),
            doc="a matrix's axes: (outputs, inputs) as torch.nn.Linear's weight, or (inputs, outputs) as a Dense kernel",
        ),
    ),
    state=("momentum_buffer",),
)


class Muon(Optimizer):
    r"""Muon (Jordan et al., 2024), as ``torch.optim.Muon``: SGD-momentum whose update is orthogonalised.

    The momentum (or its Nesterov look-ahead) of each weight matrix is
    replaced by an approximation of the nearest semi-orthogonal matrix,
    ``U V^T`` of its SVD ``U S V^T``, computed by ``ns_steps`` iterations of
    a quintic Newton-Schulz polynomial. For 2-D parameters only: biases and
    other vectors need another optimizer (in a model,
    ``compile(optimizer={"weights": "muon", "biases": "adamw"})``).

    Update (as implemented; PyTorch's algorithm)::

        B = lerp(B, g, 1 - momentum)                   (B = momentum B + (1 - momentum) g)
        U = lerp(g, B, momentum) if nesterov else B
        X = U / max(||U||, eps), transposed if it has more rows than columns
        ns_steps times:  G = X X^T;  X = a X + (b G + c G G) X
        p = p (1 - lr weight_decay)
        p = p - adjust(lr, A, B) X
        adjust: 'original' (None)  lr sqrt(max(1, A / B))
                'match_rms_adamw'  0.2 lr sqrt(max(A, B))

    ``(A, B)`` is the matrix's (outputs, inputs): the parameter's shape with
    ``matrix_layout="out_in"`` (torch.nn.Linear's weights, and arrays given
    to ``step``), its transpose with ``"in_out"``, which a model's
    ``compile`` sets for its Dense kernels (stored inputs x units). Every
    product is in the parameters' dtype: PyTorch casts the matrix to
    bfloat16 for the iteration, so results agree with ``torch.optim.Muon``
    to bfloat16's precision (about 1e-2 relative), and exactly with it when
    that cast is left out.

    Args:
        params: 2-D arrays or parameter groups of them (see :class:`Optimizer`).
        lr: learning rate ``>= 0`` (default 1e-3).
        weight_decay: decoupled weight decay ``>= 0`` (default 0.1).
        momentum: ``>= 0`` (default 0.95).
        nesterov: use the Nesterov look-ahead (default True).
        ns_coefficients: ``(a, b, c)`` (default ``(3.4445, -4.7750, 2.0315)``).
        eps: ``>= 0`` (default 1e-7).
        ns_steps: iterations in ``[0, 99]`` (default 5).
        adjust_lr_fn: ``None``, ``"original"`` or ``"match_rms_adamw"``.
        matrix_layout: ``"out_in"`` (default) or ``"in_out"``.

    State: ``momentum_buffer``.
    """

    spec = MUON_SPEC
