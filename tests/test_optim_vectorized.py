"""Every built-in element-wise optimizer's update loop is vectorised by LLVM, for every combination
of the options that turn state slots on, in float32 and float64.

An update moves every parameter, gradient and state element through memory once; a scalar loop
runs several times slower than that (RMSprop's hand-written kernel was, at 11.4 ms for 1e6
parameters against 1.3 ms since, because reading an absent slot from another array made LLVM
guard the loop with overlap checks and give up). The generated kernel has one loop per
combination (numbagrad.kernels.elementwise); here each combination is compiled on its own, with
the others' branches removed, and its LLVM IR must hold a loop the vectoriser marked as done.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from numba import njit

from numbagrad.builtins import numbagrad_optimizers
from numbagrad.kernels import elementwise
from numbagrad.kernels.cpu.jit import inline
from numbagrad.kernels.signatures import update_signature

ELEMENTWISE = [spec for spec in numbagrad_optimizers() if spec.generated and not spec.tensorwise]


def vectorized_loops(ir: str) -> int:
    """The loops of ``ir`` whose metadata says LLVM's loop vectoriser transformed them."""
    marks = set(re.findall(r'^(![0-9]+) = !\{!"llvm\.loop\.isvectorized", i32 1\}', ir, re.M))
    metadata = dict(re.findall(r"^(![0-9]+) = distinct !\{(.*)\}$", ir, re.M))
    loops = set(re.findall(r"!llvm\.loop (![0-9]+)", ir))
    return sum(1 for loop in loops if set(re.findall(r"![0-9]+", metadata.get(loop, ""))) & marks)


def pattern_kernel(spec, pattern: tuple[bool, ...]):
    """The generated update kernel with the conditional slots' presence fixed to ``pattern``."""
    layout = elementwise.Layout(spec)
    source = elementwise.cpu_source(spec, "")
    conditional = [k for k, condition in enumerate(layout.conditions) if condition is not None]
    for k, present in zip(conditional, pattern):
        source, count = re.subn(rf"present{k} = .*", f"present{k} = {present}", source)
        assert count == 1
    memo: dict = {}
    namespace = {
        "RULE": elementwise.retarget(spec.rule, inline, memo),
        "COEFFICIENTS": elementwise.retarget(spec.coefficients, inline, memo),
        "kernel": lambda function: njit(error_model="numpy", nogil=True)(function),
    }
    source = source.replace("from numbagrad.kernels.cpu.jit import kernel\n", "")
    exec(compile(source, f"<{spec.name} {pattern}>", "exec"), namespace)
    return namespace["update"]


CASES = [
    pytest.param(spec, pattern, dtype, id=f"{spec.name}-{''.join('1' if p else '0' for p in pattern) or 'all'}-{dtype}")
    for spec in ELEMENTWISE
    for pattern in elementwise._presence_patterns(elementwise.Layout(spec))
    for dtype in ("float32", "float64")
]


def test_every_builtin_elementwise_optimizer_is_checked():
    assert {spec.name for spec in ELEMENTWISE} >= {"sgd", "adam", "adamw", "rmsprop", "adagrad", "nadam", "radam", "rprop", "asgd"}


@pytest.mark.parametrize("spec, pattern, dtype", CASES)
def test_the_update_loop_is_vectorized(spec, pattern, dtype):
    kernel = pattern_kernel(spec, pattern)
    kernel.compile(update_signature(np.dtype(dtype)))
    assert vectorized_loops(kernel.inspect_llvm(kernel.signatures[0])) >= 1, f"{spec.name}: no vectorised loop"


def test_the_check_sees_a_scalar_loop():
    @njit(error_model="numpy")
    def recurrence(p, g, s):
        for i in range(1, p.size):  # each element needs the one before: no vector form
            s[i] = s[i - 1] * 0.5 + g[i]
            p[i] -= s[i]

    recurrence(np.ones(4), np.ones(4), np.ones(4))
    assert vectorized_loops(recurrence.inspect_llvm(recurrence.signatures[0])) == 0
