"""Cosine schedules: annealing, annealing with warm restarts, and the one-cycle policy.

Each function maps an int64 array of 0-based steps :math:`t` to learning
rates, for the base learning rate :math:`\\eta` (``lr``), with PyTorch's
formulas in closed form: after ``k`` calls of ``scheduler.step()``,
PyTorch's ``get_last_lr()`` is the value at :math:`t = k`.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from numbagrad.hyperparameters import REQUIRED, Hyperparameter
from numbagrad.schedules.spec import ScheduleSpec

__all__ = [
    "cosine_annealing",
    "cosine_warm_restarts",
    "one_cycle",
    "COSINE_SPEC",
    "COSINE_WARM_RESTARTS_SPEC",
    "ONE_CYCLE_SPEC",
]


def _eta_min():
    return Hyperparameter("eta_min", 0.0, minimum=0.0, doc="the lowest learning rate")


def cosine_annealing(step, lr, T_max, eta_min):
    """:math:`\\eta_t = \\eta_{min} + (\\eta - \\eta_{min}) \\frac{1 + \\cos(\\pi t / T_{max})}{2}`.

    PyTorch: ``CosineAnnealingLR(optimizer, T_max, eta_min)``, including
    what it does after :math:`T_{max}` steps: the cosine goes on, rising back
    to :math:`\\eta` at :math:`2 T_{max}`. Keras's ``CosineDecay(lr,
    decay_steps=T_max, alpha=eta_min / lr)`` and optax's
    ``cosine_decay_schedule`` hold :math:`\\eta_{min}` after :math:`T_{max}`
    instead: ``join([cosine, constant(lr=eta_min)], [T_max])`` does that.
    """
    return eta_min + (lr - eta_min) * (1.0 + np.cos(np.pi * step / T_max)) / 2.0


def _cycle_starts(last_step: int, T_0: int, T_mult: int) -> np.ndarray:
    """Start of every cycle up to ``last_step``: 0, T_0, T_0 + T_0 T_mult, ... (exact integers)."""
    starts, length = [0], T_0
    while starts[-1] <= last_step:
        starts.append(starts[-1] + length)
        length *= T_mult
    return np.array(starts, dtype=np.int64)


def cosine_warm_restarts(step, lr, T_0, T_mult, eta_min):
    """SGDR: cosine annealing restarted every :math:`T_i` steps, :math:`T_{i+1} = T_{mult} T_i`, :math:`T_0` first.

    .. math::

        \\eta_t = \\eta_{min} + (\\eta - \\eta_{min}) \\frac{1 + \\cos(\\pi T_{cur} / T_i)}{2}

    with :math:`T_{cur}` the steps since the last restart. PyTorch:
    ``CosineAnnealingWarmRestarts(optimizer, T_0, T_mult, eta_min)``. Keras:
    ``CosineDecayRestarts(lr, first_decay_steps=T_0, t_mul=T_mult, m_mul=1,
    alpha=eta_min / lr)``. Cycle boundaries are found in exact integers.
    """
    if T_mult == 1:
        since, length = step % T_0, T_0
    else:
        starts = _cycle_starts(int(step.max()) if step.size else 0, T_0, T_mult)
        cycle = np.searchsorted(starts, step, side="right") - 1
        since, length = step - starts[cycle], starts[cycle + 1] - starts[cycle]
    return eta_min + (lr - eta_min) * (1.0 + np.cos(np.pi * since / length)) / 2.0


def _anneal(start, end, fraction, strategy):
    if strategy == "cos":
        return end + (start - end) / 2.0 * (np.cos(np.pi * fraction) + 1.0)
    return (end - start) * fraction + start


def _phases(lr, total_steps, pct_start, div_factor, final_div_factor, three_phase):
    """``(end_step, start_lr, end_lr)`` of each phase, as PyTorch's ``OneCycleLR`` computes them."""
    initial = lr / div_factor
    final = initial / final_div_factor
    rise_end = float(pct_start * total_steps) - 1
    if three_phase:
        return [(rise_end, initial, lr), (float(2 * pct_start * total_steps) - 2, lr, initial), (total_steps - 1, initial, final)]
    return [(rise_end, initial, lr), (total_steps - 1, lr, final)]


