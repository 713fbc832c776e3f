"""RMSprop."""

from __future__ import annotations

from typing import NamedTuple

from numbagrad.hyperparameters import Hyperparameter
from numbagrad.kernels.rules import lerp, regularized_gradient, root
from numbagrad.optim.common import MAXIMIZE, WEIGHT_DECAY, eps, lr
from numbagrad.optim.optimizer import Optimizer
from numbagrad.optim.spec import OptimizerSpec, StateSlot

__all__ = ["RMSprop", "RMSPROP_SPEC", "rmsprop_coefficients", "rmsprop_rule"]


class RMSpropCoefficients(NamedTuple):
    """RMSprop's constants in the parameters' dtype, and its switches."""

    lr: float
    alpha: float
    one_minus_alpha: float
    one_minus_weight: float  # alpha as lerp's complement of 1 - alpha
    eps: float
    weight_decay: float
    momentum: float
    has_momentum: bool
    centered: bool
    maximize: bool
    eps_inside: bool


def rmsprop_coefficients(param, step, lr, alpha, eps, weight_decay, momentum, centered, maximize, eps_inside_sqrt):
    T = param.dtype.type
    one_minus_alpha = T(1.0 - alpha)
    return RMSpropCoefficients(
        T(lr), T(alpha), one_minus_alpha, T(1.0) - one_minus_alpha, T(eps), T(weight_decay), T(momentum),
        momentum > 0.0, centered, maximize, eps_inside_sqrt,
    )


def rmsprop_rule(p, grad, square_avg, momentum_buffer, grad_avg, c):
    """One element of RMSprop; returns ``(p, square_avg, momentum_buffer, grad_avg)``::

        g = -grad if maximize else grad;  g = g + weight_decay p
        v = alpha v + (1 - alpha) g g
        a = lerp(a, g, 1 - alpha);  s = sqrt(v - a a) + eps     centered
        s = sqrt(v) + eps                                       otherwise
        s = sqrt(v [- a a] + eps)                               with eps_inside_sqrt
        b = momentum b + g / s;  p = p - lr b                   momentum > 0
        p = p - lr g / s                                        otherwise
    """
    g = regularized_gradient(grad, p, c.weight_decay, c.maximize)
    v = square_avg * c.alpha + c.one_minus_alpha * g * g
    second = v
    a = grad_avg
    if c.centered:
        a = lerp(a, g, c.one_minus_alpha, c.one_minus_weight)
        second = second + -a * a
    if c.eps_inside:
        s = root(second + c.eps)
    else:
        s = root(second) + c.eps
    b = momentum_buffer
    if c.has_momentum:
        b = b * c.momentum + g / s
        p = p + (-c.lr) * b
    else:
        p = p + (-c.lr) * g / s
    return p, v, b, a


RMSPROP_SPEC = OptimizerSpec(
    name="rmsprop",
    title="RMSprop",
    coefficients=rmsprop_coefficients,
    rule=rmsprop_rule,
    hyperparameters=(
        lr(1e-2),
        Hyperparameter("alpha", 0.99, minimum=0.0, maximum=1.0, doc="smoothing constant of the squared-gradient average"),
        eps(1e-8),
        WEIGHT_DECAY,
        Hyperparameter("momentum", 0.0, minimum=0.0, doc="momentum factor (0 turns momentum off)"),
        Hyperparameter("centered", False, kind="bool", doc="normalize by the estimated variance instead of the raw second moment"),
        MAXIMIZE,
        Hyperparameter("eps_inside_sqrt", False, kind="bool", doc="sqrt(v + eps) as Keras, instead of sqrt(v) + eps"),
    ),
    state=(StateSlot("square_avg", minimum=0.0), StateSlot("momentum_buffer", when="momentum"), StateSlot("grad_avg", when="centered")),
)


class RMSprop(Optimizer):
    r"""RMSprop: divide the gradient by a running root mean square of recent gradients.

    Proposed by Hinton (Coursera lecture 6e, 2012). Each parameter's step is
    scaled down where gradients have been large and up where they have been
    small. ``centered`` subtracts the squared running mean of the gradient,
    normalizing by an estimate of its variance.

    Update (as implemented; PyTorch's algorithm)::

        g = -grad if maximize else grad
        g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g * g
        if centered:  a = lerp(a, g, 1 - alpha);  s = sqrt(v - a * a) + eps
        else:         s = sqrt(v) + eps
        if momentum > 0:  b = momentum * b + g / s;  p = p - lr * b
        else:             p = p - lr * g / s

    Args:
        params: arrays or parameter groups (see :class:`Optimizer`).
        lr: learning rate (default 1e-2).
        alpha: smoothing constant in [0, 1] (default 0.99).
        eps: added to the denominator, ``> 0`` (default 1e-8).
        weight_decay: L2 penalty ``>= 0`` (default 0).
        momentum: momentum factor ``>= 0`` (default 0).
        centered: normalize by the estimated variance.
        maximize: maximize the objective instead.
        eps_inside_sqrt: Keras's ``s = sqrt(v + eps)`` (``sqrt(v - a a + eps)``
            when centered) instead of ``sqrt(v) + eps``.

    State: ``square_avg``; ``momentum_buffer`` when ``momentum > 0``;
    ``grad_avg`` when centered.

    Keras: ``keras.optimizers.RMSprop`` puts epsilon inside the square root
    (``eps_inside_sqrt=True``), names ``alpha`` ``rho`` (default 0.9), uses
    epsilon 1e-7 and folds the learning rate into the momentum buffer
    (``b = momentum b + lr g / s; p = p - b``): the same trajectory while the
    learning rate is constant.
    """

    spec = RMSPROP_SPEC
