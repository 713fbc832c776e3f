"""The optimizers' update rules, once, for every target.

Each optimizer's arithmetic is written here as plain Python over scalars,
without decorators: ``<name>_coefficients`` computes what is constant over a
step (bias corrections, step sizes, NAdam's momentum terms), once per kernel
call, and ``<name>_rule`` updates one element. :func:`compile_rules` compiles
them for a target: the CPU kernels (:mod:`numbagrad.kernels.cpu.optimizers`)
inline them into their loops with ``njit(inline="always")``, the CUDA kernels
(:mod:`numbagrad.kernels.cuda.optimizers`) call them as
``cuda.jit(device=True)`` functions. Both targets therefore run the same
operations in the same order.

Precision: the coefficients are computed in float64 from ``hyper`` and then
rounded to the parameters' dtype ``T`` (taken from ``param``, which the
coefficient functions read for nothing else); the rules compute in ``T``
throughout. The operations follow PyTorch's single-tensor implementations
one by one (the order of the products in ``addcmul``/``addcdiv``, the
two-sided ``lerp``), which the CPU reference tests check bit for bit.
"""

from __future__ import annotations

import math
import types
from typing import Callable, Mapping

from numbagrad.kernels.compiling import compile_functions

__all__ = [
    "root",
    "lerp",
    "regularized_gradient",
    "nadam_momentum",
    "sgd_coefficients",
    "sgd_rule",
    "adam_coefficients",
    "adam_moments",
    "adam_rule",
    "rmsprop_coefficients",
    "rmsprop_rule",
    "adagrad_coefficients",
    "adagrad_rule",
    "adadelta_coefficients",
    "adadelta_rule",
    "adamax_coefficients",
    "adamax_rule",
    "nadam_coefficients",
    "nadam_rule",
    "compile_rules",
]


# --- shared pieces -----------------------------------------------------------


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


def nadam_momentum(beta1, step, momentum_decay):
    """NAdam's momentum schedule ``mu_t = beta1 (1 - 0.5 * 0.96^(t psi))``, in float64."""
    return beta1 * (1.0 - 0.5 * 0.96 ** (float(step) * momentum_decay))


# --- SGD ---------------------------------------------------------------------


def sgd_coefficients(param, hyper, step):
    """hyper = [lr, momentum, dampening, weight_decay, nesterov, maximize].

    Returns ``(lr, momentum, 1 - dampening, weight_decay)`` in ``T`` and the
    flags ``(has_momentum, nesterov, maximize, first_step)``.
    """
    dtype = param.dtype.type
    return (
        dtype(hyper[0]),
        dtype(hyper[1]),
        dtype(1.0 - hyper[2]),
        dtype(hyper[3]),
        hyper[1] != 0.0,
        hyper[4] != 0.0,
        hyper[5] != 0.0,
        step == 1,
    )


def sgd_rule(p, grad, b, lr, momentum, keep, weight_decay, has_momentum, nesterov, maximize, first):
    """One element of SGD; returns ``(p, b)``::

        g = -grad if maximize else grad;  g = g + weight_decay p
        b = g                                  on the first step
        b = momentum b + (1 - dampening) g     afterwards
        g = g + momentum b  if nesterov  else  b
        p = p - lr g
    """
    g = regularized_gradient(grad, p, weight_decay, maximize)
    if has_momentum:
        b = g if first else b * momentum + keep * g
        g = g + momentum * b if nesterov else b
    return p + (-lr) * g, b


# --- Adam, AdamW -------------------------------------------------------------


