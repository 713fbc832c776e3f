"""Matrix products inside compiled code, written straight into their output.

``np.dot`` in Numba allocates its result; a training step would then allocate
for every layer and batch. :func:`gemm` calls the same BLAS routine Numba's
``np.dot`` uses (SciPy's, through Numba's ``numba_xxgemm`` helper, resolved by
symbol so that callers stay cacheable) with BLAS's own ``alpha``, ``beta`` and
transpose arguments::

    c = alpha * op(a) @ op(b) + beta * c

on C-ordered (row-major) matrices: ``op(x)`` is ``x`` or ``x.T`` per
``transpose_a`` / ``transpose_b``. ``beta = 1`` accumulates, which is how the
dense layer adds its bias for free and how gradients accumulate. A product
with one row of ``c`` (a batch of one sample) calls BLAS's matrix-vector
routine instead (``numba_xxgemv``), and one with ``k = 1`` (that batch's
weight gradient, an outer product) is a plain loop: gemm took ten and three
times longer on them. Inference (``threads = 0``) keeps gemm for every
product (see :func:`block_product`).

:func:`parallel_gemm` splits the product into blocks of ``c``'s rows or
columns, one per thread of Numba's pool, each a single-threaded BLAS call
(see :mod:`numbagrad.threads` for why BLAS must then be limited to one
thread). Blocks are addressed by pointer arithmetic on the whole matrices
rather than by slicing them: one call site, one array layout, which keeps the
function quick to compile.
"""

from __future__ import annotations

import numpy as np
from numba import prange, types

from numbagrad.kernels.cpu.jit import inline, kernel, parallel_kernel
from numbagrad.kernels.cpu.outline import outlined
from numbagrad.kernels.pointers import address_as_pointer

__all__ = ["gemm", "parallel_gemm", "block_product", "PARALLEL_GEMM_WORK"]

#: Multiply-adds (m n k) below which a product is not worth splitting across threads:
#: waking the second thread, and waiting for it when other processes hold the
#: cores, costs more than it saves (a 64-64 layer at batch 32 is 131,072).
PARALLEL_GEMM_WORK = 1 << 20

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

# y = alpha op(A) x + beta y with column-major A (rows, columns, leading dimension) and unit strides.
_xxgemv = types.ExternalFunction(
    "numba_xxgemv",
    types.intc(
        types.char,  # kind
        types.char,  # trans
        types.intp,  # rows of A
        types.intp,  # columns of A
        types.voidptr,  # alpha
        types.voidptr,  # a
        types.intp,  # lda
        types.voidptr,  # x
        types.voidptr,  # beta
        types.voidptr,  # y
    ),
)

_NO_TRANSPOSE = 78  # 'N'
_TRANSPOSE = 84  # 'T'


@kernel
def block_product(scalars, a, a_offset, b, b_offset, c, c_offset, m, n, k, transpose_a, transpose_b, shortcuts):
    """BLAS on the (m, n) block of ``c`` starting ``c_offset`` elements in, from the
    blocks of ``a`` and ``b`` starting at their offsets; ``scalars`` = [alpha, beta].

    Row-major ``c = op(a) op(b)`` is column-major ``c^T = op(b)^T op(a)^T``: BLAS
    sees every matrix transposed, so the operands swap places. With ``shortcuts``,
    one row of ``c`` is a matrix-vector product and ``k = 1`` an outer product:
    faster, but rounded otherwise than gemm rounds that row among others (in
    float32, up to about 1e-6 relative), so inference leaves them off and a
    row predicted alone agrees with the same row predicted in a batch to
    gemm's own rounding, as scikit-learn's estimator checks require.
    """
    size = c.itemsize
    kind = 115 if size == 4 else 100
    if shortcuts and m == 1 and (not transpose_a or a.shape[1] == 1):
        # One row of c (a batch of one): a matrix-vector product, about ten times faster
        # than gemm's path for it (measured 8.6 us against 92 us for 784 x 256 in float32).
        # The row of op(a) is contiguous; row-major op(b) is column-major (n, k) when not
        # transposed (y = B x) and (k, n) when it is (y = B^T x).
        _xxgemv(
            kind,
            _TRANSPOSE if transpose_b else _NO_TRANSPOSE,
            k if transpose_b else n,
            n if transpose_b else k,
            scalars[0:].ctypes,
            address_as_pointer(b.ctypes.data + b_offset * size),
            b.shape[1],
            address_as_pointer(a.ctypes.data + a_offset * size),
            scalars[1:].ctypes,
            address_as_pointer(c.ctypes.data + c_offset * size),
        )
        return
    if shortcuts and k == 1:
        _outer(scalars[0], a, a_offset, b, b_offset, scalars[1], c, c_offset, m, n, transpose_a, transpose_b)
        return
    _xxgemm(
        kind,
        _TRANSPOSE if transpose_b else _NO_TRANSPOSE,
        _TRANSPOSE if transpose_a else _NO_TRANSPOSE,
        n,
        m,
        k,
        scalars[0:].ctypes,
        address_as_pointer(b.ctypes.data + b_offset * size),
        b.shape[1],
        address_as_pointer(a.ctypes.data + a_offset * size),
        a.shape[1],
        scalars[1:].ctypes,
        address_as_pointer(c.ctypes.data + c_offset * size),
        c.shape[1],
    )


