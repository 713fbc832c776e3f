"""Adam and AdamW."""

from __future__ import annotations

import math
from typing import NamedTuple

from numbagrad.hyperparameters import Hyperparameter
from numbagrad.kernels.rules import Moments, adam_moments, moment_coefficients, root
from numbagrad.optim.common import DECOUPLED_WEIGHT_DECAY, MAXIMIZE, WEIGHT_DECAY, betas, eps, lr
from numbagrad.optim.optimizer import Optimizer
from numbagrad.optim.spec import OptimizerSpec, StateSlot

__all__ = ["Adam", "AdamW", "ADAM_SPEC", "ADAMW_SPEC", "adam_coefficients", "adamw_coefficients", "adam_rule"]


class AdamCoefficients(NamedTuple):
    """What one Adam step needs besides the element's values, in the parameters' dtype."""

    moments: Moments
    eps: float
    negative_step_size: float  # -lr / (1 - beta1^t)   (eps_hat: -lr sqrt(1 - beta2^t) / (1 - beta1^t))
    bias_correction2_sqrt: float  # sqrt(1 - beta2^t)  (eps_hat: 1)
    amsgrad: bool
    eps_hat: bool


def _adam(param, step, lr, betas, eps, weight_decay, amsgrad, maximize, decoupled, eps_hat):
    T = param.dtype.type
    beta1, beta2 = betas
    bias_correction1 = 1.0 - beta1 ** float(step)  # a float power: Numba's integer power rounds differently
    bias_correction2 = 1.0 - beta2 ** float(step)
    if eps_hat:
        negative_step_size = T(-(lr * math.sqrt(bias_correction2) / bias_correction1))
        bias_correction2_sqrt = T(1.0)
    else:
        negative_step_size = T(-(lr / bias_correction1))
        bias_correction2_sqrt = T(math.sqrt(bias_correction2))
    moments = moment_coefficients(param, lr, betas, weight_decay, decoupled, maximize)
    return AdamCoefficients(moments, T(eps), negative_step_size, bias_correction2_sqrt, amsgrad, eps_hat)


def adam_coefficients(param, step, lr, betas, eps, weight_decay, amsgrad, maximize, decoupled_weight_decay, eps_hat):
    """Adam's step constants::

        step size = lr / (1 - beta1^t),       divisor = sqrt(1 - beta2^t)
        step size = lr sqrt(1 - beta2^t) / (1 - beta1^t),  divisor = 1   with eps_hat
    """
    return _adam(param, step, lr, betas, eps, weight_decay, amsgrad, maximize, decoupled_weight_decay, eps_hat)


def adamw_coefficients(param, step, lr, betas, eps, weight_decay, amsgrad, maximize, eps_hat):
    """AdamW's: Adam's, with the decay always decoupled."""
    return _adam(param, step, lr, betas, eps, weight_decay, amsgrad, maximize, True, eps_hat)


def adam_rule(p, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, c):
    """One element of Adam; returns ``(p, exp_avg, exp_avg_sq, max_exp_avg_sq)``::

        (p, g, m, v) = adam_moments(...)
        v_max = max(v_max, v); use v_max as v          with amsgrad
        p = p - step_size m / (sqrt(v) / divisor + eps)
        p = p - step_size m / (sqrt(v) + eps)          with eps_hat
    """
    p, g, exp_avg, exp_avg_sq = adam_moments(p, grad, exp_avg, exp_avg_sq, c.moments)
    second = exp_avg_sq
    if c.amsgrad:
        # torch.maximum: NaN wins, hence "not >=" rather than "<".
        if not max_exp_avg_sq >= exp_avg_sq:
            max_exp_avg_sq = exp_avg_sq
        second = max_exp_avg_sq
    if c.eps_hat:
        denominator = root(second) + c.eps
    else:
        denominator = root(second) / c.bias_correction2_sqrt + c.eps
    return p + c.negative_step_size * exp_avg / denominator, exp_avg, exp_avg_sq, max_exp_avg_sq

AMSGRAD = Hyperparameter("amsgrad", False, kind="bool", doc="use the running maximum of the second moment (AMSGrad)")
EPS_HAT = Hyperparameter(
    "eps_hat", False, kind="bool",
    doc="add eps to sqrt(v) before bias correction, as Keras and TensorFlow do",
)


_ADAM_SLOTS = ("exp_avg", StateSlot("exp_avg_sq", minimum=0.0), StateSlot("max_exp_avg_sq", when="amsgrad", minimum=0.0))


