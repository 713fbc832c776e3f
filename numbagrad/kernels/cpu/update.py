"""Apply an optimizer's update kernel to a flat buffer or to a set of arrays.

Both drivers run the optimizer's ``prepare`` once, then its ``update`` kernel
over the parameters: on the calling thread below ``parallel_threshold``
elements, otherwise in chunks of ``chunk_size`` elements spread over Numba's
thread pool. The kernels arrive as typed function pointers
(:mod:`numbagrad.kernels.signatures`), so these drivers are compiled and
cached once per dtype and serve every optimizer, a plugin's included.

:func:`apply_update_arrays` updates parameters that are separate arrays
without copying them into one buffer: it receives their addresses, so one call
covers any number of arrays. The caller keeps the arrays alive for the call
and guarantees their sizes and dtype.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import carray, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from numbagrad.kernels.cpu.jit import inline, parallel_kernel
from numbagrad.kernels.signatures import PREPARE_FUNCTION_TYPE, numba_float, update_function_type

__all__ = ["apply_update", "apply_update_arrays", "plan_tasks", "typed_apply_update", "typed_apply_update_arrays"]


@intrinsic
def _address_as_pointer(typingctx, address):
    """Reinterpret an integer address as ``void*``."""
    if not isinstance(address, types.Integer):
        return None

    def codegen(context, builder, signature, arguments):
        return builder.inttoptr(arguments[0], cgutils.voidptr_t)

    return types.voidptr(address), codegen


@parallel_kernel
def apply_update(update, prepare, param, grad, state, hyper, step, chunk_size, parallel_threshold):
    """One optimizer step over one flat buffer: ``param`` and ``grad`` of shape (n,),
    ``state`` of shape (slots, n)."""
    prepare(hyper, step)
    n = param.size
    if n < parallel_threshold or n <= chunk_size:
        update(param, grad, state, hyper, step, 0, n)
        return
    chunks = (n + chunk_size - 1) // chunk_size
    for c in prange(chunks):
        start = c * chunk_size
        update(param, grad, state, hyper, step, start, min(n, start + chunk_size))


@inline
def _run_task(update, param_addresses, grad_addresses, sizes, state_block, state_offsets, slots, hyper, step, task):
    j = task[0]
    n = sizes[j]
    param = carray(_address_as_pointer(param_addresses[j]), n, state_block.dtype)
    grad = carray(_address_as_pointer(grad_addresses[j]), n, state_block.dtype)
    offset = state_offsets[j]
    state = state_block[offset : offset + slots * n].reshape((slots, n))
    update(param, grad, state, hyper, step, task[1], task[2])


@parallel_kernel
def apply_update_arrays(
    update,
    prepare,
    param_addresses,
    grad_addresses,
    sizes,
    state_block,
    state_offsets,
    slots,
    hyper,
    step,
    tasks,
    parallel,
):
    """One optimizer step over separate arrays.

    Array ``j`` has ``sizes[j]`` elements at ``param_addresses[j]`` (gradient
    at ``grad_addresses[j]``) and its state is the C-ordered ``(slots, sizes[j])``
    block at ``state_block[state_offsets[j]:]``. Each row ``(j, start, stop)``
    of ``tasks`` is one kernel call; the rows run in parallel when ``parallel``.
    """
    prepare(hyper, step)
    if parallel:
        for t in prange(tasks.shape[0]):
            _run_task(update, param_addresses, grad_addresses, sizes, state_block, state_offsets, slots, hyper, step, tasks[t])
    else:
        for t in range(tasks.shape[0]):
            _run_task(update, param_addresses, grad_addresses, sizes, state_block, state_offsets, slots, hyper, step, tasks[t])


def plan_tasks(sizes, chunk_size: int, parallel_threshold: int) -> tuple[np.ndarray, bool]:
    """Split arrays of ``sizes`` into ``(array, start, stop)`` kernel calls.

    Below ``parallel_threshold`` elements in all, one serial call per array;
    above it, calls of at most ``chunk_size`` elements to run in parallel.
    Returns the int64 task table of shape (tasks, 3) and whether to run it in
    parallel.
    """
    sizes = [int(n) for n in sizes]
    parallel = sum(sizes) >= parallel_threshold and sum(sizes) > chunk_size
    rows = []
    for j, n in enumerate(sizes):
        if n == 0:
            continue
        step = chunk_size if parallel else n
        rows.extend((j, start, min(n, start + step)) for start in range(0, n, step))
    return np.array(rows, dtype=np.int64).reshape(-1, 3), parallel


# Python calls these drivers through the entry points below, compiled for the
# kernels' function type: called with a kernel's dispatcher directly, Numba
# would specialise the driver on that dispatcher and never reuse its cache in a
# new process. Compiled callers (the training loop) call the drivers above,
# passing on the function-typed kernels they were given.


@functools.cache
def typed_apply_update(dtype):
    """:func:`apply_update` compiled for function-typed kernels and ``dtype`` buffers."""
    element = numba_float(dtype)
    signature = types.void(
        update_function_type(dtype),
        PREPARE_FUNCTION_TYPE,
        element[::1],
        element[::1],
        element[:, ::1],
        types.float64[::1],
        types.int64,
        types.int64,
        types.int64,
    )
    return parallel_kernel(signature)(apply_update.py_func)


@functools.cache
def typed_apply_update_arrays(dtype):
    """:func:`apply_update_arrays` compiled for function-typed kernels and ``dtype`` arrays."""
    element = numba_float(dtype)
    signature = types.void(
        update_function_type(dtype),
        PREPARE_FUNCTION_TYPE,
        types.int64[::1],
        types.int64[::1],
        types.int64[::1],
        element[::1],
        types.int64[::1],
        types.int64,
        types.float64[::1],
        types.int64,
        types.int64[:, ::1],
        types.boolean,
    )
    return parallel_kernel(signature)(apply_update_arrays.py_func)