def one_cycle(step, lr, total_steps, pct_start, div_factor, final_div_factor, anneal_strategy, three_phase):
    """The one-cycle policy (Smith & Topin, 2018): up from :math:`\\eta / d` to
    the peak :math:`\\eta`, then down to :math:`\\eta / (d f)`.

    With :math:`d` = ``div_factor``, :math:`f` = ``final_div_factor`` and
    :math:`T` = ``total_steps``, the rise ends at step :math:`p T - 1`
    (:math:`p` = ``pct_start``) and the fall at :math:`T - 1`; within a
    phase from :math:`a` to :math:`b` at fraction :math:`x` of it, the
    learning rate is :math:`b + (a - b)(1 + \\cos \\pi x)/2` (``"cos"``) or
    :math:`a + (b - a) x` (``"linear"``). ``three_phase`` comes back down to
    :math:`\\eta / d` at :math:`2 p T - 2` before the final descent.

    PyTorch: ``OneCycleLR(optimizer, max_lr=lr, total_steps, pct_start,
    div_factor, final_div_factor, anneal_strategy, three_phase)``, the
    learning-rate part (this schedule's ``lr`` is PyTorch's ``max_lr``, the
    peak). After :math:`T` steps the learning rate stays at its last value,
    where PyTorch raises. optax: ``cosine_onecycle_schedule`` /
    ``linear_onecycle_schedule``.
    """
    phases = _phases(lr, total_steps, pct_start, div_factor, final_div_factor, three_phase)
    t = np.minimum(step, total_steps - 1).astype(np.float64)
    values = np.empty(t.shape, dtype=np.float64)
    pending = np.ones(t.shape, dtype=bool)
    start_step = 0.0
    for i, (end_step, start_lr, end_lr) in enumerate(phases):
        chosen = pending & ((t <= end_step) | (i == len(phases) - 1))
        if chosen.any():
            fraction = (t[chosen] - start_step) / (end_step - start_step)
            values[chosen] = _anneal(start_lr, end_lr, fraction, anneal_strategy)
            pending &= ~chosen
        start_step = end_step
    return values


def _check_one_cycle(values: Mapping[str, Any], owner: str) -> None:
    if values["pct_start"] * values["total_steps"] == 1:
        raise ValueError(
            f"{owner}: pct_start * total_steps must not be 1 (the rise would take no steps); "
            f"got pct_start={values['pct_start']!r}, total_steps={values['total_steps']!r}"
        )


COSINE_SPEC = ScheduleSpec(
    name="cosine",
    title="Cosine annealing",
    function=cosine_annealing,
    hyperparameters=(Hyperparameter("T_max", REQUIRED, kind="int", minimum=1, doc="steps from lr down to eta_min"), _eta_min()),
    example={"T_max": 100},
)

COSINE_WARM_RESTARTS_SPEC = ScheduleSpec(
    name="cosine_warm_restarts",
    title="Cosine annealing with warm restarts",
    function=cosine_warm_restarts,
    hyperparameters=(
        Hyperparameter("T_0", REQUIRED, kind="int", minimum=1, doc="steps until the first restart"),
        Hyperparameter("T_mult", 1, kind="int", minimum=1, doc="factor by which each cycle is longer than the last"),
        _eta_min(),
    ),
    example={"T_0": 10, "T_mult": 2},
)

ONE_CYCLE_SPEC = ScheduleSpec(
    name="one_cycle",
    title="One-cycle policy",
    function=one_cycle,
    hyperparameters=(
        Hyperparameter("total_steps", REQUIRED, kind="int", minimum=1, doc="length of the cycle"),
        Hyperparameter("pct_start", 0.3, minimum=0.0, maximum=1.0, doc="fraction of the cycle spent rising"),
        Hyperparameter("div_factor", 25.0, minimum=0.0, exclusive_minimum=True, doc="the cycle starts at lr / div_factor"),
        Hyperparameter(
            "final_div_factor", 1e4, minimum=0.0, exclusive_minimum=True,
            doc="the cycle ends at lr / (div_factor * final_div_factor)",
        ),
        Hyperparameter("anneal_strategy", "cos", kind="choice", choices=("cos", "linear"), doc="shape of each phase"),
        Hyperparameter("three_phase", False, kind="bool", doc="come back down to lr / div_factor before the final descent"),
    ),
    check=_check_one_cycle,
    example={"total_steps": 100},
)
