"""Fused optimizer update kernels.

Every kernel has the contract of :func:`numbagrad.kernels.signatures.update_signature`::

    <name>_update(param, grad, state, hyper, step, start, stop)

and updates ``param[start:stop]`` and its state slots in place, in one pass
over memory. The arithmetic is that of :mod:`numbagrad.kernels.rules`, shared
with the CUDA kernels and inlined here into each loop: PyTorch's
``torch.optim`` single-tensor implementation operation by operation, in the
parameters' precision, with every hyperparameter first rounded to that
precision. The reference tests compare them bit for bit with NumPy
transcriptions of the same rules.

``hyper`` holds the hyperparameters in the order of the optimizer's
declaration (``numbagrad.optim``); booleans are 0.0 or 1.0 and ``betas``
takes two entries. The slices are taken before the loops because LLVM only
vectorises a loop whose arrays it can see start at the loop's index 0. State
rows an option turns off are aliased to a row that exists and never written,
so that every loop has the same shape whatever the options.
"""

from __future__ import annotations

from numbagrad.kernels import rules
from numbagrad.kernels.cpu.jit import inline, kernel

__all__ = [
    "sgd_update",
    "adam_update",
    "adamw_update",
    "rmsprop_update",
    "adagrad_update",
    "adadelta_update",
    "adamax_update",
    "nadam_update",
    "nadam_prepare",
    "no_prepare",
    "RULES",
]

#: The update rules compiled to be inlined into these loops.
RULES = rules.compile_rules(inline, "numbagrad.kernels.rules[cpu]")


@kernel
def no_prepare(hyper, step):
    """The ``prepare`` of an optimizer without scalar state: does nothing."""
    return


# --- SGD ---------------------------------------------------------------------


@kernel
def sgd_update(param, grad, state, hyper, step, start, stop):
    """SGD with momentum, dampening, Nesterov momentum and L2 weight decay.

    hyper = [lr, momentum, dampening, weight_decay, nesterov, maximize];
    state = [momentum_buffer] when momentum != 0, else no rows::

        g = -grad if maximize else grad
        g = g + weight_decay * p
        b = g                                     on the first step
        b = momentum * b + (1 - dampening) * g    afterwards
        g = g + momentum * b  if nesterov  else  b
        p = p - lr * g
    """
    lr, momentum, keep, weight_decay, has_momentum, nesterov, maximize, first = RULES.sgd_coefficients(param, hyper, step)
    p = param[start:stop]
    gradient = grad[start:stop]
    buffer = state[0, start:stop] if has_momentum else p
    for i in range(p.size):
        p[i], b = RULES.sgd_rule(p[i], gradient[i], buffer[i], lr, momentum, keep, weight_decay, has_momentum, nesterov, maximize, first)
        if has_momentum:
            buffer[i] = b


# --- Adam, AdamW -------------------------------------------------------------


@kernel
def adam_update(param, grad, state, hyper, step, start, stop):
    """Adam (Kingma & Ba, 2015), with AMSGrad, coupled or decoupled decay.

    hyper = [lr, beta1, beta2, eps, weight_decay, amsgrad, maximize,
    decoupled_weight_decay, eps_hat]; state = [exp_avg, exp_avg_sq] plus
    max_exp_avg_sq with amsgrad; see :func:`adam_core`.
    """
    adam_core(param, grad, state, hyper, step, start, stop, hyper[7] != 0.0, hyper[8] != 0.0)


@kernel
def adamw_update(param, grad, state, hyper, step, start, stop):
    """AdamW (Loshchilov & Hutter, 2019): Adam with decoupled weight decay.

    hyper = [lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, eps_hat];
    state as :func:`adam_update`.
    """
    adam_core(param, grad, state, hyper, step, start, stop, True, hyper[7] != 0.0)


