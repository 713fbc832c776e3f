"""Fused optimizer update kernels for CUDA GPUs: the twins of :mod:`numbagrad.kernels.cpu.optimizers`.

Every kernel has the contract of :mod:`numbagrad.kernels.cuda` (types in
:func:`numbagrad.kernels.signatures.cuda_update_signature`)::

    <name>_update[blocks, threads](param, grad, state, hyper, step)

and walks the whole flat buffer with a grid-stride loop, one launch per
step. The arithmetic is :mod:`numbagrad.kernels.rules`, the same functions the
CPU kernels inline, here compiled as ``cuda.jit(device=True)`` functions:
coefficients once per thread, then one rule call per element, in the
parameters' precision with the hyperparameters rounded to it.

Agreement with the CPU kernels: bit for bit under Numba's CUDA simulator
(which runs the same Python); on a GPU the CUDA compiler contracts
multiply-adds into fused multiply-adds (one rounding instead of two), so
results differ by an ulp or so per operation, about 1e-6 relative in float32
and 1e-12 in float64 after a few steps. Division and square root are IEEE
round-to-nearest (no fastmath), as on the CPU.

State rows an option turns off are never touched: a kernel reads a row only
when its option is on (``state`` has zero rows for plain SGD).
"""

from __future__ import annotations

import math

from numba import cuda

from numbagrad.device import simulator_enabled
from numbagrad.kernels import rules

__all__ = [
    "sgd_update",
    "adam_update",
    "adamw_update",
    "rmsprop_update",
    "adagrad_update",
    "adadelta_update",
    "adamax_update",
    "nadam_update",
    "fill_rows",
    "RULES",
]


def _simulated_root(x):
    # The simulator runs the rules as Python, where math.sqrt of a NumPy
    # float32 returns a float64; rounding it back gives exactly sqrtf(x)
    # (a double square root rounded to float is correctly rounded), which is
    # what the CPU kernels and a GPU compute.
    return type(x)(math.sqrt(x))


#: The update rules compiled as CUDA device functions.
RULES = rules.compile_rules(
    cuda.jit(device=True),
    "numbagrad.kernels.rules[cuda]",
    {"root": _simulated_root} if simulator_enabled() else None,
)


@cuda.jit
def fill_rows(state, values):
    """``state[r, :] = values[r]`` for every row ``r``: a state block's initial values."""
    for i in range(cuda.grid(1), state.shape[1], cuda.gridsize(1)):
        for row in range(state.shape[0]):
            state[row, i] = values[row]


# --- SGD ---------------------------------------------------------------------


@cuda.jit
def sgd_update(param, grad, state, hyper, step):
    """SGD with momentum, dampening, Nesterov momentum and L2 weight decay.

    hyper = [lr, momentum, dampening, weight_decay, nesterov, maximize];
    state = [momentum_buffer] when momentum != 0, else no rows. See
    :func:`numbagrad.kernels.rules.sgd_rule`.
    """
    lr, momentum, keep, weight_decay, has_momentum, nesterov, maximize, first = RULES.sgd_coefficients(param, hyper, step)
    for i in range(cuda.grid(1), param.size, cuda.gridsize(1)):
        p = param[i]
        b = state[0, i] if has_momentum else p
        p, b = RULES.sgd_rule(p, grad[i], b, lr, momentum, keep, weight_decay, has_momentum, nesterov, maximize, first)
        param[i] = p
        if has_momentum:
            state[0, i] = b


# --- Adam, AdamW -------------------------------------------------------------


@cuda.jit
def adam_update(param, grad, state, hyper, step):
    """Adam with AMSGrad, coupled or decoupled decay and Keras's epsilon.

    hyper = [lr, beta1, beta2, eps, weight_decay, amsgrad, maximize,
    decoupled_weight_decay, eps_hat]; state = [exp_avg, exp_avg_sq] plus
    max_exp_avg_sq with amsgrad. See :func:`numbagrad.kernels.rules.adam_rule`.
    """
    adam_core(param, grad, state, hyper, step, hyper[7] != 0.0, hyper[8] != 0.0)


@cuda.jit
def adamw_update(param, grad, state, hyper, step):
    """AdamW: Adam with decoupled weight decay.

    hyper = [lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, eps_hat];
    state as :func:`adam_update`.
    """
    adam_core(param, grad, state, hyper, step, True, hyper[7] != 0.0)


@cuda.jit(device=True)
def adam_core(param, grad, state, hyper, step, decoupled, eps_hat):
    """The Adam family's grid-stride loop, reading hyper[0:7]."""
    (
        weight, one_minus_weight, beta2, one_minus_beta2, eps, weight_decay, decay_factor,
        negative_step_size, bias_correction2_sqrt, amsgrad, maximize,
    ) = RULES.adam_coefficients(param, hyper, step, eps_hat)
    for i in range(cuda.grid(1), param.size, cuda.gridsize(1)):
        v = state[1, i]
        v_max = state[2, i] if amsgrad else v
        p, m, v, v_max = RULES.adam_rule(
            param[i], grad[i], state[0, i], v, v_max,
            weight, one_minus_weight, beta2, one_minus_beta2, eps, weight_decay, decay_factor,
            negative_step_size, bias_correction2_sqrt, amsgrad, maximize, decoupled, eps_hat,
        )
        param[i] = p
        state[0, i] = m
        state[1, i] = v
        if amsgrad:
            state[2, i] = v_max


