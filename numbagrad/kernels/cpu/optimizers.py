"""Fused optimizer update kernels.

Every kernel has the contract of :func:`numbagrad.kernels.signatures.update_signature`::

    <name>_update(param, grad, state, hyper, step, start, stop)

and updates ``param[start:stop]`` and its state slots in place, in one pass
over memory. The arithmetic follows PyTorch's ``torch.optim`` single-tensor
implementation operation by operation (including the order of the products
in ``addcmul``/``addcdiv`` and the two-sided ``lerp``), in the parameters'
precision, with every hyperparameter first rounded to that precision. The
reference tests compare them bit for bit with NumPy transcriptions of the
same rules.

``hyper`` holds the hyperparameters in the order of the optimizer's
declaration (``numbagrad.optim``); booleans are 0.0 or 1.0 and ``betas``
takes two entries. The slices are taken before the loops because LLVM only
vectorises a loop whose arrays it can see start at the loop's index 0.
"""

from __future__ import annotations

import math

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
]


# --- shared pieces -----------------------------------------------------------


@inline
def lerp(start, end, weight, one_minus_weight):
    """``torch.lerp``: ``start + weight (end - start)``, from the nearer end.

    PyTorch evaluates ``end - (end - start)(1 - weight)`` when
    ``|weight| >= 0.5`` for accuracy near 1; so does this.
    """
    if abs(weight) < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * one_minus_weight


@inline
def regularized_gradient(grad, param, weight_decay, maximize):
    """``g = -grad if maximize else grad``, then ``g + weight_decay * param`` (L2)."""
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + weight_decay * param
    return g


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
    lr = param.dtype.type(hyper[0])
    momentum = param.dtype.type(hyper[1])
    keep = param.dtype.type(1.0 - hyper[2])
    weight_decay = param.dtype.type(hyper[3])
    nesterov = hyper[4] != 0.0
    maximize = hyper[5] != 0.0
    has_momentum = hyper[1] != 0.0
    first = step == 1
    p = param[start:stop]
    gradient = grad[start:stop]
    buffer = state[0, start:stop] if has_momentum else p
    for i in range(p.size):
        g = regularized_gradient(gradient[i], p[i], weight_decay, maximize)
        if has_momentum:
            b = g if first else buffer[i] * momentum + keep * g
            buffer[i] = b
            g = g + momentum * b if nesterov else b
        p[i] = p[i] + (-lr) * g


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
    dtype = param.dtype.type
    beta1 = hyper[1]
    beta2 = hyper[2]
    weight = dtype(1.0 - beta1)
    one_minus_weight = dtype(1.0) - weight
    beta2_t = dtype(beta2)
    one_minus_beta2 = dtype(1.0 - beta2)
    eps = dtype(hyper[3])
    weight_decay = dtype(hyper[4])
    amsgrad = hyper[5] != 0.0
    maximize = hyper[6] != 0.0
    decay_factor = dtype(1.0 - hyper[0] * hyper[4])
    bias_correction1 = 1.0 - beta1 ** float(step)
    bias_correction2 = 1.0 - beta2 ** float(step)
    if eps_hat:
        negative_step_size = dtype(-(hyper[0] * math.sqrt(bias_correction2) / bias_correction1))
        bias_correction2_sqrt = dtype(1.0)
    else:
        negative_step_size = dtype(-(hyper[0] / bias_correction1))
        bias_correction2_sqrt = dtype(math.sqrt(bias_correction2))
    p = param[start:stop]
    gradient = grad[start:stop]
    exp_avg = state[0, start:stop]
    exp_avg_sq = state[1, start:stop]
    max_exp_avg_sq = state[2, start:stop] if amsgrad else exp_avg_sq
    for i in range(p.size):
        g = -gradient[i] if maximize else gradient[i]
        if weight_decay != 0:
            if decoupled:
                p[i] = p[i] * decay_factor
            else:
                g = g + weight_decay * p[i]
        m = lerp(exp_avg[i], g, weight, one_minus_weight)
        v = exp_avg_sq[i] * beta2_t + one_minus_beta2 * g * g
        exp_avg[i] = m
        exp_avg_sq[i] = v
        if amsgrad:
            if not max_exp_avg_sq[i] >= v:
                max_exp_avg_sq[i] = v
            v = max_exp_avg_sq[i]
        if eps_hat:
            denominator = math.sqrt(v) + eps
        else:
            denominator = math.sqrt(v) / bias_correction2_sqrt + eps
        p[i] = p[i] + negative_step_size * m / denominator


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
    dtype = param.dtype.type
    lr = dtype(hyper[0])
    alpha = dtype(hyper[1])
    one_minus_alpha = dtype(1.0 - hyper[1])
    one_minus_weight = dtype(1.0) - one_minus_alpha
    eps = dtype(hyper[2])
    weight_decay = dtype(hyper[3])
    momentum = dtype(hyper[4])
    has_momentum = hyper[4] > 0.0
    centered = hyper[5] != 0.0
    maximize = hyper[6] != 0.0
    eps_inside = hyper[7] != 0.0
    p = param[start:stop]
    gradient = grad[start:stop]
    square_avg = state[0, start:stop]
    buffer = state[1, start:stop] if has_momentum else square_avg
    grad_avg = state[2 if has_momentum else 1, start:stop] if centered else square_avg
    for i in range(p.size):
        g = regularized_gradient(gradient[i], p[i], weight_decay, maximize)
        v = square_avg[i] * alpha + one_minus_alpha * g * g
        square_avg[i] = v
        if centered:
            a = lerp(grad_avg[i], g, one_minus_alpha, one_minus_weight)
            grad_avg[i] = a
            v = v + -a * a
        if eps_inside:
            s = math.sqrt(v + eps)
        else:
            s = math.sqrt(v) + eps
        if has_momentum:
            b = buffer[i] * momentum + g / s
            buffer[i] = b
            p[i] = p[i] + (-lr) * b
        else:
            p[i] = p[i] + (-lr) * g / s


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
    dtype = param.dtype.type
    negative_clr = dtype(-(hyper[0] / (1.0 + (step - 1) * hyper[1])))
    weight_decay = dtype(hyper[2])
    eps = dtype(hyper[4])
    maximize = hyper[5] != 0.0
    eps_inside = hyper[6] != 0.0
    p = param[start:stop]
    gradient = grad[start:stop]
    accumulator = state[0, start:stop]
    for i in range(p.size):
        g = regularized_gradient(gradient[i], p[i], weight_decay, maximize)
        total = accumulator[i] + g * g
        accumulator[i] = total
        if eps_inside:
            s = math.sqrt(total + eps)
        else:
            s = math.sqrt(total) + eps
        p[i] = p[i] + negative_clr * g / s


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
    dtype = param.dtype.type
    lr = dtype(hyper[0])
    rho = dtype(hyper[1])
    one_minus_rho = dtype(1.0 - hyper[1])
    eps = dtype(hyper[2])
    weight_decay = dtype(hyper[3])
    maximize = hyper[4] != 0.0
    p = param[start:stop]
    gradient = grad[start:stop]
    square_avg = state[0, start:stop]
    acc_delta = state[1, start:stop]
    for i in range(p.size):
        g = regularized_gradient(gradient[i], p[i], weight_decay, maximize)
        v = square_avg[i] * rho + one_minus_rho * g * g
        square_avg[i] = v
        delta = math.sqrt(acc_delta[i] + eps) / math.sqrt(v + eps) * g
        acc_delta[i] = acc_delta[i] * rho + one_minus_rho * delta * delta
        p[i] = p[i] + (-lr) * delta


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
    dtype = param.dtype.type
    beta1 = hyper[1]
    weight = dtype(1.0 - beta1)
    one_minus_weight = dtype(1.0) - weight
    beta2 = dtype(hyper[2])
    eps = dtype(hyper[3])
    weight_decay = dtype(hyper[4])
    maximize = hyper[5] != 0.0
    negative_clr = dtype(-(hyper[0] / (1.0 - beta1 ** float(step))))
    p = param[start:stop]
    gradient = grad[start:stop]
    exp_avg = state[0, start:stop]
    exp_inf = state[1, start:stop]
    for i in range(p.size):
        g = regularized_gradient(gradient[i], p[i], weight_decay, maximize)
        m = lerp(exp_avg[i], g, weight, one_minus_weight)
        exp_avg[i] = m
        decayed = exp_inf[i] * beta2
        candidate = abs(g) + eps
        # torch.maximum: NaN wins.
        u = decayed if (decayed >= candidate or decayed != decayed) else candidate
        exp_inf[i] = u
        p[i] = p[i] + negative_clr * m / u


