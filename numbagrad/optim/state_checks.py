"""Checks of saved optimizer state, shared by every ``load_state_dict``.

A state dict may come from a file a user downloaded: each value is checked for
what a run could have written (an integer step count below 2**63, finite
numbers, each slot within its declared range) before anything changes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from numbagrad.optim.spec import StateSlot

__all__ = ["parameter_index", "shown", "step_count", "scalar_state", "check_state_values"]


def parameter_index(value: Any) -> int | None:
    """A parameter index from a state dict (an int, or its decimal string as JSON keys are); else None."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value) if value >= 0 else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 20:
        return int(value)
    return None


def shown(value: Any) -> str:
    """``repr(value)`` cut to 80 characters, for error messages about untrusted values."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def step_count(step: Any, where: str) -> int:
    """A saved step count: an integer in [0, 2**63) (a float64 or 0-d array of one too, as PyTorch saves it)."""
    if isinstance(step, np.ndarray) and step.ndim == 0:
        step = step[()]
    if isinstance(step, (float, np.floating)) and math.isfinite(step) and float(step).is_integer():
        step = int(step)
    if isinstance(step, (bool, np.bool_)) or not isinstance(step, (int, np.integer)) or not 0 <= step < 1 << 63:
        raise ValueError(f"{where} must be an integer in [0, 2**63); got {shown(step)}")
    return int(step)


def scalar_state(value: Any, where: str) -> float:
    """A saved scalar of state (NAdam's ``mu_product``) as a float; ``TypeError`` unless a number."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{where} must be a number; got {shown(value)}")
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"{where} must be a finite number; got {shown(value)}") from None


def check_state_values(values: np.ndarray, slot: StateSlot, where: str) -> None:
    """State no step could have produced is refused: non-finite values (a step that overflows is rolled
    back) and values below the slot's ``minimum`` (a negative running average of squares)."""
    if not np.isfinite(values).all():
        raise ValueError(f"{where} holds NaN or infinity, which no step leaves; the state is corrupted")
    if slot.minimum is not None and values.size and values.min() < slot.minimum:
        raise ValueError(
            f"{where} holds {float(values.min())!r}, below {float(slot.minimum)!r}, the least value {slot.name} can take; "
            "the state is corrupted"
        )
