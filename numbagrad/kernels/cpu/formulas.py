"""The shared formulas of :mod:`numbagrad.kernels.formulas`, compiled to be inlined into the CPU kernels."""

from __future__ import annotations

from numbagrad.kernels import formulas, rules
from numbagrad.kernels.cpu.jit import inline

__all__ = ["FORMULAS", "lerp"]

#: Every formula as an ``njit(inline="always")`` function: inlined at Numba's
#: IR level, so the kernels compile to the loops they had when the formulas
#: were written inside them (same vectorisation, same results bit for bit).
FORMULAS = formulas.compile_formulas(inline, "numbagrad.kernels.formulas[cpu]")

#: :func:`numbagrad.kernels.rules.lerp` for hand-written CPU kernels (the tensor-wise optimizers').
lerp = inline(rules.lerp)
