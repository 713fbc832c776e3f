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
(:meth:`Hyperparameter.encode`): booleans as 0.0/1.0, pairs as two entries,
fixed-length lists (``length=3``) as that many entries, a choice as the index
of the chosen name, and an ``optional`` value left as ``None`` as NaN (a
choice's as -1). Lists of any length are for components evaluated in Python,
such as learning-rate schedules; a hyperparameter whose default is
:data:`REQUIRED` must be given by the user.
"""

from __future__ import annotations

import difflib
import math
import numbers
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import numpy as np

__all__ = ["Hyperparameter", "KINDS", "KERNEL_KINDS", "REQUIRED", "validate_hyperparameters", "closest_names", "did_you_mean"]

#: The kinds of value a hyperparameter can hold: a float, an integer, a
#: boolean, a pair of floats, a list of floats or of integers, or one string
#: among declared ``choices``.
KINDS = ("float", "int", "bool", "pair", "floats", "ints", "choice")

#: The kinds a compiled kernel can read from its float64 vector (``floats`` only with a fixed ``length``).
KERNEL_KINDS = ("float", "int", "bool", "pair", "choice", "floats")

_ELEMENT_KIND = {"pair": "float", "floats": "float", "ints": "int"}


class _Required:
    """The default of a hyperparameter that has none: the user must give it."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "REQUIRED"

    def __reduce__(self):
        return (_Required, ())


#: Marks a hyperparameter without a default (``Hyperparameter("T_max", REQUIRED, kind="int")``).
REQUIRED = _Required()


def closest_names(name: str, candidates: Iterable[str]) -> list[str]:
    """Up to three candidates that look like ``name`` (for "did you mean")."""
    return difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.5)


def did_you_mean(hint: list[str]) -> str:
    """``" Did you mean 'a' or 'b'?"`` for the names :func:`closest_names` found; ``""`` for none."""
    return f" Did you mean {' or '.join(map(repr, hint))}?" if hint else ""


