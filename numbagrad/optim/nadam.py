"""NAdam."""

from __future__ import annotations

from typing import NamedTuple

from numbagrad.hyperparameters import Hyperparameter
from numbagrad.kernels.cpu.jit import inline, kernel
from numbagrad.kernels.rules import Moments, adam_moments, moment_coefficients, nadam_momentum, root
from numbagrad.optim.common import DECOUPLED_WEIGHT_DECAY, MAXIMIZE, WEIGHT_DECAY, betas, eps, lr
from numbagrad.optim.optimizer import Optimizer
from numbagrad.optim.spec import OptimizerSpec, StateSlot

__all__ = ["NAdam", "NADAM_SPEC", "nadam_prepare", "nadam_coefficients", "nadam_rule"]


class NAdamCoefficients(NamedTuple):
    """What one NAdam step needs besides the element's values, in the parameters' dtype."""

    moments: Moments
    eps: float
    bias_correction2: float  # 1 - beta2^t
    gradient_coefficient: float  # -lr (1 - mu_t) / (1 - mu_product)
    momentum_coefficient: float  # -lr mu_{t+1} / (1 - mu_product mu_{t+1})


_compiled_momentum = inline(nadam_momentum)


@kernel
def nadam_prepare(hyper, step):
    """Advance NAdam's running product ``mu_product *= mu_t`` (stored in hyper[8], after the hyperparameters)."""
    hyper[8] = hyper[8] * _compiled_momentum(hyper[1], step, hyper[5])


def nadam_coefficients(param, step, lr, betas, eps, weight_decay, momentum_decay, decoupled_weight_decay, maximize, mu_product):
    """``mu_product`` arrives already advanced to ``mu_1 ... mu_t`` by :func:`nadam_prepare`."""
    T = param.dtype.type
    beta1, beta2 = betas
    mu = nadam_momentum(beta1, step, momentum_decay)
    mu_next = nadam_momentum(beta1, step + 1, momentum_decay)
    return NAdamCoefficients(
        moment_coefficients(param, lr, betas, weight_decay, decoupled_weight_decay, maximize), T(eps),
        T(1.0 - beta2 ** float(step)), T(-lr * (1.0 - mu) / (1.0 - mu_product)),
        T((-lr * mu_next) / (1.0 - mu_product * mu_next)),
    )


def nadam_rule(p, grad, exp_avg, exp_avg_sq, c):
    """One element of NAdam; returns ``(p, exp_avg, exp_avg_sq)``::

        (p, g, m, v) = adam_moments(...)
        s = sqrt(v / (1 - beta2^t)) + eps
        p = p - lr (1 - mu_t) / (1 - mu_product) g / s
        p = p - lr mu_{t+1} / (1 - mu_product mu_{t+1}) m / s
    """
    p, g, exp_avg, exp_avg_sq = adam_moments(p, grad, exp_avg, exp_avg_sq, c.moments)
    s = root(exp_avg_sq / c.bias_correction2) + c.eps
    q = p + c.gradient_coefficient * g / s
    return q + c.momentum_coefficient * exp_avg / s, exp_avg, exp_avg_sq

NADAM_SPEC = OptimizerSpec(
    name="nadam",
    title="NAdam",
    coefficients=nadam_coefficients,
    rule=nadam_rule,
    prepare=nadam_prepare,
    hyperparameters=(
        lr(2e-3),
        betas((0.9, 0.999)),
        eps(1e-8),
        WEIGHT_DECAY,
        Hyperparameter("momentum_decay", 4e-3, minimum=0.0, doc="psi in the momentum schedule mu_t = beta1 (1 - 0.5 * 0.96^(t psi))"),
        DECOUPLED_WEIGHT_DECAY,
        MAXIMIZE,
    ),
    state=("exp_avg", StateSlot("exp_avg_sq", minimum=0.0)),
    scalars=(StateSlot("mu_product", initial=1.0, minimum=0.0),),
)


class NAdam(Optimizer):
    r"""NAdam: Adam with Nesterov momentum (Dozat, 2016, "Incorporating Nesterov Momentum into Adam").

    Nesterov momentum looks ahead: it applies the next step's momentum now
    and corrects with the current gradient. NAdam does the same inside Adam,
    with a momentum coefficient ``mu_t`` that warms up over the first few
    thousand steps.

    Update, for step ``t`` (as implemented; PyTorch's algorithm)::

        g = -grad if maximize else grad
        g = g + weight_decay * p     (p = p * (1 - lr * weight_decay) if decoupled_weight_decay)
        mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay))
        mu_product = mu_1 * ... * mu_t
        m = lerp(m, g, 1 - beta1);  v = beta2 * v + (1 - beta2) * g * g
        s = sqrt(v / (1 - beta2^t)) + eps
        p = p - lr * (1 - mu_t) / (1 - mu_product) * g / s
        p = p - lr * mu_{t+1} / (1 - mu_product * mu_{t+1}) * m / s

    Args:
        params: arrays or parameter groups (see :class:`Optimizer`).
        lr: learning rate (default 2e-3).
        betas: ``(beta1, beta2)``, each in [0, 1) (default (0.9, 0.999)).
        eps: added to the denominator, ``> 0`` (default 1e-8).
        weight_decay: L2 penalty ``>= 0`` (default 0).
        momentum_decay: ``psi >= 0`` (default 4e-3).
        decoupled_weight_decay: decay the parameters directly (NAdamW).
        maximize: maximize the objective instead.

    State: ``exp_avg``, ``exp_avg_sq``, and the scalar ``mu_product``
    (float64 here; PyTorch keeps it in the default dtype).

    Keras: ``keras.optimizers.Nadam`` uses the same momentum schedule with
    ``psi = 0.004``, epsilon 1e-7 and ``lr=0.001``, and adds epsilon to
    ``sqrt(v_hat)`` as here.
    """

    spec = NADAM_SPEC
