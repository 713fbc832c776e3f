"""Optimizer state on a CUDA device: filling a state block with its slots' initial values.

The optimizers' update kernels themselves are generated from their rules
(:mod:`numbagrad.kernels.elementwise`).
"""

from __future__ import annotations

from numba import cuda

__all__ = ["fill_rows"]


@cuda.jit
def fill_rows(state, values):
    """``state[r, :] = values[r]`` for every row ``r``: a state block's initial values."""
    for i in range(cuda.grid(1), state.shape[1], cuda.gridsize(1)):
        for row in range(state.shape[0]):
            state[row, i] = values[row]

