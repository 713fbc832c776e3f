"""Batch and layer normalization on a CUDA GPU: the twins of :mod:`numbagrad.kernels.cpu.normalization`.

``z`` holds a layer's ``h = x @ W + b`` (the dense kernel run without its
activation) and becomes ``γ x̂ + β``; ``normalized`` keeps ``x̂`` and
``moments`` the batch's ``1 / sqrt(σ² + ε)`` (per column for batch
normalization, per row for layer normalization) for the backward pass.
Batch normalization takes one thread per column (its reductions run down
the rows, and neighbouring threads read neighbouring columns), layer
normalization one thread per row. The sums are in float64.

Unlike the CPU loop, which moves the running averages once a step has
succeeded, the GPU's training forward pass moves them: the GPU loop checks a
whole segment at its end and, when a batch was not finite, restores the
parameter buffer, running averages included, and replays the finite batches.
"""

from __future__ import annotations

import math

from numba import cuda

__all__ = [
    "batch_norm_forward", "batch_norm_inference", "batch_norm_backward", "layer_norm_forward", "layer_norm_scale_gradients",
    "layer_norm_backward",
]


@cuda.jit(device=True)
def _moments(z, k, along_rows):
    """``(mean, biased variance)`` in float64 of column ``k`` of ``z`` (``along_rows``) or of its row ``k``."""
    count = z.shape[0] if along_rows else z.shape[1]
    mean = 0.0
    for n in range(count):
        mean += z[n, k] if along_rows else z[k, n]
    mean /= count
    variance = 0.0
    for n in range(count):
        d = (z[n, k] if along_rows else z[k, n]) - mean
        variance += d * d
    return mean, variance / count


@cuda.jit(device=True)
def _scale_gradient(grad, normalized, j):
    """``(dL/dγ_j, dL/dβ_j) = (Σ_i g_ij x̂_ij, Σ_i g_ij)`` in float64."""
    sum_gx = 0.0
    sum_g = 0.0
    for i in range(grad.shape[0]):
        sum_gx += grad[i, j] * normalized[i, j]
        sum_g += grad[i, j]
    return sum_gx, sum_g


@cuda.jit
def batch_norm_forward(z, normalized, moments, gamma, beta, running, momentum, epsilon):
    """Training: each column of ``z`` normalized by its mean and biased variance over the rows; the
    running averages ``running = [mean (units), variance (units)]`` moved by ``momentum`` (the batch's
    variance unbiased; not for a one-row batch)."""
    rows, units = z.shape
    for j in range(cuda.grid(1), units, cuda.gridsize(1)):
        mean, variance = _moments(z, j, True)
        inverse = 1.0 / math.sqrt(variance + epsilon)
        moments[j] = inverse
        for i in range(rows):
            normalized[i, j] = (z[i, j] - mean) * inverse
            z[i, j] = gamma[j] * normalized[i, j] + beta[j]
        if rows > 1:
            running[j] = (1.0 - momentum) * running[j] + momentum * mean
            running[units + j] = (1.0 - momentum) * running[units + j] + momentum * (variance * rows / (rows - 1.0))


@cuda.jit
def batch_norm_inference(z, scale, gamma, beta, running, epsilon):
    """Outside training: ``z = (z - running_mean) * γ / sqrt(running_var + ε) + β``, one column per
    thread, the factor computed in float64 and rounded to the model's dtype (in ``scale``) as the CPU
    computes it."""
    rows, units = z.shape
    for j in range(cuda.grid(1), units, cuda.gridsize(1)):
        scale[j] = gamma[j] / math.sqrt(float(running[units + j]) + epsilon)
        for i in range(rows):
            z[i, j] = (z[i, j] - running[j]) * scale[j] + beta[j]


@cuda.jit
def batch_norm_backward(grad, normalized, moments, gamma, grad_gamma, grad_beta):
    """dL/dz in ``grad`` to dL/dh, one column per thread; dL/dγ and dL/dβ written."""
    rows, units = grad.shape
    for j in range(cuda.grid(1), units, cuda.gridsize(1)):
        sum_gx, sum_g = _scale_gradient(grad, normalized, j)
        grad_gamma[j] = sum_gx
        grad_beta[j] = sum_g
        factor = gamma[j] * moments[j]
        for i in range(rows):
            grad[i, j] = factor * (grad[i, j] - (sum_g + normalized[i, j] * sum_gx) / rows)


@cuda.jit
def layer_norm_forward(z, normalized, moments, gamma, beta, epsilon, training):
    """Each row of ``z`` normalized over its units (in ``training`` its ``x̂`` and inverse deviation kept)."""
    rows, units = z.shape
    for i in range(cuda.grid(1), rows, cuda.gridsize(1)):
        mean, variance = _moments(z, i, False)
        inverse = 1.0 / math.sqrt(variance + epsilon)
        if training:
            moments[i] = inverse
        for j in range(units):
            if training:
                normalized[i, j] = (z[i, j] - mean) * inverse
                z[i, j] = gamma[j] * normalized[i, j] + beta[j]
            else:
                z[i, j] = gamma[j] * ((z[i, j] - mean) * inverse) + beta[j]


@cuda.jit
def layer_norm_scale_gradients(grad, normalized, grad_gamma, grad_beta):
    """dL/dγ and dL/dβ of a layer normalization, one column per thread (before :func:`layer_norm_backward`)."""
    for j in range(cuda.grid(1), grad.shape[1], cuda.gridsize(1)):
        grad_gamma[j], grad_beta[j] = _scale_gradient(grad, normalized, j)


@cuda.jit
def layer_norm_backward(grad, normalized, moments, gamma):
    """dL/dz in ``grad`` to dL/dh of a layer normalization, one row per thread."""
    rows, units = grad.shape
    for i in range(cuda.grid(1), rows, cuda.gridsize(1)):
        mean_g = 0.0
        mean_gx = 0.0
        for j in range(units):
            scaled = gamma[j] * grad[i, j]
            mean_g += scaled
            mean_gx += scaled * normalized[i, j]
        mean_g /= units
        mean_gx /= units
        for j in range(units):
            grad[i, j] = moments[i] * (gamma[j] * grad[i, j] - mean_g - normalized[i, j] * mean_gx)
