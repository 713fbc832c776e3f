"""Compiled kernels passed into compiled code as plain integer addresses.

Compiled loops call optimizer, activation, loss and metric kernels they only
know by signature. Passing a Numba dispatcher as a ``FunctionType``
argument costs microseconds per call (a compile-cache look-up and a symbol
resolution each time) and specialises nothing that could be cached; passing
two integers costs nothing. :func:`kernel_addresses` resolves a kernel's
addresses once; inside compiled code, :func:`update_function`,
:func:`prepare_function`, :func:`activation_forward_function`,
:func:`activation_backward_function`, :func:`loss_function` and
:func:`metric_function` turn them back into callable function values.

The caller keeps the kernel alive (the registry and the optimizer hold it).
"""

from __future__ import annotations

import functools

from numba import types
from numba.core import cgutils
from numba.experimental.function_type import _get_jit_address, _get_wrapper_address
from numba.extending import intrinsic

from numbagrad.kernels.signatures import (
    PREPARE_FUNCTION_TYPE,
    activation_backward_signature,
    activation_forward_signature,
    loss_signature,
    metric_signature,
    numba_float,
    update_function_type,
)

__all__ = [
    "kernel_addresses",
    "update_function",
    "prepare_function",
    "activation_forward_function",
    "activation_backward_function",
    "loss_function",
    "metric_function",
]


@functools.lru_cache(maxsize=None)
def kernel_addresses(kernel, signature: types.Signature) -> tuple[int, int]:
    """``(c_address, jit_address)`` of ``kernel`` compiled (or loaded from cache) for ``signature``."""
    kernel.compile(signature.args)
    return _get_wrapper_address(kernel, signature), _get_jit_address(kernel, signature)


def _function_value(context, builder, function_type, c_address, jit_address):
    value = cgutils.create_struct_proxy(function_type)(context, builder)
    value.c_addr = builder.inttoptr(c_address, cgutils.voidptr_t)
    value.py_addr = cgutils.voidptr_t(None)
    value.jit_addr = builder.inttoptr(jit_address, cgutils.voidptr_t)
    return value._getvalue()


@intrinsic
def update_function(typingctx, like, c_address, jit_address):
    """The update kernel at these addresses, typed for parameters like the array ``like``."""
    if not isinstance(like, types.Array) or not isinstance(c_address, types.Integer):
        return None
    function_type = update_function_type(numba_float_dtype(like.dtype))

    def codegen(context, builder, signature, arguments):
        return _function_value(context, builder, function_type, arguments[1], arguments[2])

    return function_type(like, c_address, jit_address), codegen


@intrinsic
def prepare_function(typingctx, c_address, jit_address):
    """The ``prepare`` kernel at these addresses."""
    if not isinstance(c_address, types.Integer):
        return None

    def codegen(context, builder, signature, arguments):
        return _function_value(context, builder, PREPARE_FUNCTION_TYPE, arguments[0], arguments[1])

    return PREPARE_FUNCTION_TYPE(c_address, jit_address), codegen


def _typed_by_array(like, c_address, make_signature):
    """Typing of an intrinsic that returns the kernel of ``make_signature(dtype of like)``."""
    if not isinstance(like, types.Array) or not isinstance(c_address, types.Integer):
        return None, None
    function_type = types.FunctionType(make_signature(numba_float_dtype(like.dtype)))

    def codegen(context, builder, signature, arguments):
        return _function_value(context, builder, function_type, arguments[1], arguments[2])

    return function_type, codegen


@intrinsic
def activation_forward_function(typingctx, like, c_address, jit_address):
    """The activation forward kernel at these addresses, for matrices like ``like``."""
    function_type, codegen = _typed_by_array(like, c_address, activation_forward_signature)
    if function_type is None:
        return None
    return function_type(like, c_address, jit_address), codegen


@intrinsic
def activation_backward_function(typingctx, like, c_address, jit_address):
    """The activation backward kernel at these addresses, for matrices like ``like``."""
    function_type, codegen = _typed_by_array(like, c_address, activation_backward_signature)
    if function_type is None:
        return None
    return function_type(like, c_address, jit_address), codegen


@intrinsic
def loss_function(typingctx, like, c_address, jit_address):
    """The loss kernel at these addresses, for predictions like ``like``."""
    function_type, codegen = _typed_by_array(like, c_address, loss_signature)
    if function_type is None:
        return None
    return function_type(like, c_address, jit_address), codegen


@intrinsic
def metric_function(typingctx, like, c_address, jit_address):
    """The metric update kernel at these addresses, for predictions like ``like``."""
    function_type, codegen = _typed_by_array(like, c_address, metric_signature)
    if function_type is None:
        return None
    return function_type(like, c_address, jit_address), codegen


def numba_float_dtype(numba_type):
    """The NumPy dtype of a Numba float type (inverse of :func:`numba_float`)."""
    import numpy as np

    for dtype in (np.dtype(np.float32), np.dtype(np.float64)):
        if numba_float(dtype) == numba_type:
            return dtype
    raise TypeError(f"numbagrad kernels compute in float32 or float64, not {numba_type}")
