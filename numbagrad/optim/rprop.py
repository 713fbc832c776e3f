"""Rprop: a step size per weight, grown while the gradient keeps its sign and shrunk when it flips.

The rule, its coefficients and the declaration, in one place; numbagrad
generates the CPU and CUDA kernels from ``rprop_coefficients`` and
``rprop_rule`` (:mod:`numbagrad.kernels.elementwise`).
"""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple

from numbagrad.hyperparameters import Hyperparameter
from numbagrad.optim.common import MAXIMIZE, lr
from numbagrad.optim.optimizer import Optimizer
from numbagrad.optim.spec import OptimizerSpec, StateSlot

__all__ = ["Rprop", "RPROP_SPEC", "rprop_coefficients", "rprop_rule"]


class RpropCoefficients(NamedTuple):
    """Rprop's constants in the parameters' dtype."""

    etaminus: float
    etaplus: float
    step_size_min: float
    step_size_max: float
    zero: float
    one: float
    maximize: bool


def rprop_coefficients(param, step, lr, etas, step_sizes, maximize):
    """``etas`` and ``step_sizes`` rounded to ``param``'s dtype (``lr`` only starts the step sizes)."""
    T = param.dtype.type
    return RpropCoefficients(T(etas[0]), T(etas[1]), T(step_sizes[0]), T(step_sizes[1]), T(0.0), T(1.0), maximize)


def rprop_rule(p, grad, prev, step_size, c):
    """One element of Rprop; returns ``(p, prev, step_size)``::

        g = -grad if maximize else grad
        f = etaplus if g prev > 0,  etaminus if g prev < 0,  1 if g prev = 0
        step_size = clamp(step_size f, step_size_min, step_size_max)
        g = 0 where f = etaminus       (the sign flipped: no step, and no flip next time)
        p = p - sign(g) step_size;  prev = g
    """
    g = -grad if c.maximize else grad
    product = g * prev
    factor = product  # NaN stays NaN, as torch's sign of a NaN product
    if product > c.zero:
        factor = c.etaplus
    elif product < c.zero:
        factor = c.etaminus
    elif product == c.zero:
        factor = c.one
    step_size = step_size * factor
    if step_size < c.step_size_min:
        step_size = c.step_size_min
    if step_size > c.step_size_max:
        step_size = c.step_size_max
    if factor == c.etaminus:
        g = c.zero
    sign = c.zero  # torch.sign: 0 for zeros and NaN
    if g > c.zero:
        sign = c.one
    elif g < c.zero:
        sign = -c.one
    return p - sign * step_size, g, step_size


def _check(values: Mapping[str, Any], owner: str) -> None:
    etaminus, etaplus = values["etas"]
    if not 0.0 < etaminus < 1.0 < etaplus:
        raise ValueError(f"{owner}: etas must be (etaminus, etaplus) with 0 < etaminus < 1 < etaplus; got {values['etas']!r}")
    low, high = values["step_sizes"]
    if low > high:
        raise ValueError(f"{owner}: step_sizes must be (minimum, maximum) with minimum <= maximum; got {values['step_sizes']!r}")


RPROP_SPEC = OptimizerSpec(
    name="rprop",
    title="Rprop",
    coefficients=rprop_coefficients,
    rule=rprop_rule,
    hyperparameters=(
        lr(1e-2),
        Hyperparameter("etas", (0.5, 1.2), kind="pair", minimum=0.0, doc="(etaminus, etaplus): how a step size shrinks and grows"),
        Hyperparameter("step_sizes", (1e-6, 50.0), kind="pair", minimum=0.0, doc="(minimum, maximum) step size"),
        MAXIMIZE,
    ),
    state=(StateSlot("prev"), StateSlot("step_size", initial="lr", minimum=0.0)),
    check=_check,
)


class Rprop(Optimizer):
    r"""Rprop: resilient backpropagation (Riedmiller & Braun, 1993).

    Rprop ignores the size of the gradient and uses only its sign: every
    weight has its own step size, which grows by ``etaplus`` while the
    gradient keeps its sign (the ball keeps rolling the same way) and shrinks
    by ``etaminus`` when it flips (it has stepped over a valley). Meant for
    full-batch training, where the gradient's sign is reliable.

    Update, for step ``t`` (as implemented; PyTorch's algorithm)::

        g = -grad if maximize else grad
        f = etaplus if g * prev > 0, etaminus if g * prev < 0, 1 if g * prev == 0
        step_size = clamp(step_size * f, step_size_min, step_size_max)
        g = 0 where f == etaminus
        p = p - sign(g) * step_size
        prev = g

    Args:
        params: arrays or parameter groups (see :class:`Optimizer`).
        lr: the initial step size of every weight (default 1e-2).
        etas: ``(etaminus, etaplus)``, ``0 < etaminus < 1 < etaplus``
            (default (0.5, 1.2)).
        step_sizes: ``(minimum, maximum)`` step size, ``0 <= minimum <=
            maximum`` (default (1e-6, 50)).
        maximize: maximize the objective instead.

    State: ``prev`` (the previous step's gradient, zeroed where its sign
    flipped), ``step_size`` (starts at ``lr``).

    Registry name: ``"rprop"``. Keras has no Rprop.
    """

    spec = RPROP_SPEC
