"""RAdam: Adam with its adaptive step switched on only once the variance of ``v`` is tractable.

The rule, its coefficients and the declaration, in one place; numbagrad
generates the CPU and CUDA kernels from ``radam_coefficients`` and
``radam_rule`` (:mod:`numbagrad.kernels.elementwise`).
"""

from __future__ import annotations

from typing import NamedTuple

from numbagrad.kernels.rules import Moments, adam_moments, moment_coefficients, root
from numbagrad.optim.common import DECOUPLED_WEIGHT_DECAY, MAXIMIZE, WEIGHT_DECAY, betas, eps, lr
from numbagrad.optim.optimizer import Optimizer
from numbagrad.optim.spec import OptimizerSpec, StateSlot

__all__ = ["RAdam", "RADAM_SPEC", "radam_coefficients", "radam_rule"]


class RAdamCoefficients(NamedTuple):
    """What one RAdam step needs besides the element's values, in the parameters' dtype."""

    moments: Moments
    eps: float
    bias_correction1: float  # 1 - beta1^t
    lr: float
    bias_correction2_sqrt: float  # sqrt(1 - beta2^t)
    rect: float  # the variance rectification r_t
    rectified: bool  # rho_t > 5: the adaptive step is on


def radam_coefficients(param, step, lr, betas, eps, weight_decay, decoupled_weight_decay, maximize):
    """The step's constants, computed in float64 as PyTorch does, then rounded to ``param``'s dtype::

        rho_inf = 2 / (1 - beta2) - 1
        rho_t   = rho_inf - 2 t beta2^t / (1 - beta2^t)
        r_t     = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
    """
    T = param.dtype.type
    beta1, beta2 = betas
    t = float(step)  # float powers: Numba's integer power multiplies repeatedly and rounds differently
    bias_correction1 = 1.0 - beta1**t
    bias_correction2 = 1.0 - beta2**t
    rho_inf = 2.0 / (1.0 - beta2) - 1.0
    rho_t = rho_inf - 2.0 * t * (beta2**t) / bias_correction2
    rectified = rho_t > 5.0
    rect = 1.0
    if rectified:
        rect = ((rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t)) ** 0.5
    return RAdamCoefficients(
        moment_coefficients(param, lr, betas, weight_decay, decoupled_weight_decay, maximize), T(eps),
        T(bias_correction1), T(lr), T(bias_correction2**0.5), T(rect), rectified,
    )


def radam_rule(p, grad, exp_avg, exp_avg_sq, c):
    """One element of RAdam; returns ``(p, exp_avg, exp_avg_sq)``::

        g = -grad if maximize else grad
        p = p (1 - lr weight_decay)   if decoupled_weight_decay   else   g = g + weight_decay p
        m = lerp(m, g, 1 - beta1);  v = beta2 v + (1 - beta2) g g
        p = p - m / (1 - beta1^t) lr sqrt(1 - beta2^t) / (sqrt(v) + eps) r_t    if rho_t > 5
        p = p - m / (1 - beta1^t) lr                                          otherwise
    """
    p, g, exp_avg, exp_avg_sq = adam_moments(p, grad, exp_avg, exp_avg_sq, c.moments)
    update = exp_avg / c.bias_correction1 * c.lr
    if c.rectified:
        update = update * (c.bias_correction2_sqrt / (root(exp_avg_sq) + c.eps)) * c.rect
    return p - update, exp_avg, exp_avg_sq


RADAM_SPEC = OptimizerSpec(
    name="radam",
    title="RAdam",
    coefficients=radam_coefficients,
    rule=radam_rule,
    hyperparameters=(lr(1e-3), betas((0.9, 0.999)), eps(1e-8), WEIGHT_DECAY, DECOUPLED_WEIGHT_DECAY, MAXIMIZE),
    state=("exp_avg", StateSlot("exp_avg_sq", minimum=0.0)),
)


class RAdam(Optimizer):
    r"""RAdam: rectified Adam (Liu et al., 2020, "On the Variance of the Adaptive Learning Rate and Beyond").

    In its first steps Adam divides by a second moment ``v`` estimated from
    a handful of gradients, whose variance is large: the steps are erratic,
    which is why Adam is often warmed up. RAdam measures that variance
    through ``rho_t``, the length of the simple moving average ``v``
    approximates, and takes plain momentum steps until ``rho_t > 5``; from
    then on it takes Adam's step scaled by the rectification ``r_t``, which
    tends to 1.

    Update, for step ``t`` (as implemented; PyTorch's algorithm)::

        g = -grad if maximize else grad
        g = g + weight_decay * p   (p = p * (1 - lr * weight_decay) if decoupled_weight_decay)
        m = lerp(m, g, 1 - beta1);  v = beta2 * v + (1 - beta2) * g * g
        rho_inf = 2 / (1 - beta2) - 1;  rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)
        if rho_t > 5:
            r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
            p = p - m / (1 - beta1^t) * lr * sqrt(1 - beta2^t) / (sqrt(v) + eps) * r_t
        else:
            p = p - m / (1 - beta1^t) * lr

    Args:
        params: arrays or parameter groups (see :class:`Optimizer`).
        lr: learning rate (default 1e-3).
        betas: ``(beta1, beta2)``, each in [0, 1) (default (0.9, 0.999)).
        eps: added to the denominator, ``> 0`` (default 1e-8).
        weight_decay: L2 penalty ``>= 0`` (default 0).
        decoupled_weight_decay: decay the parameters directly, as AdamW
            (RAdamW).
        maximize: maximize the objective instead.

    State: ``exp_avg`` (m), ``exp_avg_sq`` (v).

    Registry name: ``"radam"``.

    Keras has no RAdam among its optimizers.
    """

    spec = RADAM_SPEC
