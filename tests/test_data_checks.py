"""numbagrad.data.first_non_finite: the check every input passes, in each layout and dtype."""

from __future__ import annotations

import numpy as np
import pytest

from numbagrad.data import first_non_finite


def _layouts(matrix):
    yield "C", np.ascontiguousarray(matrix)
    yield "F", np.asfortranarray(matrix)
    yield "strided", np.repeat(matrix, 2, axis=1)[:, ::2]
    frozen = np.array(matrix, order="C")
    frozen.setflags(write=False)  # as a read-only memory-mapped file arrives
    yield "read-only", frozen


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_first_non_finite_finds_the_first_bad_value_in_every_layout(dtype, bad):
    matrix = np.arange(60, dtype=np.float64).reshape(6, 10).astype(dtype)
    for name, array in _layouts(matrix):
        assert first_non_finite(array) is None, name
    matrix[4, 7] = bad
    matrix[5, 1] = bad
    for name, array in _layouts(matrix):
        (row, column), value = first_non_finite(array)
        assert (row, column) == (4, 7), name
        assert value == bad or (np.isnan(bad) and np.isnan(value)), name


def test_values_whose_sum_overflows_are_finite():
    matrix = np.full((4, 3), np.finfo(np.float32).max, dtype=np.float32)
    assert first_non_finite(matrix) is None
    assert first_non_finite(np.asfortranarray(matrix)) is None


def test_an_empty_matrix_has_no_bad_value():
    assert first_non_finite(np.empty((0, 3), np.float32)) is None
