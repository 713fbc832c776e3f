"""Pieces the built-in update rules share: plain Python over scalars, compiled with each rule.

Each optimizer's rule and coefficients live in its own module of
:mod:`numbagrad.optim` (``numbagrad/optim/adam.py`` holds Adam's whole
arithmetic); numbagrad generates the CPU and CUDA kernels from them
(:mod:`numbagrad.kernels.elementwise`) and compiles these helpers for each
target with the rules that call them.

Precision: the coefficient functions compute in float64 and round to the
parameters' dtype; the rules compute in that dtype throughout. The operations
follow PyTorch's single-tensor implementations one by one (the order of the
products in ``addcmul``/``addcdiv``, the two-sided ``lerp``), which the
reference tests check bit for bit.
"""

from __future__ import annotations

import math
from typing import NamedTuple

__all__ = ["root", "lerp", "regularized_gradient", "Moments", "moment_coefficients", "adam_moments", "nadam_momentum"]


def root(x):
    """``sqrt(x)``, correctly rounded in ``x``'s precision."""
    return math.sqrt(x)


def lerp(start, end, weight, one_minus_weight):
    """``torch.lerp``: ``start + weight (end - start)``, from the nearer end.

    PyTorch evaluates ``end - (end - start)(1 - weight)`` when
    ``|weight| >= 0.5`` for accuracy near 1; so does this.
    """
    if abs(weight) < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * one_minus_weight


def regularized_gradient(grad, param, weight_decay, maximize):
    """``g = -grad if maximize else grad``, then ``g + weight_decay * param`` (L2)."""
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + weight_decay * param
    return g


class Moments(NamedTuple):
    """The constants of Adam's moment updates (Adam, AdamW, NAdam, RAdam), in the parameters' dtype."""

    weight: float  # 1 - beta1, lerp's weight
    one_minus_weight: float  # beta1
    beta2: float
    one_minus_beta2: float
    weight_decay: float
    decay_factor: float  # 1 - lr weight_decay (decoupled decay)
    decoupled: bool
    maximize: bool


def moment_coefficients(param, lr, betas, weight_decay, decoupled, maximize):
    """:class:`Moments` from the hyperparameters, rounded to ``param``'s dtype."""
    T = param.dtype.type
    beta1, beta2 = betas
    weight = T(1.0 - beta1)
    return Moments(weight, T(1.0) - weight, T(beta2), T(1.0 - beta2), T(weight_decay), T(1.0 - lr * weight_decay), decoupled, maximize)


def adam_moments(p, grad, m, v, c):
    """The moment updates Adam, NAdam and their relatives share, from :class:`Moments` ``c``;
    returns ``(p, g, m, v)``::

        g = -grad if maximize else grad
        p = p (1 - lr weight_decay)   if decoupled   else   g = g + weight_decay p
        m = lerp(m, g, 1 - beta1)
        v = beta2 v + (1 - beta2) g g
    """
    g = -grad if c.maximize else grad
    if c.weight_decay != 0:
        if c.decoupled:
            p = p * c.decay_factor
        else:
            g = g + c.weight_decay * p
    m = lerp(m, g, c.weight, c.one_minus_weight)
    v = v * c.beta2 + c.one_minus_beta2 * g * g
    return p, g, m, v


def nadam_momentum(beta1, step, momentum_decay):
    """NAdam's momentum schedule ``mu_t = beta1 (1 - 0.5 * 0.96^(t psi))``, in float64."""
    return beta1 * (1.0 - 0.5 * 0.96 ** (float(step) * momentum_decay))