def adam_coefficients(param, hyper, step, eps_hat):
    """hyper[0:7] = [lr, beta1, beta2, eps, weight_decay, amsgrad, maximize].

    Returns, in ``T``: ``w = 1 - beta1`` and ``1 - w`` (the lerp weights),
    ``beta2``, ``1 - beta2``, ``eps``, ``weight_decay``, the decoupled decay
    factor ``1 - lr weight_decay``, the negative step size and the divisor of
    ``sqrt(v)``; then the flags ``(amsgrad, maximize)``::

        step size = lr / (1 - beta1^t),       divisor = sqrt(1 - beta2^t)
        step size = lr sqrt(1 - beta2^t) / (1 - beta1^t),  divisor = 1   with eps_hat
    """
    dtype = param.dtype.type
    beta1 = hyper[1]
    beta2 = hyper[2]
    weight = dtype(1.0 - beta1)
    bias_correction1 = 1.0 - beta1 ** float(step)
    bias_correction2 = 1.0 - beta2 ** float(step)
    if eps_hat:
        negative_step_size = dtype(-(hyper[0] * math.sqrt(bias_correction2) / bias_correction1))
        bias_correction2_sqrt = dtype(1.0)
    else:
        negative_step_size = dtype(-(hyper[0] / bias_correction1))
        bias_correction2_sqrt = dtype(math.sqrt(bias_correction2))
    return (
        weight,
        dtype(1.0) - weight,
        dtype(beta2),
        dtype(1.0 - beta2),
        dtype(hyper[3]),
        dtype(hyper[4]),
        dtype(1.0 - hyper[0] * hyper[4]),
        negative_step_size,
        bias_correction2_sqrt,
        hyper[5] != 0.0,
        hyper[6] != 0.0,
    )


def adam_moments(p, grad, m, v, weight, one_minus_weight, beta2, one_minus_beta2, weight_decay, decay_factor, decoupled, maximize):
    """The moment updates Adam and NAdam share; returns ``(p, g, m, v)``::

        g = -grad if maximize else grad
        p = p (1 - lr weight_decay)   if decoupled   else   g = g + weight_decay p
        m = lerp(m, g, 1 - beta1)
        v = beta2 v + (1 - beta2) g g
    """
    g = -grad if maximize else grad
    if weight_decay != 0:
        if decoupled:
            p = p * decay_factor
        else:
            g = g + weight_decay * p
    m = lerp(m, g, weight, one_minus_weight)
    v = v * beta2 + one_minus_beta2 * g * g
    return p, g, m, v


def adam_rule(
    p, grad, m, v, v_max,
    weight, one_minus_weight, beta2, one_minus_beta2, eps, weight_decay, decay_factor,
    negative_step_size, bias_correction2_sqrt, amsgrad, maximize, decoupled, eps_hat,
):
    """One element of Adam; returns ``(p, m, v, v_max)``::

        (p, g, m, v) = adam_moments(...)
        v_max = max(v_max, v); use v_max as v          with amsgrad
        p = p - step_size m / (sqrt(v) / divisor + eps)
        p = p - step_size m / (sqrt(v) + eps)          with eps_hat
    """
    p, g, m, v = adam_moments(
        p, grad, m, v, weight, one_minus_weight, beta2, one_minus_beta2, weight_decay, decay_factor, decoupled, maximize
    )
    second = v
    if amsgrad:
        # torch.maximum: NaN wins, hence "not >=" rather than "<".
        if not v_max >= v:
            v_max = v
        second = v_max
    if eps_hat:
        denominator = root(second) + eps
    else:
        denominator = root(second) / bias_correction2_sqrt + eps
    return p + negative_step_size * m / denominator, m, v, v_max


# --- RMSprop -----------------------------------------------------------------


def rmsprop_coefficients(param, hyper, step):
    """hyper = [lr, alpha, eps, weight_decay, momentum, centered, maximize, eps_inside_sqrt].

    Returns ``(lr, alpha, 1 - alpha, alpha as lerp's complement, eps,
    weight_decay, momentum)`` in ``T`` and the flags ``(has_momentum,
    centered, maximize, eps_inside_sqrt)``.
    """
    dtype = param.dtype.type
    one_minus_alpha = dtype(1.0 - hyper[1])
    return (
        dtype(hyper[0]),
        dtype(hyper[1]),
        one_minus_alpha,
        dtype(1.0) - one_minus_alpha,
        dtype(hyper[2]),
        dtype(hyper[3]),
        dtype(hyper[4]),
        hyper[4] > 0.0,
        hyper[5] != 0.0,
        hyper[6] != 0.0,
        hyper[7] != 0.0,
    )