ADAM_SPEC = OptimizerSpec(
    name="adam",
    title="Adam",
    coefficients=adam_coefficients,
    rule=adam_rule,
    hyperparameters=(
        lr(1e-3), betas((0.9, 0.999)), eps(1e-8), WEIGHT_DECAY, AMSGRAD, MAXIMIZE, DECOUPLED_WEIGHT_DECAY, EPS_HAT,
    ),
    state=_ADAM_SLOTS,
    presets={"amsgrad": {"amsgrad": True}},
)

ADAMW_SPEC = OptimizerSpec(
    name="adamw",
    title="AdamW",
    coefficients=adamw_coefficients,
    rule=adam_rule,
    hyperparameters=(
        lr(1e-3), betas((0.9, 0.999)), eps(1e-8),
        Hyperparameter("weight_decay", 1e-2, minimum=0.0, doc="decoupled weight decay: shrinks p by lr * weight_decay"),
        AMSGRAD, MAXIMIZE, EPS_HAT,
    ),
    state=_ADAM_SLOTS,
)

_RULE = """
        g = -grad if maximize else grad
        {decay}
        m = lerp(m, g, 1 - beta1)            # m + (1 - beta1) (g - m)
        v = beta2 * v + (1 - beta2) * g * g
        v_max = max(v_max, v); v = v_max     (amsgrad)
        p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
"""


class Adam(Optimizer):
    __doc__ = r"""Adam: momentum on the gradient and a per-parameter step size from its running square.

    Adam (Kingma & Ba, 2015, "Adam: A Method for Stochastic Optimization")
    keeps an exponential average ``m`` of the gradient (the ball's velocity)
    and one ``v`` of its square; each parameter steps by ``m / sqrt(v)``, so
    steep and flat directions move at similar speeds. Both averages start at
    zero and are divided by ``1 - beta^t`` to remove that bias.

    Update, for step ``t`` (as implemented; the algorithm of :class:`torch.optim.Adam`)::
""" + _RULE.format(decay="g = g + weight_decay * p   (p = p * (1 - lr * weight_decay) if decoupled_weight_decay)") + r"""
    Args:
        params: arrays or parameter groups (see :class:`Optimizer`).
        lr: learning rate (default 1e-3).
        betas: ``(beta1, beta2)``, each in [0, 1) (default (0.9, 0.999)).
        eps: added to the denominator, ``> 0`` (default 1e-8).
        weight_decay: L2 penalty ``>= 0`` (default 0).
        amsgrad: AMSGrad (Reddi et al., 2018): divide by the running
            maximum of ``v``, so the step size never grows.
        maximize: maximize the objective instead.
        decoupled_weight_decay: decay the parameters directly, as AdamW.
        eps_hat: Keras's and TensorFlow's placement of epsilon,
            ``p = p - lr sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + eps)``,
            the paper's "epsilon hat"; it equals PyTorch's rule with
            ``eps * sqrt(1 - beta2^t)``. Off by default.

    State: ``exp_avg`` (m), ``exp_avg_sq`` (v), and ``max_exp_avg_sq`` with AMSGrad.

    Registry names: ``"adam"``; ``"amsgrad"`` is Adam with ``amsgrad=True``.

    Keras: besides ``eps_hat``, Keras's default epsilon is 1e-7 and it
    updates ``v`` as ``v + (1 - beta2) (g^2 - v)``, the same average rounded
    differently.
    """

    spec = ADAM_SPEC


class AdamW(Optimizer):
    __doc__ = r"""AdamW: Adam with decoupled weight decay (Loshchilov & Hutter, 2019).

    L2 regularization added to Adam's gradient is divided by ``sqrt(v)`` like
    the rest of the gradient, so heavily-updated weights are barely decayed.
    AdamW shrinks every weight by the same factor ``1 - lr * weight_decay``
    instead, outside the adaptive step.

    Update, for step ``t`` (as implemented; the algorithm of :class:`torch.optim.AdamW`)::
""" + _RULE.format(decay="p = p * (1 - lr * weight_decay)") + r"""
    Args:
        params: arrays or parameter groups (see :class:`Optimizer`).
        lr: learning rate (default 1e-3).
        betas: ``(beta1, beta2)``, each in [0, 1) (default (0.9, 0.999)).
        eps: added to the denominator, ``> 0`` (default 1e-8).
        weight_decay: decoupled decay ``>= 0`` (default 1e-2).
        amsgrad: use the running maximum of ``v`` (AMSGrad).
        maximize: maximize the objective instead.
        eps_hat: Keras's placement of epsilon (see :class:`Adam`).

    State: ``exp_avg``, ``exp_avg_sq``, and ``max_exp_avg_sq`` with AMSGrad.

    Keras: ``keras.optimizers.AdamW`` decays by ``lr * weight_decay`` too
    (default 0.004) and places epsilon as ``eps_hat=True`` does.
    """

    spec = ADAMW_SPEC
