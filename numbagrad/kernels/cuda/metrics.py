"""CUDA metric kernels: the twins of :mod:`numbagrad.kernels.cpu.metrics`, under the same names.

Every kernel has the CPU kernels' arguments and semantics (contract in
:mod:`numbagrad.kernels.cuda`; a metric's declaration names it as
``MetricSpec.cuda_update``)::

    <name>_update[1, threads](prediction, target, totals, params)

and adds one batch to the float64 device array ``totals``, whose layout is
the CPU kernel's, so that the metric's ``result(totals)`` reads either.
numbagrad launches metric kernels on one block of
:data:`numbagrad.config.CUDA_THREADS_PER_BLOCK` threads: a metric touches
the batch's predictions once (a small job next to the dense layers), and one
block can sum in shared memory in a fixed order, so that the totals do not
change from run to run. The built-in kernels are also correct on larger
grids (blocks add their sums atomically; r2 works in block 0 only), in an
order that may then vary.

The per-row tests and sums are the formulas of
:mod:`numbagrad.kernels.formulas`, the CPU kernels' own.
"""

from __future__ import annotations

from numba import cuda, float64

from numbagrad.kernels.cuda.formulas import FORMULAS as F
from numbagrad.kernels.cuda.reduction import MAX_THREADS, block_sum

__all__ = [
    "accuracy_update",
    "binary_accuracy_update",
    "categorical_accuracy_update",
    "top_k_accuracy_update",
    "confusion_update",
    "mae_update",
    "mse_update",
    "r2_update",
    "roc_auc_update",
]


@cuda.jit(device=True)
def add_totals(totals, value, count):
    """``totals[0] += `` the grid's sum of ``value``; ``totals[1] += count`` (once, by block 0)."""
    shared = cuda.shared.array(MAX_THREADS, float64)
    value = block_sum(value, shared)
    if cuda.threadIdx.x == 0:
        cuda.atomic.add(totals, 0, value)
        if cuda.blockIdx.x == 0:
            totals[1] += count


@cuda.jit(device=True)
def categorical_sums(prediction, target):
    correct = 0.0
    for i in range(cuda.grid(1), prediction.shape[0], cuda.gridsize(1)):
        if F.categorical_match(prediction, target, i):
            correct += 1.0
    return correct


@cuda.jit(device=True)
def binary_sums(prediction, target, threshold):
    correct = 0.0
    for i in range(cuda.grid(1), prediction.shape[0], cuda.gridsize(1)):
        correct = F.binary_matches(prediction, target, i, threshold, correct)
    return correct


@cuda.jit
def categorical_accuracy_update(prediction, target, totals, params):
    """Share of rows whose largest prediction is the true class; totals = [correct, rows]."""
    add_totals(totals, categorical_sums(prediction, target), float(prediction.shape[0]))


@cuda.jit
def binary_accuracy_update(prediction, target, totals, params):
    """Share of elements with ``(p > threshold) == (y > 0.5)``; totals = [correct, elements]."""
    add_totals(totals, binary_sums(prediction, target, params[0]), float(prediction.size))


@cuda.jit
def accuracy_update(prediction, target, totals, params):
    """Binary accuracy for one output column, categorical accuracy for several; totals = [correct, count]."""
    if prediction.shape[1] == 1:
        add_totals(totals, binary_sums(prediction, target, params[0]), float(prediction.size))
    else:
        add_totals(totals, categorical_sums(prediction, target), float(prediction.shape[0]))


@cuda.jit
def top_k_accuracy_update(prediction, target, totals, params):
    """Share of rows whose true class is among the ``k`` largest predictions; totals = [correct, rows]."""
    correct = 0.0
    for i in range(cuda.grid(1), prediction.shape[0], cuda.gridsize(1)):
        if F.top_k_match(prediction, target, i, params[0]):
            correct += 1.0
    add_totals(totals, correct, float(prediction.shape[0]))


@cuda.jit
def mae_update(prediction, target, totals, params):
    """Mean absolute error over every element; ``totals = [sum |p - y|, elements]``."""
    total = 0.0
    for i in range(cuda.grid(1), prediction.shape[0], cuda.gridsize(1)):
        total = F.absolute_errors(prediction, target, i, total)
    add_totals(totals, total, float(prediction.size))


@cuda.jit
def mse_update(prediction, target, totals, params):
    """Mean squared error over every element; totals = [sum (p - y)^2, elements]."""
    total = 0.0
    for i in range(cuda.grid(1), prediction.shape[0], cuda.gridsize(1)):
        total = F.squared_errors(prediction, target, i, total)
    add_totals(totals, total, float(prediction.size))


@cuda.jit
def r2_update(prediction, target, totals, params):
    """r2's running per-column sums (layout of :func:`numbagrad.kernels.cpu.metrics.r2_update`).

    One thread per column runs the CPU kernel's two passes over the column
    in the same order; block 0 does all the work, because every column must
    read the row count ``totals[0]`` before it advances.
    """
    if cuda.blockIdx.x != 0:
        return
    rows, columns = prediction.shape
    if rows == 0:
        return
    n = totals[0]
    cuda.syncthreads()
    for j in range(cuda.threadIdx.x, columns, cuda.blockDim.x):
        F.r2_column(prediction, target, None, totals, j, n, float(rows), columns)
    cuda.syncthreads()
    if cuda.threadIdx.x == 0:
        totals[0] = n + rows


@cuda.jit
def confusion_update(prediction, target, totals, params):
    """Per-class true positives, false positives and false negatives (the CPU kernel's layout).
    The counts are whole numbers, so the atomic additions give the same totals in any order."""
    classes = totals.size // 3
    for i in range(cuda.grid(1), prediction.shape[0], cuda.gridsize(1)):
        predicted, actual = F.confusion_cell(prediction, target, i, params[0])
        if predicted == actual:
            cuda.atomic.add(totals, actual, 1.0)
        else:
            cuda.atomic.add(totals, classes + predicted, 1.0)
            if actual >= 0:
                cuda.atomic.add(totals, 2 * classes + actual, 1.0)


@cuda.jit
def roc_auc_update(prediction, target, totals, params):
    """ROC AUC's records of the batch (the CPU kernel's layout). Each row's record has its own
    place, after the ``totals[0]`` rows before it, so threads write them in any order; block 0
    does all the work, because every thread must read the count before it advances."""
    if cuda.blockIdx.x != 0:
        return
    rows = prediction.shape[0]
    n = int(totals[0])
    cuda.syncthreads()
    for i in range(cuda.threadIdx.x, rows, cuda.blockDim.x):
        F.record_scores(prediction, target, None, totals, i, n)
    cuda.syncthreads()
    if cuda.threadIdx.x == 0:
        totals[0] = n + rows
        totals[1] = prediction.shape[1]