def rmsprop_rule(
    p, grad, v, b, a,
    lr, alpha, one_minus_alpha, one_minus_weight, eps, weight_decay, momentum,
    has_momentum, centered, maximize, eps_inside,
):
    """One element of RMSprop; returns ``(p, v, b, a)``::

        g = -grad if maximize else grad;  g = g + weight_decay p
        v = alpha v + (1 - alpha) g g
        a = lerp(a, g, 1 - alpha);  s = sqrt(v - a a) + eps     centered
        s = sqrt(v) + eps                                       otherwise
        s = sqrt(v [- a a] + eps)                               with eps_inside_sqrt
        b = momentum b + g / s;  p = p - lr b                   momentum > 0
        p = p - lr g / s                                        otherwise
    """
    g = regularized_gradient(grad, p, weight_decay, maximize)
    v = v * alpha + one_minus_alpha * g * g
    second = v
    if centered:
        a = lerp(a, g, one_minus_alpha, one_minus_weight)
        second = second + -a * a
    if eps_inside:
        s = root(second + eps)
    else:
        s = root(second) + eps
    if has_momentum:
        b = b * momentum + g / s
        p = p + (-lr) * b
    else:
        p = p + (-lr) * g / s
    return p, v, b, a


# --- Adagrad -----------------------------------------------------------------


def adagrad_coefficients(param, hyper, step):
    """hyper = [lr, lr_decay, weight_decay, initial_accumulator_value, eps, maximize, eps_inside_sqrt].

    Returns ``-clr = -lr / (1 + (t - 1) lr_decay)``, ``weight_decay`` and
    ``eps`` in ``T`` and the flags ``(maximize, eps_inside_sqrt)``.
    """
    dtype = param.dtype.type
    return (
        dtype(-(hyper[0] / (1.0 + (step - 1) * hyper[1]))),
        dtype(hyper[2]),
        dtype(hyper[4]),
        hyper[5] != 0.0,
        hyper[6] != 0.0,
    )


def adagrad_rule(p, grad, total, negative_clr, weight_decay, eps, maximize, eps_inside):
    """One element of Adagrad; returns ``(p, sum)``::

        g = -grad if maximize else grad;  g = g + weight_decay p
        sum = sum + g g
        p = p - clr g / (sqrt(sum) + eps)         (sqrt(sum + eps) with eps_inside_sqrt)
    """
    g = regularized_gradient(grad, p, weight_decay, maximize)
    total = total + g * g
    if eps_inside:
        s = root(total + eps)
    else:
        s = root(total) + eps
    return p + negative_clr * g / s, total


# --- Adadelta ----------------------------------------------------------------


def adadelta_coefficients(param, hyper, step):
    """hyper = [lr, rho, eps, weight_decay, maximize].

    Returns ``(lr, rho, 1 - rho, eps, weight_decay)`` in ``T`` and ``maximize``.
    """
    dtype = param.dtype.type
    return (
        dtype(hyper[0]),
        dtype(hyper[1]),
        dtype(1.0 - hyper[1]),
        dtype(hyper[2]),
        dtype(hyper[3]),
        hyper[4] != 0.0,
    )


def adadelta_rule(p, grad, v, u, lr, rho, one_minus_rho, eps, weight_decay, maximize):
    """One element of Adadelta; returns ``(p, v, u)``::

        g = -grad if maximize else grad;  g = g + weight_decay p
        v = rho v + (1 - rho) g g
        d = sqrt(u + eps) / sqrt(v + eps) g
        u = rho u + (1 - rho) d d
        p = p - lr d
    """
    g = regularized_gradient(grad, p, weight_decay, maximize)
    v = v * rho + one_minus_rho * g * g
    delta = root(u + eps) / root(v + eps) * g
    u = u * rho + one_minus_rho * delta * delta
    return p + (-lr) * delta, v, u


# --- Adamax ------------------------------------------------------------------


def adamax_coefficients(param, hyper, step):
    """hyper = [lr, beta1, beta2, eps, weight_decay, maximize].

    Returns ``w = 1 - beta1``, ``1 - w``, ``beta2``, ``eps``,
    ``weight_decay`` and ``-lr / (1 - beta1^t)`` in ``T``, and ``maximize``.
    """
    dtype = param.dtype.type
    beta1 = hyper[1]
    weight = dtype(1.0 - beta1)
    return (
        weight,
        dtype(1.0) - weight,
        dtype(hyper[2]),
        dtype(hyper[3]),
        dtype(hyper[4]),
        dtype(-(hyper[0] / (1.0 - beta1 ** float(step)))),
        hyper[5] != 0.0,
    )


