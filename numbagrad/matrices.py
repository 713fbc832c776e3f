"""Checks of the matrices handed to kernels, with messages that name the argument.

Kernels take C-ordered float32 or float64 ``(rows, columns)`` matrices and
trust them; these checks run first, in Python, so that a wrong array gives an
error naming the argument rather than a Numba typing error or a wrong result.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from numbagrad.kernels.signatures import FLOAT_DTYPES

__all__ = ["check_matrix", "as_float_array", "prediction_matrix"]


def check_matrix(
    owner: str,
    argument: str,
    value: Any,
    like: np.ndarray | None = None,
    like_name: str = "",
    writeable: bool = False,
) -> np.ndarray:
    """Return ``value`` if it is a C-contiguous float32/float64 matrix; raise otherwise.

    With ``like``, ``value`` must also have its shape and dtype (``like_name``
    names it in messages); with ``writeable``, it must be writeable.

    Raises:
        TypeError: not a NumPy array, or a wrong dtype.
        ValueError: not two-dimensional, a wrong shape, not C-contiguous, or read-only.
    """
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{owner}: {argument} must be a NumPy array; got {type(value).__name__}")
    if like is not None:
        if value.dtype != like.dtype:
            raise TypeError(f"{owner}: {argument} has dtype {value.dtype}; {like_name} has dtype {like.dtype}")
        if value.shape != like.shape:
            raise ValueError(f"{owner}: {argument} has shape {value.shape}; {like_name} has shape {like.shape}")
    else:
        if value.dtype not in FLOAT_DTYPES:
            raise TypeError(f"{owner}: {argument} has dtype {value.dtype}; expected float32 or float64")
        if value.ndim != 2:
            raise ValueError(f"{owner}: {argument} must be a matrix (rows, columns); got shape {value.shape}")
    if not value.flags.c_contiguous:
        raise ValueError(f"{owner}: {argument} is not C-contiguous; pass np.ascontiguousarray({argument})")
    if writeable and not value.flags.writeable:
        raise ValueError(f"{owner}: {argument} is read-only; it is written in place")
    return value


def _contiguous(array: np.ndarray) -> np.ndarray:
    # Not np.ascontiguousarray, which turns a 0-d array into a 1-d one.
    return array if array.flags.c_contiguous else np.array(array, order="C")


def as_float_array(owner: str, argument: str, value: Any) -> np.ndarray:
    """``value`` as a C-contiguous float array: float32 and float64 kept, integers and booleans as float64.

    Raises:
        TypeError: anything else (strings, objects, complex or other float widths).
    """
    original = value
    try:
        value = np.asarray(value)
    except (TypeError, ValueError):
        raise TypeError(f"{owner}: {argument} must be an array of numbers; got {type(original).__name__}") from None
    if value.dtype in FLOAT_DTYPES:
        return _contiguous(value)
    if value.dtype.kind in "biu":
        return _contiguous(value.astype(np.float64))
    raise TypeError(
        f"{owner}: {argument} must be an array of numbers (float32, float64, integers or booleans); "
        f"got an array of dtype {value.dtype}"
    )


def prediction_matrix(owner: str, argument: str, prediction: Any) -> np.ndarray:
    """``prediction`` as a C-contiguous float matrix (a vector becomes one column).

    Raises:
        TypeError: not an array of numbers.
        ValueError: not one- or two-dimensional, or empty.
    """
    prediction = as_float_array(owner, argument, prediction)
    if prediction.ndim == 1:
        prediction = prediction.reshape(-1, 1)
    if prediction.ndim != 2:
        raise ValueError(f"{owner}: {argument} must be a vector or a matrix (rows, columns); got shape {prediction.shape}")
    if prediction.size == 0:
        raise ValueError(f"{owner}: {argument} is empty (shape {prediction.shape}); a loss needs at least one value")
    return prediction
