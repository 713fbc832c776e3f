"""Adafactor: Adam-like steps from a factored second moment, O(rows + columns) memory per matrix.

A tensor-wise optimizer: its kernel sees whole tensors with their shapes, to
keep one running mean of the squared gradient per row and one per column of
each matrix instead of one per element.
"""

from __future__ import annotations

import math

import numpy as np

from numbagrad.hyperparameters import Hyperparameter
from numbagrad.kernels.cpu.jit import kernel
from numbagrad.kernels.cpu.formulas import lerp
from numbagrad.optim.common import MAXIMIZE, lr
from numbagrad.optim.optimizer import Optimizer
from numbagrad.optim.spec import OptimizerSpec, StateSlot

__all__ = ["Adafactor", "ADAFACTOR_SPEC", "adafactor_update"]


def _row_shape(shape):
    return shape[:-1] + (1,) if len(shape) >= 2 else None


def _col_shape(shape):
    return shape[:-2] + (1, shape[-1]) if len(shape) >= 2 else None


def _variance_shape(shape):
    return shape if len(shape) < 2 else None


@kernel
def _sum_of_squares(values):
    """``sum(values ** 2)`` in float64, in four interleaved partial sums (independent additions pipeline)."""
    s0 = s1 = s2 = s3 = 0.0
    n = values.size
    full = n - n % 4
    for i in range(0, full, 4):
        a, b, c, d = float(values[i]), float(values[i + 1]), float(values[i + 2]), float(values[i + 3])
        s0 += a * a
        s1 += b * b
        s2 += c * c
        s3 += d * d
    for i in range(full, n):
        s0 += float(values[i]) * float(values[i])
    return (s0 + s1) + (s2 + s3)


@kernel
def _sum(values):
    total = 0.0
    for i in range(values.size):
        total += float(values[i])
    return total


@kernel
def _factored_row(u, g, r_var, c_var, scale, floor, sign):
    """One row of the update: ``u = g / sqrt(max(R C / scale, eps1^2))`` (no branch: LLVM vectorises it)."""
    one = u.dtype.type(1.0)
    for c in range(u.size):
        v = max(r_var * c_var[c] / scale, floor)
        u[c] = one / math.sqrt(v) * (sign * g[c])


@kernel
def adafactor_update(param, grad, state, hyper, step, shape, statistics, tensor):
    """One Adafactor step of one tensor (PyTorch's ``torch.optim.Adafactor``, operation by operation).

    ``hyper``: lr, beta2_decay, eps[0] (NaN: the dtype's machine epsilon),
    eps[1], d, weight_decay, maximize. For a tensor of 2 or more dimensions,
    viewed as ``batch`` matrices of ``rows x cols``, ``state`` holds
    ``row_var`` (batch x rows) then ``col_var`` (batch x cols); for a vector,
    ``variance``. Matrices are read row by row only: the update is computed
    one row at a time into a scratch row, once for its norm and once for the
    step, instead of into a scratch the size of the tensor.
    """
    T = param.dtype.type
    lr_, beta2_decay, eps1, eps2, d, weight_decay = hyper[0], hyper[1], hyper[2], hyper[3], hyper[4], hyper[5]
    maximize = hyper[6] != 0.0
    if math.isnan(eps1):
        eps1 = np.finfo(param.dtype).eps
    n = param.size
    t = float(step)
    one_minus_beta2_t = t**beta2_decay
    weight = T(one_minus_beta2_t)
    one_minus_weight = T(1.0) - weight
    rho_t = min(lr_, 1.0 / t**0.5)
    # The parameter's RMS, before weight decay; .item() of a norm in the parameters' dtype.
    norm = float(T(math.sqrt(_sum_of_squares(param))))
    alpha = max(eps2, norm / n**0.5) * rho_t
    decay = T(1.0 - lr_ * weight_decay)
    sign = T(-1.0) if maximize else T(1.0)
    floor = T(eps1 * eps1)
    if shape.size >= 2:
        cols = shape[shape.size - 1]
        rows = shape[shape.size - 2]
        batch = n // (rows * cols) if rows * cols > 0 else 0
        row_var = state[: batch * rows]
        col_var = state[batch * rows : batch * rows + batch * cols]
        g = grad.reshape((batch, rows, cols))
        p = param.reshape((batch, rows, cols))
        column_totals = np.empty(cols)
        u = np.empty(cols, dtype=param.dtype)
        for b in range(batch):
            column_totals[:] = 0.0
            for r in range(rows):
                row = g[b, r]
                for c in range(cols):
                    x = float(row[c])
                    column_totals[c] += x * x
                mean = T(math.sqrt(_sum_of_squares(row)))
                row_var[b * rows + r] = lerp(row_var[b * rows + r], mean * mean / T(cols), weight, one_minus_weight)
            for c in range(cols):
                mean = T(math.sqrt(column_totals[c]))
                col_var[b * cols + c] = lerp(col_var[b * cols + c], mean * mean / T(rows), weight, one_minus_weight)
        total = 0.0
        for b in range(batch):
            scale = max(T(_sum(row_var[b * rows : (b + 1) * rows]) / rows), T(eps1))
            for r in range(rows):
                _factored_row(u, g[b, r], row_var[b * rows + r], col_var[b * cols : (b + 1) * cols], scale, floor, sign)
                total += _sum_of_squares(u)
        denom = max(1.0, float(T(math.sqrt(total))) / (n**0.5 * d))
        step_size = T(-alpha / denom)
        for b in range(batch):
            scale = max(T(_sum(row_var[b * rows : (b + 1) * rows]) / rows), T(eps1))
            for r in range(rows):
                _factored_row(u, g[b, r], row_var[b * rows + r], col_var[b * cols : (b + 1) * cols], scale, floor, sign)
                target = p[b, r]
                if weight_decay != 0.0:
                    for c in range(cols):
                        target[c] = target[c] * decay
                for c in range(cols):
                    target[c] = target[c] + step_size * u[c]
        return
    variance = state[:n]
    one = T(1.0)
    u = np.empty(n, dtype=param.dtype)
    for i in range(n):
        gi = sign * grad[i]
        variance[i] = lerp(variance[i], gi * gi, weight, one_minus_weight)
    for i in range(n):
        u[i] = one / math.sqrt(max(variance[i], floor)) * (sign * grad[i])
    denom = max(1.0, float(T(math.sqrt(_sum_of_squares(u)))) / (n**0.5 * d))
    step_size = T(-alpha / denom)
    for i in range(n):
        p = param[i] * decay if weight_decay != 0.0 else param[i]
        param[i] = p + step_size * u[i]


