"""Checking and converting the inputs users pass to a model (targets: :mod:`numbagrad.targets`).

Every check runs before anything changes and names the argument and the
offending value, so that a mistake never surfaces as a Numba typing error.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["as_inputs", "first_non_finite"]


def first_non_finite(array: np.ndarray) -> tuple[int, ...] | None:
    """Index of the first NaN or infinity in ``array``, or None."""
    finite = np.isfinite(array)
    if finite.all():
        return None
    return tuple(int(i) for i in np.argwhere(~finite)[0])


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
    where = first_non_finite(array)
    if where is not None:
        position = f"row {where[0]}" + (f", column {where[1]}" if len(where) > 1 else "")
        raise ValueError(f"{name} contains {float(array[where])} at {position}; every value must be finite")


def as_inputs(X: Any, dtype: np.dtype, columns: int, name: str = "X") -> np.ndarray:
    """``X`` as a C-ordered (samples, columns) float matrix of ``dtype`` (copied only if needed).

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
    return np.ascontiguousarray(array, dtype=dtype)
