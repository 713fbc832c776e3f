"""Run optimizer kernels over a set of parameter arrays: one compiled call per step.

Every host optimizer step, a model's inside the compiled epoch and
``Optimizer.step`` alike, is one call of :func:`apply_plan` with an *update
plan*: int64 tables of addresses and sizes that say which kernels update which
arrays (built by :class:`numbagrad.optim.plan.UpdatePlan`). One cached
compilation per dtype therefore serves every optimizer, a plugin's included,
any number of parameter groups, and both kinds of kernel:

* element-wise kernels (``update(param, grad, state, hyper, step, start,
  stop)``) receive slices: each array is cut into chunks of at most
  ``CHUNK_SIZE`` elements, and the chunks of all arrays are spread over
  Numba's threads;
* tensor-wise kernels (``update(param, grad, state, hyper, step, shape,
  statistics, tensor)``) receive whole tensors with their shapes, one call
  per tensor, the tensors spread over the threads; their optional ``reduce``
  kernel runs on every tensor of the group first, so that an update may read
  the statistics of its own tensor or of the whole group.

A step may also name one element-wise tensor whose gradient is the outer
product ``u v^T`` of two vectors it never wrote out (``outer``, see
:data:`NO_OUTER`): a batch of one row's weight gradient of the first layer,
``x^T dz``. Its kernel then receives the gradient piece by piece, each piece
computed into a buffer that stays in the L1 cache just before the call, so
that the step reads the parameters and state once and no gradient at all
(the registered kernel stays the one source of the rule). That is what the
element-wise contract allows: a kernel touches nothing outside its slice.

The tables (column names below) hold raw addresses: the owner of the plan
keeps every array alive while it runs.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import carray, prange

from numbagrad.kernels.cpu.jit import inline, kernel, parallel_kernel
from numbagrad.kernels.cpu.outline import outlined
from numbagrad.kernels.pointers import address_as_pointer, prepare_function, tensor_update_function, update_function

__all__ = [
    "apply_plan",
    "plan_tasks",
    "array_address",
    "no_prepare",
    "no_reduce",
    "nonfinite",
    "PARTITION_COLUMNS",
    "TENSOR_COLUMNS",
    "MAX_DIMENSIONS",
    "NO_OUTER",
    "OUTER_TENSOR",
    "OUTER_U",
    "OUTER_U_SIZE",
    "OUTER_V",
    "OUTER_V_SIZE",
]

# Columns of a plan's partition table: one row per (parameter group, dtype) stepped together.
UPDATE_C, UPDATE_JIT, PREPARE_C, PREPARE_JIT, REDUCE_C, REDUCE_JIT = 0, 1, 2, 3, 4, 5
FORM = 6  # 0: element-wise kernel over slices; 1: tensor-wise kernel; 2: tensor-wise with a reduce kernel
HYPER, HYPER_SIZE, LR = 7, 8, 9  # the float64 hyper vector's address and length; the index of lr in it or -1
STEP = 10  # steps this partition took before the call
FIRST, END = 11, 12  # its rows of the task table (element-wise) or of the tensor table (tensor-wise)
STATISTICS, STATISTICS_ROWS, STATISTICS_WIDTH = 13, 14, 15  # float64 (rows, width) block of a tensor-wise group
PARALLEL = 16  # 1: spread its tasks or tensors over the threads
SLOTS = 17  # element-wise state rows per array
PARTITION_COLUMNS = 18

# Columns of the tensor table: one row per parameter array.
PARAM, GRAD, SIZE, STATE, STATE_SIZE, NDIM, SHAPE = 0, 1, 2, 3, 4, 5, 6
MAX_DIMENSIONS = 8
TENSOR_COLUMNS = SHAPE + MAX_DIMENSIONS

# Entries of the ``outer`` vector: the tensor row whose gradient is the row-major outer product
# ``u v^T`` (-1 for none), then the addresses and lengths of ``u`` and ``v``.
OUTER_TENSOR, OUTER_U, OUTER_U_SIZE, OUTER_V, OUTER_V_SIZE = 0, 1, 2, 3, 4

#: The ``outer`` of a step whose gradients are all in their buffers.
NO_OUTER = np.array([-1, 0, 0, 0, 0], dtype=np.int64)

#: Gradient elements computed per kernel call of a rank-one tensor: 16 KB in float32, 32 KB in
#: float64, which stays in the L1 cache while the kernel reads it; large enough that the call's
#: own cost (a few arrays passed by value) is spread over thousands of elements.
OUTER_PIECE = 4096


@kernel
def no_prepare(hyper, step):
    """The ``prepare`` of an optimizer without scalar state: does nothing."""
    return


@kernel
def no_reduce(param, grad, state, hyper, step, shape, statistics, tensor):
    """The ``reduce`` of a tensor-wise optimizer that needs no statistics: does nothing."""
    return


@kernel
def array_address(array):
    """The address of ``array``'s first element (three times cheaper than NumPy's own accessors)."""
    return array.ctypes.data


@kernel
def nonfinite(values):
    """Whether any of ``values`` is infinite or NaN: ``x - x`` is 0 for a finite ``x`` and NaN
    otherwise. An OR of comparisons vectorises without fast-math (which would cancel ``x - x``)."""
    bad = False
    for i in range(values.size):
        bad |= (values[i] - values[i]) != 0.0
    return bad


@inline
def _written_nonfinite(param, state, slots, start, stop):
    """Whether ``param[start:stop]`` or those columns of ``state`` hold an infinite or NaN value."""
    bad = nonfinite(param[start:stop])
    for k in range(slots):
        bad = bad or nonfinite(state[k, start:stop])
    return bad


@inline
def elementwise_task(like, tensors, hyper, step, slots, task, check, outer, update_c, update_jit):
    """One element-wise kernel call of a plan."""
    update = update_function(like, update_c, update_jit)
    row = tensors[task[0]]
    n = row[SIZE]
    param = carray(address_as_pointer(row[PARAM]), n, like.dtype)
    state = carray(address_as_pointer(row[STATE]), slots * n, like.dtype).reshape((slots, n))
    start, stop = task[1], task[2]
    if task[0] == outer[OUTER_TENSOR]:
        return _rank_one_task(update, like, param, state, hyper, step, slots, outer, start, stop, check)
    grad = carray(address_as_pointer(row[GRAD]), n, like.dtype)
    update(param, grad, state, hyper, step, start, stop)
    if not check:
        return 0
    # The slice just written is still in cache: checking it here costs little.
    return 1 if _written_nonfinite(param, state, slots, start, stop) else 0


@inline
def _rank_one_task(update, like, param, state, hyper, step, slots, outer, start, stop, check):
    """The element-wise ``update`` over ``[start, stop)`` of a tensor whose gradient is
    ``g[i * width + j] = u[i] v[j]``, ``OUTER_PIECE`` elements per call: each piece of the
    gradient is computed into a small buffer, and the kernel receives a gradient array whose
    elements ``[s, e)`` are that buffer (its address shifted back by ``s`` elements; the
    kernel reads no other element of it)."""
    u = carray(address_as_pointer(outer[OUTER_U]), outer[OUTER_U_SIZE], like.dtype)
    v = carray(address_as_pointer(outer[OUTER_V]), outer[OUTER_V_SIZE], like.dtype)
    width = v.size
    buffer = np.empty(OUTER_PIECE, like.dtype)
    bad = False
    s = start
    while s < stop:
        e = min(stop, s + OUTER_PIECE)
        k = s
        i = s // width
        j = s - i * width
        while k < e:  # the piece, one run of a row of u v^T at a time
            run = min(width - j, e - k)
            left = u[i]
            piece = buffer[k - s : k - s + run]
            right = v[j : j + run]
            for m in range(run):
                piece[m] = left * right[m]
            k += run
            i += 1
            j = 0
        grad = carray(address_as_pointer(buffer.ctypes.data - s * buffer.itemsize), e, like.dtype)
        update(param, grad, state, hyper, step, s, e)
        if check:
            bad = bad or _written_nonfinite(param, state, slots, s, e)
        s = e
    return 1 if bad else 0


@inline
def tensor_call(like, row, hyper, step, statistics, tensor, check, function_c, function_jit):
    """One tensor-wise kernel call (``update`` or ``reduce``) of a plan."""
    function = tensor_update_function(like, function_c, function_jit)
    n = row[SIZE]
    param = carray(address_as_pointer(row[PARAM]), n, like.dtype)
    grad = carray(address_as_pointer(row[GRAD]), n, like.dtype)
    state = carray(address_as_pointer(row[STATE]), row[STATE_SIZE], like.dtype)
    function(param, grad, state, hyper, step, row[SHAPE : SHAPE + row[NDIM]], statistics, tensor)
    if not check:
        return 0
    return 1 if nonfinite(param) or nonfinite(state) else 0


@kernel
def plan_call(like, tensors, tasks, t, first, hyper, step, slots, statistics, check, outer, function_c, function_jit, elementwise):
    """Call ``t`` of a partition: the element-wise kernel on task ``t`` (``elementwise``), or the
    tensor-wise kernel (an ``update`` or a ``reduce``) on tensor ``t``, the ``t - first``-th of its group."""
    if elementwise:
        return elementwise_task(like, tensors, hyper, step, slots, tasks[t], check, outer, function_c, function_jit)
    return tensor_call(like, tensors[t], hyper, step, statistics, t - first, check, function_c, function_jit)


# apply_plan's two loops call it as its own compiled code (numbagrad.kernels.cpu.outline): compiled
# into each loop, it took seconds of a first run's compiling.
_plan_call = outlined(plan_call)


@parallel_kernel
def apply_plan(like, partitions, tensors, tasks, rates, offset, threads, check, outer):
    """One optimizer step of every partition of a plan, for parameters of ``like``'s dtype.

    ``outer``: the tensor row whose gradient is a rank-one product and its two factors
    (entries ``OUTER_*``; :data:`NO_OUTER` for none); its gradient buffer is not read.

    Partition ``p`` takes step ``partitions[p, STEP] + 1 + offset``; its
    learning rate becomes ``rates[p]`` first when ``rates`` is not empty and
    it has one. With ``threads`` <= 1 everything runs on the calling thread.
    (``threads`` is an argument because reading Numba's thread count inside
    compiled code keeps the function out of the on-disk cache.)

    Returns, when ``check``, the number of kernel calls that left an infinite
    or NaN value in the parameters or the state they wrote (0: all finite);
    0 otherwise.
    """
    bad = 0
    for p in range(partitions.shape[0]):
        plan = partitions[p]
        hyper = carray(address_as_pointer(plan[HYPER]), plan[HYPER_SIZE], np.float64)
        if plan[LR] >= 0 and rates.size > 0:
            hyper[plan[LR]] = rates[p]
        step = plan[STEP] + 1 + offset
        prepare = prepare_function(plan[PREPARE_C], plan[PREPARE_JIT])
        prepare(hyper, step)
        first, end = plan[FIRST], plan[END]
        parallel = plan[PARALLEL] != 0 and threads > 1
        elementwise = plan[FORM] == 0
        statistics = carray(address_as_pointer(plan[STATISTICS]), (plan[STATISTICS_ROWS], plan[STATISTICS_WIDTH]), np.float64)
        # A tensor-wise group with a reduce kernel runs it on every tensor before any update.
        for phase in range(0 if plan[FORM] == 2 else 1, 2):
            reducing = phase == 0
            function_c = plan[REDUCE_C] if reducing else plan[UPDATE_C]
            function_jit = plan[REDUCE_JIT] if reducing else plan[UPDATE_JIT]
            checking = check and not reducing
            if parallel:
                for t in prange(first, end):
                    bad += _plan_call(like, tensors, tasks, t, first, hyper, step, plan[SLOTS], statistics, checking, outer, function_c, function_jit, elementwise)
            else:
                for t in range(first, end):
                    bad += _plan_call(like, tensors, tasks, t, first, hyper, step, plan[SLOTS], statistics, checking, outer, function_c, function_jit, elementwise)
    return bad


def plan_tasks(sizes, chunk_size: int, parallel_threshold: int) -> tuple[np.ndarray, bool]:
    """Split arrays of ``sizes`` into ``(array, start, stop)`` kernel calls.

    Below ``parallel_threshold`` elements in all, one serial call per array;
    from it on, calls of at most ``chunk_size`` elements (fewer when that
    leaves a thread idle; starts on 64-byte boundaries) to run in parallel.
    Returns the int64 task table of shape (tasks, 3) and whether to run it in
    parallel.
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
