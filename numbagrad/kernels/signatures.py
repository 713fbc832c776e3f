"""The typed contracts between compiled loops and the kernels they call.

A compiled function that takes another ``@njit`` function as a plain argument
is specialised on that function's identity, so it can never be loaded from
Numba's on-disk cache in a new process. Typing the argument as a
``numba.types.FunctionType`` of a fixed signature instead makes the caller one
cacheable function that calls whatever kernel it is given through a pointer:
built-in and plugin kernels alike, with no Python in between.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import types

__all__ = [
    "FLOAT_DTYPES",
    "numba_float",
    "update_signature",
    "tensor_update_signature",
    "cuda_update_signature",
    "PREPARE_SIGNATURE",
    "PREPARE_FUNCTION_TYPE",
    "activation_forward_signature",
    "activation_backward_signature",
    "loss_signature",
    "metric_signature",
    "weighted_metric_signature",
]

#: The parameter dtypes numbagrad computes in.
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

_NUMBA_FLOATS = {np.dtype(np.float32): types.float32, np.dtype(np.float64): types.float64}


def numba_float(dtype) -> types.Float:
    """The Numba scalar type of a float32 or float64 NumPy dtype."""
    return _NUMBA_FLOATS[np.dtype(dtype)]


@functools.cache
def _update_signature(dtype: np.dtype) -> types.Signature:
    element = numba_float(dtype)
    return types.void(
        element[::1],
        element[::1],
        element[:, ::1],
        types.float64[::1],
        types.int64,
        types.int64,
        types.int64,
    )


def update_signature(dtype) -> types.Signature:
    """Signature of an optimizer's update kernel for parameters of ``dtype``::

        update(param: T[::1], grad: T[::1], state: T[:, ::1],
               hyper: float64[::1], step: int64, start: int64, stop: int64) -> None

    The kernel updates ``param[start:stop]`` and ``state[:, start:stop]`` in
    place from ``grad[start:stop]``. ``state`` has one row per state slot,
    ``hyper`` holds the hyperparameters in declaration order (pairs such as
    ``betas`` take two entries) followed by the optimizer's scalar state, and
    ``step`` counts updates including this one (1 on the first).
    """
    return _update_signature(np.dtype(dtype))


@functools.cache
def _tensor_update_signature(dtype: np.dtype) -> types.Signature:
    element = numba_float(dtype)
    return types.void(
        element[::1],
        element[::1],
        element[::1],
        types.float64[::1],
        types.int64,
        types.int64[::1],
        types.float64[:, ::1],
        types.int64,
    )


def tensor_update_signature(dtype) -> types.Signature:
    """Signature of a tensor-wise optimizer's ``update`` (and ``reduce``) kernel::

        update(param: T[::1], grad: T[::1], state: T[::1], hyper: float64[::1],
               step: int64, shape: int64[::1], statistics: float64[:, ::1],
               tensor: int64) -> None

    Called once per step for each whole parameter tensor: ``param`` and
    ``grad`` are its elements in C order and ``shape`` its dimensions
    (``param.reshape((shape[0], shape[1]))`` is the matrix of a dense layer's
    weights). ``state`` holds the tensor's state slots one after another in
    declared order, each of the size its :class:`~numbagrad.optim.StateSlot`
    ``shape`` gives for this tensor. ``statistics`` has one row per tensor of
    the parameter group and the width the optimizer declares; ``tensor`` is
    this tensor's row. The ``reduce`` kernel, when declared, runs on every
    tensor of the group before any ``update`` and writes
    ``statistics[tensor]``; ``update`` may then read its own row (a per-tensor
    norm) or all of them (a group's). ``hyper`` and ``step`` are as for
    :func:`update_signature`. Tensors of a group may be updated on different
    threads at once: a kernel writes only its own tensor, state and row.
    """
    return _tensor_update_signature(np.dtype(dtype))


@functools.cache
def _cuda_update_signature(dtype: np.dtype) -> types.Signature:
    element = numba_float(dtype)
    return types.void(element[::1], element[::1], element[:, ::1], types.float64[::1], types.int64)


def cuda_update_signature(dtype) -> types.Signature:
    """Signature of an optimizer's ``@cuda.jit`` update kernel for parameters of ``dtype``::

        update(param: T[::1], grad: T[::1], state: T[:, ::1],
               hyper: float64[::1], step: int64) -> None

    The CUDA twin of :func:`update_signature`, over whole device arrays: it
    is launched once per array and step on a one-dimensional grid of any
    size, and each thread updates elements ``cuda.grid(1)``,
    ``cuda.grid(1) + cuda.gridsize(1)``, ... (a grid-stride loop). ``hyper``
    is a device copy of the host vector, taken after the optimizer's
    ``prepare`` ran on the host; see :mod:`numbagrad.kernels.cuda` for the
    whole contract.
    """
    return _cuda_update_signature(np.dtype(dtype))


#: Signature of an optimizer's once-per-step ``prepare(hyper, step)`` kernel,
#: which may update the scalar state stored at the end of ``hyper``.
PREPARE_SIGNATURE = types.void(types.float64[::1], types.int64)
PREPARE_FUNCTION_TYPE = types.FunctionType(PREPARE_SIGNATURE)


# --- layers, losses, metrics -----------------------------------------------
#
# (Learning-rate schedules have no kernel: they are evaluated in Python,
# vectorised over an epoch's steps, and the compiled loop receives the array.)
# Matrices are C-ordered (batch, features). ``params`` holds the component's
# hyperparameters encoded as for optimizers (declaration order, booleans as
# 0.0/1.0, pairs as two entries).


@functools.cache
def _activation_forward_signature(dtype: np.dtype) -> types.Signature:
    matrix = numba_float(dtype)[:, ::1]
    return types.void(matrix, matrix, types.float64[::1])


def activation_forward_signature(dtype) -> types.Signature:
    """``forward(z: T[:, ::1], out: T[:, ::1], params: float64[::1]) -> None``.

    Writes ``out = f(z)``; ``out`` may be ``z`` itself (in place). Row-wise
    activations (softmax) treat each row of ``z`` as one vector.
    """
    return _activation_forward_signature(np.dtype(dtype))


@functools.cache
def _activation_backward_signature(dtype: np.dtype) -> types.Signature:
    matrix = numba_float(dtype)[:, ::1]
    return types.void(matrix, matrix, matrix, matrix, types.float64[::1])


def activation_backward_signature(dtype) -> types.Signature:
    """``backward(z, out, grad_out, grad_in: T[:, ::1], params: float64[::1]) -> None``.

    Given the forward pass's input ``z`` and output ``out = f(z)``, writes the
    vector-Jacobian product ``grad_in = grad_out * f'(z)`` (row by row for
    row-wise activations). ``grad_in`` may be ``grad_out`` itself.
    """
    return _activation_backward_signature(np.dtype(dtype))


@functools.cache
def _loss_signature(dtype: np.dtype) -> types.Signature:
    matrix = numba_float(dtype)[:, ::1]
    return types.float64(matrix, matrix, matrix, types.float64[::1])


def loss_signature(dtype) -> types.Signature:
    """``loss(prediction, target, grad: T[:, ::1], params: float64[::1]) -> float64``.

    Returns the loss of the batch, averaged over its rows (each loss documents
    how it reduces the columns), and writes ``grad``, its gradient with
    respect to ``prediction`` (the mean's ``1 / rows`` included). ``target``
    has ``prediction``'s shape, except for integer class labels: one column
    of label values.
    """
    return _loss_signature(np.dtype(dtype))


@functools.cache
def _metric_signature(dtype: np.dtype) -> types.Signature:
    matrix = numba_float(dtype)[:, ::1]
    return types.void(matrix, matrix, types.float64[::1], types.float64[::1])


def metric_signature(dtype) -> types.Signature:
    """``update(prediction, target: T[:, ::1], totals: float64[::1], params: float64[::1]) -> None``.

    Adds one batch to the metric's running ``totals`` (sums, counts...), so
    that an epoch's value does not depend on how it was cut into batches;
    the metric's ``result(totals)`` turns them into the value.
    """
    return _metric_signature(np.dtype(dtype))


@functools.cache
def _weighted_metric_signature(dtype: np.dtype) -> types.Signature:
    matrix = numba_float(dtype)[:, ::1]
    return types.void(matrix, matrix, types.float64[::1], types.float64[::1], types.float64[::1])


def weighted_metric_signature(dtype) -> types.Signature:
    """``update(prediction, target: T[:, ::1], weights, totals, params: float64[::1]) -> None``.

    :func:`metric_signature` with row ``i`` of the batch counted ``weights[i]``
    times (``weights >= 0``, one per row): the kernel of a metric whose totals
    are not plain sums over rows (r2's running means, ROC AUC's records) and
    that is still weighted by ``sample_weight``.
    """
    return _weighted_metric_signature(np.dtype(dtype))
