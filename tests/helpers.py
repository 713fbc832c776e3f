"""Helpers shared by the tests."""

from __future__ import annotations

import numpy as np


def awkward_arrays(dtype, seed=0, shapes=((1,), (3, 5), (7,), (2, 3, 4), (65,))):
    """Parameters of awkward sizes (1, odd, non-multiples of any tile)."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(dtype) for shape in shapes]


def gradients(params, step):
    """Gradients that depend on the parameters and on the step, deterministic."""
    return [
        (p * p.dtype.type(0.5) - p.dtype.type(0.3) + np.cos(np.arange(p.size, dtype=p.dtype) + step).reshape(p.shape) * p.dtype.type(0.1))
        for p in params
    ]
