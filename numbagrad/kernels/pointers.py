"""Compiled kernels passed into compiled code as plain integer addresses.

Compiled loops call optimizer, activation, loss and metric kernels they only
know by signature. Passing a Numba dispatcher as a ``FunctionType``
argument costs microseconds per call (a compile-cache look-up and a symbol
resolution each time) and specialises nothing that could be cached; passing
two integers costs nothing. :func:`kernel_addresses` resolves a kernel's
addresses once; inside compiled code, :func:`update_function` and
:func:`prepare_function` turn them back into callable function values.

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
    tensor_update_signature,
    update_signature,
    weighted_metric_signature,
)

__all__ = [
    "address_as_pointer",
    "kernel_addresses",
    "update_function",
    "tensor_update_function",
    "prepare_function",
    "activation_forward_function",
    "activation_backward_function",
    "loss_function",
    "metric_function",
    "weighted_metric_function",
    "call_reducer",
]


@intrinsic
def address_as_pointer(typingctx, address):
    """Reinterpret an integer address as ``void*`` (in compiled code)."""
    if not isinstance(address, types.Integer):
        return None

    def codegen(context, builder, signature, arguments):
        return builder.inttoptr(arguments[0], cgutils.voidptr_t)

    return types.voidptr(address), codegen


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


def _function_loader(signature_for, kind: str):
    """An intrinsic ``load(like, c_address, jit_address)`` giving the ``kind`` kernel at
    those addresses, typed by ``signature_for(dtype)`` for the dtype of the array ``like``."""

    @intrinsic
    def load(typingctx, like, c_address, jit_address):
        if not isinstance(like, types.Array) or not isinstance(c_address, types.Integer):
            return None
        function_type = types.FunctionType(signature_for(numba_float_dtype(like.dtype)))

        def codegen(context, builder, signature, arguments):
            return _function_value(context, builder, function_type, arguments[1], arguments[2])

        return function_type(like, c_address, jit_address), codegen

    load.__doc__ = f"The {kind} kernel at these addresses, typed for arrays like ``like``."
    return load


update_function = _function_loader(update_signature, "optimizer update")
tensor_update_function = _function_loader(tensor_update_signature, "tensor-wise optimizer update")
activation_forward_function = _function_loader(activation_forward_signature, "activation forward")
activation_backward_function = _function_loader(activation_backward_signature, "activation backward")
loss_function = _function_loader(loss_signature, "loss")
metric_function = _function_loader(metric_signature, "metric update")
weighted_metric_function = _function_loader(weighted_metric_signature, "weighted metric update")


@intrinsic
def prepare_function(typingctx, c_address, jit_address):
    """The ``prepare`` kernel at these addresses."""
    if not isinstance(c_address, types.Integer):
        return None

    def codegen(context, builder, signature, arguments):
        return _function_value(context, builder, PREPARE_FUNCTION_TYPE, arguments[0], arguments[1])

    return PREPARE_FUNCTION_TYPE(c_address, jit_address), codegen


def numba_float_dtype(numba_type):
    """The NumPy dtype of a Numba float type (inverse of :func:`numba_float`)."""
    import numpy as np

    for dtype in (np.dtype(np.float32), np.dtype(np.float64)):
        if numba_float(dtype) == numba_type:
            return dtype
    raise TypeError(f"numbagrad kernels compute in float32 or float64, not {numba_type}")


@intrinsic
def call_reducer(typingctx, address, send, recv, count, timeout):
    """Call the C function ``int64 reduce(int64 send, int64 recv, int64 count, double timeout)``
    at ``address`` (the all-reduce of :meth:`numbagrad.distributed.World.reducer_address`), from
    compiled code that is cached on disk: the address is an argument, never a constant."""
    if not all(isinstance(a, types.Integer) for a in (address, send, recv, count)) or not isinstance(timeout, types.Float):
        return None
    from llvmlite import ir

    def codegen(context, builder, signature, arguments):
        i64 = ir.IntType(64)
        function_type = ir.FunctionType(i64, [i64, i64, i64, ir.DoubleType()])
        function = builder.inttoptr(arguments[0], function_type.as_pointer())
        return builder.call(function, list(arguments[1:]))

    return types.int64(types.int64, types.int64, types.int64, types.int64, types.float64), codegen
