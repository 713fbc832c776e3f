"""Adafactor's CUDA twin: :func:`numbagrad.optim.adafactor.adafactor_update` on device arrays.

Four launches per tensor, in order on the default stream: the parameter's
sum of squares; the running means of the squared gradient (one thread per
row and per column of each matrix, or per element of a vector); the update's
sum of squares and each matrix's mean row statistic (one block, a fixed
order); the step, element by element. The arithmetic is the CPU kernel's,
operation by operation.
"""

from __future__ import annotations

import math

import numpy as np
from numba import float64

from numbagrad import config
from numbagrad.kernels import rules
from numbagrad.kernels.cuda.context import cuda
from numbagrad.kernels.cuda.reduction import MAX_THREADS, block_sum
from numbagrad.kernels.cuda.tensors import scratch, sum_of_squares, sum_threads
from numbagrad.kernels.cuda.update import launch_configuration

__all__ = ["adafactor_update"]

lerp = cuda.jit(device=True)(rules.lerp)


@cuda.jit(device=True)
def _weights(hyper, step, like):
    T = like.dtype.type
    weight = T(float(step) ** hyper[1])
    return weight, T(1.0) - weight


@cuda.jit(device=True)
def _sign(hyper):
    return -1.0 if hyper[6] != 0.0 else 1.0


@cuda.jit(device=True)
def _floor(hyper, machine_eps):
    eps1 = hyper[2]
    if math.isnan(eps1):
        eps1 = machine_eps
    return eps1


@cuda.jit
def _factored_moments(grad, state, hyper, step, batch, rows, cols):
    """``row_var`` (thread per row) and ``col_var`` (thread per column) of each matrix."""
    T = state.dtype.type
    weight, one_minus_weight = _weights(hyper, step, state)
    i = cuda.grid(1)
    if i < batch * rows:
        b, r = i // rows, i % rows
        total = 0.0
        for c in range(cols):
            g = float(grad[(b * rows + r) * cols + c])
            total += g * g
        mean = T(math.sqrt(total))
        state[i] = lerp(state[i], mean * mean / T(cols), weight, one_minus_weight)
    elif i < batch * rows + batch * cols:
        j = i - batch * rows
        b, c = j // cols, j % cols
        total = 0.0
        for r in range(rows):
            g = float(grad[(b * rows + r) * cols + c])
            total += g * g
        mean = T(math.sqrt(total))
        state[i] = lerp(state[i], mean * mean / T(rows), weight, one_minus_weight)


@cuda.jit
def _vector_moment(grad, state, hyper, step):
    T = state.dtype.type
    sign = _sign(hyper)
    weight, one_minus_weight = _weights(hyper, step, state)
    for i in range(cuda.grid(1), grad.size, cuda.gridsize(1)):
        g = T(sign) * grad[i]
        state[i] = lerp(state[i], g * g, weight, one_minus_weight)


@cuda.jit(device=True)
def _factored_update(grad, state, batch, rows, cols, b, r, c, scale, floor, sign):
    T = state.dtype.type
    v = max(state[b * rows + r] * state[batch * rows + b * cols + c] / scale, floor)
    return T(1.0) / T(math.sqrt(v)) * (T(sign) * grad[(b * rows + r) * cols + c])


@cuda.jit
def _update_norm(grad, state, hyper, batch, rows, cols, machine_eps, statistics, tensor, scales):
    """One block: each matrix's ``max(mean(row_var), eps1)`` into ``scales``, the update's sum of
    squares into ``statistics[tensor, 1]`` (a vector's when ``rows == 0``)."""
    shared = cuda.shared.array(MAX_THREADS, float64)
    T = state.dtype.type
    sign = _sign(hyper)
    eps1 = _floor(hyper, machine_eps)
    floor = T(eps1 * eps1)
    total = 0.0
    if rows == 0:
        for i in range(cuda.threadIdx.x, grad.size, cuda.blockDim.x):
            g = T(sign) * grad[i]
            u = T(1.0) / T(math.sqrt(max(state[i], floor))) * g
            total += float(u) * float(u)
    else:
        for b in range(batch):
            row_total = 0.0
            for r in range(cuda.threadIdx.x, rows, cuda.blockDim.x):
                row_total += float(state[b * rows + r])
            row_total = block_sum(row_total, shared)
            scale = max(T(row_total / rows), T(eps1))
            if cuda.threadIdx.x == 0:
                scales[b] = scale
            for k in range(cuda.threadIdx.x, rows * cols, cuda.blockDim.x):
                u = _factored_update(grad, state, batch, rows, cols, b, k // cols, k % cols, scale, floor, sign)
                total += float(u) * float(u)
    total = block_sum(total, shared)
    if cuda.threadIdx.x == 0:
        statistics[tensor, 1] = total


@cuda.jit
def _apply(param, grad, state, hyper, step, batch, rows, cols, machine_eps, statistics, tensor, scales):
    T = param.dtype.type
    sign = _sign(hyper)
    lr, eps2, d, weight_decay = hyper[0], hyper[3], hyper[4], hyper[5]
    eps1 = _floor(hyper, machine_eps)
    floor = T(eps1 * eps1)
    n = param.size
    t = float(step)
    rho_t = min(lr, 1.0 / t**0.5)
    alpha = max(eps2, float(T(math.sqrt(statistics[tensor, 0]))) / n**0.5) * rho_t
    denom = max(1.0, float(T(math.sqrt(statistics[tensor, 1]))) / (n**0.5 * d))
    step_size = T(-alpha / denom)
    decay = T(1.0 - lr * weight_decay)
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        p = param[i]
        if weight_decay != 0.0:
            p = p * decay
        if rows == 0:
            g = T(sign) * grad[i]
            u = T(1.0) / T(math.sqrt(max(state[i], floor))) * g
        else:
            b, k = i // (rows * cols), i % (rows * cols)
            u = _factored_update(grad, state, batch, rows, cols, b, k // cols, k % cols, T(scales[b]), floor, sign)
        param[i] = p + step_size * u


def adafactor_update(param, grad, state, hyper, step, shape, statistics, tensor, host_hyper):
    """One Adafactor step of one tensor in device memory (the tensor-wise CUDA contract)."""
    n = param.size
    if n == 0:
        return
    machine_eps = float(np.finfo(param.dtype).eps)
    rows = cols = 0
    batch = 1
    if len(shape) >= 2:
        rows, cols = int(shape[-2]), int(shape[-1])
        batch = n // (rows * cols)
    scales = scratch("adafactor_scales", (max(1, batch),), param.dtype)
    sum_of_squares[1, sum_threads()](param, statistics[tensor], 0)
    threads, max_blocks = config.CUDA_THREADS_PER_BLOCK, config.CUDA_MAX_BLOCKS
    if rows:
        count = batch * (rows + cols)
        _factored_moments[-(-count // threads), threads](grad, state, hyper, step, batch, rows, cols)
    else:
        blocks, _ = launch_configuration(n, threads, max_blocks)
        _vector_moment[blocks, threads](grad, state, hyper, step)
    _update_norm[1, sum_threads()](grad, state, hyper, batch, rows, cols, machine_eps, statistics, tensor, scales)
    blocks, _ = launch_configuration(n, threads, max_blocks)
    _apply[blocks, threads](param, grad, state, hyper, step, batch, rows, cols, machine_eps, statistics, tensor, scales)
