"""Compiled functions called from compiled code without being compiled into it.

When one Numba function calls another, Numba compiles the callee on its own,
then links the callee's LLVM module into the caller's and optimizes the whole
again: every caller pays for its callees' optimization once more, and so does
every caller of that caller. For numbagrad's deep kernels (a training loop
calls the forward and backward passes, which call the matrix products, which
run a parallel loop) that repeated work was most of a first run's compiling.

:func:`outlined` turns a kernel into an intrinsic that calls the kernel's own
compiled code through a symbol of the JIT's, ``numbagrad.outlined.<name>.<hash>``,
defined as the address of the kernel compiled for the call's argument types.
The caller's module holds only a declaration: LLVM neither inlines nor
optimizes the callee again, and a call costs what any call between compiled
functions costs. A literal argument (a constant at the call site) is passed as
a value of its plain type, so one compilation serves every call site.

The symbol is defined in this process before the caller is linked: when the
caller is compiled (the callee is compiled, or loaded from the cache, while the
call is typed) and when the caller is loaded from Numba's cache (Numba runs a
hook of the caller's before it loads the cached code).

An *on-demand* kernel (``outlined(kernel, returns=...)``) is not compiled with
its caller: its symbol is a cell holding the address, 0 until :func:`prepare`
compiles the kernel for every call site loaded so far (and, from then on, for
call sites loaded later). Code a run may not use (normalization, dropout,
regularizers, sample weights, the all-reduce between ranks) is compiled only
by a run that uses it. A call through an empty cell raises ``RuntimeError`` instead of
calling address 0.

The hook that defines a cached caller's symbols is Numba's from version 0.63
on. With an older Numba (:data:`OUT_OF_LINE` false) an outlined call is
compiled as Numba compiles a plain call, the callee linked into its caller
(and on-demand kernels with their callers); literal arguments still reach one
compilation.
"""

from __future__ import annotations

import functools
import hashlib
import importlib

import numpy as np
from llvmlite import binding as ll
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.core.codegen import CodeLibrary
from numba.extending import intrinsic

__all__ = ["outlined", "prepare", "OUT_OF_LINE"]

#: Whether this Numba runs a library's hooks before it loads cached code (0.63 and newer), which
#: outlined calls need to be calls through symbols; otherwise the callee is linked in.
OUT_OF_LINE = "_reload_init" in CodeLibrary.__init__.__code__.co_names

#: On-demand call sites: symbol -> (cell, dispatcher, argument types).
_cells: dict[str, tuple[np.ndarray, object, tuple]] = {}
#: On-demand kernels that :func:`prepare` was asked for.
_prepared: set = set()


def _symbol(dispatcher, argument_types) -> str:
    text = f"{dispatcher.py_func.__module__}.{dispatcher.py_func.__qualname__}{argument_types}"
    return f"numbagrad.outlined.{dispatcher.py_func.__name__}.{hashlib.sha256(text.encode()).hexdigest()[:20]}"


def _address(dispatcher, argument_types) -> tuple[int, object]:
    """The address of ``dispatcher`` compiled (or loaded from the cache) for ``argument_types``,
    and its return type."""
    dispatcher.compile(argument_types)
    result = dispatcher.overloads[argument_types]
    return result.library.get_pointer_to_function(result.fndesc.llvm_func_name), result.signature.return_type


def _define(module: str, name: str, argument_types: tuple) -> None:
    """Define the symbol of a call of ``module.name`` with ``argument_types``: the compiled code's
    address, or, for an on-demand kernel, the address of its cell (filled if it was prepared)."""
    dispatcher = getattr(importlib.import_module(module), name)
    symbol = _symbol(dispatcher, argument_types)
    if not getattr(dispatcher, "on_demand", False):
        ll.add_symbol(symbol, _address(dispatcher, argument_types)[0])
        return
    if symbol not in _cells:
        cell = np.zeros(1, dtype=np.int64)
        _cells[symbol] = (cell, dispatcher, argument_types)
        ll.add_symbol(symbol, cell.ctypes.data)
    if dispatcher in _prepared:
        _fill(symbol)


