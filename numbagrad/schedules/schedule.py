"""Schedule objects: ``schedule(step)`` is the learning rate at ``step``.

A :class:`Schedule` is evaluated in Python, vectorised over steps: a trainer
computes every batch's learning rate of an epoch with one call and passes the
array into its compiled loop. Its base learning rate ``lr`` may be ``None``,
meaning "the optimizer's learning rate": the trainer then resolves it with
:meth:`Schedule.with_lr`, and calling the schedule before that is an error.
"""

from __future__ import annotations

import numbers
from typing import Any, Mapping

import numpy as np

from numbagrad.hyperparameters import Hyperparameter
from numbagrad.schedules.spec import ScheduleSpec

__all__ = ["Schedule", "NamedSchedule", "PER"]

#: The units a schedule's step can count.
PER = ("step", "epoch")

_LR = Hyperparameter("lr", None, minimum=0.0, doc="base learning rate")


def validate_lr(lr: Any, owner: str) -> float | None:
    """``lr`` as a float (finite, >= 0), or ``None`` for "the optimizer's learning rate"."""
    return None if lr is None else _LR.validate(lr, owner)


def validate_per(per: Any, owner: str) -> str:
    if per not in PER:
        raise ValueError(f"{owner}: per must be one of {', '.join(map(repr, PER))}; got {per!r}")
    return per


def as_steps(step: Any, owner: str) -> tuple[np.ndarray, bool]:
    """``step`` as a flat int64 array of non-negative steps, and whether it was one integer.

    Raises:
        TypeError: not an integer or an array of integers.
        ValueError: a negative step.
    """
    if isinstance(step, (bool, np.bool_)):
        raise TypeError(f"{owner}: step must be an integer >= 0 or an array of them; got {step!r}")
    if isinstance(step, numbers.Integral):
        if step < 0:
            raise ValueError(f"{owner}: step must be an integer >= 0 or an array of them; got {step!r}")
        return np.array([int(step)], dtype=np.int64), True
    if isinstance(step, (np.ndarray, list, tuple, range)):
        steps = np.asarray(step)
        if steps.size == 0:
            return np.zeros(steps.shape, dtype=np.int64), False
        if steps.dtype.kind not in "iu":
            raise TypeError(f"{owner}: step must be an integer >= 0 or an array of them; got an array of dtype {steps.dtype}")
        if steps.dtype.kind == "i" and steps.min() < 0:
            raise ValueError(f"{owner}: step must be an integer >= 0 or an array of them; got {int(steps.min())}")
        if steps.dtype.kind == "u" and steps.max() > np.iinfo(np.int64).max:
            raise ValueError(f"{owner}: step must fit in int64; got {int(steps.max())}")
        return steps.astype(np.int64), False
    raise TypeError(f"{owner}: step must be an integer >= 0 or an array of them; got {step!r} of type {type(step).__name__}")


class Schedule:
    """A learning rate for every step: ``schedule(step)``.

    Attributes:
        per: ``"step"`` or ``"epoch"``: what one step of the schedule counts
            (a batch, or a pass over the data).

    ``schedule(step)`` takes a 0-based step, an integer (returning a float)
    or an array of integers (returning a float64 array of its shape).
    """

    per: str = "step"

    def __call__(self, step: Any) -> float | np.ndarray:
        steps, scalar = as_steps(step, str(self))
        self._require_lr()
        values = self._values(steps.reshape(-1)).reshape(steps.shape)
        return float(values[0]) if scalar else values

    @property
    def resolved(self) -> bool:
        """Whether every part has a base learning rate (and can be called)."""
        raise NotImplementedError

    def with_lr(self, lr: float) -> "Schedule":
        """This schedule with base learning rate ``lr`` wherever none was given.

        A trainer calls it with the optimizer's learning rate; a part that
        was given its own ``lr`` keeps it.
        """
        raise NotImplementedError

    def _require_lr(self) -> None:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """The schedule as plain data, accepted back by :func:`numbagrad.schedules.from_config`."""
        raise NotImplementedError

    def _values(self, steps: np.ndarray) -> np.ndarray:
        """The learning rates at ``steps``, a flat int64 array of non-negative steps."""
        raise NotImplementedError

    def plot(self, steps: Any, path: Any = None, ax: Any = None):
        """Draw the learning rate over ``steps`` with matplotlib; returns the axes.

        Args:
            steps: a number of steps (drawn from 0 to ``steps - 1``) or an
                array of steps.
            path: a file to save the figure to (its suffix picks the format,
                PNG without one), written atomically.
            ax: matplotlib axes to draw into; a new figure when ``None``.

        Raises:
            ImportError: matplotlib is not installed (``pip install 'numbagrad[plot]'``).
        """
        from numbagrad.schedules.plot import plot_schedule

        return plot_schedule(self, steps, path=path, ax=ax)


class NamedSchedule(Schedule):
    """A registered schedule with its hyperparameters: what :func:`numbagrad.schedules.get` returns.

    Args:
        spec: the declaration.
        lr: the base learning rate; ``None`` for the optimizer's.
        per: ``"step"`` or ``"epoch"``.
        **hyperparameters: the schedule's hyperparameters; the rest take
            their defaults.

    Raises:
        TypeError, ValueError: a hyperparameter, ``lr`` or ``per`` is
            invalid; the message names it, the value and what is allowed.
    """

    def __init__(self, spec: ScheduleSpec, lr: float | None = None, per: str = "step", **hyperparameters: Any):
        if not isinstance(spec, ScheduleSpec):
            raise TypeError(f"NamedSchedule needs a ScheduleSpec; got {spec!r}")
        self.spec = spec
        self.hyperparameters: Mapping[str, Any] = spec.validate(hyperparameters)
        self.lr = validate_lr(lr, spec.label)
        self.per = validate_per(per, spec.label)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def resolved(self) -> bool:
        return self.lr is not None

    def with_lr(self, lr: float) -> "NamedSchedule":
        lr = validate_lr(lr, self.spec.label)
        if lr is None:
            raise TypeError(f"{self.spec.label}: with_lr needs a learning rate; got None")
        if self.lr is not None:
            return self
        return NamedSchedule(self.spec, lr, self.per, **self.hyperparameters)

    def _require_lr(self) -> None:
        if self.lr is None:
            raise RuntimeError(
                f"{self.spec.label} has no base learning rate (lr=None stands for the optimizer's): "
                f"pass lr= to numbagrad.schedules.get({self.name!r}, ...) or call .with_lr(lr) first"
            )

    def _values(self, steps: np.ndarray) -> np.ndarray:
        return self.spec.evaluate(steps, self.lr, self.hyperparameters)

    def get_config(self) -> dict[str, Any]:
        values = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.hyperparameters.items()}
        return {"name": self.name, "lr": self.lr, "per": self.per, **values}

    def __repr__(self) -> str:
        arguments = [f"lr={self.lr!r}"] + [f"{k}={v!r}" for k, v in self.hyperparameters.items()]
        if self.per != "step":
            arguments.append(f"per={self.per!r}")
        return f"{self.name}({', '.join(arguments)})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NamedSchedule):
            return NotImplemented
        return (self.spec, self.lr, self.per, dict(self.hyperparameters)) == (
            other.spec, other.lr, other.per, dict(other.hyperparameters)
        )

    __hash__ = None