@inline
def adam_core(param, grad, state, hyper, step, start, stop, decoupled, eps_hat):
    """The Adam family's update, reading hyper[0:7] = [lr, beta1, beta2, eps,
    weight_decay, amsgrad, maximize]::

        g = -grad if maximize else grad
        p = p (1 - lr weight_decay)        if decoupled
        g = g + weight_decay p             otherwise
        m = lerp(m, g, 1 - beta1)
        v = beta2 v + (1 - beta2) g g
        v_max = max(v_max, v); use v_max as v    with amsgrad
        p = p - (lr / (1 - beta1^t)) m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
        p = p - (lr sqrt(1 - beta2^t) / (1 - beta1^t)) m / (sqrt(v) + eps)   with eps_hat
    """
    (
        weight, one_minus_weight, beta2, one_minus_beta2, eps, weight_decay, decay_factor,
        negative_step_size, bias_correction2_sqrt, amsgrad, maximize,
    ) = RULES.adam_coefficients(param, hyper, step, eps_hat)
    p = param[start:stop]
    gradient = grad[start:stop]
    exp_avg = state[0, start:stop]
    exp_avg_sq = state[1, start:stop]
    max_exp_avg_sq = state[2, start:stop] if amsgrad else exp_avg_sq
    for i in range(p.size):
        p[i], exp_avg[i], exp_avg_sq[i], v_max = RULES.adam_rule(
            p[i], gradient[i], exp_avg[i], exp_avg_sq[i], max_exp_avg_sq[i],
            weight, one_minus_weight, beta2, one_minus_beta2, eps, weight_decay, decay_factor,
            negative_step_size, bias_correction2_sqrt, amsgrad, maximize, decoupled, eps_hat,
        )
        if amsgrad:
            max_exp_avg_sq[i] = v_max


# --- RMSprop -----------------------------------------------------------------


@kernel
def rmsprop_update(param, grad, state, hyper, step, start, stop):
    """RMSprop (Hinton, 2012), optionally centered and with momentum.

    hyper = [lr, alpha, eps, weight_decay, momentum, centered, maximize,
    eps_inside_sqrt]; state = [square_avg] + [momentum_buffer] if momentum > 0
    + [grad_avg] if centered::

        g = -grad if maximize else grad;  g = g + weight_decay p
        v = alpha v + (1 - alpha) g g
        a = lerp(a, g, 1 - alpha);  s = sqrt(v - a a) + eps     centered
        s = sqrt(v) + eps                                       otherwise
        s = sqrt(v [- a a] + eps)                               with eps_inside_sqrt
        b = momentum b + g / s;  p = p - lr b                   momentum > 0
        p = p - lr g / s                                        otherwise
    """
    (
        lr, alpha, one_minus_alpha, one_minus_weight, eps, weight_decay, momentum,
        has_momentum, centered, maximize, eps_inside,
    ) = RULES.rmsprop_coefficients(param, hyper, step)
    p = param[start:stop]
    gradient = grad[start:stop]
    square_avg = state[0, start:stop]
    buffer = state[1, start:stop] if has_momentum else square_avg
    grad_avg = state[2 if has_momentum else 1, start:stop] if centered else square_avg
    for i in range(p.size):
        p[i], square_avg[i], b, a = RULES.rmsprop_rule(
            p[i], gradient[i], square_avg[i], buffer[i], grad_avg[i],
            lr, alpha, one_minus_alpha, one_minus_weight, eps, weight_decay, momentum,
            has_momentum, centered, maximize, eps_inside,
        )
        if centered:
            grad_avg[i] = a
        if has_momentum:
            buffer[i] = b


# --- Adagrad -----------------------------------------------------------------


@kernel
def adagrad_update(param, grad, state, hyper, step, start, stop):
    """Adagrad (Duchi et al., 2011) with learning-rate decay.

    hyper = [lr, lr_decay, weight_decay, initial_accumulator_value, eps,
    maximize, eps_inside_sqrt]; state = [sum], started at
    initial_accumulator_value::

        g = -grad if maximize else grad;  g = g + weight_decay p
        clr = lr / (1 + (t - 1) lr_decay)
        sum = sum + g g
        p = p - clr g / (sqrt(sum) + eps)         (sqrt(sum + eps) with eps_inside_sqrt)
    """
    negative_clr, weight_decay, eps, maximize, eps_inside = RULES.adagrad_coefficients(param, hyper, step)
    p = param[start:stop]
    gradient = grad[start:stop]
    accumulator = state[0, start:stop]
    for i in range(p.size):
        p[i], accumulator[i] = RULES.adagrad_rule(
            p[i], gradient[i], accumulator[i], negative_clr, weight_decay, eps, maximize, eps_inside
        )


# --- Adadelta ----------------------------------------------------------------


