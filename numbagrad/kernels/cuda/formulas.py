"""The shared formulas of :mod:`numbagrad.kernels.formulas`, compiled as CUDA device functions.

Under Numba's CUDA simulator the formulas run as Python, where ``math.exp``
of a large number raises ``OverflowError`` and ``math.log(0.0)`` raises
``ValueError``; a GPU (and the CPU kernels) return infinity or NaN. The
simulator therefore gets :class:`IEEEMath`, the same functions with IEEE
results where Python would raise, so that simulated kernels see infinities
and NaN as real ones do.
"""

from __future__ import annotations

import math

from numba import cuda

from numbagrad.device import simulator_enabled
from numbagrad.kernels import formulas

__all__ = ["FORMULAS", "IEEEMath"]


class IEEEMath:
    """``math`` with the IEEE 754 results where Python's raises (the simulator's stand-in)."""

    inf = math.inf
    nan = math.nan
    pi = math.pi

    @staticmethod
    def exp(x):
        try:
            return math.exp(x)
        except OverflowError:
            return math.inf

    @staticmethod
    def expm1(x):
        try:
            return math.expm1(x)
        except OverflowError:
            return math.inf

    @staticmethod
    def log(x):
        if x != x or x < 0.0:
            return math.nan
        if x == 0.0:
            return -math.inf
        return math.log(x)

    @staticmethod
    def log1p(x):
        if x != x or x < -1.0:
            return math.nan
        if x == -1.0:
            return -math.inf
        return math.log1p(x)

    @staticmethod
    def sqrt(x):
        return math.nan if x != x or x < 0.0 else math.sqrt(x)

    tanh = staticmethod(math.tanh)
    erf = staticmethod(math.erf)
    isfinite = staticmethod(math.isfinite)
    isnan = staticmethod(math.isnan)


#: Every formula as a ``cuda.jit(device=True)`` function.
FORMULAS = formulas.compile_formulas(
    cuda.jit(device=True),
    "numbagrad.kernels.formulas[cuda]",
    namespace={"math": IEEEMath} if simulator_enabled() else None,
)
