"""Checks of scalar arguments, with the messages every public function gives:
``owner: name must be ...; got value``."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

__all__ = ["integer", "flag"]


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