@kernel
def adadelta_update(param, grad, state, hyper, step, start, stop):
    """Adadelta (Zeiler, 2012).

    hyper = [lr, rho, eps, weight_decay, maximize]; state = [square_avg, acc_delta]::

        g = -grad if maximize else grad;  g = g + weight_decay p
        v = rho v + (1 - rho) g g
        d = sqrt(u + eps) / sqrt(v + eps) g
        u = rho u + (1 - rho) d d
        p = p - lr d
    """
    lr, rho, one_minus_rho, eps, weight_decay, maximize = RULES.adadelta_coefficients(param, hyper, step)
    p = param[start:stop]
    gradient = grad[start:stop]
    square_avg = state[0, start:stop]
    acc_delta = state[1, start:stop]
    for i in range(p.size):
        p[i], square_avg[i], acc_delta[i] = RULES.adadelta_rule(
            p[i], gradient[i], square_avg[i], acc_delta[i], lr, rho, one_minus_rho, eps, weight_decay, maximize
        )


# --- Adamax ------------------------------------------------------------------


@kernel
def adamax_update(param, grad, state, hyper, step, start, stop):
    """Adamax, Adam's infinity-norm variant (Kingma & Ba, 2015, section 7).

    hyper = [lr, beta1, beta2, eps, weight_decay, maximize]; state = [exp_avg, exp_inf]::

        g = -grad if maximize else grad;  g = g + weight_decay p
        m = lerp(m, g, 1 - beta1)
        u = max(beta2 u, |g| + eps)
        p = p - (lr / (1 - beta1^t)) m / u
    """
    weight, one_minus_weight, beta2, eps, weight_decay, negative_clr, maximize = RULES.adamax_coefficients(param, hyper, step)
    p = param[start:stop]
    gradient = grad[start:stop]
    exp_avg = state[0, start:stop]
    exp_inf = state[1, start:stop]
    for i in range(p.size):
        p[i], exp_avg[i], exp_inf[i] = RULES.adamax_rule(
            p[i], gradient[i], exp_avg[i], exp_inf[i], weight, one_minus_weight, beta2, eps, weight_decay, negative_clr, maximize
        )


# --- NAdam -------------------------------------------------------------------


@kernel
def nadam_prepare(hyper, step):
    """Advance NAdam's running product ``mu_product *= mu_t`` (stored in hyper[8])."""
    hyper[8] = hyper[8] * RULES.nadam_momentum(hyper[1], step, hyper[5])


@kernel
def nadam_update(param, grad, state, hyper, step, start, stop):
    """NAdam, Adam with Nesterov momentum (Dozat, 2016).

    hyper = [lr, beta1, beta2, eps, weight_decay, momentum_decay,
    decoupled_weight_decay, maximize, mu_product]; state = [exp_avg, exp_avg_sq]::

        g = -grad if maximize else grad
        p = p (1 - lr weight_decay)  if decoupled_weight_decay  else  g = g + weight_decay p
        mu_t = beta1 (1 - 0.5 0.96^(t psi)),  mu_{t+1} likewise
        mu_product = mu_1 ... mu_t                        (advanced by nadam_prepare)
        m = lerp(m, g, 1 - beta1);  v = beta2 v + (1 - beta2) g g
        s = sqrt(v / (1 - beta2^t)) + eps
        p = p - lr (1 - mu_t) / (1 - mu_product) g / s
        p = p - lr mu_{t+1} / (1 - mu_product mu_{t+1}) m / s
    """
    (
        weight, one_minus_weight, beta2, one_minus_beta2, eps, weight_decay, decay_factor,
        bias_correction2, gradient_coefficient, momentum_coefficient, decoupled, maximize,
    ) = RULES.nadam_coefficients(param, hyper, step)
    p = param[start:stop]
    gradient = grad[start:stop]
    exp_avg = state[0, start:stop]
    exp_avg_sq = state[1, start:stop]
    for i in range(p.size):
        p[i], exp_avg[i], exp_avg_sq[i] = RULES.nadam_rule(
            p[i], gradient[i], exp_avg[i], exp_avg_sq[i],
            weight, one_minus_weight, beta2, one_minus_beta2, eps, weight_decay, decay_factor,
            bias_correction2, gradient_coefficient, momentum_coefficient, decoupled, maximize,
        )