def _declared(dispatcher, return_type) -> None:
    """Refuse an on-demand kernel whose compiled return type is not the one its ``outlined()`` declares."""
    if return_type != dispatcher.on_demand:
        raise TypeError(f"{dispatcher.py_func.__qualname__} returns {return_type}, not the {dispatcher.on_demand} its outlined() declares")


def _fill(symbol: str) -> None:
    cell, dispatcher, argument_types = _cells[symbol]
    if cell[0] == 0:
        address, return_type = _address(dispatcher, argument_types)
        _declared(dispatcher, return_type)
        cell[0] = address


def prepare(*dispatchers) -> None:
    """Compile (or load from the cache) the on-demand kernels ``dispatchers`` for every call site
    of them in compiled code, now and whenever more is loaded."""
    for dispatcher in dispatchers:
        if not hasattr(dispatcher, "py_func"):  # NUMBA_DISABLE_JIT: a Python function
            continue
        if not getattr(dispatcher, "on_demand", False):
            raise TypeError(f"{dispatcher.py_func.__qualname__} is not an on-demand kernel (see numbagrad.kernels.cpu.outline)")
        _prepared.add(dispatcher)
        for symbol, (_, owner, _) in list(_cells.items()):
            if owner is dispatcher:
                _fill(symbol)


def _call(context, builder, function, return_type, argument_types, values):
    status, result = context.call_conv.call_function(builder, function, return_type, argument_types, values)
    with cgutils.if_unlikely(builder, status.is_error):
        context.call_conv.return_status_propagate(builder, status)
    return result


@functools.lru_cache(maxsize=None)
def outlined(dispatcher, returns=None):
    """An intrinsic calling ``dispatcher`` (a numbagrad kernel, defined at the top level of its
    module, taking positional arguments) from compiled code through its own compiled code (see
    above). With ``returns`` (its Numba return type) it is an on-demand kernel. Under
    ``NUMBA_DISABLE_JIT=1`` the kernel is a Python function, returned as it is."""
    if not hasattr(dispatcher, "py_func"):
        return dispatcher
    module, name = dispatcher.py_func.__module__, dispatcher.py_func.__name__
    if getattr(importlib.import_module(module), name, None) is not dispatcher:
        raise ValueError(f"outlined: {module}.{name} must be the kernel itself, at the top level of its module")
    on_demand = returns is not None
    dispatcher.on_demand = returns  # read by _define, prepare and _fill

    @intrinsic
    def call(typingctx, *arguments):
        argument_types = tuple(types.unliteral(a) for a in arguments)
        if on_demand and OUT_OF_LINE:
            return_type = returns
        else:
            return_type = _address(dispatcher, argument_types)[1]
            if on_demand:
                _declared(dispatcher, return_type)
        symbol = _symbol(dispatcher, argument_types)

        def codegen(context, builder, signature, values):
            # The arguments arrive as one tuple (a star argument), each converted from a literal's type.
            values = cgutils.unpack_tuple(builder, values[0])
            values = [context.cast(builder, v, t, u) for v, t, u in zip(values, arguments, argument_types)]
            if not OUT_OF_LINE:
                result = dispatcher.overloads[argument_types]
                context.active_code_library.add_linking_library(result.library)
                return context.call_internal(builder, result.fndesc, result.signature, values)
            _define(module, name, argument_types)
            context.active_code_library._reload_init.add(functools.partial(_define, module, name, argument_types))
            function_type = context.call_conv.get_function_type(return_type, argument_types)
            if not on_demand:
                function = cgutils.get_or_insert_function(builder.module, function_type, symbol)
                return _call(context, builder, function, return_type, argument_types, values)
            cell = cgutils.add_global_variable(builder.module, ir.IntType(64), symbol)
            address = builder.load(cell)
            with cgutils.if_unlikely(builder, cgutils.is_null(builder, address)):
                message = f"numbagrad: {module}.{name} was called before numbagrad.kernels.cpu.outline.prepare compiled it"
                context.call_conv.return_user_exc(builder, RuntimeError, (message,))
            function = builder.inttoptr(address, function_type.as_pointer())
            return _call(context, builder, function, return_type, argument_types, values)

        return return_type(types.StarArgTuple.from_types(arguments)), codegen

    call.__doc__ = dispatcher.__doc__
    call.dispatcher = dispatcher
    return call