@inline
def _outer(alpha, a, a_offset, b, b_offset, beta, c, c_offset, m, n, transpose_a, transpose_b):
    """``c = alpha op(a) op(b) + beta c`` for ``k = 1``: an outer product (a one-row batch's
    weight gradient), a loop LLVM vectorises; gemm takes three times longer on it. ``beta = 0``
    ignores what ``c`` held, as BLAS does."""
    flat_a = a.reshape(a.size)
    flat_b = b.reshape(b.size)
    flat_c = c.reshape(c.size)
    a_step = 1 if transpose_a else a.shape[1]
    b_step = b.shape[1] if transpose_b else 1
    width = c.shape[1]
    for i in range(m):
        left = alpha * flat_a[a_offset + i * a_step]
        row = c_offset + i * width
        if beta == 0:
            for j in range(n):
                flat_c[row + j] = left * flat_b[b_offset + j * b_step]
        else:
            for j in range(n):
                flat_c[row + j] = left * flat_b[b_offset + j * b_step] + beta * flat_c[row + j]


# Called as its own compiled code (see numbagrad.kernels.cpu.outline) from gemm and from each
# block of parallel_gemm's loop, whichever constants a call site passes.
_block_product = outlined(block_product)


@inline
def _scale(c, beta):
    for i in range(c.shape[0]):
        row = c[i]
        for j in range(c.shape[1]):
            row[j] = beta * row[j] if beta != 0 else 0


@inline
def gemm(alpha, a, b, beta, c, transpose_a, transpose_b, shortcuts=True):
    """``c = alpha * op(a) @ op(b) + beta * c`` for C-ordered 2-D arrays of one dtype.

    Shapes are the caller's responsibility: op(a) is (m, k), op(b) is (k, n)
    and c is (m, n). With m, n or k zero BLAS is not called (it rejects a
    leading dimension of 0); ``c`` is then only scaled by ``beta``.
    """
    m = c.shape[0]
    n = c.shape[1]
    k = a.shape[0] if transpose_a else a.shape[1]
    if m == 0 or n == 0:
        return
    if k == 0:
        _scale(c, beta)
        return
    scalars = np.empty(2, dtype=c.dtype)
    scalars[0] = alpha
    scalars[1] = beta
    _block_product(scalars, a, 0, b, 0, c, 0, m, n, k, transpose_a, transpose_b, shortcuts)


@parallel_kernel
def parallel_gemm(alpha, a, b, beta, c, transpose_a, transpose_b, threads):
    """:func:`gemm` split over ``threads`` threads (one call when ``threads`` is 1 or
    the product is small). ``threads = 0``: one call without the one-row and
    ``k = 1`` shortcuts, what inference uses.

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
        gemm(alpha, a, b, beta, c, transpose_a, transpose_b, threads > 0)
        return
    scalars = np.empty(2, dtype=c.dtype)
    scalars[0] = alpha
    scalars[1] = beta
    width = ((longest + threads - 1) // threads + 15) // 16 * 16
    blocks = (longest + width - 1) // width
    split_rows = m >= n
    for block in prange(blocks):
        start = block * width
        count = min(longest, start + width) - start
        if split_rows:
            # Rows start..start+count of op(a) and of c.
            a_offset = start if transpose_a else start * a.shape[1]
            _block_product(scalars, a, a_offset, b, 0, c, start * n, count, n, k, transpose_a, transpose_b, True)
        else:
            # Columns start..start+count of op(b) and of c.
            b_offset = start * b.shape[1] if transpose_b else start
            _block_product(scalars, a, 0, b, b_offset, c, start, m, count, k, transpose_a, transpose_b, True)
