"""Adagrad."""

from __future__ import annotations

from typing import NamedTuple

from numbagrad.hyperparameters import Hyperparameter
from numbagrad.kernels.rules import regularized_gradient, root
from numbagrad.optim.common import MAXIMIZE, WEIGHT_DECAY, eps, lr
from numbagrad.optim.optimizer import Optimizer
from numbagrad.optim.spec import OptimizerSpec, StateSlot

__all__ = ["Adagrad", "ADAGRAD_SPEC", "adagrad_coefficients", "adagrad_rule"]


class AdagradCoefficients(NamedTuple):
    """Adagrad's constants in the parameters' dtype."""

    negative_clr: float  # -lr / (1 + (t - 1) lr_decay)
    weight_decay: float
    eps: float
    maximize: bool
    eps_inside: bool


def adagrad_coefficients(param, step, lr, lr_decay, weight_decay, initial_accumulator_value, eps, maximize, eps_inside_sqrt):
    T = param.dtype.type
    return AdagradCoefficients(T(-(lr / (1.0 + (step - 1) * lr_decay))), T(weight_decay), T(eps), maximize, eps_inside_sqrt)


def adagrad_rule(p, grad, total, c):
    """One element of Adagrad; returns ``(p, sum)``::

        g = -grad if maximize else grad;  g = g + weight_decay p
        sum = sum + g g
        p = p - clr g / (sqrt(sum) + eps)         (sqrt(sum + eps) with eps_inside_sqrt)
    """
    g = regularized_gradient(grad, p, c.weight_decay, c.maximize)
    total = total + g * g
    if c.eps_inside:
        s = root(total + c.eps)
    else:
        s = root(total) + c.eps
    return p + c.negative_clr * g / s, total

ADAGRAD_SPEC = OptimizerSpec(
    name="adagrad",
    title="Adagrad",
    coefficients=adagrad_coefficients,
    rule=adagrad_rule,
    hyperparameters=(
        lr(1e-2),
        Hyperparameter("lr_decay", 0.0, minimum=0.0, doc="learning-rate decay: lr / (1 + (t - 1) lr_decay)"),
        WEIGHT_DECAY,
        Hyperparameter("initial_accumulator_value", 0.0, minimum=0.0, doc="starting value of the sum of squared gradients"),
        eps(1e-10),
        MAXIMIZE,
        Hyperparameter("eps_inside_sqrt", False, kind="bool", doc="sqrt(sum + eps) as Keras, instead of sqrt(sum) + eps"),
    ),
    state=(StateSlot("sum", initial="initial_accumulator_value", minimum=0.0),),
)


class Adagrad(Optimizer):
    r"""Adagrad: per-parameter steps shrinking with the sum of all past squared gradients.

    Adagrad (Duchi, Hazan & Singer, 2011) gives rarely-updated parameters
    larger steps than frequently-updated ones. Its accumulated sum only
    grows, so the effective learning rate decays on its own.

    Update, for step ``t`` (as implemented; PyTorch's algorithm)::

        g = -grad if maximize else grad
        g = g + weight_decay * p
        clr = lr / (1 + (t - 1) * lr_decay)
        sum = sum + g * g
        p = p - clr * g / (sqrt(sum) + eps)

    Args:
        params: arrays or parameter groups (see :class:`Optimizer`).
        lr: learning rate (default 1e-2).
        lr_decay: learning-rate decay ``>= 0`` (default 0).
        weight_decay: L2 penalty ``>= 0`` (default 0).
        initial_accumulator_value: starting value of ``sum``, ``>= 0`` (default 0).
        eps: added to the denominator, ``> 0`` (default 1e-10).
        maximize: maximize the objective instead.
        eps_inside_sqrt: Keras's ``sqrt(sum + eps)`` instead of ``sqrt(sum) + eps``.

    State: ``sum``, started at ``initial_accumulator_value``.

    Keras: ``keras.optimizers.Adagrad`` puts epsilon inside the square root
    (``eps_inside_sqrt=True``) and defaults to
    ``initial_accumulator_value=0.1``, ``epsilon=1e-7`` and ``lr=0.001``.
    """

    spec = ADAGRAD_SPEC
