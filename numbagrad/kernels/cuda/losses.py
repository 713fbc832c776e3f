"""CUDA loss kernels: the twins of :mod:`numbagrad.kernels.cpu.losses`, under the same names.

A loss's declaration names a device function that computes one row
(``LossSpec.cuda_kernel``, contract in :mod:`numbagrad.kernels.cuda`)::

    row(prediction, target, grad, params, i) -> float64

It writes ``grad[i, :]``, the gradient of the batch loss with respect to
row ``i`` of the prediction (the mean's ``1 / rows`` included, as on the
CPU), and returns row ``i``'s share of the batch loss: the batch loss is the
sum of the shares. numbagrad owns the rest: one thread per row (a
grid-stride loop), and a deterministic sum of the shares over the grid
(:func:`numbagrad.kernels.cuda.reduction.grid_sum`). :func:`loss_kernel`
builds that kernel for a row function::

    <name>_loss[blocks, threads](prediction, target, grad, params, partials, counter, result)

writes ``grad`` and ``result[0]``, the batch loss; ``partials`` (float64, one
entry per block) and ``counter`` (int32, ``[0]``) are scratch.
:func:`loss_value` launches it and returns the loss.

The built-in rows evaluate the formulas of :mod:`numbagrad.kernels.formulas`,
the CPU kernels' own: gradients agree with the CPU's bit for bit under the
simulator; loss values agree to the rounding of a differently ordered sum
(the CPU kernels sum with fast-math reassociation), about 1e-16 relative.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import cuda

from numbagrad import config
from numbagrad.device import is_cuda_array
from numbagrad.kernels.cuda.formulas import FORMULAS as F
from numbagrad.kernels.cuda.reduction import grid_sum
from numbagrad.kernels.cuda.update import launch_configuration

__all__ = [
    "row_function",
    "loss_kernel",
    "loss_value",
    "mae_row",
    "mse_row",
    "huber_row",
    "log_cosh_row",
    "msle_row",
    "binary_crossentropy_row",
    "categorical_crossentropy_row",
    "kl_divergence_row",
    "poisson_row",
    "hinge_row",
    "mae_loss",
    "mse_loss",
    "huber_loss",
    "log_cosh_loss",
    "msle_loss",
    "binary_crossentropy_loss",
    "categorical_crossentropy_loss",
    "kl_divergence_loss",
    "poisson_loss",
    "hinge_loss",
]


def row_function(coefficients, terms, mean_over_rows: bool):
    """The row device function of the contract from a formula's parts.

    ``terms(prediction, target, grad, c, i, 0.0)`` is row ``i``'s sum of
    terms; its share of the batch loss divides it by the rows (losses that
    sum each row's classes: ``mean_over_rows``) or multiplies it by
    ``1 / (rows columns)`` (losses averaged over every element), as the CPU
    kernels do with their whole sums.
    """
    if mean_over_rows:

        @cuda.jit(device=True)
        def row(prediction, target, grad, params, i):
            return terms(prediction, target, grad, coefficients(prediction, params), i, 0.0) / prediction.shape[0]

    else:

        @cuda.jit(device=True)
        def row(prediction, target, grad, params, i):
            return terms(prediction, target, grad, coefficients(prediction, params), i, 0.0) * F.element_scale(prediction)

    return row


mae_row = row_function(F.scale_coefficients, F.mae_terms, False)
mse_row = row_function(F.scale_coefficients, F.mse_terms, False)
huber_row = row_function(F.first_parameter_and_scale, F.huber_terms, False)
log_cosh_row = row_function(F.scale_coefficients, F.log_cosh_terms, False)
msle_row = row_function(F.first_parameter_and_scale, F.msle_terms, False)
poisson_row = row_function(F.first_parameter_and_scale, F.poisson_terms, False)
hinge_row = row_function(F.scale_coefficients, F.hinge_terms, False)
binary_crossentropy_row = row_function(F.binary_crossentropy_coefficients, F.binary_crossentropy_terms, False)
categorical_crossentropy_row = row_function(
    F.categorical_crossentropy_coefficients, F.categorical_crossentropy_terms, True
)
kl_divergence_row = row_function(F.first_parameter, F.kl_divergence_terms, True)


@functools.lru_cache(maxsize=None)
def loss_kernel(row, name: str = "loss"):
    """The kernel ``(prediction, target, grad, params, partials, counter, result)`` of a row function."""

    def kernel(prediction, target, grad, params, partials, counter, result):
        total = 0.0
        for i in range(cuda.grid(1), prediction.shape[0], cuda.gridsize(1)):
            total += row(prediction, target, grad, params, i)
        grid_sum(total, partials, counter, result, 0)

    kernel.__name__ = kernel.__qualname__ = name
    return cuda.jit(kernel)


def loss_value(kernel, prediction, target, grad, params) -> float:
    """Launch a :func:`loss_kernel` on device arrays and return the batch loss (waits for the GPU).

    ``params`` may be a host float64 array; it is copied. The launch uses
    :data:`numbagrad.config.CUDA_THREADS_PER_BLOCK` and
    :data:`~numbagrad.config.CUDA_MAX_BLOCKS`.
    """
    blocks, threads = launch_configuration(prediction.shape[0], config.CUDA_THREADS_PER_BLOCK, config.CUDA_MAX_BLOCKS)
    partials = cuda.device_array(blocks, dtype=np.float64)
    counter = cuda.to_device(np.zeros(1, dtype=np.int32))
    result = cuda.to_device(np.full(1, np.nan))
    device_params = params if is_cuda_array(params) else cuda.to_device(np.ascontiguousarray(params, dtype=np.float64))
    kernel[blocks, threads](prediction, target, grad, device_params, partials, counter, result)
    return float(result.copy_to_host()[0])


mae_loss = loss_kernel(mae_row, "mae_loss")
mse_loss = loss_kernel(mse_row, "mse_loss")
huber_loss = loss_kernel(huber_row, "huber_loss")
log_cosh_loss = loss_kernel(log_cosh_row, "log_cosh_loss")
msle_loss = loss_kernel(msle_row, "msle_loss")
binary_crossentropy_loss = loss_kernel(binary_crossentropy_row, "binary_crossentropy_loss")
categorical_crossentropy_loss = loss_kernel(categorical_crossentropy_row, "categorical_crossentropy_loss")
kl_divergence_loss = loss_kernel(kl_divergence_row, "kl_divergence_loss")
poisson_loss = loss_kernel(poisson_row, "poisson_loss")
hinge_loss = loss_kernel(hinge_row, "hinge_loss")
