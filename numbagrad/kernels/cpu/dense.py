"""The dense layer's forward and backward passes, activation fused.

Shapes: ``x`` (batch, in), ``weight`` (in, out), ``bias`` (out,) or empty for a
layer without bias, ``z`` and ``out`` (batch, out). The activation arrives as
its kernel table (int64 ``[forward C, forward JIT, backward C, backward JIT]``
addresses, from ``ActivationSpec.kernel_table``) with its float64 parameters.
"""

from __future__ import annotations

from numbagrad.kernels.cpu import blas
from numbagrad.kernels.cpu.jit import inline, kernel
from numbagrad.kernels.cpu.outline import outlined
from numbagrad.kernels.pointers import activation_backward_function, activation_forward_function

__all__ = ["dense_forward", "dense_backward", "fill_rows", "add_column_sums", "weight_gradient"]

#: The parallel product, called as its own compiled code (see :mod:`numbagrad.kernels.cpu.outline`):
#: one compilation per dtype and layout serves every pass, whichever constants a call passes.
parallel_gemm = outlined(blas.parallel_gemm)


# Explicit loops throughout: Numba's slice assignments and in-place array
# operators are several times slower than these on small matrices.


@inline
def fill_rows(matrix, row):
    """Every row of ``matrix`` set to ``row``, or to zeros when ``row`` is empty."""
    columns = matrix.shape[1]
    if row.size == 0:
        for i in range(matrix.shape[0]):
            target = matrix[i]
            for j in range(columns):
                target[j] = 0
        return
    for i in range(matrix.shape[0]):
        target = matrix[i]
        for j in range(columns):
            target[j] = row[j]


@inline
def add_column_sums(total, matrix, accumulate):
    """``total = sum(matrix, axis=0)`` (``+=`` when ``accumulate``)."""
    columns = matrix.shape[1]
    if not accumulate:
        for j in range(columns):
            total[j] = 0
    for i in range(matrix.shape[0]):
        source = matrix[i]
        for j in range(columns):
            total[j] += source[j]


@inline
def dense_forward_pass(x, weight, bias, z, out, activation, activation_params, apply_activation, threads):
    """``z = x @ weight + bias``; ``out = f(z)`` when ``apply_activation``.

    The bias is written first and BLAS adds ``x @ weight`` to it (beta = 1),
    so adding the bias costs no pass of its own. The product is split over
    ``threads`` threads (see :func:`numbagrad.kernels.cpu.blas.parallel_gemm`).
    """
    fill_rows(z, bias)
    parallel_gemm(1.0, x, weight, 1.0, z, False, False, threads)
    if apply_activation:
        forward = activation_forward_function(z, activation[0], activation[1])
        forward(z, out, activation_params)


@inline
def weight_gradient(x, dz, grad_weight, accumulate, threads):
    """``grad_weight (+)= x.T @ dz``, split over ``threads`` threads."""
    parallel_gemm(1.0, x, dz, 1.0 if accumulate else 0.0, grad_weight, True, False, threads)


@inline
def dense_backward_pass(x, weight, z, out, grad_out, grad_weight, grad_bias, grad_x, activation, activation_params, apply_activation, accumulate, threads):
    """From ``grad_out`` = dL/d out: ``grad_out`` becomes dL/dz in place, then

    ``grad_weight (+)= x.T @ dz`` (skipped when empty), ``grad_bias (+)= sum(dz, axis=0)``
    (skipped when empty) and ``grad_x = dz @ weight.T`` (skipped when empty). With
    ``apply_activation`` false, ``grad_out`` already is dL/dz (a loss fused
    with the activation).
    """
    if apply_activation:
        backward = activation_backward_function(z, activation[2], activation[3])
        backward(z, out, grad_out, grad_out, activation_params)
    if grad_weight.size != 0:
        weight_gradient(x, grad_out, grad_weight, accumulate, threads)
    if grad_bias.size != 0:
        add_column_sums(grad_bias, grad_out, accumulate)
    if grad_x.size != 0:
        parallel_gemm(1.0, grad_out, weight, 0.0, grad_x, False, True, threads)


@kernel
def dense_forward(x, weight, bias, z, out, activation, activation_params):
    """Dense layer forward: ``z = x @ weight + bias``, ``out = activation(z)``.

    ``z`` keeps the pre-activation values for the backward pass; ``out`` may
    be ``z`` itself when they are not needed.
    """
    dense_forward_pass(x, weight, bias, z, out, activation, activation_params, True, 1)


@kernel
def dense_backward(x, weight, z, out, grad_out, grad_weight, grad_bias, grad_x, activation, activation_params, accumulate):
    """Dense layer backward from ``grad_out`` = dL/d out (overwritten with dL/dz)::

        dz = grad_out * activation'(z)      (vector-Jacobian product, row-wise for softmax)
        grad_weight = x.T @ dz              (+= when accumulate)
        grad_bias   = sum(dz, axis=0)       (+= when accumulate; skipped when empty)
        grad_x      = dz @ weight.T         (skipped when empty)
    """
    dense_backward_pass(x, weight, z, out, grad_out, grad_weight, grad_bias, grad_x, activation, activation_params, True, accumulate, 1)
