"""The typed contracts between compiled loops and the kernels they call.

A compiled function that takes another ``@njit`` function as a plain argument
is specialised on that function's identity, so it can never be loaded from
Numba's on-disk cache in a new process. Typing the argument as a
``numba.types.FunctionType`` of a fixed signature instead makes the caller one
cacheable function that calls whatever kernel it is given through a pointer:
built-in and plugin kernels alike, with no Python in between.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import types

__all__ = [
    "FLOAT_DTYPES",
    "numba_float",
    "update_signature",
    "update_function_type",
    "PREPARE_SIGNATURE",
    "PREPARE_FUNCTION_TYPE",
]

#: The parameter dtypes numbagrad computes in.
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

_NUMBA_FLOATS = {np.dtype(np.float32): types.float32, np.dtype(np.float64): types.float64}


def numba_float(dtype) -> types.Float:
    """The Numba scalar type of a float32 or float64 NumPy dtype."""
    return _NUMBA_FLOATS[np.dtype(dtype)]


@functools.cache
def _update_signature(dtype: np.dtype) -> types.Signature:
    element = numba_float(dtype)
    return types.void(
        element[::1],
        element[::1],
        element[:, ::1],
        types.float64[::1],
        types.int64,
        types.int64,
        types.int64,
    )


def update_signature(dtype) -> types.Signature:
    """Signature of an optimizer's update kernel for parameters of ``dtype``::

        update(param: T[::1], grad: T[::1], state: T[:, ::1],
               hyper: float64[::1], step: int64, start: int64, stop: int64) -> None

    The kernel updates ``param[start:stop]`` and ``state[:, start:stop]`` in
    place from ``grad[start:stop]``. ``state`` has one row per state slot,
    ``hyper`` holds the hyperparameters in declaration order (pairs such as
    ``betas`` take two entries) followed by the optimizer's scalar state, and
    ``step`` counts updates including this one (1 on the first).
    """
    return _update_signature(np.dtype(dtype))


def update_function_type(dtype) -> types.FunctionType:
    """``FunctionType`` of :func:`update_signature` for ``dtype``."""
    return types.FunctionType(update_signature(dtype))


#: Signature of an optimizer's once-per-step ``prepare(hyper, step)`` kernel,
#: which may update the scalar state stored at the end of ``hyper``.
PREPARE_SIGNATURE = types.void(types.float64[::1], types.int64)
PREPARE_FUNCTION_TYPE = types.FunctionType(PREPARE_SIGNATURE)
