"""Deterministic sums across a CUDA block and across a whole grid.

Floating-point addition is not associative, so a sum whose order depends on
which thread or block finishes first (atomic additions) changes in its last
bits from run to run. Here every sum has a fixed order: each thread adds
its own terms in index order, a block adds its threads' values in a fixed
binary tree in shared memory (:func:`block_sum`), and :func:`grid_sum` adds
the blocks' values in block order, in the last block to finish. A training
step, replayed, then gives the same bits; numbagrad relies on that to roll a
segment back to its last finite step (see :mod:`numbagrad.train.cuda_loop`).

Blocks are one-dimensional with at most :data:`MAX_THREADS` threads; every
thread of the block must call these functions (they synchronise the block).
"""

from __future__ import annotations

from numba import float64, int32

from numbagrad.kernels.cuda.context import cuda

__all__ = ["MAX_THREADS", "block_sum", "grid_sum", "sum_partials"]

#: The most threads per block the shared buffers of these sums hold (CUDA's limit).
MAX_THREADS = 1024


@cuda.jit(device=True)
def block_sum(value, shared):
    """The sum of ``value`` over the block's threads, returned to every thread.

    ``shared`` is a float64 shared array of at least ``blockDim.x`` entries;
    it is free again on return. The tree pairs thread ``t`` with
    ``t + stride`` for strides that halve from the power of two below the
    block size, so any block size works and the order never changes.
    """
    t = cuda.threadIdx.x
    n = cuda.blockDim.x
    shared[t] = value
    cuda.syncthreads()
    stride = 1
    while stride < n:
        stride *= 2
    stride //= 2
    while stride > 0:
        if t < stride and t + stride < n:
            shared[t] += shared[t + stride]
        cuda.syncthreads()
        stride //= 2
    total = shared[0]
    cuda.syncthreads()
    return total


@cuda.jit(device=True)
def sum_partials(partials, count, shared):
    """``sum(partials[:count])`` in a fixed order, returned to every thread of one block."""
    value = 0.0
    for k in range(cuda.threadIdx.x, count, cuda.blockDim.x):
        value += partials[k]
    return block_sum(value, shared)


@cuda.jit(device=True)
def grid_sum(value, partials, counter, out, index):
    """Sum ``value`` over every thread of the grid into ``out[index]``.

    Each block writes its sum to ``partials[blockIdx.x]`` and takes a ticket
    from ``counter[0]`` (after a memory fence, so that the write is visible
    to the other blocks first); the block that draws the last ticket adds
    the partials in block order, writes ``out[index]`` and sets
    ``counter[0]`` back to 0 for the next launch. ``partials`` holds at
    least ``gridDim.x`` float64 values, ``counter`` is an int32 array whose
    first entry is 0 before the launch.
    """
    shared = cuda.shared.array(MAX_THREADS, float64)
    last = cuda.shared.array(1, int32)
    total = block_sum(value, shared)
    if cuda.threadIdx.x == 0:
        partials[cuda.blockIdx.x] = total
        cuda.threadfence()
        ticket = cuda.atomic.add(counter, 0, 1)
        last[0] = 1 if ticket == cuda.gridDim.x - 1 else 0
    cuda.syncthreads()
    if last[0] == 1:
        cuda.threadfence()
        result = sum_partials(partials, cuda.gridDim.x, shared)
        if cuda.threadIdx.x == 0:
            out[index] = result
            counter[0] = 0
