"""Schedules made of schedules: a linear warm-up before any schedule, and schedules joined in sequence."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from numbagrad.hyperparameters import Hyperparameter
from numbagrad.schedules.schedule import Schedule, validate_lr

__all__ = ["Warmup", "Join", "warmup", "join"]

_WARMUP_STEPS = Hyperparameter("warmup_steps", 0, kind="int", minimum=0)
_START_FACTOR = Hyperparameter("start_factor", 0.0, minimum=0.0, maximum=1.0)
_BOUNDARIES = Hyperparameter("boundaries", (), kind="ints", minimum=1, increasing=True)


def _check_schedule(value: Any, label: str, owner: str) -> Schedule:
    if not isinstance(value, Schedule):
        raise TypeError(
            f"{owner}: {label} must be a Schedule (from numbagrad.schedules.get, warmup or join); "
            f"got {value!r} of type {type(value).__name__}"
        )
    return value


class Warmup(Schedule):
    """A linear warm-up of ``warmup_steps`` steps, then ``schedule`` from its own step 0.

    With :math:`s` the wrapped schedule, :math:`n` = ``warmup_steps`` and
    :math:`f` = ``start_factor``:

    .. math::

        \\eta_t = s(0) \\left(f + (1 - f) \\frac{t}{n}\\right) \\quad (t < n), \\qquad
        \\eta_t = s(t - n) \\quad (t \\ge n).

    The warm-up climbs from :math:`f \\cdot s(0)` to :math:`s(0)`, where the
    schedule takes over, so ``warmup(cosine(T_max=1000), 100)`` lasts 1100
    steps. Equivalents: PyTorch's ``SequentialLR([LinearLR(start_factor=f,
    total_iters=n), s], milestones=[n])``; optax's ``join_schedules`` of a
    ``linear_schedule`` and ``s`` (as in ``warmup_cosine_decay_schedule``).
    """

    def __init__(self, schedule: Schedule, warmup_steps: int, start_factor: float = 0.0):
        owner = "warmup"
        self.schedule = _check_schedule(schedule, "schedule", owner)
        self.warmup_steps = _WARMUP_STEPS.validate(warmup_steps, owner)
        self.start_factor = _START_FACTOR.validate(start_factor, owner)
        self.per = schedule.per

    @property
    def lr(self) -> float | None:
        """The wrapped schedule's base learning rate."""
        return getattr(self.schedule, "lr", None)

    @property
    def resolved(self) -> bool:
        return self.schedule.resolved

    def with_lr(self, lr: float) -> "Warmup":
        return Warmup(self.schedule.with_lr(lr), self.warmup_steps, self.start_factor)

    def _require_lr(self) -> None:
        self.schedule._require_lr()

    def _values(self, steps: np.ndarray) -> np.ndarray:
        n = self.warmup_steps
        rising = steps < n
        values = np.empty(steps.shape, dtype=np.float64)
        if rising.any():
            peak = self.schedule._values(np.zeros(1, dtype=np.int64))[0]
            f = self.start_factor
            values[rising] = peak * (f + (1.0 - f) * (steps[rising] / n))
        if not rising.all():
            values[~rising] = self.schedule._values(steps[~rising] - n)
        return values

    def get_config(self) -> dict[str, Any]:
        return {"warmup": {"schedule": self.schedule.get_config(), "warmup_steps": self.warmup_steps, "start_factor": self.start_factor}}

    def __repr__(self) -> str:
        return f"warmup({self.schedule!r}, warmup_steps={self.warmup_steps}, start_factor={self.start_factor!r})"


class Join(Schedule):
    """Schedules one after another, each counting its steps from its boundary.

    With schedules :math:`s_0, \\dots, s_k` and boundaries
    :math:`b_1 < \\dots < b_k`:

    .. math::

        \\eta_t = s_i(t - b_i) \\quad \\text{for } b_i \\le t < b_{i+1}
        \\quad (b_0 = 0,\\ b_{k+1} = \\infty).

    As optax's ``join_schedules(schedules, boundaries)`` and PyTorch's
    ``SequentialLR(optimizer, schedulers, milestones=boundaries)``.
    """

    def __init__(self, schedules: Sequence[Schedule], boundaries: Sequence[int]):
        owner = "join"
        if isinstance(schedules, Schedule) or not isinstance(schedules, (list, tuple)):
            raise TypeError(f"{owner}: schedules must be a list of Schedules; got {schedules!r}")
        if not schedules:
            raise ValueError(f"{owner}: schedules is empty; give at least one schedule")
        self.schedules = tuple(_check_schedule(s, f"schedules[{i}]", owner) for i, s in enumerate(schedules))
        self.boundaries = _BOUNDARIES.validate(boundaries, owner)
        if len(self.boundaries) != len(self.schedules) - 1:
            raise ValueError(
                f"{owner}: {len(self.schedules)} schedules need {len(self.schedules) - 1} boundaries "
                f"(one where each schedule after the first starts); got {len(self.boundaries)}: {list(self.boundaries)}"
            )
        units = {s.per for s in self.schedules}
        if len(units) > 1:
            described = ", ".join(f"schedules[{i}] per={s.per!r}" for i, s in enumerate(self.schedules))
            raise ValueError(f"{owner}: every schedule must count the same unit; got {described}")
        self.per = self.schedules[0].per

    @property
    def resolved(self) -> bool:
        return all(s.resolved for s in self.schedules)

    def with_lr(self, lr: float) -> "Join":
        validate_lr(lr, "join")
        return Join([s.with_lr(lr) for s in self.schedules], self.boundaries)

    def _require_lr(self) -> None:
        for i, schedule in enumerate(self.schedules):
            try:
                schedule._require_lr()
            except RuntimeError as error:
                raise RuntimeError(f"join: schedules[{i}]: {error}") from None

    def get_config(self) -> dict[str, Any]:
        return {"join": {"schedules": [s.get_config() for s in self.schedules], "boundaries": list(self.boundaries)}}

    def _values(self, steps: np.ndarray) -> np.ndarray:
        values = np.empty(steps.shape, dtype=np.float64)
        starts = (0,) + self.boundaries
        segment = np.searchsorted(np.array(self.boundaries, dtype=np.int64), steps, side="right")
        for i, schedule in enumerate(self.schedules):
            chosen = segment == i
            if chosen.any():
                values[chosen] = schedule._values(steps[chosen] - starts[i])
        return values

    def __repr__(self) -> str:
        return f"join([{', '.join(map(repr, self.schedules))}], boundaries={list(self.boundaries)})"


def warmup(schedule: Schedule, warmup_steps: int, start_factor: float = 0.0) -> Warmup:
    """Linear warm-up over ``warmup_steps`` steps from ``start_factor * schedule(0)``, then ``schedule``.

    See :class:`Warmup`. Raises ``TypeError`` or ``ValueError`` naming the
    bad argument.
    """
    return Warmup(schedule, warmup_steps, start_factor)


def join(schedules: Sequence[Schedule], boundaries: Sequence[int]) -> Join:
    """``schedules[i]`` from step ``boundaries[i - 1]`` on, counting its steps from there.

    See :class:`Join`. Raises ``TypeError`` or ``ValueError`` naming the
    bad argument.
    """
    return Join(schedules, boundaries)
