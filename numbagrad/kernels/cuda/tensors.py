"""Building blocks of the tensor-wise optimizers' CUDA twins: sums, matrix products, scratch memory.

A tensor-wise optimizer's ``cuda_update`` is a host function that launches
kernels on one whole tensor, all on the default stream, so that each reads
what the previous one wrote and the host never waits. Sums here run in one
block with a fixed order (:func:`numbagrad.kernels.cuda.reduction.block_sum`),
so that a replayed step gives the same bits, as the fit loop's roll-back
requires.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import float64

from numbagrad.kernels.cuda.context import cuda
from numbagrad.kernels.cuda.reduction import MAX_THREADS, block_sum

__all__ = ["sum_threads", "scratch", "sum_of_squares", "matmul", "launch_matmul", "TILE"]


def sum_threads() -> int:
    """Threads of the one block that computes a sum: ``config.CUDA_THREADS_PER_BLOCK``, at most 1024."""
    from numbagrad import config

    return max(1, min(MAX_THREADS, int(config.CUDA_THREADS_PER_BLOCK)))

#: Side of the square tiles of :func:`matmul`.
TILE = 16

_SCRATCH: dict[tuple, Any] = {}


def scratch(name: str, shape: tuple[int, ...], dtype) -> Any:
    """A device array kept for reuse across steps (kernels on one stream never overlap in time)."""
    from numba import cuda as real_cuda

    key = (name, tuple(shape), np.dtype(dtype).str)
    array = _SCRATCH.get(key)
    if array is None:
        array = _SCRATCH[key] = real_cuda.device_array(shape, dtype=dtype)
    return array


@cuda.jit
def sum_of_squares(values, out, index):
    """``out[index] = sum(values ** 2)`` in float64, in one block (launch ``[1, sum_threads()]``)."""
    shared = cuda.shared.array(MAX_THREADS, float64)
    total = 0.0
    for i in range(cuda.threadIdx.x, values.size, cuda.blockDim.x):
        total += float(values[i]) * float(values[i])
    total = block_sum(total, shared)
    if cuda.threadIdx.x == 0:
        out[index] = total


@cuda.jit
def matmul(a, b, out, transpose_b):
    """``out = a @ b`` (``a @ b.T`` when ``transpose_b``) for C-ordered matrices, in 16 x 16 tiles.

    Launch on a two-dimensional grid of ``(ceil(cols / 16), ceil(rows / 16))``
    blocks of 16 x 16 threads. Each element is summed in index order in the
    matrices' dtype.
    """
    tile_a = cuda.shared.array((16, 16), float64)
    tile_b = cuda.shared.array((16, 16), float64)
    tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
    row = cuda.blockIdx.y * 16 + ty
    col = cuda.blockIdx.x * 16 + tx
    inner = a.shape[1]
    total = out.dtype.type(0.0)
    for start in range(0, inner, 16):
        k = start + tx
        tile_a[ty, tx] = a[row, k] if row < a.shape[0] and k < inner else 0.0
        k = start + ty
        if transpose_b:
            tile_b[ty, tx] = b[col, k] if col < b.shape[0] and k < inner else 0.0
        else:
            tile_b[ty, tx] = b[k, col] if col < b.shape[1] and k < inner else 0.0
        cuda.syncthreads()
        for j in range(min(16, inner - start)):
            total += out.dtype.type(tile_a[ty, j]) * out.dtype.type(tile_b[j, tx])
        cuda.syncthreads()
    if row < out.shape[0] and col < out.shape[1]:
        out[row, col] = total


def launch_matmul(a, b, out, transpose_b: bool) -> None:
    """:func:`matmul` on the grid that covers ``out``."""
    rows, cols = out.shape
    grid = (-(-cols // TILE), -(-rows // TILE))
    matmul[grid, (TILE, TILE)](a, b, out, transpose_b)
