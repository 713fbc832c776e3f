"""Muon's CUDA twin: :func:`numbagrad.optim.muon.muon_update` on device arrays.

The momentum and the Nesterov look-ahead element by element; the
Newton-Schulz iteration as tiled matrix products
(:func:`numbagrad.kernels.cuda.tensors.matmul`) on scratch matrices kept
between steps; the step element by element. The arithmetic is the CPU
kernel's; the products sum in a different order than BLAS, so float32
results agree with the CPU's to rounding.
"""

from __future__ import annotations

import math

from numbagrad import config
from numbagrad.kernels import rules
from numbagrad.kernels.cuda.context import cuda
from numbagrad.kernels.cuda.tensors import launch_matmul, scratch, sum_of_squares, sum_threads
from numbagrad.kernels.cuda.update import launch_configuration

__all__ = ["muon_update"]

lerp = cuda.jit(device=True)(rules.lerp)


@cuda.jit
def _momentum(grad, buf, update, hyper):
    """``buf = lerp(buf, g, 1 - momentum)``; ``update`` = the look-ahead or ``buf``."""
    T = buf.dtype.type
    momentum = hyper[2]
    weight = T(1.0 - momentum)
    one_minus_weight = T(1.0) - weight
    nesterov_weight = T(momentum)
    nesterov_complement = T(1.0) - nesterov_weight
    for i in range(cuda.grid(1), grad.size, cuda.gridsize(1)):
        b = lerp(buf[i], grad[i], weight, one_minus_weight)
        buf[i] = b
        update[i] = lerp(grad[i], b, nesterov_weight, nesterov_complement) if hyper[3] != 0.0 else b


@cuda.jit
def _normalize(update, x, rows, cols, tall, norm, hyper):
    """``x = U / max(||U||, eps)``, transposed when ``tall``."""
    T = x.dtype.type
    scale = max(T(math.sqrt(norm[0])), T(hyper[7]))
    for i in range(cuda.grid(1), update.size, cuda.gridsize(1)):
        r, c = i // cols, i % cols
        if tall:
            x[c, r] = update[i] / scale
        else:
            x[r, c] = update[i] / scale


@cuda.jit
def _combine(out, first, second, first_index, hyper):
    """``out = h[first_index] first + second`` (``b G + c G G`` with c folded: see ``muon_update``)."""
    T = out.dtype.type
    coefficient = T(hyper[first_index])
    for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        r, c = i // out.shape[1], i % out.shape[1]
        out[r, c] = coefficient * first[r, c] + second[r, c]


@cuda.jit
def _scale(values, index, hyper):
    T = values.dtype.type
    coefficient = T(hyper[index])
    for i in range(cuda.grid(1), values.size, cuda.gridsize(1)):
        r, c = i // values.shape[1], i % values.shape[1]
        values[r, c] = coefficient * values[r, c]


@cuda.jit(device=True)
def _adjusted_lr(lr, mode, rows, cols):
    if mode <= 0:
        return lr * math.sqrt(max(1.0, rows / cols))
    return lr * (0.2 * math.sqrt(max(rows, cols)))


@cuda.jit
def _apply(param, x, rows, cols, tall, hyper):
    T = param.dtype.type
    lr, weight_decay = hyper[0], hyper[1]
    mode, layout = int(hyper[9]), int(hyper[10])
    adjusted = _adjusted_lr(lr, mode, cols, rows) if layout == 1 else _adjusted_lr(lr, mode, rows, cols)
    step_size = T(-adjusted)
    decay = T(1.0 - lr * weight_decay)
    for i in range(cuda.grid(1), param.size, cuda.gridsize(1)):
        r, c = i // cols, i % cols
        o = x[c, r] if tall else x[r, c]
        p = param[i] * decay
        param[i] = p + step_size * o


def muon_update(param, grad, state, hyper, step, shape, statistics, tensor, host_hyper):
    """One Muon step of one matrix in device memory (the tensor-wise CUDA contract).

    The kernels read the hyperparameters from the device vector ``hyper``;
    the number of Newton-Schulz iterations, which the host needs to launch
    them, from ``host_hyper``.
    """
    rows, cols = int(shape[0]), int(shape[1])
    n = param.size
    if n == 0:
        return
    dtype = param.dtype
    threads, max_blocks = config.CUDA_THREADS_PER_BLOCK, config.CUDA_MAX_BLOCKS
    blocks, _ = launch_configuration(n, threads, max_blocks)
    update = scratch("muon_update", (n,), dtype)
    _momentum[blocks, threads](grad, state[:n], update, hyper)
    norm = scratch("muon_norm", (1,), "float64")
    sum_of_squares[1, sum_threads()](update, norm, 0)
    tall = rows > cols
    m, k = (cols, rows) if tall else (rows, cols)
    x = scratch("muon_x", (m, k), dtype)
    _normalize[blocks, threads](update, x, rows, cols, tall, norm, hyper)
    gram = scratch("muon_gram", (m, m), dtype)
    square = scratch("muon_square", (m, m), dtype)
    product = scratch("muon_product", (m, k), dtype)
    gram_blocks, _ = launch_configuration(m * m, threads, max_blocks)
    for _ in range(int(host_hyper[8])):
        launch_matmul(x, x, gram, True)
        launch_matmul(gram, gram, square, False)
        _scale[gram_blocks, threads](square, 6, hyper)  # c G G
        _combine[gram_blocks, threads](square, gram, square, 5, hyper)  # b G + c G G
        launch_matmul(square, x, product, False)
        _combine[blocks, threads](x, x, product, 4, hyper)  # a X + (b G + c G G) X
    _apply[blocks, threads](param, x, rows, cols, tall, hyper)