def _format_number(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class Hyperparameter:
    """One hyperparameter: its name, default and valid range.

    Attributes:
        name: the keyword users pass (``lr``, ``betas``, ``momentum``...).
        default: the value used when none is given.
        kind: ``"float"``, ``"int"``, ``"bool"``, ``"pair"`` (two floats,
            such as Adam's ``betas``), ``"floats"`` or ``"ints"`` (a list of
            any length, such as a schedule's ``milestones``; the range applies
            to each element), or ``"choice"`` (one of ``choices``).
        minimum, maximum: inclusive bounds unless ``exclusive_minimum`` /
            ``exclusive_maximum``; ``None`` for unbounded. Floats must always
            be finite.
        doc: one line for documentation and ``--help``.
        choices: the allowed strings of a ``"choice"``.
        increasing: a ``"floats"`` or ``"ints"`` list must be strictly increasing.
        length: the number of elements a ``"floats"`` list must have (Muon's
            three ``ns_coefficients``); ``None``: any. Only a list of fixed
            length can be passed to a kernel.
        optional: ``None`` is allowed: for the value (a choice, a float) or
            for each element of a pair (Adafactor's ``eps=(None, 1e-3)``);
            the kernel reads NaN in its place (-1 for a choice).

    A default of :data:`REQUIRED` means there is none: leaving the
    hyperparameter out is an error.
    """

    name: str
    default: Any
    kind: str = "float"
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False
    doc: str = ""
    choices: tuple[str, ...] = ()
    increasing: bool = False
    length: int | None = None
    optional: bool = False

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"hyperparameter name must be a Python identifier; got {self.name!r}")
        if self.kind not in KINDS:
            raise ValueError(f"hyperparameter {self.name!r}: kind must be one of {KINDS}; got {self.kind!r}")
        choices = self.choices
        if isinstance(choices, str) or not all(isinstance(c, str) for c in choices):
            raise TypeError(f"hyperparameter {self.name!r}: choices must be a tuple of strings; got {choices!r}")
        object.__setattr__(self, "choices", tuple(choices))
        if (self.kind == "choice") != bool(self.choices):
            raise ValueError(
                f"hyperparameter {self.name!r}: choices must be given for kind 'choice' and only for it; "
                f"got kind {self.kind!r} with choices {self.choices!r}"
            )
        if self.increasing and self.kind not in ("floats", "ints"):
            raise ValueError(f"hyperparameter {self.name!r}: increasing applies to kinds 'floats' and 'ints'; got kind {self.kind!r}")
        if self.length is not None and (self.kind != "floats" or isinstance(self.length, bool) or not isinstance(self.length, int) or self.length < 1):
            raise ValueError(f"hyperparameter {self.name!r}: length applies to kind 'floats' and must be an integer >= 1; got {self.length!r} with kind {self.kind!r}")
        if self.optional and self.kind not in ("float", "pair", "choice"):
            raise ValueError(f"hyperparameter {self.name!r}: optional applies to kinds 'float', 'pair' and 'choice'; got kind {self.kind!r}")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError(
                f"hyperparameter {self.name!r}: minimum {self.minimum!r} is greater than maximum {self.maximum!r}"
            )

    @property
    def required(self) -> bool:
        """Whether the hyperparameter has no default (:data:`REQUIRED`)."""
        return self.default is REQUIRED

    @property
    def width(self) -> int:
        """Number of float64 entries this hyperparameter takes in a kernel's vector."""
        self._check_kernel_kind()
        return {"pair": 2, "floats": self.length}.get(self.kind, 1)

    def _check_kernel_kind(self) -> None:
        if self.kind not in KERNEL_KINDS or (self.kind == "floats" and self.length is None):
            raise TypeError(
                f"hyperparameter {self.name!r} of kind {self.kind!r} cannot be passed to a kernel; "
                f"kernels read kinds {', '.join(KERNEL_KINDS)} (floats with a fixed length)"
            )

    def allowed(self) -> str:
        """What values are allowed, in words (used in error messages)."""
        if self.kind == "choice":
            return "one of " + ", ".join(map(repr, (None,) * self.optional + self.choices))
        if self.kind in ("floats", "ints"):
            noun = "integers" if self.kind == "ints" else "finite numbers"
            order = ", strictly increasing" if self.increasing else ""
            count = f"{self.length} " if self.length is not None else ""
            return f"a list of {count}{noun}{self._range()}{order}"
        return self._element_allowed()

    def _element_allowed(self) -> str:
        kind = _ELEMENT_KIND.get(self.kind, self.kind)
        if kind == "bool":
            return "True or False"
        noun = "an integer" if kind == "int" else "a finite number"
        return noun + self._range() + (" or None" if self.optional else "")

    def _range(self) -> str:
        low, high = self.minimum, self.maximum
        if low is not None and high is not None:
            left = "(" if self.exclusive_minimum else "["
            right = ")" if self.exclusive_maximum else "]"
            return f" in {left}{_format_number(low)}, {_format_number(high)}{right}"
        if low is not None:
            return f" {'>' if self.exclusive_minimum else '>='} {_format_number(low)}"
        if high is not None:
            return f" {'<' if self.exclusive_maximum else '<='} {_format_number(high)}"
        return ""

    def _in_range(self, value: float) -> bool:
        if self.minimum is not None:
            if value < self.minimum or (self.exclusive_minimum and value == self.minimum):
                return False
        if self.maximum is not None:
            if value > self.maximum or (self.exclusive_maximum and value == self.maximum):
                return False
        return True

    def _scalar(self, value: Any, label: str, owner: str):
        kind = _ELEMENT_KIND.get(self.kind, self.kind)
        allowed = self._element_allowed()
        if value is None and self.optional:
            return None
        if isinstance(value, np.ndarray) and value.ndim == 0:
            value = value[()]  # a 0-d array (torch lets lr be a tensor) is its number
        if kind == "bool":
            if isinstance(value, (bool, np.bool_)):
                return bool(value)
            raise TypeError(f"{owner}: {label} must be True or False; got {value!r}")
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise TypeError(f"{owner}: {label} must be {allowed}; got {value!r} of type {type(value).__name__}")
        if kind == "int":
            if not isinstance(value, numbers.Integral):
                raise TypeError(f"{owner}: {label} must be {allowed}; got {value!r}")
            number = int(value)
        else:
            try:
                number = float(value)
            except OverflowError:  # an integer beyond float64's range: 10**400
                number = math.inf
            if not math.isfinite(number):
                raise ValueError(f"{owner}: {label} must be {allowed}; got {value!r}")
        if not self._in_range(number):
            raise ValueError(f"{owner}: {label} must be {allowed}; got {value!r}")
        return number

    def validate(self, value: Any, owner: str = "") -> Any:
        """Return ``value`` normalised: a float, int, bool or str, or a tuple for
        pairs and lists.

        Raises:
            TypeError: the value has the wrong type, or a required
                hyperparameter was not given.
            ValueError: the value is out of range, NaN or infinite, not one
                of the choices, or a list that should increase does not.
        """
        owner = owner or "hyperparameter"
        if value is REQUIRED:
            raise TypeError(f"{owner}: missing required hyperparameter {self.name!r} ({self.allowed()})")
        if self.kind == "choice":
            if value is None and self.optional:
                return None
            if not isinstance(value, str):
                raise TypeError(f"{owner}: {self.name} must be {self.allowed()}; got {value!r} of type {type(value).__name__}")
            if value not in self.choices:
                raise ValueError(f"{owner}: {self.name} must be {self.allowed()}; got {value!r}")
            return value
        if self.kind == "pair":
            if (
                isinstance(value, (str, bytes, Mapping))
                or not hasattr(value, "__len__")
                or (isinstance(value, np.ndarray) and value.ndim != 1)
                or len(value) != 2
            ):
                raise TypeError(f"{owner}: {self.name} must be a pair of numbers, each {self._element_allowed()}; got {value!r}")
            return tuple(self._scalar(v, f"{self.name}[{i}]", owner) for i, v in enumerate(value))
        if self.kind in ("floats", "ints"):
            if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (list, tuple, np.ndarray)):
                raise TypeError(f"{owner}: {self.name} must be {self.allowed()}; got {value!r}")
            if isinstance(value, np.ndarray) and value.ndim != 1:
                raise TypeError(f"{owner}: {self.name} must be {self.allowed()}; got an array of shape {value.shape}")
            if self.length is not None and len(value) != self.length:
                raise ValueError(f"{owner}: {self.name} must be {self.allowed()}; got {len(value)} values {list(value)!r}")
            items = tuple(self._scalar(v, f"{self.name}[{i}]", owner) for i, v in enumerate(value))
            if self.increasing:
                for i in range(1, len(items)):
                    if items[i] <= items[i - 1]:
                        raise ValueError(
                            f"{owner}: {self.name} must be strictly increasing; got {list(items)} "
                            f"({self.name}[{i}] = {items[i]!r} follows {items[i - 1]!r})"
                        )
            return items
        return self._scalar(value, self.name, owner)

    def encode(self, value: Any) -> tuple[float, ...]:
        """The float64 entries a kernel sees for an already validated ``value``.

        Raises ``TypeError`` for the kinds a kernel cannot read (lists, choices).
        """
        self._check_kernel_kind()
        if self.kind == "choice":
            return (-1.0 if value is None else float(self.choices.index(value)),)
        if self.kind in ("pair", "floats"):
            return tuple(math.nan if v is None else float(v) for v in value)
        return (math.nan if value is None else float(value),)


def validate_hyperparameters(
    declared: Iterable[Hyperparameter],
    values: Mapping[str, Any],
    owner: str,
    base: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Check ``values`` against ``declared``; fill the rest from ``base`` or the defaults.

    Raises:
        TypeError: an undeclared name (with the closest declared ones), a
            value of the wrong type or a missing required hyperparameter.
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
