"""Matrix products inside compiled code, written straight into their output.

``np.dot`` in Numba allocates its result; a training step would then allocate
for every layer and batch. :func:`gemm` calls the same BLAS routine Numba's
``np.dot`` uses (SciPy's, through Numba's ``numba_xxgemm`` helper, resolved by
symbol so that callers stay cacheable) with BLAS's own ``alpha``, ``beta`` and
transpose arguments::

    c = alpha * op(a) @ op(b) + beta * c

on row-major matrices (C-ordered, or column blocks of C-ordered matrices:
rows may be further apart than their length, elements must be adjacent):
``op(x)`` is ``x`` or ``x.T`` per ``transpose_a`` / ``transpose_b``.
``beta = 1`` accumulates, which is how the dense layer adds its bias for free
and how gradients accumulate.

:func:`parallel_gemm` splits the product into blocks of ``c``'s rows or
columns, one per thread of Numba's pool, each a single-threaded BLAS call (see
:mod:`numbagrad.threads` for why BLAS must then be limited to one thread).
"""

from __future__ import annotations

import numpy as np
from numba import prange, types

from numbagrad.kernels.cpu.jit import inline

__all__ = ["gemm", "parallel_gemm", "PARALLEL_GEMM_WORK"]

#: Multiply-adds (m n k) below which a product is not worth splitting across threads.
PARALLEL_GEMM_WORK = 1 << 17

# numba_xxgemm looks SciPy's BLAS up itself on its first call, so importing
# this module costs nothing.

_xxgemm = types.ExternalFunction(
    "numba_xxgemm",
    types.intc(
        types.char,  # kind: 's' float32, 'd' float64
        types.char,  # transa
        types.char,  # transb
        types.intp,  # m
        types.intp,  # n
        types.intp,  # k
        types.voidptr,  # alpha
        types.voidptr,  # a
        types.intp,  # lda
        types.voidptr,  # b
        types.intp,  # ldb
        types.voidptr,  # beta
        types.voidptr,  # c
        types.intp,  # ldc
    ),
)

_NO_TRANSPOSE = 78  # 'N'
_TRANSPOSE = 84  # 'T'


@inline
def gemm(alpha, a, b, beta, c, transpose_a, transpose_b):
    """``c = alpha * op(a) @ op(b) + beta * c`` for row-major 2-D arrays of one dtype.

    Shapes are the caller's responsibility: op(a) is (m, k), op(b) is (k, n)
    and c is (m, n). Nothing happens when m, n or k is 0 (BLAS would reject
    a leading dimension of 0), except that ``c`` is scaled by ``beta``.
    """
    m = c.shape[0]
    n = c.shape[1]
    k = a.shape[0] if transpose_a else a.shape[1]
    if m == 0 or n == 0:
        return
    if k == 0:
        for i in range(m):
            for j in range(n):
                c[i, j] = beta * c[i, j] if beta != 0 else 0
        return
    scalars = np.empty(2, dtype=c.dtype)
    scalars[0] = alpha
    scalars[1] = beta
    kind = 115 if c.itemsize == 4 else 100
    # Row-major c = op(a) op(b) is column-major c^T = op(b)^T op(a)^T: BLAS
    # sees every matrix transposed, so the operands swap places.
    _xxgemm(
        kind,
        _TRANSPOSE if transpose_b else _NO_TRANSPOSE,
        _TRANSPOSE if transpose_a else _NO_TRANSPOSE,
        n,
        m,
        k,
        scalars[0:].ctypes,
        b.ctypes,
        b.strides[0] // b.itemsize,
        a.ctypes,
        a.strides[0] // a.itemsize,
        scalars[1:].ctypes,
        c.ctypes,
        c.strides[0] // c.itemsize,
    )


@inline
def parallel_gemm(alpha, a, b, beta, c, transpose_a, transpose_b, threads):
    """:func:`gemm` split over ``threads`` threads (one call when ``threads`` is 1 or
    the product is small).

    The output is cut along its longer side, so that each thread's product
    keeps the wide shape BLAS computes fastest: measured on 2 cores for a
    784-256 layer at batch 32, splitting the forward product's 256 columns
    took 95 us against 163 us on one thread, and splitting the weight
    gradient's 784 rows 65 us against 111 us.
    """
    m = c.shape[0]
    n = c.shape[1]
    k = a.shape[0] if transpose_a else a.shape[1]
    longest = max(m, n)
    if threads <= 1 or m * n * k < PARALLEL_GEMM_WORK or longest < 2 * 16:
        gemm(alpha, a, b, beta, c, transpose_a, transpose_b)
        return
    width = ((longest + threads - 1) // threads + 15) // 16 * 16
    blocks = (longest + width - 1) // width
    split_rows = m >= n
    for block in prange(blocks):
        start = block * width
        stop = min(longest, start + width)
        if split_rows:
            if transpose_a:
                gemm(alpha, a[:, start:stop], b, beta, c[start:stop, :], True, transpose_b)
            else:
                gemm(alpha, a[start:stop, :], b, beta, c[start:stop, :], False, transpose_b)
        elif transpose_b:
            gemm(alpha, a, b[start:stop, :], beta, c[:, start:stop], transpose_a, True)
        else:
            gemm(alpha, a, b[:, start:stop], beta, c[:, start:stop], transpose_a, False)
