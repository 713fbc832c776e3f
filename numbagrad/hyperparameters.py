"""Declared hyperparameters: name, default, valid range, and how a kernel sees them.

Optimizers, losses and schedules declare their hyperparameters with
:class:`Hyperparameter`; every value a user passes is checked against its
declaration before anything changes, and the error names the owner, the
hyperparameter, the value received and what is allowed::

    >>> from numbagrad.hyperparameters import Hyperparameter
    >>> Hyperparameter("lr", 1e-3, minimum=0.0).validate(-1, owner="Adam")
    Traceback (most recent call last):
    ...
    ValueError: Adam: lr must be a finite number >= 0; got -1

Kernels receive hyperparameters as one float64 vector
(:meth:`Hyperparameter.encode`): booleans as 0.0/1.0, pairs as two entries.
"""

from __future__ import annotations

import difflib
import math
import numbers
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import numpy as np

__all__ = ["Hyperparameter", "KINDS", "validate_hyperparameters", "closest_names"]

#: The kinds of value a hyperparameter can hold.
KINDS = ("float", "int", "bool", "pair")


def closest_names(name: str, candidates: Iterable[str]) -> list[str]:
    """Up to three candidates that look like ``name`` (for "did you mean")."""
    return difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.5)


def _format_number(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class Hyperparameter:
    """One hyperparameter: its name, default and valid range.

    Attributes:
        name: the keyword users pass (``lr``, ``betas``, ``momentum``...).
        default: the value used when none is given.
        kind: ``"float"``, ``"int"``, ``"bool"`` or ``"pair"`` (two floats,
            such as Adam's ``betas``; the range applies to each).
        minimum, maximum: inclusive bounds unless ``exclusive_minimum`` /
            ``exclusive_maximum``; ``None`` for unbounded. Floats must always
            be finite.
        doc: one line for documentation and ``--help``.
    """

    name: str
    default: Any
    kind: str = "float"
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False
    doc: str = ""

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"hyperparameter name must be a Python identifier; got {self.name!r}")
        if self.kind not in KINDS:
            raise ValueError(f"hyperparameter {self.name!r}: kind must be one of {KINDS}; got {self.kind!r}")

    @property
    def width(self) -> int:
        """Number of float64 entries this hyperparameter takes in a kernel's vector."""
        return 2 if self.kind == "pair" else 1

    def allowed(self) -> str:
        """What values are allowed, in words (used in error messages)."""
        if self.kind == "bool":
            return "True or False"
        noun = "an integer" if self.kind == "int" else "a finite number"
        low, high = self.minimum, self.maximum
        if low is not None and high is not None:
            left = "(" if self.exclusive_minimum else "["
            right = ")" if self.exclusive_maximum else "]"
            return f"{noun} in {left}{_format_number(low)}, {_format_number(high)}{right}"
        if low is not None:
            return f"{noun} {'>' if self.exclusive_minimum else '>='} {_format_number(low)}"
        if high is not None:
            return f"{noun} {'<' if self.exclusive_maximum else '<='} {_format_number(high)}"
        return noun

    def _in_range(self, value: float) -> bool:
        if self.minimum is not None:
            if value < self.minimum or (self.exclusive_minimum and value == self.minimum):
                return False
        if self.maximum is not None:
            if value > self.maximum or (self.exclusive_maximum and value == self.maximum):
                return False
        return True

    def _scalar(self, value: Any, label: str, owner: str):
        if self.kind == "bool":
            if isinstance(value, (bool, np.bool_)):
                return bool(value)
            raise TypeError(f"{owner}: {label} must be True or False; got {value!r}")
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise TypeError(f"{owner}: {label} must be {self.allowed()}; got {value!r} of type {type(value).__name__}")
        if self.kind == "int":
            if not isinstance(value, numbers.Integral):
                raise TypeError(f"{owner}: {label} must be {self.allowed()}; got {value!r}")
            number = int(value)
        else:
            number = float(value)
            if not math.isfinite(number):
                raise ValueError(f"{owner}: {label} must be {self.allowed()}; got {value!r}")
        if not self._in_range(number):
            raise ValueError(f"{owner}: {label} must be {self.allowed()}; got {value!r}")
        return number

    def validate(self, value: Any, owner: str = "") -> Any:
        """Return ``value`` normalised (float, int, bool or a tuple of two floats).

        Raises:
            TypeError: the value has the wrong type.
            ValueError: the value is out of range, NaN or infinite.
        """
        owner = owner or "hyperparameter"
        if self.kind != "pair":
            return self._scalar(value, self.name, owner)
        if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
            raise TypeError(f"{owner}: {self.name} must be a pair of numbers, each {self.allowed()}; got {value!r}")
        return tuple(self._scalar(v, f"{self.name}[{i}]", owner) for i, v in enumerate(value))

    def encode(self, value: Any) -> tuple[float, ...]:
        """The float64 entries a kernel sees for an already validated ``value``."""
        if self.kind == "pair":
            return (float(value[0]), float(value[1]))
        return (float(value),)


def validate_hyperparameters(
    declared: Iterable[Hyperparameter],
    values: Mapping[str, Any],
    owner: str,
    base: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Check ``values`` against ``declared``; fill the rest from ``base`` or the defaults.

    Raises:
        TypeError: an undeclared name (with the closest declared ones) or a
            value of the wrong type.
        ValueError: a value out of range.
    """
    declared = tuple(declared)
    names = [h.name for h in declared]
    for key in values:
        if key not in names:
            hint = closest_names(str(key), names)
            suggestion = f" (did you mean {' or '.join(map(repr, hint))}?)" if hint else ""
            raise TypeError(
                f"{owner}: unknown hyperparameter {key!r}{suggestion}; allowed: {', '.join(names)}"
            )
    result = {}
    for h in declared:
        if h.name in values:
            result[h.name] = h.validate(values[h.name], owner)
        elif base is not None and h.name in base:
            result[h.name] = base[h.name]
        else:
            result[h.name] = h.validate(h.default, owner)
    return result
