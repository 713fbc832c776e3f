"""Apply an optimizer's update kernel to a flat buffer or to a set of arrays.

Both drivers run the optimizer's ``prepare`` once, then its ``update`` kernel
over the parameters: on the calling thread below ``parallel_threshold``
elements, otherwise in chunks of ``chunk_size`` elements spread over Numba's
thread pool. The kernels arrive as ``kernels``, an int64 array of four
addresses from :func:`numbagrad.kernels.pointers.kernel_addresses`
(update's C and JIT addresses, then prepare's), so one cached compilation of
each driver per dtype serves every optimizer, a plugin's included, and a call
costs about a microsecond.

:func:`apply_update_arrays` updates parameters that are separate arrays
without copying them into one buffer: it receives their addresses, so one call
covers any number of arrays. The caller keeps the arrays alive for the call
and guarantees their sizes and dtype.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import carray, prange

from numbagrad.kernels.cpu.jit import inline, kernel, parallel_kernel
from numbagrad.kernels.pointers import address_as_pointer, prepare_function, update_function

__all__ = ["apply_update", "apply_update_arrays", "plan_tasks", "array_address", "no_prepare"]


@kernel
def no_prepare(hyper, step):
    """The ``prepare`` of an optimizer without scalar state: does nothing."""
    return


@kernel
def array_address(array):
    """The address of ``array``'s first element (three times cheaper than NumPy's own accessors)."""
    return array.ctypes.data


@parallel_kernel
def apply_update(kernels, param, grad, state, hyper, step, chunk_size, parallel_threshold, threads):
    """One optimizer step over one flat buffer: ``param`` and ``grad`` of shape (n,),
    ``state`` of shape (slots, n), on up to ``threads`` threads.

    (``threads`` is an argument because reading Numba's thread count inside
    compiled code keeps the function out of the on-disk cache.)
    """
    update = update_function(param, kernels[0], kernels[1])
    prepare = prepare_function(kernels[2], kernels[3])
    prepare(hyper, step)
    n = param.size
    if n < parallel_threshold:
        update(param, grad, state, hyper, step, 0, n)
        return
    # At least one chunk per thread; chunk starts on 64-byte boundaries.
    chunks = max((n + chunk_size - 1) // chunk_size, threads)
    size = ((n + chunks - 1) // chunks + 15) // 16 * 16
    chunks = (n + size - 1) // size
    for c in prange(chunks):
        start = c * size
        update(param, grad, state, hyper, step, start, min(n, start + size))


@inline
def _run_task(update, param_addresses, grad_addresses, sizes, state_block, state_offsets, slots, hyper, step, task):
    j = task[0]
    n = sizes[j]
    param = carray(address_as_pointer(param_addresses[j]), n, state_block.dtype)
    grad = carray(address_as_pointer(grad_addresses[j]), n, state_block.dtype)
    offset = state_offsets[j]
    state = state_block[offset : offset + slots * n].reshape((slots, n))
    update(param, grad, state, hyper, step, task[1], task[2])


@parallel_kernel
def apply_update_arrays(
    kernels,
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
    update = update_function(state_block, kernels[0], kernels[1])
    prepare = prepare_function(kernels[2], kernels[3])
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
    from it on, calls of at most ``chunk_size`` elements (fewer when that
    leaves a thread idle) to run in parallel. Returns the int64 task table of
    shape (tasks, 3) and whether to run it in parallel.
    """
    sizes = [int(n) for n in sizes]
    total = sum(sizes)
    parallel = total >= parallel_threshold
    if parallel:
        per_thread = -(-total // numba.get_num_threads())
        chunk_size = max(16, min(chunk_size, (per_thread + 15) // 16 * 16))
    rows = []
    for j, n in enumerate(sizes):
        if n == 0:
            continue
        step = chunk_size if parallel else n
        rows.extend((j, start, min(n, start + step)) for start in range(0, n, step))
    return np.array(rows, dtype=np.int64).reshape(-1, 3), parallel
