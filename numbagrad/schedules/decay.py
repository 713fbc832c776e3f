"""Decaying schedules: constant, step, multistep, exponential, inverse time, polynomial.

Learning-rate decay starts with large steps, while the ball is far from the
valley floor, and takes smaller ones as it gets near. Each function maps an
int64 array of 0-based steps :math:`t` to learning rates, for the base
learning rate :math:`\\eta` (``lr``). PyTorch's schedulers count the same
steps: after ``k`` calls of ``scheduler.step()``, ``get_last_lr()`` is the
value at :math:`t = k`.
"""

from __future__ import annotations

import numpy as np

from numbagrad.hyperparameters import REQUIRED, Hyperparameter
from numbagrad.schedules.spec import ScheduleSpec

__all__ = [
    "constant",
    "step_decay",
    "multistep_decay",
    "exponential_decay",
    "inverse_time_decay",
    "polynomial_decay",
    "CONSTANT_SPEC",
    "STEP_SPEC",
    "MULTISTEP_SPEC",
    "EXPONENTIAL_SPEC",
    "INVERSE_TIME_SPEC",
    "POLYNOMIAL_SPEC",
]


def _decay_steps():
    return Hyperparameter("decay_steps", 1, kind="int", minimum=1, doc="steps per unit of decay")


def _staircase():
    return Hyperparameter("staircase", False, kind="bool", doc="decay in whole units of decay_steps (a staircase)")


def _exponent(step: np.ndarray, decay_steps: int, staircase: bool) -> np.ndarray:
    return step // decay_steps if staircase else step / decay_steps


def constant(step, lr):
    """:math:`\\eta_t = \\eta`.

    PyTorch: no scheduler (``ConstantLR`` is a temporary factor; use
    :func:`numbagrad.schedules.join` for that). Keras and optax: a float
    learning rate, ``optax.constant_schedule(lr)``.
    """
    return np.full(step.shape, lr, dtype=np.float64)


