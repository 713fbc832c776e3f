"""LAMB (You et al., 2019, "Large Batch Optimization for Deep Learning: Training BERT in 76 minutes").

Adam's direction, plus decoupled weight decay, scaled per tensor by the
trust ratio ``||w|| / ||update||``: each layer moves by a step proportional
to its own weights' norm, whatever the scale of its gradients. The ratio
needs two sums over the whole tensor before any element can be updated, so
LAMB is declared tensor-wise, in the rule form: numbagrad runs ``lamb_reduce``
over each tensor first, sums what it returns, then runs ``lamb_rule`` on
every element with those sums, and generates the CPU and CUDA kernels.

Per tensor, at step ``t``::

    m = beta1 m + (1 - beta1) g
    v = beta2 v + (1 - beta2) g^2
    u = (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps) + weight_decay w
    r = min(||w||, clamp_value) / ||u||      (1 when either norm is 0)
    w = w - lr r u

(``bias_correction=False`` leaves out the two divisions by ``1 - beta^t``.)
"""

from __future__ import annotations

import math
from typing import NamedTuple

from numbagrad.plugin import Hyperparameter, OptimizerSpec, StateSlot, sqrt

__all__ = ["LAMB_SPEC", "lamb_coefficients", "lamb_reduce", "lamb_rule"]


class LambCoefficients(NamedTuple):
    """One step's constants, in the parameters' dtype (``lr`` and ``clamp_value`` in float64)."""

    beta1: float
    one_minus_beta1: float
    beta2: float
    one_minus_beta2: float
    bias_correction1: float
    bias_correction2: float
    eps: float
    weight_decay: float
    lr: float
    clamp_value: float


def lamb_coefficients(param, step, lr, betas, eps, weight_decay, bias_correction, clamp_value):
    """Computed once per step in float64, rounded to the parameters' dtype ``T``.

    ``beta ** step`` with an integer ``step`` would be repeated multiplication
    in compiled code (it differs from NumPy's power in the last bit): the
    exponent is made a float first.
    """
    T = param.dtype.type
    beta1, beta2 = betas
    correction1 = 1.0 - beta1 ** float(step) if bias_correction else 1.0
    correction2 = 1.0 - beta2 ** float(step) if bias_correction else 1.0
    return LambCoefficients(
        T(beta1), T(1.0 - beta1), T(beta2), T(1.0 - beta2), T(correction1), T(correction2),
        T(eps), T(weight_decay), lr, clamp_value,
    )


def _moments(grad, exp_avg, exp_avg_sq, c):
    m = c.beta1 * exp_avg + c.one_minus_beta1 * grad
    v = c.beta2 * exp_avg_sq + c.one_minus_beta2 * grad * grad
    return m, v


def _direction(p, m, v, c):
    return (m / c.bias_correction1) / (sqrt(v / c.bias_correction2) + c.eps) + c.weight_decay * p


def lamb_reduce(p, grad, exp_avg, exp_avg_sq, c):
    """One element's contributions to its tensor's two sums: ``w^2`` and ``u^2`` (nothing is written)."""
    m, v = _moments(grad, exp_avg, exp_avg_sq, c)
    u = _direction(p, m, v, c)
    return p * p, u * u


def lamb_rule(p, grad, exp_avg, exp_avg_sq, c, totals):
    """One element's step, given its tensor's sums ``totals = (sum w^2, sum u^2)``; returns ``(p, m, v)``.

    The trust ratio and the step ``lr r`` are float64; ``p - lr r u`` is
    rounded to the parameters' dtype once, when it is stored.
    """
    m, v = _moments(grad, exp_avg, exp_avg_sq, c)
    u = _direction(p, m, v, c)
    weight_norm = min(math.sqrt(totals[0]), c.clamp_value)
    update_norm = math.sqrt(totals[1])
    ratio = weight_norm / update_norm if weight_norm > 0.0 and update_norm > 0.0 else 1.0
    return p - (c.lr * ratio) * u, m, v


LAMB_SPEC = OptimizerSpec(
    name="lamb",
    title="LAMB",
    tensorwise=True,
    coefficients=lamb_coefficients,
    reduce=lamb_reduce,
    rule=lamb_rule,
    statistics=2,  # the two sums lamb_reduce returns per element
    reduce_over="tensor",
    hyperparameters=(
        Hyperparameter("lr", 1e-3, minimum=0.0, doc="learning rate"),
        Hyperparameter(
            "betas", (0.9, 0.999), kind="pair", minimum=0.0, maximum=1.0, exclusive_maximum=True,
            doc="decay rates of the running averages of the gradient and of its square",
        ),
        Hyperparameter("eps", 1e-6, minimum=0.0, exclusive_minimum=True, doc="added to the denominator for stability"),
        Hyperparameter("weight_decay", 0.01, minimum=0.0, doc="decoupled weight decay, added to the direction before the trust ratio"),
        Hyperparameter("bias_correction", True, kind="bool", doc="divide the moments by 1 - beta^t as Adam does"),
        Hyperparameter("clamp_value", 10.0, minimum=0.0, exclusive_minimum=True, doc="the largest weight norm the trust ratio uses"),
    ),
    state=(StateSlot("exp_avg"), StateSlot("exp_avg_sq", minimum=0.0)),
)
