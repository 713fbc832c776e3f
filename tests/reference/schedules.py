"""Learning-rate schedules written out one step at a time, in plain Python.

Each ``<name>(t, lr, **hyperparameters)`` is the learning rate at the 0-based
step ``t``, transcribed from PyTorch's documented closed forms (and, for the
one-cycle policy, from ``OneCycleLR.get_lr``), with ``math`` on Python floats
and integers: no NumPy, no vectorisation, so that the library's vectorised
functions are checked against an independent spelling of each formula.
"""

from __future__ import annotations

import math


def constant(t, lr):
    return lr


def step(t, lr, step_size, gamma=0.1):
    return lr * gamma ** (t // step_size)


def multistep(t, lr, milestones, gamma=0.1):
    return lr * gamma ** sum(1 for m in milestones if m <= t)


def exponential(t, lr, gamma, decay_steps=1, staircase=False):
    exponent = t // decay_steps if staircase else t / decay_steps
    return lr * gamma**exponent


def inverse_time(t, lr, decay, decay_steps=1, staircase=False):
    elapsed = t // decay_steps if staircase else t / decay_steps
    return lr / (1 + decay * elapsed)


def polynomial(t, lr, total_steps, power=1.0, end_lr=0.0):
    return (lr - end_lr) * (1 - min(t, total_steps) / total_steps) ** power + end_lr


def cosine(t, lr, T_max, eta_min=0.0):
    return eta_min + (lr - eta_min) * (1 + math.cos(math.pi * t / T_max)) / 2


def cosine_warm_restarts(t, lr, T_0, T_mult=1, eta_min=0.0):
    T_i, T_cur = T_0, t
    while T_cur >= T_i:
        T_cur -= T_i
        T_i *= T_mult
    return eta_min + (lr - eta_min) * (1 + math.cos(math.pi * T_cur / T_i)) / 2


def one_cycle(t, lr, total_steps, pct_start=0.3, div_factor=25.0, final_div_factor=1e4, anneal_strategy="cos", three_phase=False):
    initial = lr / div_factor
    final = initial / final_div_factor
    if three_phase:
        phases = [
            (float(pct_start * total_steps) - 1, initial, lr),
            (float(2 * pct_start * total_steps) - 2, lr, initial),
            (total_steps - 1, initial, final),
        ]
    else:
        phases = [(float(pct_start * total_steps) - 1, initial, lr), (total_steps - 1, lr, final)]
    t = min(t, total_steps - 1)
    start_step = 0
    for i, (end_step, start_lr, end_lr) in enumerate(phases):
        if t <= end_step or i == len(phases) - 1:
            pct = (t - start_step) / (end_step - start_step)
            if anneal_strategy == "cos":
                return end_lr + (start_lr - end_lr) / 2.0 * (math.cos(math.pi * pct) + 1)
            return (end_lr - start_lr) * pct + start_lr
        start_step = end_step
    raise AssertionError("unreachable")


def warmup(t, inner, warmup_steps, start_factor=0.0):
    """``inner(t)`` after a linear warm-up of ``warmup_steps`` from ``start_factor * inner(0)``."""
    if t < warmup_steps:
        return inner(0) * (start_factor + (1 - start_factor) * t / warmup_steps)
    return inner(t - warmup_steps)


def join(t, schedules, boundaries):
    """``schedules[i](t - boundaries[i - 1])`` on the i-th segment."""
    start, chosen = 0, schedules[0]
    for boundary, schedule in zip(boundaries, schedules[1:]):
        if t >= boundary:
            start, chosen = boundary, schedule
    return chosen(t - start)