def step_decay(step, lr, step_size, gamma):
    """:math:`\\eta_t = \\eta \\, \\gamma^{\\lfloor t / \\text{step\\_size} \\rfloor}`.

    PyTorch: ``StepLR(optimizer, step_size, gamma)``. Keras:
    ``ExponentialDecay(lr, decay_steps=step_size, decay_rate=gamma,
    staircase=True)``. optax: ``exponential_decay(lr, step_size, gamma,
    staircase=True)``.
    """
    return lr * np.power(gamma, (step // step_size).astype(np.float64))


def multistep_decay(step, lr, milestones, gamma):
    """:math:`\\eta_t = \\eta \\, \\gamma^{m(t)}`, :math:`m(t)` the number of milestones :math:`\\le t`.

    PyTorch: ``MultiStepLR(optimizer, milestones, gamma)``. Keras:
    ``PiecewiseConstantDecay(milestones, [lr * gamma**i ...])``. optax:
    ``piecewise_constant_schedule(lr, {m: gamma for m in milestones})``.
    """
    passed = np.searchsorted(np.asarray(milestones, dtype=np.int64), step, side="right")
    return lr * np.power(gamma, passed.astype(np.float64))


def exponential_decay(step, lr, gamma, decay_steps, staircase):
    """:math:`\\eta_t = \\eta \\, \\gamma^{t / \\text{decay\\_steps}}` (the exponent floored with ``staircase``).

    PyTorch: ``ExponentialLR(optimizer, gamma)`` (``decay_steps=1``). Keras:
    ``ExponentialDecay(lr, decay_steps, decay_rate=gamma, staircase)``.
    optax: ``exponential_decay(lr, decay_steps, gamma, staircase=staircase)``.
    """
    return lr * np.power(gamma, _exponent(step, decay_steps, staircase).astype(np.float64))


def inverse_time_decay(step, lr, decay, decay_steps, staircase):
    """:math:`\\eta_t = \\eta \\,/\\, (1 + \\text{decay} \\cdot t / \\text{decay\\_steps})` (floored with ``staircase``).

    The "learning rate decay" of Keras's optimizers (``decay=``) and of
    many courses, :math:`\\eta / (1 + \\text{decay} \\cdot t)`. Keras:
    ``InverseTimeDecay(lr, decay_steps, decay_rate=decay, staircase)``.
    PyTorch has no scheduler for it (``Adagrad``'s ``lr_decay`` applies it
    inside the optimizer); ``LambdaLR(optimizer, lambda t: 1 / (1 + decay * t))``
    is the same.
    """
    return lr / (1.0 + decay * _exponent(step, decay_steps, staircase))


def polynomial_decay(step, lr, total_steps, power, end_lr):
    """:math:`\\eta_t = (\\eta - \\eta_{end}) (1 - \\min(t, T) / T)^{p} + \\eta_{end}`, :math:`T` = ``total_steps``.

    Holds :math:`\\eta_{end}` (``end_lr``) after :math:`T` steps. PyTorch:
    ``PolynomialLR(optimizer, total_iters=T, power=p)`` (with ``end_lr=0``).
    Keras: ``PolynomialDecay(lr, decay_steps=T, end_learning_rate, power)``.
    optax: ``polynomial_schedule(lr, end_lr, p, T)``.
    """
    remaining = 1.0 - np.minimum(step, total_steps) / total_steps
    return (lr - end_lr) * np.power(remaining, power) + end_lr


CONSTANT_SPEC = ScheduleSpec(name="constant", title="Constant", function=constant)

STEP_SPEC = ScheduleSpec(
    name="step",
    title="Step decay",
    function=step_decay,
    hyperparameters=(
        Hyperparameter("step_size", REQUIRED, kind="int", minimum=1, doc="steps between two decays"),
        Hyperparameter("gamma", 0.1, minimum=0.0, exclusive_minimum=True, doc="factor of each decay"),
    ),
    example={"step_size": 10},
)

MULTISTEP_SPEC = ScheduleSpec(
    name="multistep",
    title="Multi-step decay",
    function=multistep_decay,
    hyperparameters=(
        Hyperparameter("milestones", REQUIRED, kind="ints", minimum=1, increasing=True, doc="steps at which to decay"),
        Hyperparameter("gamma", 0.1, minimum=0.0, exclusive_minimum=True, doc="factor of each decay"),
    ),
    example={"milestones": [10, 100]},
)

EXPONENTIAL_SPEC = ScheduleSpec(
    name="exponential",
    title="Exponential decay",
    function=exponential_decay,
    hyperparameters=(
        Hyperparameter("gamma", REQUIRED, minimum=0.0, exclusive_minimum=True, doc="factor per decay_steps steps (Keras's decay_rate)"),
        _decay_steps(),
        _staircase(),
    ),
    example={"gamma": 0.99},
)

INVERSE_TIME_SPEC = ScheduleSpec(
    name="inverse_time",
    title="Inverse time decay",
    function=inverse_time_decay,
    hyperparameters=(
        Hyperparameter("decay", REQUIRED, minimum=0.0, doc="decay rate (Keras's decay_rate, or an optimizer's decay=)"),
        _decay_steps(),
        _staircase(),
    ),
    example={"decay": 0.01},
)

POLYNOMIAL_SPEC = ScheduleSpec(
    name="polynomial",
    title="Polynomial decay",
    function=polynomial_decay,
    hyperparameters=(
        Hyperparameter("total_steps", REQUIRED, kind="int", minimum=1, doc="steps to reach end_lr"),
        Hyperparameter("power", 1.0, minimum=0.0, doc="power of the polynomial (1 is linear)"),
        Hyperparameter("end_lr", 0.0, minimum=0.0, doc="learning rate from total_steps on"),
    ),
    example={"total_steps": 100},
)
