"""Plain NumPy transcriptions of PyTorch's documented update rules.

Each ``<name>_step(p, g, state, h, t)`` updates the array ``p`` in place from
``g`` for step ``t`` (1 on the first), with ``state`` a dict of arrays it
creates on the first step and ``h`` the validated hyperparameters. The
arithmetic follows PyTorch's single-tensor implementations operation by
operation, in ``p``'s precision with every scalar first rounded to it, so
that the kernels must match them exactly.
"""

from __future__ import annotations

import math

import numpy as np


def _lerp(start, end, weight, dtype):
    w = dtype.type(weight)
    if abs(w) < 0.5:
        return start + w * (end - start)
    return end - (end - start) * (dtype.type(1.0) - w)


def _gradient(p, g, h, dtype):
    g = -g if h["maximize"] else g.copy()
    if h["weight_decay"] != 0 and not h.get("decoupled_weight_decay", False):
        g = g + dtype.type(h["weight_decay"]) * p
    return g


def _zeros(state, p, *names):
    for name in names:
        state.setdefault(name, np.zeros_like(p))


def sgd_step(p, g, state, h, t):
    T = p.dtype
    d = _gradient(p, g, h, T)
    if h["momentum"] != 0:
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = d.copy()
        else:
            state["momentum_buffer"] = state["momentum_buffer"] * T.type(h["momentum"]) + T.type(1 - h["dampening"]) * d
        b = state["momentum_buffer"]
        d = d + T.type(h["momentum"]) * b if h["nesterov"] else b
    p[...] = p + T.type(-h["lr"]) * d


def _moments(p, g, state, h, decoupled):
    """Adam's moment updates, which NAdam and RAdam share; returns the gradient they used."""
    T = p.dtype
    beta1, beta2 = h["betas"]
    lr, wd = h["lr"], h["weight_decay"]
    g = -g if h["maximize"] else g.copy()
    if wd != 0:
        if decoupled:
            p[...] = p * T.type(1 - lr * wd)
        else:
            g = g + T.type(wd) * p
    _zeros(state, p, "exp_avg", "exp_avg_sq")
    state["exp_avg"] = _lerp(state["exp_avg"], g, 1 - beta1, T)
    state["exp_avg_sq"] = state["exp_avg_sq"] * T.type(beta2) + T.type(1 - beta2) * g * g
    return g


def _adam_family(p, g, state, h, t, decoupled):
    T = p.dtype
    beta1, beta2 = h["betas"]
    lr = h["lr"]
    g = _moments(p, g, state, h, decoupled)
    if h["amsgrad"]:
        _zeros(state, p, "max_exp_avg_sq")
    bias_correction1 = 1 - beta1 ** float(t)
    bias_correction2 = 1 - beta2 ** float(t)
    v = state["exp_avg_sq"]
    if h["amsgrad"]:
        state["max_exp_avg_sq"] = np.maximum(state["max_exp_avg_sq"], v)
        v = state["max_exp_avg_sq"]
    if h["eps_hat"]:
        step_size = lr * math.sqrt(bias_correction2) / bias_correction1
        denominator = np.sqrt(v) + T.type(h["eps"])
    else:
        step_size = lr / bias_correction1
        denominator = np.sqrt(v) / T.type(math.sqrt(bias_correction2)) + T.type(h["eps"])
    p[...] = p + T.type(-step_size) * state["exp_avg"] / denominator


def adam_step(p, g, state, h, t):
    _adam_family(p, g, state, h, t, h["decoupled_weight_decay"])


def adamw_step(p, g, state, h, t):
    _adam_family(p, g, state, h, t, True)


def rmsprop_step(p, g, state, h, t):
    T = p.dtype
    g = _gradient(p, g, h, T)
    _zeros(state, p, "square_avg")
    alpha = h["alpha"]
    state["square_avg"] = state["square_avg"] * T.type(alpha) + T.type(1 - alpha) * g * g
    v = state["square_avg"]
    if h["centered"]:
        _zeros(state, p, "grad_avg")
        state["grad_avg"] = _lerp(state["grad_avg"], g, 1 - alpha, T)
        a = state["grad_avg"]
        v = v + (-a) * a
    eps = T.type(h["eps"])
    s = np.sqrt(v + eps) if h["eps_inside_sqrt"] else np.sqrt(v) + eps
    if h["momentum"] > 0:
        _zeros(state, p, "momentum_buffer")
        state["momentum_buffer"] = state["momentum_buffer"] * T.type(h["momentum"]) + g / s
        p[...] = p + T.type(-h["lr"]) * state["momentum_buffer"]
    else:
        p[...] = p + T.type(-h["lr"]) * g / s


def adagrad_step(p, g, state, h, t):
    T = p.dtype
    g = _gradient(p, g, h, T)
    state.setdefault("sum", np.full_like(p, h["initial_accumulator_value"]))
    clr = h["lr"] / (1 + (t - 1) * h["lr_decay"])
    state["sum"] = state["sum"] + g * g
    eps = T.type(h["eps"])
    s = np.sqrt(state["sum"] + eps) if h["eps_inside_sqrt"] else np.sqrt(state["sum"]) + eps
    p[...] = p + T.type(-clr) * g / s


