"""Batch and layer normalization of a dense layer's pre-activation, forward and backward.

A normalized layer computes ``h = x @ W + b``, then

    x̂ = (h - μ) / sqrt(σ² + ε),    z = γ x̂ + β,    out = activation(z)

with ``μ, σ²`` the biased mean and variance of each column over the batch's
rows (batch normalization: ``torch.nn.BatchNorm1d`` in training mode) or of
each row over its columns (layer normalization: ``torch.nn.LayerNorm``), and
``γ, β`` one scale and shift per unit. Outside training, batch normalization
uses its running averages instead, updated at every training batch of ``n > 1``
rows with PyTorch's convention::

    running_mean = (1 - momentum) running_mean + momentum μ
    running_var  = (1 - momentum) running_var  + momentum σ² n / (n - 1)

(a one-row batch normalizes to ``β`` and leaves them as they are). The
backward pass, with ``g = γ dL/dz``::

    dL/dγ = Σ dL/dz x̂,   dL/dβ = Σ dL/dz,   dL/dh = (g - mean(g) - x̂ mean(g x̂)) / sqrt(σ² + ε)

the sums over rows and the means over the normalized axis.

A layer's row of the ``norms`` table (float64) is ``[kind, gamma, beta,
statistics, epsilon, momentum]``: :data:`BATCH` or :data:`LAYER` (or
:data:`NONE`), the offsets of ``γ`` and ``β`` in the parameter buffer, the
offset of ``[running_mean, running_var]`` (batch normalization; -1 for layer
normalization), ε and the momentum. The statistics live in the parameter
buffer too, outside every tensor the optimizers are bound to, so that
restoring, checkpointing and broadcasting the buffer carries them; their
gradient stays 0. ``moments`` is the workspace region of the batch's ``μ``,
``1 / sqrt(σ² + ε)`` and (batch normalization) ``σ²``, one per column, or
``μ`` and ``1 / sqrt(σ² + ε)`` per row; ``normalized`` the batch's ``x̂``.

Each pass is compiled on its own and called by the network's passes as an
on-demand outlined kernel (:mod:`numbagrad.kernels.cpu.outline`): compiled
only in a process whose model normalizes, never into the epoch's loop.
"""

from __future__ import annotations

import math

from numbagrad.kernels.cpu.jit import FASTMATH, kernel

__all__ = [
    "NONE", "BATCH", "LAYER", "KIND", "GAMMA", "BETA", "STATISTICS", "EPSILON", "MOMENTUM", "normalize_forward", "normalize_backward",
    "update_running_averages",
]

NONE, BATCH, LAYER = 0, 1, 2
KIND, GAMMA, BETA, STATISTICS, EPSILON, MOMENTUM = range(6)


@kernel(fastmath=FASTMATH)
def _row_moments(row, units):
    """``(mean, biased variance)`` of ``row`` in float64, its sums re-associated (vectorized): the
    reductions along a row are otherwise one serial chain of additions."""
    total = 0.0
    for j in range(units):
        total += row[j]
    mean = total / units
    square = 0.0
    for j in range(units):
        d = row[j] - mean
        square += d * d
    return mean, square / units


@kernel(fastmath=FASTMATH)
def _row_means(g, gamma, hat, units):
    """``(mean(γ g), mean(γ g x̂))`` of a row in float64, re-associated as :func:`_row_moments`."""
    total = 0.0
    total_x = 0.0
    for j in range(units):
        scaled = gamma[j] * g[j]
        total += scaled
        total_x += scaled * hat[j]
    return total / units, total_x / units


