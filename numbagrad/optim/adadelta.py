"""Adadelta."""

from __future__ import annotations

from typing import NamedTuple

from numbagrad.hyperparameters import Hyperparameter
from numbagrad.kernels.rules import regularized_gradient, root
from numbagrad.optim.common import MAXIMIZE, WEIGHT_DECAY, eps, lr
from numbagrad.optim.optimizer import Optimizer
from numbagrad.optim.spec import OptimizerSpec, StateSlot

__all__ = ["Adadelta", "ADADELTA_SPEC", "adadelta_coefficients", "adadelta_rule"]


class AdadeltaCoefficients(NamedTuple):
    """Adadelta's constants in the parameters' dtype."""

    lr: float
    rho: float
    one_minus_rho: float
    eps: float
    weight_decay: float
    maximize: bool


def adadelta_coefficients(param, step, lr, rho, eps, weight_decay, maximize):
    T = param.dtype.type
    return AdadeltaCoefficients(T(lr), T(rho), T(1.0 - rho), T(eps), T(weight_decay), maximize)


def adadelta_rule(p, grad, square_avg, acc_delta, c):
    """One element of Adadelta; returns ``(p, square_avg, acc_delta)``::

        g = -grad if maximize else grad;  g = g + weight_decay p
        v = rho v + (1 - rho) g g
        d = sqrt(u + eps) / sqrt(v + eps) g
        u = rho u + (1 - rho) d d
        p = p - lr d
    """
    g = regularized_gradient(grad, p, c.weight_decay, c.maximize)
    v = square_avg * c.rho + c.one_minus_rho * g * g
    delta = root(acc_delta + c.eps) / root(v + c.eps) * g
    u = acc_delta * c.rho + c.one_minus_rho * delta * delta
    return p + (-c.lr) * delta, v, u

ADADELTA_SPEC = OptimizerSpec(
    name="adadelta",
    title="Adadelta",
    coefficients=adadelta_coefficients,
    rule=adadelta_rule,
    hyperparameters=(
        lr(1.0),
        Hyperparameter("rho", 0.9, minimum=0.0, maximum=1.0, doc="decay rate of the running averages"),
        eps(1e-6),
        WEIGHT_DECAY,
        MAXIMIZE,
    ),
    state=(StateSlot("square_avg", minimum=0.0), StateSlot("acc_delta", minimum=0.0)),
)


class Adadelta(Optimizer):
    r"""Adadelta: steps sized by the ratio of recent update and gradient magnitudes.

    Adadelta (Zeiler, 2012) replaces Adagrad's ever-growing sum with a running
    average, and multiplies by the running RMS of past updates so that the
    step has the units of the parameter; ``lr`` only scales the result.

    Update (as implemented; PyTorch's algorithm)::

        g = -grad if maximize else grad
        g = g + weight_decay * p
        v = rho * v + (1 - rho) * g * g
        d = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho * u + (1 - rho) * d * d
        p = p - lr * d

    Args:
        params: arrays or parameter groups (see :class:`Optimizer`).
        lr: scale of the update (default 1.0).
        rho: decay rate in [0, 1] (default 0.9).
        eps: added inside the square roots, ``> 0`` (default 1e-6).
        weight_decay: L2 penalty ``>= 0`` (default 0).
        maximize: maximize the objective instead.

    State: ``square_avg`` (v) and ``acc_delta`` (u).

    Keras: the same rule, with ``learning_rate=0.001``, ``rho=0.95`` and
    ``epsilon=1e-7`` by default.
    """

    spec = ADADELTA_SPEC
