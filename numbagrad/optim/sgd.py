"""Stochastic gradient descent, with momentum and Nesterov momentum."""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple

from numbagrad.hyperparameters import Hyperparameter
from numbagrad.kernels.rules import regularized_gradient
from numbagrad.optim.common import MAXIMIZE, WEIGHT_DECAY, lr
from numbagrad.optim.optimizer import Optimizer
from numbagrad.optim.spec import OptimizerSpec, StateSlot

__all__ = ["SGD", "SGD_SPEC", "sgd_coefficients", "sgd_rule"]


class SGDCoefficients(NamedTuple):
    """SGD's constants in the parameters' dtype, and its switches."""

    lr: float
    momentum: float
    keep: float  # 1 - dampening
    weight_decay: float
    has_momentum: bool
    nesterov: bool
    maximize: bool
    first: bool  # the first step: the buffer starts at the gradient


def sgd_coefficients(param, step, lr, momentum, dampening, weight_decay, nesterov, maximize):
    T = param.dtype.type
    return SGDCoefficients(T(lr), T(momentum), T(1.0 - dampening), T(weight_decay), momentum != 0.0, nesterov, maximize, step == 1)


def sgd_rule(p, grad, momentum_buffer, c):
    """One element of SGD; returns ``(p, momentum_buffer)``::

        g = -grad if maximize else grad;  g = g + weight_decay p
        b = g                                  on the first step
        b = momentum b + (1 - dampening) g     afterwards
        g = g + momentum b  if nesterov  else  b
        p = p - lr g
    """
    g = regularized_gradient(grad, p, c.weight_decay, c.maximize)
    b = momentum_buffer
    if c.has_momentum:
        b = g if c.first else b * c.momentum + c.keep * g
        g = g + c.momentum * b if c.nesterov else b
    return p + (-c.lr) * g, b


def _check(values: Mapping[str, Any], owner: str) -> None:
    if values["nesterov"] and (values["momentum"] <= 0 or values["dampening"] != 0):
        raise ValueError(
            f"{owner}: nesterov=True requires momentum > 0 and dampening == 0; "
            f"got momentum={values['momentum']!r}, dampening={values['dampening']!r}"
        )


SGD_SPEC = OptimizerSpec(
    name="sgd",
    title="SGD",
    coefficients=sgd_coefficients,
    rule=sgd_rule,
    hyperparameters=(
        lr(1e-3),
        Hyperparameter("momentum", 0.0, minimum=0.0, doc="momentum factor (0 turns momentum off)"),
        Hyperparameter("dampening", 0.0, minimum=0.0, maximum=1.0, doc="dampening of the gradient's share of momentum"),
        WEIGHT_DECAY,
        Hyperparameter("nesterov", False, kind="bool", doc="use Nesterov momentum"),
        MAXIMIZE,
    ),
    state=(StateSlot("momentum_buffer", when="momentum"),),
    check=_check,
    presets={"momentum": {"momentum": 0.9}, "nesterov": {"momentum": 0.9, "nesterov": True}},
)


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with momentum or Nesterov momentum.

    Plain gradient descent steps against the gradient, ``lr`` times its
    length. With momentum the ball keeps a velocity ``b``: gradients that
    keep pointing the same way add up, gradients that flip sign cancel out.
    Nesterov momentum first jumps along the velocity, then corrects with the
    gradient, which is written here in PyTorch's equivalent form.

    Update, for step ``t`` (as implemented; PyTorch's algorithm)::

        g = -grad if maximize else grad
        g = g + weight_decay * p                       (if weight_decay != 0)
        if momentum != 0:
            b = g                                       (t = 1)
            b = momentum * b + (1 - dampening) * g      (t > 1)
            g = g + momentum * b   if nesterov   else   b
        p = p - lr * g

    Args:
        params: arrays or parameter groups (see :class:`Optimizer`).
        lr: learning rate (default 1e-3, as PyTorch).
        momentum: momentum factor ``>= 0`` (default 0).
        dampening: dampening for momentum, in [0, 1] (default 0).
        weight_decay: L2 penalty ``>= 0`` (default 0).
        nesterov: Nesterov momentum; needs ``momentum > 0`` and ``dampening == 0``.
        maximize: maximize the objective instead.

    State: ``momentum_buffer`` when ``momentum != 0``.

    Registry names: ``"sgd"``; ``"momentum"`` is SGD with ``momentum=0.9``;
    ``"nesterov"`` adds ``nesterov=True``.

    Keras: ``keras.optimizers.SGD`` keeps ``v = momentum v - lr g`` and steps
    ``p + v`` (Nesterov: ``p + momentum v - lr g``). With a constant learning
    rate that is the same trajectory, ``v = -lr b``; when the learning rate
    changes between steps, Keras's velocity remembers the old rates and this
    rule does not.
    """

    spec = SGD_SPEC