def adadelta_step(p, g, state, h, t):
    T = p.dtype
    g = _gradient(p, g, h, T)
    _zeros(state, p, "square_avg", "acc_delta")
    rho, eps = T.type(h["rho"]), T.type(h["eps"])
    state["square_avg"] = state["square_avg"] * rho + T.type(1 - h["rho"]) * g * g
    delta = np.sqrt(state["acc_delta"] + eps) / np.sqrt(state["square_avg"] + eps) * g
    state["acc_delta"] = state["acc_delta"] * rho + T.type(1 - h["rho"]) * delta * delta
    p[...] = p + T.type(-h["lr"]) * delta


def adamax_step(p, g, state, h, t):
    T = p.dtype
    beta1, beta2 = h["betas"]
    g = _gradient(p, g, h, T)
    _zeros(state, p, "exp_avg", "exp_inf")
    state["exp_avg"] = _lerp(state["exp_avg"], g, 1 - beta1, T)
    state["exp_inf"] = np.maximum(state["exp_inf"] * T.type(beta2), np.abs(g) + T.type(h["eps"]))
    clr = h["lr"] / (1 - beta1 ** float(t))
    p[...] = p + T.type(-clr) * state["exp_avg"] / state["exp_inf"]


def nadam_step(p, g, state, h, t):
    T = p.dtype
    beta1, beta2 = h["betas"]
    lr, psi = h["lr"], h["momentum_decay"]
    g = _moments(p, g, state, h, h["decoupled_weight_decay"])
    state.setdefault("mu_product", 1.0)
    bias_correction2 = 1 - beta2 ** float(t)
    mu = beta1 * (1.0 - 0.5 * 0.96 ** (float(t) * psi))
    mu_next = beta1 * (1.0 - 0.5 * 0.96 ** (float(t + 1) * psi))
    state["mu_product"] *= mu
    s = np.sqrt(state["exp_avg_sq"] / T.type(bias_correction2)) + T.type(h["eps"])
    mu_product_next = state["mu_product"] * mu_next
    p[...] = p + T.type(-lr * (1.0 - mu) / (1.0 - state["mu_product"])) * g / s
    p[...] = p + T.type((-lr * mu_next) / (1.0 - mu_product_next)) * state["exp_avg"] / s


def radam_step(p, g, state, h, t):
    T = p.dtype
    beta1, beta2 = h["betas"]
    lr = h["lr"]
    _moments(p, g, state, h, h["decoupled_weight_decay"])
    bias_correction1 = 1 - beta1 ** float(t)
    bias_correction2 = 1 - beta2 ** float(t)
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * t * beta2 ** float(t) / bias_correction2
    update = state["exp_avg"] / T.type(bias_correction1) * T.type(lr)
    if rho_t > 5:
        rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
        adaptive = T.type(bias_correction2**0.5) / (np.sqrt(state["exp_avg_sq"]) + T.type(h["eps"]))
        update = update * adaptive * T.type(rect)
    p[...] = p - update


def rprop_step(p, g, state, h, t):
    T = p.dtype
    g = -g if h["maximize"] else g.copy()
    etaminus, etaplus = (T.type(e) for e in h["etas"])
    low, high = (T.type(s) for s in h["step_sizes"])
    _zeros(state, p, "prev")
    state.setdefault("step_size", np.full_like(p, h["lr"]))
    product = g * state["prev"]
    factor = np.where(product > 0, etaplus, np.where(product < 0, etaminus, np.where(product == 0, T.type(1), product)))
    state["step_size"] = np.minimum(np.maximum(state["step_size"] * factor, low), high)
    g[factor == etaminus] = 0
    p[...] = p - np.sign(np.nan_to_num(g, nan=0.0)) * state["step_size"]
    state["prev"] = g


def asgd_step(p, g, state, h, t):
    T = p.dtype
    g = -g if h["maximize"] else g.copy()
    if h["weight_decay"] != 0:
        g = g + T.type(h["weight_decay"]) * p
    eta = T.type(h["lr"] / (1 + h["lambd"] * h["lr"] * (t - 1)) ** h["alpha"])
    mu = T.type(1) if t == 1 else T.type(1 / max(1, t - 1 - h["t0"]))
    p[...] = p * T.type(1 - h["lambd"] * float(eta))
    p[...] = p + (-eta) * g
    _zeros(state, p, "ax")
    state["ax"] = state["ax"] + (p - state["ax"]) * mu if mu != 1 else p.copy()


REFERENCE_STEPS = {
    "sgd": sgd_step,
    "adam": adam_step,
    "adamw": adamw_step,
    "rmsprop": rmsprop_step,
    "adagrad": adagrad_step,
    "adadelta": adadelta_step,
    "adamax": adamax_step,
    "nadam": nadam_step,
    "radam": radam_step,
    "rprop": rprop_step,
    "asgd": asgd_step,
}
