"""Matrix products inside compiled code, written straight into their output.

``np.dot`` in Numba allocates its result; a training step would then allocate
for every layer and batch. :func:`gemm` calls the same BLAS routine Numba's
``np.dot`` uses (SciPy's, through Numba's ``numba_xxgemm`` helper, resolved by
symbol so that callers stay cacheable) with BLAS's own ``alpha``, ``beta`` and
transpose arguments::

    c = alpha * op(a) @ op(b) + beta * c

on C-ordered (row-major) matrices: ``op(x)`` is ``x`` or ``x.T`` per
``transpose_a`` / ``transpose_b``. ``beta = 1`` accumulates, which is how the
dense layer adds its bias for free and how gradients accumulate.
"""

from __future__ import annotations

import numpy as np
from numba import types

from numbagrad.kernels.cpu.jit import inline

__all__ = ["gemm"]

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
    """``c = alpha * op(a) @ op(b) + beta * c`` for C-ordered 2-D arrays of one dtype.

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
        b.shape[1],
        a.ctypes,
        a.shape[1],
        scalars[1:].ctypes,
        c.ctypes,
        n,
    )