@kernel
def normalize_forward(params, z, normalized, moments, norm, training):
    """``z`` (rows, units) holds ``h``; on return it holds ``γ x̂ + β``. In ``training``, the batch's
    ``x̂`` goes to ``normalized`` and its moments to ``moments`` (see :func:`update_running_averages`);
    outside training batch normalization uses its running averages and writes neither."""
    rows, units = z.shape
    kind = int(norm[KIND])
    gamma = params[int(norm[GAMMA]) : int(norm[GAMMA]) + units]
    beta = params[int(norm[BETA]) : int(norm[BETA]) + units]
    epsilon = norm[EPSILON]
    if kind == BATCH and not training:
        start = int(norm[STATISTICS])
        running_mean = params[start : start + units]
        running_var = params[start + units : start + 2 * units]
        for j in range(units):
            moments[j] = running_mean[j]
            moments[units + j] = gamma[j] / math.sqrt(float(running_var[j]) + epsilon)
        for i in range(rows):
            row = z[i]
            for j in range(units):
                row[j] = (row[j] - moments[j]) * moments[units + j] + beta[j]
        return
    if kind == BATCH:
        mean = moments[:units]
        inverse = moments[units : 2 * units]
        mean[:] = 0.0
        inverse[:] = 0.0
        for i in range(rows):
            row = z[i]
            for j in range(units):
                mean[j] += row[j]
        for j in range(units):
            mean[j] /= rows
        for i in range(rows):  # two passes: the variance of centred values, exact where the values are large
            row = z[i]
            for j in range(units):
                d = row[j] - mean[j]
                inverse[j] += d * d
        variance = moments[2 * units : 3 * units]
        for j in range(units):
            variance[j] = inverse[j] / rows
            inverse[j] = 1.0 / math.sqrt(variance[j] + epsilon)
        for i in range(rows):
            row = z[i]
            hat = normalized[i]
            for j in range(units):
                hat[j] = (row[j] - mean[j]) * inverse[j]
                row[j] = gamma[j] * hat[j] + beta[j]
        return
    # layer normalization: each row over its units, the same in training and inference
    for i in range(rows):
        row = z[i]
        mean, variance = _row_moments(row, units)
        inverse = 1.0 / math.sqrt(variance + epsilon)
        if training:
            moments[i] = mean
            moments[rows + i] = inverse
            hat = normalized[i]
            for j in range(units):
                hat[j] = (row[j] - mean) * inverse
                row[j] = gamma[j] * hat[j] + beta[j]
        else:
            for j in range(units):
                row[j] = gamma[j] * ((row[j] - mean) * inverse) + beta[j]


@kernel
def normalize_backward(params, grads, grad, normalized, moments, norm):
    """``grad`` (rows, units) holds dL/dz; on return it holds dL/dh, and dL/dγ and dL/dβ are written
    to ``grads`` (from the ``x̂`` and moments of the training forward pass)."""
    rows, units = grad.shape
    kind = int(norm[KIND])
    gamma = params[int(norm[GAMMA]) : int(norm[GAMMA]) + units]
    grad_gamma = grads[int(norm[GAMMA]) : int(norm[GAMMA]) + units]
    grad_beta = grads[int(norm[BETA]) : int(norm[BETA]) + units]
    grad_gamma[:] = 0.0
    grad_beta[:] = 0.0
    for i in range(rows):
        g = grad[i]
        hat = normalized[i]
        for j in range(units):
            grad_gamma[j] += g[j] * hat[j]
            grad_beta[j] += g[j]
    if kind == BATCH:
        inverse = moments[units : 2 * units]
        for i in range(rows):
            g = grad[i]
            hat = normalized[i]
            for j in range(units):
                # mean(γ dz) = γ dβ / n and mean(γ dz x̂) = γ dγ / n, per column
                g[j] = gamma[j] * inverse[j] * (g[j] - (grad_beta[j] + hat[j] * grad_gamma[j]) / rows)
        return
    for i in range(rows):
        g = grad[i]
        hat = normalized[i]
        inverse = moments[rows + i]
        mean_g, mean_gx = _row_means(g, gamma, hat, units)
        for j in range(units):
            g[j] = inverse * (gamma[j] * g[j] - mean_g - hat[j] * mean_gx)


@kernel
def update_running_averages(params, moments, norm, rows, units):
    """Batch normalization's running averages (of ``units`` each) moved towards the moments of the
    last training forward pass, of ``rows`` rows (none for a one-row batch, whose variance is undefined).

    Called once the step succeeded, so that a batch whose loss or update is not
    finite leaves them as they were, as it leaves the weights.
    """
    if int(norm[KIND]) != BATCH or rows < 2 or norm[STATISTICS] < 0:
        return
    start = int(norm[STATISTICS])
    momentum = norm[MOMENTUM]
    running_mean = params[start : start + units]
    running_var = params[start + units : start + 2 * units]
    unbiased = rows / (rows - 1.0)
    for j in range(units):
        running_mean[j] = (1.0 - momentum) * running_mean[j] + momentum * moments[j]
        running_var[j] = (1.0 - momentum) * running_var[j] + momentum * (moments[2 * units + j] * unbiased)
