"""Checking and converting the inputs users pass to a model (targets: :mod:`numbagrad.targets`).

Every check runs before anything changes and names the argument and the
offending value, so that a mistake never surfaces as a Numba typing error.
"""

from __future__ import annotations

import mmap
from typing import Any

import numpy as np

from numbagrad.kernels.cpu.update import nonfinite

__all__ = ["as_inputs", "first_where", "first_non_finite", "cast_finite", "memory_mapped", "compiled_view"]

#: Elements examined at a time: checks never allocate a temporary as large as the data.
CHUNK = 1 << 16

#: The dtypes :func:`first_non_finite` checks in compiled code.
_COMPILED_CHECK = (np.dtype(np.float32), np.dtype(np.float64))


def first_where(matrix: np.ndarray, predicate) -> tuple[tuple[int, int], float] | None:
    """``((row, column), value)`` of the first element of a 2-D array where
    ``predicate`` (applied to float64 chunks of rows) holds, or None."""
    rows_per_chunk = max(1, CHUNK // max(1, matrix.shape[1]))
    for start in range(0, matrix.shape[0], rows_per_chunk):
        chunk = matrix[start : start + rows_per_chunk].astype(np.float64, copy=False)
        mask = predicate(chunk)
        if mask.any():
            row, column = (int(i) for i in np.argwhere(mask)[0])
            return (start + row, column), float(chunk[row, column])
    return None


def first_non_finite(matrix: np.ndarray) -> tuple[tuple[int, int], float] | None:
    """The first NaN or infinity of a 2-D float array, or None.

    One pass over the array finds out that there is none; only when it finds
    one is the array searched for the first. A contiguous float32 or float64
    array is read by a compiled loop at the memory's speed (3.1 ms for
    32,768 x 784 float32, where NumPy's float64 sum took 13.9 ms, a tenth of
    an epoch at batch 256); others are summed in float64 (an overflow of the
    sum only costs the search).
    """
    if matrix.dtype in _COMPILED_CHECK and (matrix.flags.c_contiguous or matrix.flags.f_contiguous):
        if not nonfinite(matrix.ravel(order="K")):
            return None
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            if np.isfinite(matrix.sum(dtype=np.float64)):
                return None
    return first_where(matrix, lambda chunk: ~np.isfinite(chunk))


def cast_finite(array: np.ndarray, dtype: Any) -> tuple[np.ndarray, tuple[tuple[int, int], float] | None]:
    """``array`` (2-D, every value finite) as a C-contiguous array of ``dtype``, and the
    first value too large for ``dtype`` (``((row, column), value)``, which the cast made
    infinite), or None. Only a cast to a narrower float (float64 to float32) can overflow."""
    with np.errstate(over="ignore"):
        converted = np.ascontiguousarray(array, dtype=dtype)
    if array.dtype.kind != "f" or converted.dtype.itemsize >= array.dtype.itemsize:
        return converted, None
    found = first_non_finite(converted)
    if found is None:
        return converted, None
    (row, column), _ = found
    return converted, ((row, column), float(array[row, column]))


def memory_mapped(array: np.ndarray) -> bool:
    """Whether ``array`` is (a view of) a memory-mapped file, such as ``np.load(path, mmap_mode="r")``."""
    node = array
    while node is not None:
        if isinstance(node, mmap.mmap):
            return True
        node = getattr(node, "base", None)
    return False


class _SharedMemory:
    """The memory of ``array`` under NumPy's array interface, flagged writeable; holding
    ``array`` keeps that memory (a file mapping, say) alive as long as any view of it."""

    def __init__(self, array: np.ndarray):
        self.array = array
        interface = dict(array.__array_interface__)
        interface["data"] = (interface["data"][0], False)
        self.__array_interface__ = interface


def compiled_view(array: np.ndarray) -> np.ndarray:
    """``array`` itself, as an array the compiled loops take: flagged writeable, sharing its memory.

    Numba types a read-only array apart from a writeable one, so passing one
    (a read-only memory map, joblib's, a frozen array) would compile every
    compiled loop a second time; copying it instead would load a memory-mapped
    file into memory. The loops only read their inputs and targets, so they get
    this view, never written through (a write into a read-only file mapping
    would be a segmentation fault).
    """
    return array if array.flags.writeable else np.asarray(_SharedMemory(array))


def _numeric(value: Any, name: str) -> np.ndarray:
    if value is None:
        raise TypeError(f"{name} is None; expected an array of numbers")
    try:
        array = np.asarray(value)
    except Exception as error:  # ragged lists and the like
        raise TypeError(f"{name} cannot be read as an array: {error}") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} has dtype {array.dtype}; expected numbers (float32 or float64)")
    return array


def _check_finite(array: np.ndarray, name: str) -> None:
    found = first_non_finite(array)
    if found is not None:
        (row, column), value = found
        raise ValueError(f"{name} contains {value} at row {row}, column {column}; every value must be finite")


def as_inputs(X: Any, dtype: np.dtype, columns: int, name: str = "X") -> np.ndarray:
    """``X`` as a C-ordered (samples, columns) float matrix of ``dtype``, copied only to
    convert it: a read-only ``X`` of that dtype and order (a memory-mapped file) is
    shared, through :func:`compiled_view`, and must not be written to.

    Raises:
        TypeError: not numbers, or integers/booleans where floats are needed.
        ValueError: not 2-D, empty, the wrong number of columns, NaN or inf.
    """
    array = _numeric(X, name)
    if array.dtype.kind != "f":
        raise TypeError(
            f"{name} has dtype {array.dtype}; the model computes in {np.dtype(dtype)}: "
            f"pass floats, e.g. {name}.astype(np.{np.dtype(dtype)})"
        )
    if array.ndim != 2:
        raise ValueError(f"{name} must be 2-D (samples, features); got shape {array.shape}")
    if array.shape[0] == 0:
        raise ValueError(f"{name} is empty: it has no rows")
    if array.shape[1] != columns:
        raise ValueError(f"{name} has {array.shape[1]} columns; the model expects input_dim={columns}")
    _check_finite(array, name)
    array, too_large = cast_finite(array, dtype)
    if too_large is not None:
        (row, column), value = too_large
        raise ValueError(
            f"{name} contains {value} at row {row}, column {column}, beyond the range of {np.dtype(dtype)} "
            f"(largest {np.finfo(dtype).max:.4g}); scale the data, or use a float64 model"
        )
    return compiled_view(array)