def _check(values, owner):
    if values["eps"][1] is None:
        raise ValueError(f"{owner}: eps[1] must be a finite number >= 0 (only eps[0] may be None); got None")


ADAFACTOR_SPEC = OptimizerSpec(
    name="adafactor",
    title="Adafactor",
    tensorwise=True,
    check=_check,
    statistics=2,  # the CUDA twin's sums of squares: the parameter's and the update's
    update=adafactor_update,
    cuda_update="numbagrad.kernels.cuda.adafactor:adafactor_update",
    hyperparameters=(
        lr(1e-2),
        Hyperparameter("beta2_decay", -0.8, maximum=0.0, doc="decay of the second moment's averaging weight: (1 - beta2_t) = t ** beta2_decay"),
        Hyperparameter(
            "eps", (None, 1e-3), kind="pair", minimum=0.0, optional=True,
            doc="floor of the second moment (None: the dtype's machine epsilon) and of the parameter's RMS",
        ),
        Hyperparameter("d", 1.0, minimum=1.0, doc="clipping threshold of the update's RMS"),
        Hyperparameter("weight_decay", 0.0, minimum=0.0, doc="decoupled weight decay: shrinks the parameters by lr * weight_decay"),
        MAXIMIZE,
    ),
    state=(
        StateSlot("row_var", shape=_row_shape, minimum=0.0),
        StateSlot("col_var", shape=_col_shape, minimum=0.0),
        StateSlot("variance", shape=_variance_shape, minimum=0.0),
    ),
)


class Adafactor(Optimizer):
    r"""Adafactor (Shazeer and Stern, 2018), as ``torch.optim.Adafactor``.

    For a matrix ``G`` of gradients (the last two dimensions of a tensor of
    two or more; the leading ones are a batch of matrices), Adafactor keeps
    the running mean of ``G**2`` per row and per column, and estimates the
    second moment as their outer product divided by the mean of the rows':
    rows + columns numbers of state instead of rows x columns. A vector keeps
    the full running mean. The step's size follows the parameter's RMS and a
    relative step ``rho_t = min(lr, 1 / sqrt(t))``; the update is clipped to
    an RMS of at most ``d``.

    Update (as implemented; PyTorch's algorithm), step ``t``::

        g = -grad if maximize else grad
        beta2_t' = t ** beta2_decay                       (1 - beta2_t)
        rho_t = min(lr, 1 / sqrt(t))
        alpha = max(eps[1], ||p|| / sqrt(numel)) * rho_t
        p = p * (1 - lr * weight_decay)
        matrices:  R = lerp(R, mean(g**2, columns), beta2_t')        (row_var)
                   C = lerp(C, mean(g**2, rows), beta2_t')           (col_var)
                   v = R C / max(mean(R), eps[0])
        vectors:   v = lerp(v, g**2, beta2_t')                        (variance)
        u = g / sqrt(max(v, eps[0]**2))
        p = p - alpha / max(1, RMS(u) / d) * u

    Args:
        params: arrays or parameter groups (see :class:`Optimizer`).
        lr: the largest relative step ``>= 0`` (default 1e-2).
        beta2_decay: ``<= 0`` (default -0.8).
        eps: ``(eps1, eps2)``: the second moment's floor (``None``, the
            default: the dtype's machine epsilon) and the RMS floor of the
            parameters (default 1e-3).
        d: clipping threshold ``>= 1`` of the update's RMS (default 1).
        weight_decay: decoupled weight decay ``>= 0`` (default 0).
        maximize: maximize the objective instead.

    State: ``row_var`` (shape ``(..., rows, 1)``) and ``col_var``
    (``(..., 1, cols)``) for tensors of two or more dimensions, ``variance``
    for vectors; PyTorch's names and shapes.
    """

    spec = ADAFACTOR_SPEC
