"""The floating-point environment of the calling thread: flushing subnormal numbers.

Optimizer state decays geometrically where gradients are zero (a ReLU unit
that stays off, an input pixel that is always 0): Adam's ``exp_avg`` shrinks
by ``beta1`` every step and reaches the subnormal range of float32
(below 1.2e-38) after about 800 steps. x86 processors compute on subnormal
numbers about a hundred times slower than on normal ones, and a training
step slows down by an order of magnitude. Setting the FTZ (flush to zero)
and DAZ (denormals are zero) bits of the SSE control register, as TensorFlow
and JAX do on CPUs, makes such values zero instead.

Only the calling thread is affected, and only between :func:`flush_subnormals`
and :func:`restore`: compiled code sets and restores the mode around its
loops. On processors other than x86-64 both functions do nothing.
"""

from __future__ import annotations

import platform

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["flush_subnormals", "restore", "FLUSH_BITS"]

#: MXCSR bits: FTZ (bit 15) and DAZ (bit 6).
FLUSH_BITS = (1 << 15) | (1 << 6)

_X86 = platform.machine().lower() in ("x86_64", "amd64")


def _mxcsr_call(builder, name, pointer):
    function_type = ir.FunctionType(ir.VoidType(), [ir.IntType(8).as_pointer()])
    function = cgutils.get_or_insert_function(builder.module, function_type, name)
    builder.call(function, [builder.bitcast(pointer, ir.IntType(8).as_pointer())])


@intrinsic
def flush_subnormals(typingctx, enable):
    """Set FTZ and DAZ when ``enable``; returns the previous control word for :func:`restore`."""
    if not isinstance(enable, types.Boolean):
        return None

    def codegen(context, builder, signature, arguments):
        if not _X86:
            return ir.Constant(ir.IntType(32), 0)
        slot = cgutils.alloca_once(builder, ir.IntType(32))
        _mxcsr_call(builder, "llvm.x86.sse.stmxcsr", slot)
        previous = builder.load(slot)
        flushed = builder.or_(previous, ir.Constant(ir.IntType(32), FLUSH_BITS))
        builder.store(builder.select(arguments[0], flushed, previous), slot)
        _mxcsr_call(builder, "llvm.x86.sse.ldmxcsr", slot)
        return previous

    return types.uint32(enable), codegen


@intrinsic
def restore(typingctx, previous):
    """Put back the control word :func:`flush_subnormals` returned."""
    if not isinstance(previous, types.Integer):
        return None

    def codegen(context, builder, signature, arguments):
        if _X86:
            slot = cgutils.alloca_once(builder, ir.IntType(32))
            value = arguments[0]
            if value.type.width != 32:
                value = builder.trunc(value, ir.IntType(32)) if value.type.width > 32 else builder.zext(value, ir.IntType(32))
            builder.store(value, slot)
            _mxcsr_call(builder, "llvm.x86.sse.ldmxcsr", slot)
        return context.get_dummy_value()

    return types.void(previous), codegen