# --- NAdam -------------------------------------------------------------------


@inline
def nadam_momentum(beta1, step, momentum_decay):
    """NAdam's momentum schedule ``mu_t = beta1 (1 - 0.5 * 0.96^(t psi))``."""
    return beta1 * (1.0 - 0.5 * 0.96 ** (float(step) * momentum_decay))


@kernel
def nadam_prepare(hyper, step):
    """Advance NAdam's running product ``mu_product *= mu_t`` (stored in hyper[8])."""
    hyper[8] = hyper[8] * nadam_momentum(hyper[1], step, hyper[5])


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
    dtype = param.dtype.type
    lr = hyper[0]
    beta1 = hyper[1]
    beta2 = hyper[2]
    weight = dtype(1.0 - beta1)
    one_minus_weight = dtype(1.0) - weight
    beta2_t = dtype(beta2)
    one_minus_beta2 = dtype(1.0 - beta2)
    eps = dtype(hyper[3])
    weight_decay = dtype(hyper[4])
    decoupled = hyper[6] != 0.0
    maximize = hyper[7] != 0.0
    mu_product = hyper[8]
    decay_factor = dtype(1.0 - lr * hyper[4])
    bias_correction2 = dtype(1.0 - beta2 ** float(step))
    mu = nadam_momentum(beta1, step, hyper[5])
    mu_next = nadam_momentum(beta1, step + 1, hyper[5])
    gradient_coefficient = dtype(-lr * (1.0 - mu) / (1.0 - mu_product))
    momentum_coefficient = dtype((-lr * mu_next) / (1.0 - mu_product * mu_next))
    p = param[start:stop]
    gradient = grad[start:stop]
    exp_avg = state[0, start:stop]
    exp_avg_sq = state[1, start:stop]
    for i in range(p.size):
        g = -gradient[i] if maximize else gradient[i]
        if weight_decay != 0:
            if decoupled:
                p[i] = p[i] * decay_factor
            else:
                g = g + weight_decay * p[i]
        m = lerp(exp_avg[i], g, weight, one_minus_weight)
        v = exp_avg_sq[i] * beta2_t + one_minus_beta2 * g * g
        exp_avg[i] = m
        exp_avg_sq[i] = v
        s = math.sqrt(v / bias_correction2) + eps
        q = p[i] + gradient_coefficient * g / s
        p[i] = q + momentum_coefficient * m / s
