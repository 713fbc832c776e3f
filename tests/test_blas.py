"""The matrix products of the compiled loops (numbagrad.kernels.cpu.blas) against NumPy in float64:
every shape class (a one-row batch's matrix-vector products, the rank-one weight gradient, general
products), transpose, alpha and beta, whole and split over threads."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from numbagrad.kernels.cpu.blas import gemm, parallel_gemm

SHAPES = [
    (1, 784, 256),  # a one-row batch's forward product: gemv
    (1, 5, 3),
    (784, 1, 256),  # a one-row batch's weight gradient: an outer product
    (3, 1, 5),
    (1, 1, 7),
    (7, 1, 1),
    (1, 3, 1),
    (4, 6, 5),
    (1, 1000, 2000),  # split over threads along the columns, each block a gemv
    (2000, 1, 1000),  # split along the rows, each block an outer product
    (1000, 1, 2000),
    (1, 2000, 1000),
    (300, 40, 200),
]


@pytest.mark.parametrize("m, k, n", SHAPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("split, shortcuts", [(False, True), (False, False), (True, True)])
def test_products_match_numpy(m, k, n, dtype, split, shortcuts):
    rng = np.random.default_rng(m * 7 + k * 3 + n)
    tolerance = 1e-12 if dtype == np.float64 else 2e-5
    for transpose_a, transpose_b, beta, alpha in itertools.product((False, True), (False, True), (0.0, 1.0, 0.5), (1.0, -2.0)):
        a = rng.normal(size=(k, m) if transpose_a else (m, k)).astype(dtype)
        b = rng.normal(size=(n, k) if transpose_b else (k, n)).astype(dtype)
        before = rng.normal(size=(m, n)).astype(dtype)
        expected = alpha * ((a.T if transpose_a else a).astype(np.float64) @ (b.T if transpose_b else b).astype(np.float64))
        expected += beta * before
        c = before.copy()
        if beta == 0:
            c[...] = np.nan  # beta = 0 ignores what c held, as BLAS does
        if split:
            parallel_gemm(alpha, a, b, beta, c, transpose_a, transpose_b, 2)
        else:
            gemm(alpha, a, b, beta, c, transpose_a, transpose_b, shortcuts)
        scale = np.abs(expected).max()
        np.testing.assert_allclose(c, expected, rtol=0, atol=tolerance * scale,
                                   err_msg=f"transpose_a={transpose_a} transpose_b={transpose_b} beta={beta} alpha={alpha}")


def test_a_split_product_is_the_same_on_any_number_of_threads():
    """The blocks are fixed by the count of parts, not by the threads that run them."""
    import numba

    rng = np.random.default_rng(0)
    a = rng.normal(size=(64, 256)).astype(np.float32)
    b = rng.normal(size=(256, 512)).astype(np.float32)
    results = []
    before = numba.get_num_threads()
    try:
        for threads in sorted({1, before}):
            numba.set_num_threads(threads)
            c = np.zeros((64, 512), np.float32)
            parallel_gemm(1.0, a, b, 0.0, c, False, False, 4)
            results.append(c)
    finally:
        numba.set_num_threads(before)
    for c in results:
        np.testing.assert_array_equal(c, results[0])
