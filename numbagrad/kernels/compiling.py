"""Compile a module's plain-Python functions for one target, as a module object.

numbagrad writes the arithmetic that CPU and CUDA kernels share
:mod:`numbagrad.kernels.formulas` for activations, losses and metrics) once,
as undecorated Python functions. :func:`compile_functions` compiles them for
a target: ``njit(inline="always")`` for the CPU kernels, which inline them
into their loops, or ``cuda.jit(device=True)`` for the CUDA kernels, which
call them as device functions. Both targets then run the same operations in
the same order.
"""

from __future__ import annotations

import types
from typing import Any, Callable, Mapping, Sequence

__all__ = ["compile_functions"]


def compile_functions(
    source: Mapping[str, Any],
    names: Sequence[str],
    jit: Callable,
    name: str,
    overrides: Mapping[str, Callable] | None = None,
    namespace: Mapping[str, Any] | None = None,
) -> types.ModuleType:
    """The functions ``names`` of the module namespace ``source`` compiled with ``jit``.

    Every function is copied with its own namespace in which the other
    functions' names are bound to their compiled versions, so that a
    function calls the compiled helpers of the same target (a rule calls the
    CUDA ``lerp`` on the GPU and the inlined CPU ``lerp`` on the host).
    ``overrides`` replaces functions by name before compiling; ``namespace``
    replaces other globals the functions read (the simulator's ``math``).
    Compiled code
    reads the result's attributes (``FORMULAS.relu``) as it reads a module's.

    Raises:
        ValueError: an override names no function of ``names``.
    """
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        raise ValueError(f"compile_functions: no function named {unknown} among {name}'s")
    module = types.ModuleType(name, f"{source.get('__name__', 'functions')} compiled with {jit!r}")
    globals_ = dict(source)
    globals_.update(namespace or {})
    for function_name in names:
        original = overrides.get(function_name, source[function_name])
        copy = types.FunctionType(original.__code__, globals_, function_name, original.__defaults__, original.__closure__)
        copy.__doc__ = original.__doc__
        globals_[function_name] = jit(copy)
        setattr(module, function_name, globals_[function_name])
    return module
