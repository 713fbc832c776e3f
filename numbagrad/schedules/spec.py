"""The declaration of a learning-rate schedule: what users and plugins see.

A schedule is data plus one vectorised NumPy function: a name, its
hyperparameters with defaults and valid ranges, and
``function(step, lr, **hyperparameters)``, which maps an int64 array of
0-based steps to a float64 array of learning rates. Schedules need no Numba
kernel: a trainer evaluates a whole epoch's learning rates with one call and
hands the array to its compiled loop. Built-in schedules are declared exactly
as a plugin declares one::

    import numpy as np
    from numbagrad.hyperparameters import Hyperparameter, REQUIRED
    from numbagrad.schedules import ScheduleSpec

    def linear_decay(step, lr, total_steps):
        return lr * np.maximum(0.0, 1.0 - step / total_steps)

    LINEAR = ScheduleSpec(
        name="linear",
        function=linear_decay,
        hyperparameters=(Hyperparameter("total_steps", REQUIRED, kind="int", minimum=1),),
        example={"total_steps": 100},
    )
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from numbagrad.hyperparameters import Hyperparameter, validate_hyperparameters

__all__ = ["ScheduleSpec", "check_kernels", "RESERVED_NAMES"]

#: Names a schedule's hyperparameters may not take: ``get(name, lr, per=...)`` uses them.
RESERVED_NAMES = ("lr", "per", "step")

#: The steps :func:`check_kernels` evaluates a schedule at.
CHECK_STEPS = np.array([0, 1, 2, 3, 7, 10, 100, 1_000, 10_000, 1_000_000], dtype=np.int64)


@dataclass(frozen=True)
class ScheduleSpec:
    """Declaration of a learning-rate schedule.

    Attributes:
        name: registry name, lower case (``"cosine"``); looked up case-insensitively.
        function: ``function(step, lr, **hyperparameters) -> ndarray``: the
            learning rate at each 0-based ``step`` (an int64 array of any
            shape) for the base learning rate ``lr`` (a float), as a float64
            array of ``step``'s shape, finite and non-negative. It must be
            vectorised: it is called once for many steps.
        hyperparameters: the keyword arguments ``function`` takes besides
            ``step`` and ``lr``, with defaults and valid ranges (a default of
            :data:`~numbagrad.hyperparameters.REQUIRED` makes one mandatory).
        title: the name in documentation and plots (``"Cosine annealing"``).
        check: extra validation across hyperparameters: called with the
            validated values and the owner's label, raises ``ValueError``.
        example: values for the required hyperparameters (and any others)
            with which the schedule is evaluated once when it registers.
        presets: other registry names for preset hyperparameters.
        override: a plugin's declaration replaces a built-in of the same name
            only when this is true.
    """

    name: str
    function: Callable[..., np.ndarray]
    hyperparameters: tuple[Hyperparameter, ...] = ()
    title: str = ""
    check: Callable[[Mapping[str, Any], str], None] | None = None
    example: Mapping[str, Any] = field(default_factory=dict)
    presets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    override: bool = False

    def __post_init__(self):
        if not self.title:
            object.__setattr__(self, "title", self.name)
        object.__setattr__(self, "hyperparameters", tuple(self.hyperparameters))

    @property
    def label(self) -> str:
        """How messages name the schedule: ``schedule 'cosine'``."""
        return f"schedule {self.name!r}"

    @property
    def hyperparameter_names(self) -> tuple[str, ...]:
        return tuple(h.name for h in self.hyperparameters)

    def validate(self, values: Mapping[str, Any], owner: str = "") -> dict[str, Any]:
        """Validated hyperparameters: ``values`` over the defaults.

        Raises ``TypeError`` or ``ValueError`` naming the schedule, the
        hyperparameter, the value and what is allowed.
        """
        owner = owner or self.label
        validated = validate_hyperparameters(self.hyperparameters, values, owner)
        if self.check is not None:
            self.check(validated, owner)
        return validated

    def evaluate(self, step: np.ndarray, lr: float, hyperparameters: Mapping[str, Any]) -> np.ndarray:
        """``function(step, lr, **hyperparameters)``, checked: a finite,
        non-negative float64 array of ``step``'s shape.

        Raises:
            TypeError: the function returned something else than such an array.
            ValueError: a learning rate is negative, NaN or infinite; the
                message names the first such step.
        """
        with np.errstate(all="ignore"):  # an overflow or NaN is reported below, naming the step
            result = self.function(step, lr, **hyperparameters)
        if not isinstance(result, np.ndarray) or result.dtype.kind != "f" or result.shape != step.shape:
            described = (
                f"an array of dtype {result.dtype} and shape {result.shape}"
                if isinstance(result, np.ndarray)
                else f"{type(result).__name__}"
            )
            raise TypeError(
                f"{self.label}: its function must return a float array of the steps' shape {step.shape}; got {described}"
            )
        result = result.astype(np.float64, copy=False)
        bad = ~(np.isfinite(result) & (result >= 0))
        if bad.any():
            where = np.flatnonzero(bad)[0]
            raise ValueError(
                f"{self.label} with lr={lr!r} and {_described(hyperparameters)} gives the learning rate "
                f"{float(result.flat[where])!r} at step {int(step.flat[where])}; learning rates must be finite and >= 0"
            )
        return result

    def check_declaration(self) -> None:
        """Check the declaration itself: function, hyperparameters, example and presets.

        Raises ``TypeError`` or ``ValueError`` naming the schedule and what is wrong.
        """
        label = self.label
        if not callable(self.function):
            raise TypeError(f"{label}: function must be callable as function(step, lr, **hyperparameters); got {self.function!r}")
        if self.check is not None and not callable(self.check):
            raise TypeError(f"{label}: check must be callable or None; got {self.check!r}")
        names = []
        for h in self.hyperparameters:
            if not isinstance(h, Hyperparameter):
                raise TypeError(f"{label}: hyperparameters must be Hyperparameter instances; got {h!r}")
            if h.name in RESERVED_NAMES:
                raise ValueError(f"{label}: hyperparameter name {h.name!r} is reserved ({', '.join(RESERVED_NAMES)})")
            names.append(h.name)
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"{label}: hyperparameter names {duplicated} are declared twice")
        for h in self.hyperparameters:
            if h.required:
                if h.name not in self.example:
                    raise ValueError(
                        f"{label}: required hyperparameter {h.name!r} needs a value in example= "
                        "(the schedule is evaluated with it once when it registers)"
                    )
                continue
            try:
                h.validate(h.default, label)
            except (TypeError, ValueError) as error:
                raise ValueError(f"{label}: a declared default is invalid: {error}") from None
        try:
            self.validate(self.example)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{label}: example is invalid: {error}") from None
        for preset_name, preset in self.presets.items():
            try:
                self.validate({**self.example, **preset})
            except (TypeError, ValueError) as error:
                raise ValueError(f"{label}: preset {preset_name!r} is invalid: {error}") from None


def _described(hyperparameters: Mapping[str, Any]) -> str:
    if not hyperparameters:
        return "no hyperparameters"
    return ", ".join(f"{k}={v!r}" for k, v in hyperparameters.items())


def check_kernels(spec: ScheduleSpec) -> None:
    """Evaluate ``spec``'s function once, as the registry does when a plugin registers.

    The function is called with the steps of :data:`CHECK_STEPS`, ``lr=1.0``
    and the defaults updated by ``spec.example``; it must return a finite,
    non-negative float array of the steps' shape.

    Raises:
        TypeError: the function raised or returned something else.
        ValueError: it returned a negative or non-finite learning rate.
    """
    values = spec.validate(spec.example)
    steps = CHECK_STEPS.copy()
    try:
        with np.errstate(all="ignore"):
            result = spec.function(steps, 1.0, **values)
    except Exception as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise TypeError(
            f"{spec.label}: function(step, lr, **hyperparameters) raised {type(error).__name__}: {first} "
            f"(called with step={CHECK_STEPS.tolist()} as an int64 array, lr=1.0, {_described(values)})"
        ) from None
    if not isinstance(result, np.ndarray):
        raise TypeError(
            f"{spec.label}: function(step, lr, **hyperparameters) must return a float64 NumPy array of the "
            f"steps' shape; got {type(result).__name__} (is it vectorised over step?)"
        )
    spec.evaluate(CHECK_STEPS.copy(), 1.0, values)
