"""Allocation of the buffers numbagrad owns: parameters, gradients, optimizer state.

Buffers start on a 64-byte boundary, one cache line: NumPy only guarantees 16
bytes, and then every other 32-byte vector load of a kernel straddles two
cache lines.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ALIGNMENT", "aligned_empty", "aligned_zeros", "aligned_full"]

#: Byte alignment of every buffer numbagrad allocates.
ALIGNMENT = 64


def aligned_empty(shape, dtype) -> np.ndarray:
    """An uninitialised C-ordered array whose data starts on an :data:`ALIGNMENT` boundary."""
    dtype = np.dtype(dtype)
    shape = (shape,) if np.isscalar(shape) else tuple(shape)
    count = int(np.prod(shape, dtype=np.int64))
    raw = np.empty(count * dtype.itemsize + ALIGNMENT, dtype=np.uint8)
    offset = (-raw.__array_interface__["data"][0]) % ALIGNMENT
    return raw[offset : offset + count * dtype.itemsize].view(dtype).reshape(shape)


def aligned_zeros(shape, dtype) -> np.ndarray:
    """:func:`aligned_empty` filled with zeros."""
    array = aligned_empty(shape, dtype)
    array.fill(0)
    return array


def aligned_full(shape, value, dtype) -> np.ndarray:
    """:func:`aligned_empty` filled with ``value``."""
    array = aligned_empty(shape, dtype)
    array.fill(value)
    return array