# --- RMSprop -----------------------------------------------------------------


@cuda.jit
def rmsprop_update(param, grad, state, hyper, step):
    """RMSprop, optionally centered and with momentum.

    hyper = [lr, alpha, eps, weight_decay, momentum, centered, maximize,
    eps_inside_sqrt]; state = [square_avg] + [momentum_buffer] if momentum > 0
    + [grad_avg] if centered. See :func:`numbagrad.kernels.rules.rmsprop_rule`.
    """
    (
        lr, alpha, one_minus_alpha, one_minus_weight, eps, weight_decay, momentum,
        has_momentum, centered, maximize, eps_inside,
    ) = RULES.rmsprop_coefficients(param, hyper, step)
    average_row = 2 if has_momentum else 1
    for i in range(cuda.grid(1), param.size, cuda.gridsize(1)):
        v = state[0, i]
        b = state[1, i] if has_momentum else v
        a = state[average_row, i] if centered else v
        p, v, b, a = RULES.rmsprop_rule(
            param[i], grad[i], v, b, a,
            lr, alpha, one_minus_alpha, one_minus_weight, eps, weight_decay, momentum,
            has_momentum, centered, maximize, eps_inside,
        )
        param[i] = p
        state[0, i] = v
        if has_momentum:
            state[1, i] = b
        if centered:
            state[average_row, i] = a


# --- Adagrad -----------------------------------------------------------------


@cuda.jit
def adagrad_update(param, grad, state, hyper, step):
    """Adagrad with learning-rate decay.

    hyper = [lr, lr_decay, weight_decay, initial_accumulator_value, eps,
    maximize, eps_inside_sqrt]; state = [sum]. See
    :func:`numbagrad.kernels.rules.adagrad_rule`.
    """
    negative_clr, weight_decay, eps, maximize, eps_inside = RULES.adagrad_coefficients(param, hyper, step)
    for i in range(cuda.grid(1), param.size, cuda.gridsize(1)):
        p, total = RULES.adagrad_rule(param[i], grad[i], state[0, i], negative_clr, weight_decay, eps, maximize, eps_inside)
        param[i] = p
        state[0, i] = total


# --- Adadelta ----------------------------------------------------------------


@cuda.jit
def adadelta_update(param, grad, state, hyper, step):
    """Adadelta.

    hyper = [lr, rho, eps, weight_decay, maximize]; state = [square_avg,
    acc_delta]. See :func:`numbagrad.kernels.rules.adadelta_rule`.
    """
    lr, rho, one_minus_rho, eps, weight_decay, maximize = RULES.adadelta_coefficients(param, hyper, step)
    for i in range(cuda.grid(1), param.size, cuda.gridsize(1)):
        p, v, u = RULES.adadelta_rule(param[i], grad[i], state[0, i], state[1, i], lr, rho, one_minus_rho, eps, weight_decay, maximize)
        param[i] = p
        state[0, i] = v
        state[1, i] = u


# --- Adamax ------------------------------------------------------------------


@cuda.jit
def adamax_update(param, grad, state, hyper, step):
    """Adamax, Adam's infinity-norm variant.

    hyper = [lr, beta1, beta2, eps, weight_decay, maximize]; state = [exp_avg,
    exp_inf]. See :func:`numbagrad.kernels.rules.adamax_rule`.
    """
    weight, one_minus_weight, beta2, eps, weight_decay, negative_clr, maximize = RULES.adamax_coefficients(param, hyper, step)
    for i in range(cuda.grid(1), param.size, cuda.gridsize(1)):
        p, m, u = RULES.adamax_rule(
            param[i], grad[i], state[0, i], state[1, i], weight, one_minus_weight, beta2, eps, weight_decay, negative_clr, maximize
        )
        param[i] = p
        state[0, i] = m
        state[1, i] = u


# --- NAdam -------------------------------------------------------------------


@cuda.jit
def nadam_update(param, grad, state, hyper, step):
    """NAdam, Adam with Nesterov momentum.

    hyper = [lr, beta1, beta2, eps, weight_decay, momentum_decay,
    decoupled_weight_decay, maximize, mu_product], ``mu_product`` advanced on
    the host by :func:`numbagrad.kernels.cpu.optimizers.nadam_prepare`;
    state = [exp_avg, exp_avg_sq]. See :func:`numbagrad.kernels.rules.nadam_rule`.
    """
    (
        weight, one_minus_weight, beta2, one_minus_beta2, eps, weight_decay, decay_factor,
        bias_correction2, gradient_coefficient, momentum_coefficient, decoupled, maximize,
    ) = RULES.nadam_coefficients(param, hyper, step)
    for i in range(cuda.grid(1), param.size, cuda.gridsize(1)):
        p, m, v = RULES.nadam_rule(
            param[i], grad[i], state[0, i], state[1, i],
            weight, one_minus_weight, beta2, one_minus_beta2, eps, weight_decay, decay_factor,
            bias_correction2, gradient_coefficient, momentum_coefficient, decoupled, maximize,
        )
        param[i] = p
        state[0, i] = m
        state[1, i] = v
