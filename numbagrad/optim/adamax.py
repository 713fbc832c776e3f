"""Adamax."""

from __future__ import annotations

from typing import NamedTuple

from numbagrad.kernels.rules import lerp, regularized_gradient
from numbagrad.optim.common import MAXIMIZE, WEIGHT_DECAY, betas, eps, lr
from numbagrad.optim.optimizer import Optimizer
from numbagrad.optim.spec import OptimizerSpec, StateSlot

__all__ = ["Adamax", "ADAMAX_SPEC", "adamax_coefficients", "adamax_rule"]


class AdamaxCoefficients(NamedTuple):
    """Adamax's constants in the parameters' dtype."""

    weight: float  # 1 - beta1
    one_minus_weight: float  # beta1
    beta2: float
    eps: float
    weight_decay: float
    negative_clr: float  # -lr / (1 - beta1^t)
    maximize: bool


def adamax_coefficients(param, step, lr, betas, eps, weight_decay, maximize):
    T = param.dtype.type
    beta1, beta2 = betas
    weight = T(1.0 - beta1)
    return AdamaxCoefficients(
        weight, T(1.0) - weight, T(beta2), T(eps), T(weight_decay), T(-(lr / (1.0 - beta1 ** float(step)))), maximize
    )


def adamax_rule(p, grad, exp_avg, exp_inf, c):
    """One element of Adamax; returns ``(p, exp_avg, exp_inf)``::

        g = -grad if maximize else grad;  g = g + weight_decay p
        m = lerp(m, g, 1 - beta1)
        u = max(beta2 u, |g| + eps)
        p = p - (lr / (1 - beta1^t)) m / u
    """
    g = regularized_gradient(grad, p, c.weight_decay, c.maximize)
    m = lerp(exp_avg, g, c.weight, c.one_minus_weight)
    decayed = exp_inf * c.beta2
    candidate = abs(g) + c.eps
    # torch.maximum: NaN wins.
    u = decayed if (decayed >= candidate or decayed != decayed) else candidate
    return p + c.negative_clr * m / u, m, u

ADAMAX_SPEC = OptimizerSpec(
    name="adamax",
    title="Adamax",
    coefficients=adamax_coefficients,
    rule=adamax_rule,
    hyperparameters=(lr(2e-3), betas((0.9, 0.999)), eps(1e-8), WEIGHT_DECAY, MAXIMIZE),
    state=("exp_avg", StateSlot("exp_inf", minimum=0.0)),
)


class Adamax(Optimizer):
    r"""Adamax: Adam with the infinity norm in place of the root mean square.

    From the Adam paper (Kingma & Ba, 2015, section 7): the second moment
    becomes an exponentially decayed maximum of ``|g|``, which needs no bias
    correction.

    Update, for step ``t`` (as implemented; PyTorch's algorithm)::

        g = -grad if maximize else grad
        g = g + weight_decay * p
        m = lerp(m, g, 1 - beta1)
        u = max(beta2 * u, |g| + eps)
        p = p - lr / (1 - beta1^t) * m / u

    Args:
        params: arrays or parameter groups (see :class:`Optimizer`).
        lr: learning rate (default 2e-3).
        betas: ``(beta1, beta2)``, each in [0, 1) (default (0.9, 0.999)).
        eps: added to ``|g|``, ``> 0`` (default 1e-8).
        weight_decay: L2 penalty ``>= 0`` (default 0).
        maximize: maximize the objective instead.

    State: ``exp_avg`` (m) and ``exp_inf`` (u).

    Keras: ``keras.optimizers.Adamax`` takes ``u = max(beta2 u, |g|)`` and
    divides by ``u + eps`` (epsilon 1e-7), and defaults to ``lr=0.001``.
    """

    spec = ADAMAX_SPEC
