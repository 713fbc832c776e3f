"""Checks of arguments, with the messages every public function gives:
``owner: name must be ...; got value``."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

__all__ = ["integer", "flag", "row_weights"]


def integer(value: Any, name: str, minimum: int, owner: str) -> int:
    """``value`` as an int, or ``ValueError``: an integer (not a bool) >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{owner}: {name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def flag(value: Any, name: str, owner: str) -> bool:
    """``value`` as a bool, or ``TypeError``: True or False (NumPy's booleans too)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{owner}: {name} must be True or False; got {value!r}")
    return bool(value)


def row_weights(value: Any, rows: int, name: str, owner: str) -> np.ndarray:
    """``value`` as float64 weights, one per row: numbers of shape ``(rows,)`` or ``(rows, 1)``, each
    finite and ``>= 0``; else ``TypeError`` or ``ValueError`` naming the first bad weight."""
    given = np.asarray(value)
    if given.dtype.kind not in "biuf":
        raise TypeError(f"{owner}: {name} must be numbers, one weight per sample; got an array of dtype {given.dtype}")
    if given.shape not in ((rows,), (rows, 1)):
        raise ValueError(f"{owner}: {name} must have one weight per sample, shape ({rows},); got shape {given.shape}")
    weights = given.reshape(rows).astype(np.float64)
    bad = ~(np.isfinite(weights) & (weights >= 0))
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{owner}: {name}[{i}] = {float(weights[i])!r}; weights must be finite numbers >= 0")
    return weights