def adamax_rule(p, grad, m, u, weight, one_minus_weight, beta2, eps, weight_decay, negative_clr, maximize):
    """One element of Adamax; returns ``(p, m, u)``::

        g = -grad if maximize else grad;  g = g + weight_decay p
        m = lerp(m, g, 1 - beta1)
        u = max(beta2 u, |g| + eps)
        p = p - (lr / (1 - beta1^t)) m / u
    """
    g = regularized_gradient(grad, p, weight_decay, maximize)
    m = lerp(m, g, weight, one_minus_weight)
    decayed = u * beta2
    candidate = abs(g) + eps
    # torch.maximum: NaN wins.
    u = decayed if (decayed >= candidate or decayed != decayed) else candidate
    return p + negative_clr * m / u, m, u


# --- NAdam -------------------------------------------------------------------


def nadam_coefficients(param, hyper, step):
    """hyper = [lr, beta1, beta2, eps, weight_decay, momentum_decay,
    decoupled_weight_decay, maximize, mu_product], with ``mu_product`` already
    advanced to ``mu_1 ... mu_t`` by ``nadam_prepare``.

    Returns, in ``T``: the lerp weights ``1 - beta1`` and ``beta1``,
    ``beta2``, ``1 - beta2``, ``eps``, ``weight_decay``, ``1 - lr
    weight_decay``, ``1 - beta2^t`` and the two step coefficients
    ``-lr (1 - mu_t) / (1 - mu_product)`` and
    ``-lr mu_{t+1} / (1 - mu_product mu_{t+1})``; then the flags
    ``(decoupled_weight_decay, maximize)``.
    """
    dtype = param.dtype.type
    lr = hyper[0]
    beta1 = hyper[1]
    beta2 = hyper[2]
    mu_product = hyper[8]
    weight = dtype(1.0 - beta1)
    mu = nadam_momentum(beta1, step, hyper[5])
    mu_next = nadam_momentum(beta1, step + 1, hyper[5])
    return (
        weight,
        dtype(1.0) - weight,
        dtype(beta2),
        dtype(1.0 - beta2),
        dtype(hyper[3]),
        dtype(hyper[4]),
        dtype(1.0 - lr * hyper[4]),
        dtype(1.0 - beta2 ** float(step)),
        dtype(-lr * (1.0 - mu) / (1.0 - mu_product)),
        dtype((-lr * mu_next) / (1.0 - mu_product * mu_next)),
        hyper[6] != 0.0,
        hyper[7] != 0.0,
    )


def nadam_rule(
    p, grad, m, v,
    weight, one_minus_weight, beta2, one_minus_beta2, eps, weight_decay, decay_factor,
    bias_correction2, gradient_coefficient, momentum_coefficient, decoupled, maximize,
):
    """One element of NAdam; returns ``(p, m, v)``::

        (p, g, m, v) = adam_moments(...)
        s = sqrt(v / (1 - beta2^t)) + eps
        p = p - lr (1 - mu_t) / (1 - mu_product) g / s
        p = p - lr mu_{t+1} / (1 - mu_product mu_{t+1}) m / s
    """
    p, g, m, v = adam_moments(
        p, grad, m, v, weight, one_minus_weight, beta2, one_minus_beta2, weight_decay, decay_factor, decoupled, maximize
    )
    s = root(v / bias_correction2) + eps
    q = p + gradient_coefficient * g / s
    return q + momentum_coefficient * m / s, m, v


# --- compiling the rules for a target ------------------------------------------


def compile_rules(jit: Callable, name: str, overrides: Mapping[str, Callable] | None = None) -> types.ModuleType:
    """The functions of this module compiled with ``jit``, as a module object.

    See :func:`numbagrad.kernels.compiling.compile_functions`: a rule calls
    the compiled ``lerp`` of the same target; ``overrides`` replaces
    functions (before compiling) by name. Compiled code reads the result's
    attributes (``RULES.adam_rule``) as it reads a module's.
    """
    return compile_functions(globals(), _RULE_FUNCTIONS, jit, name, overrides)


_RULE_FUNCTIONS = tuple(name for name in __all__ if name != "compile_rules")
