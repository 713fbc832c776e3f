"""Numerically stable scalar functions shared by activation, loss and metric kernels.

All take and return float64; they are inlined into their callers.
"""

from __future__ import annotations

import math

from numbagrad.kernels.cpu.jit import inline

__all__ = ["sigmoid", "softplus", "log_cosh"]


@inline
def sigmoid(x):
    """``1 / (1 + exp(-x))`` without overflow: ``exp(x) / (1 + exp(x))`` for ``x < 0``."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@inline
def softplus(x):
    """``log(1 + exp(x))`` without overflow: ``max(x, 0) + log1p(exp(-|x|))``."""
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


@inline
def log_cosh(x):
    """``log(cosh(x))`` without overflow: ``|x| + log1p(exp(-2|x|)) - log(2)``."""
    a = abs(x)
    return a + math.log1p(math.exp(-2.0 * a)) - 0.6931471805599453
