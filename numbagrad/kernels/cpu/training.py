"""Compiled training and evaluation loops: batching, forward, loss, backward,
clipping, the optimizer update and the metrics, with no Python between batches.

The network tables are those of :mod:`numbagrad.kernels.cpu.network`; the
loss, the metrics and the optimizer arrive as kernel tables of addresses, so
one cached compilation per dtype runs any architecture with any registered
components.

Threads (see :mod:`numbagrad.threads`): with ``threads`` > 1 the caller has
limited BLAS to one thread, and the matrix products, the gradient norm and
the optimizer update are split over Numba's threads; with ``threads`` = 1
everything here runs on the calling thread and BLAS may thread its products
itself. The two pools never work in the same step. The loops themselves are
serial functions that call those parallel kernels: inlining several parallel
loops into one function made it take minutes to compile. They call the
passes, the loss, the metrics and the update as outlined kernels
(:mod:`numbagrad.kernels.cpu.outline`), each compiled once whoever calls it.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange, types

from numbagrad.kernels.cpu import network, update
from numbagrad.kernels.cpu.dense import weight_gradient
from numbagrad.kernels.cpu.floating import flush_subnormals, restore
from numbagrad.kernels.cpu.jit import FASTMATH, inline, kernel, parallel_kernel
from numbagrad.kernels.cpu.network import (
    INPUT,
    TARGET,
    first_delta,
    no_dropout,
    output,
    penalize,
    pre_activation,
    update_statistics,
    view,
)
from numbagrad.kernels.cpu.outline import outlined, prepare
from numbagrad.kernels.cpu.update import END, FIRST, FORM, GRAD, NO_OUTER, OUTER_TENSOR, OUTER_U, OUTER_U_SIZE, OUTER_V, OUTER_V_SIZE, SIZE
from numbagrad.kernels.pointers import activation_forward_function, call_reducer, metric_function, weighted_metric_function

__all__ = [
    "train_batches", "evaluate_batches", "prepare_ranks", "prepare_weights", "weighted_metric_rows", "gradient_norm", "square_sum", "sum_of_squares", "NON_FINITE_LOSS", "NON_FINITE_GRADIENT",
    "NON_FINITE_UPDATE", "COLLECTIVE_FAILED", "SHARE_RANK", "SHARE_SIZE", "SHARE_REDUCER",
]

#: What stopped a segment early, written to ``problem[0]``; with ``COLLECTIVE_FAILED``,
#: ``problem[1]`` holds the all-reduce's code (-1: it timed out).
NON_FINITE_LOSS, NON_FINITE_GRADIENT, NON_FINITE_UPDATE, COLLECTIVE_FAILED = 1, 2, 3, 4

#: The entries of the ``share`` table of :func:`train_batches`: this rank's part of each batch
#: (``SHARE_RANK`` of ``SHARE_SIZE`` equal slices) and the address of the all-reduce (0 for none).
SHARE_RANK, SHARE_SIZE, SHARE_REDUCER = 0, 1, 2


@kernel(fastmath=FASTMATH)
def sum_of_squares(values):
    """``sum(values ** 2)`` in float64 (NaN or inf when any value is)."""
    total = 0.0
    for i in range(values.size):
        total += values[i] * values[i]
    return total


@parallel_kernel
def square_sum(grads, threads):
    """``sum(grads ** 2)`` in float64 (NaN or inf when any gradient is), summed in ``threads``
    slices (the slices' order of summation is fixed)."""
    n = grads.size
    if threads <= 1 or n < 1 << 15:
        return sum_of_squares(grads)
    width = (n + threads - 1) // threads
    partial = np.zeros(threads)
    for t in prange(threads):
        partial[t] = sum_of_squares(grads[t * width : min(n, (t + 1) * width)])
    return partial.sum()


# The loops call the passes, the update and the parallel sum as their own compiled code (see
# numbagrad.kernels.cpu.outline): compiled into each loop, they were most of a first run's compiling.
forward_rows = outlined(network.forward_rows)
backward_rows = outlined(network.backward_rows)
batch_loss = outlined(network.batch_loss)
apply_plan = outlined(update.apply_plan)
_square_sum = outlined(square_sum)


@inline
def gradient_norm(grads, threads):
    """``sqrt(sum(grads ** 2))``: the global L2 norm (see :func:`square_sum`)."""
    return math.sqrt(_square_sum(grads, threads))


@inline
def scale_values(values, coefficient):
    """``values *= coefficient``, the coefficient rounded to their dtype first."""
    scale = values.dtype.type(coefficient)
    for i in range(values.size):
        values[i] = values[i] * scale


@inline
def clip_gradients(grads, clip_value, clip_norm, threads):
    """Clip in place, as ``torch.nn.utils.clip_grad_value_`` then ``clip_grad_norm_``;
    returns whether every gradient is finite."""
    if clip_value > 0:
        limit = grads.dtype.type(clip_value)
        for i in range(grads.size):
            if grads[i] > limit:
                grads[i] = limit
            elif grads[i] < -limit:
                grads[i] = -limit
    norm = gradient_norm(grads, threads)
    if not math.isfinite(norm):
        return False
    if clip_norm > 0:
        coefficient = clip_norm / (norm + 1e-6)
        if coefficient < 1.0:
            scale_values(grads, coefficient)
    return True


# --- a batch of one row: the first layer's weight gradient as a product -------------------------
#
# With one row x, the first layer's weight gradient is the outer product x^T dz: as many entries
# as the weight (200,704 for a 784-256 layer), from 784 + 256 numbers. Written out, it costs a
# write of the whole gradient, a read for its norm and a read in the update; handed to an
# element-wise optimizer as the product (numbagrad.kernels.cpu.update), it costs neither. The
# path is taken when nothing else needs the gradient written: no all-reduce between ranks, no
# regularizer adding to it, no clipping by value; clipping by norm scales dz.


@inline
def rank_one_outer(grads, layers, plan, plan_tensors, plan_tasks, reducer, penalties, clip_value):
    """The ``outer`` vector of :func:`apply_plan` for this segment: its tensor row is the first
    layer's weight when that weight is stepped by an element-wise optimizer and the segment may
    step on its rank-one gradient unwritten (see above); -1 otherwise."""
    outer = NO_OUTER.copy()
    if reducer != 0 or penalties.shape[0] > 0 or clip_value > 0:
        return outer
    address = grads.ctypes.data + layers[0, 2] * grads.itemsize
    size = layers[0, 0] * layers[0, 1]
    for p in range(plan.shape[0]):
        if plan[p, FORM] != 0:
            continue
        for t in range(plan[p, FIRST], plan[p, END]):
            row = plan_tasks[t, 0]
            if plan_tensors[row, GRAD] == address and plan_tensors[row, SIZE] == size:
                outer[OUTER_TENSOR] = row
                return outer
    return outer


@inline
def largest_value(values):
    """The largest absolute value of ``values``, in float64 (NaN when one is NaN)."""
    largest = 0.0
    for i in range(values.size):
        magnitude = abs(np.float64(values[i]))
        if not magnitude <= largest:
            largest = magnitude
    return largest


@inline
def hand_over_product(outer, x, delta, grads, layers, threads):
    """Point ``outer`` at the factors ``x`` (the row) and ``delta`` (its dL/dz) of the first
    layer's weight gradient and return True; or, when a product ``x_i delta_j`` could overflow
    the dtype (or a factor is not finite), write the gradient out as the backward pass would
    and return False, so that the usual checks see it."""
    largest = 3.4028234663852886e38 if grads.itemsize == 4 else 1.7976931348623157e308
    if largest_value(x) * largest_value(delta) <= largest:
        outer[OUTER_U] = x.ctypes.data
        outer[OUTER_U_SIZE] = x.size
        outer[OUTER_V] = delta.ctypes.data
        outer[OUTER_V_SIZE] = delta.size
        return True
    weight = view(grads, layers[0, 2], layers[0, 0], layers[0, 1])
    weight_gradient(x.reshape((1, x.size)), delta.reshape((1, delta.size)), weight, False, threads)
    return False


@inline
def clip_rank_one(grads, layers, x, delta, clip_norm, threads):
    """:func:`clip_gradients` (no clip value) for a gradient whose first weight is ``x^T delta``,
    not written: its squares sum to ``|x|^2 |delta|^2``; clipping by norm scales ``delta``."""
    start = layers[0, 2]
    stop = start + layers[0, 0] * layers[0, 1]
    squares = _square_sum(grads[:start], threads) + _square_sum(grads[stop:], threads) + sum_of_squares(x) * sum_of_squares(delta)
    norm = math.sqrt(squares)
    if not math.isfinite(norm):
        return False
    if clip_norm > 0:
        coefficient = clip_norm / (norm + 1e-6)
        if coefficient < 1.0:
            scale_values(grads[:start], coefficient)
            scale_values(grads[stop:], coefficient)
            scale_values(delta, coefficient)
    return True


@inline
def gather_rows(source, order, start, stop, destination):
    """``destination[k] = source[order[start + k]]`` for the batch's rows.

    Explicit loops: Numba's slice assignment is several times slower here.
    """
    columns = source.shape[1]
    for k in range(stop - start):
        row = source[order[start + k]]
        target = destination[k]
        for j in range(columns):
            target[j] = row[j]


@inline
def metric_totals_of(metrics, totals, m):
    """Metric ``m``'s own totals: the first ``metrics[m, 4]`` of its row of ``totals``, or the whole
    row for a metric that keeps its rows (``-1``; ROC AUC). The rows are as wide as the widest
    metric needs, and a kernel may read its layout from the length (the classes of F1)."""
    row = totals[m]
    return row if metrics[m, 4] < 0 else row[: metrics[m, 4]]


@inline
def update_metrics(metrics, metric_params, totals, prediction, y):
    for m in range(metrics.shape[0]):
        update = metric_function(prediction, metrics[m, 0], metrics[m, 1])
        update(prediction, y, metric_totals_of(metrics, totals, m), metric_params[m])


@inline
def update_batch_metrics(metrics, metric_params, totals, prediction, y, w, scratch):
    """:func:`update_weighted_metrics` with the batch's weights ``w``, or :func:`update_metrics` when ``w`` is empty."""
    if w.size > 0:
        _update_weighted_metrics(metrics, metric_params, totals, prediction, y, w, scratch)
    else:
        update_metrics(metrics, metric_params, totals, prediction, y)


@kernel
def update_weighted_metrics(metrics, metric_params, totals, prediction, y, w, scratch):
    """The metrics with row ``i`` counted ``w[i]`` times: by the metric's weighted kernel (its
    addresses in columns 2 and 3 of ``metrics``), or else, for totals that are sums over rows
    (``additive``), each row's own totals scaled by its weight and added to the running totals."""
    for m in range(metrics.shape[0]):
        running = metric_totals_of(metrics, totals, m)
        if metrics[m, 2] != 0:
            weighted = weighted_metric_function(prediction, metrics[m, 2], metrics[m, 3])
            weighted(prediction, y, w, running, metric_params[m])
            continue
        update = metric_function(prediction, metrics[m, 0], metrics[m, 1])
        own = scratch[: running.size]
        for i in range(prediction.shape[0]):
            own[:] = 0.0
            update(prediction[i : i + 1], y[i : i + 1], own, metric_params[m])
            for k in range(running.size):
                running[k] += w[i] * own[k]


# Compiled only for a run with sample weights (prepare_weights).
_update_weighted_metrics = outlined(update_weighted_metrics, returns=types.none)


def prepare_weights() -> None:
    """Compile what the loops call only with sample weights: the weighted loss and metrics."""
    prepare(network.weighted_loss_rows, update_weighted_metrics)


@kernel
def batch_metrics(workspace, offsets, layers, activations, activation_params, rows, final_activation, metrics, metric_params, totals, y, w, scratch):
    """The metrics of the last forward pass of ``rows`` rows against ``y`` added to ``totals``
    (see :func:`update_batch_metrics`); the network's last activation is applied first when the loss
    was fused with it."""
    prediction = final_output(workspace, offsets, layers, activations, activation_params, rows, final_activation)
    update_batch_metrics(metrics, metric_params, totals, prediction, y, w, scratch)


@kernel
def weighted_metric_rows(metrics, metric_params, totals, prediction, y, w):
    """:func:`update_weighted_metrics` on rows predicted elsewhere: a GPU model's weighted fit or
    evaluation adds its batches' rows here, in the order the CPU loop adds them."""
    scratch = np.empty(totals.shape[1])
    update_weighted_metrics(metrics, metric_params, totals, prediction, y, w, scratch)


@kernel
def all_reduce_gradient(grads, value, count, reducer, exchange, timeout):
    """Sum one batch's gradient over the ranks: each rank's mean gradient ``g_r`` over its
    ``count_r`` rows (or the sum of their weights) becomes, on every rank,
    ``g = sum_r count_r g_r / sum_r count_r``, in float64, with the loss likewise, in one
    all-reduce of ``[count_r g_r, count_r loss_r, count_r]``. A batch of total count 0 has
    gradient 0 and loss 0, as :func:`weighted_loss_rows` gives it in one process.

    Returns ``(code, loss, total count)``: code 0, or the reducer's failure.
    """
    size = grads.size
    send = exchange[0]
    receive = exchange[1]
    if count > 0.0:
        for i in range(size):
            send[i] = grads[i] * count
        send[size] = value * count
    else:  # no rows here: nothing, not even a NaN of an empty mean
        send[: size + 1] = 0.0
    send[size + 1] = count
    code = call_reducer(reducer, send.ctypes.data, receive.ctypes.data, size + 2, timeout)
    total = receive[size + 1]
    if code != 0 or not total > 0.0:
        grads[:] = 0.0
        return code, 0.0, total
    scale = 1.0 / total
    for i in range(size):
        grads[i] = receive[i] * scale
    return code, receive[size] * scale, total


# Called as their own compiled code (see numbagrad.kernels.cpu.outline): the metrics by both loops;
# the all-reduce compiled only for training across ranks (prepare_ranks).
_batch_metrics = outlined(batch_metrics)
_all_reduce_gradient = outlined(all_reduce_gradient, returns=types.Tuple((types.int64, types.float64, types.float64)))


def prepare_ranks() -> None:
    """Compile what :func:`train_batches` calls only with an all-reduce between ranks."""
    prepare(all_reduce_gradient)


@inline
def final_output(workspace, offsets, layers, activations, activation_params, rows, final_activation):
    """The network's output after its last activation, applying it now when the loss was fused."""
    last = layers.shape[0] - 1
    out = output(workspace, offsets, layers, last, rows)
    if not final_activation:
        forward = activation_forward_function(out, activations[last, 0], activations[last, 1])
        forward(pre_activation(workspace, offsets, layers, last, rows), out, activation_params[last])
    return out


@kernel
def train_batches(
    params,
    grads,
    layers,
    activations,
    activation_params,
    norms,
    workspace,
    offsets,
    X,
    Y,
    order,
    batch_size,
    first_batch,
    last_batch,
    loss,
    loss_params,
    final_activation,
    plan,
    plan_tensors,
    plan_tasks,
    learning_rates,
    threads,
    clip_value,
    clip_norm,
    metrics,
    metric_params,
    metric_totals,
    batch_losses,
    problem,
    penalties,
    weights,
    share,
    exchange,
    timeout,
    dropout,
    dropout_key,
    check_updates,
    flush,
):
    """Train on batches ``first_batch <= b < last_batch`` of an epoch.

    Batch ``b`` holds rows ``order[b * batch_size : (b + 1) * batch_size]`` of
    ``X`` and ``Y`` (the last one may be shorter). For each batch: forward,
    loss, backward, clipping, one step of every optimizer of the update plan
    (``plan``, ``plan_tensors``, ``plan_tasks``: see
    :func:`numbagrad.kernels.cpu.update.apply_plan`), with the learning rates
    of row ``b - first_batch`` of ``learning_rates`` (one column per partition
    of the plan), metrics on the batch's predictions.
    ``batch_losses[b - first_batch]`` receives each batch's loss, the
    regularizers' penalty (``penalties``) included. With ``weights`` (one per
    row of ``X``; empty for none) each batch's loss is the weighted mean
    ``sum w_i l_i / sum w_i`` and its metrics count row ``i`` ``w_i`` times.

    Dropout: layer ``l``'s output is dropped at rate ``dropout[l]`` (an empty
    array for none), the masks of batch ``b`` hashed from ``(dropout_key, b)``
    and each row's place in the whole batch (see
    :mod:`numbagrad.kernels.cpu.dropout`).

    Returns the number of batches completed. It is smaller than asked when a
    batch's loss or gradient is not finite (``problem[0]`` says which): that
    batch changes nothing, so the parameters stay those of the last finite
    step; or when its update left an infinite or NaN weight or optimizer state
    (``NON_FINITE_UPDATE``): the caller then restores the parameters and
    state from before the call and replays the completed batches. That check
    reads every value an update wrote, after each step, when ``check_updates``;
    without it, the caller checks once after the call (a non-finite value
    stays non-finite in what comes after it, weights and state alike) and
    calls again with it to find the step, only when one is found.

    With ``flush``, subnormal numbers are flushed to zero on this thread while
    it runs (see :mod:`numbagrad.kernels.cpu.floating`). One function with
    one exit, not a wrapper around the loop: a compiled callee's code is
    linked into its caller and optimized again there, which made such a
    wrapper take 5 s of a first run's compiling.
    """
    previous = flush_subnormals(flush)
    completed = last_batch - first_batch
    n = X.shape[0]
    weighted = weights.size > 0
    batch_weights = np.empty(batch_size if weighted else 0)
    scratch = np.empty(metric_totals.shape[1] if weighted else 0)
    reducer = share[SHARE_REDUCER]
    outer = rank_one_outer(grads, layers, plan, plan_tensors, plan_tasks, reducer, penalties, clip_value)
    no_outer = NO_OUTER.copy()
    draw = np.zeros(3, dtype=np.int64)
    draw[0] = dropout_key
    for b in range(first_batch, last_batch):
        start = min(n, b * batch_size)
        stop = min(n, start + batch_size)
        draw[1] = b
        draw[2] = 0
        if share[SHARE_SIZE] > 1:  # this rank's slice of the batch
            rows = stop - start
            first = rows * share[SHARE_RANK] // share[SHARE_SIZE]
            start, stop = start + first, start + rows * (share[SHARE_RANK] + 1) // share[SHARE_SIZE]
            draw[2] = first
        rows = stop - start
        x = view(workspace, offsets[INPUT], rows, X.shape[1])
        y = view(workspace, offsets[TARGET], rows, Y.shape[1])
        gather_rows(X, order, start, stop, x)
        gather_rows(Y, order, start, stop, y)
        if weighted:
            for k in range(rows):
                batch_weights[k] = weights[order[start + k]]
        w = batch_weights[:rows] if weighted else batch_weights
        value, count = 0.0, 0.0
        if rows > 0:
            forward_rows(params, layers, activations, activation_params, norms, workspace, offsets, x, rows, final_activation, threads, dropout, draw)
            value, count = batch_loss(loss, loss_params, workspace, offsets, layers, y, rows, final_activation, w)
        if reducer != 0:
            # Every rank learns the batch's loss from the same sum, so all stop at the same batch.
            if rows > 0:
                backward_rows(params, grads, layers, activations, activation_params, norms, workspace, offsets, x, rows, final_activation, threads, dropout, draw, True)
            code, value, count = _all_reduce_gradient(grads, value, count, reducer, exchange, timeout)
            if code != 0:
                problem[0] = COLLECTIVE_FAILED
                problem[1] = code
                completed = b - first_batch
                break
        batch_losses[b - first_batch] = value
        if not math.isfinite(value):
            problem[0] = NON_FINITE_LOSS
            completed = b - first_batch
            break
        # One row, and the first weight's gradient may stay a product (rank_one_outer).
        rank_one = rows == 1 and outer[OUTER_TENSOR] >= 0
        if reducer == 0:
            backward_rows(params, grads, layers, activations, activation_params, norms, workspace, offsets, x, rows, final_activation, threads, dropout, draw, not rank_one)
        delta = first_delta(workspace, offsets, layers, 1)[0]  # the first layer's dz, when rows == 1
        if rank_one:
            rank_one = hand_over_product(outer, x[0], delta, grads, layers, threads)
        if penalties.shape[0] > 0:
            value += penalize(params, grads, penalties, count, True)
            batch_losses[b - first_batch] = value
            if not math.isfinite(value):
                problem[0] = NON_FINITE_LOSS
                completed = b - first_batch
                break
        if rank_one:
            finite = clip_rank_one(grads, layers, x[0], delta, clip_norm, threads)
        else:
            finite = clip_gradients(grads, clip_value, clip_norm, threads)
        if not finite:
            problem[0] = NON_FINITE_GRADIENT
            completed = b - first_batch
            break
        stepped = apply_plan(
            params, plan, plan_tensors, plan_tasks, learning_rates[b - first_batch], b - first_batch, threads, check_updates, outer if rank_one else no_outer
        )
        if stepped != 0:
            problem[0] = NON_FINITE_UPDATE
            completed = b - first_batch
            break
        if rows > 0:
            update_statistics(params, layers, norms, workspace, offsets, rows)
        if metrics.shape[0] > 0 and rows > 0:
            _batch_metrics(workspace, offsets, layers, activations, activation_params, rows, final_activation, metrics, metric_params, metric_totals, y, w, scratch)
    restore(previous)
    return completed


@kernel
def evaluate_batches(
    params,
    layers,
    activations,
    activation_params,
    norms,
    workspace,
    offsets,
    X,
    Y,
    batch_size,
    loss,
    loss_params,
    final_activation,
    metrics,
    metric_params,
    metric_totals,
    penalties,
    weights,
):
    """Mean loss over every row of ``(X, Y)`` (each batch's loss, its regularizers' penalty included,
    weighted by its rows, or by the sum of its ``weights`` when given), and the metrics' totals
    (row ``i`` counted ``weights[i]`` times); nothing is updated."""
    n = X.shape[0]
    weighted = weights.size > 0
    scratch = np.empty(metric_totals.shape[1] if weighted else 0)
    total = 0.0
    counted = 0.0
    dropout, draw = no_dropout()
    for start in range(0, n, batch_size):
        stop = min(n, start + batch_size)
        rows = stop - start
        x = X[start:stop]
        y = Y[start:stop]
        forward_rows(params, layers, activations, activation_params, norms, workspace, offsets, x, rows, final_activation, 0, dropout, draw)
        # The loss kernel writes its gradient too; the buffer is scratch here.
        w = weights[start:stop] if weighted else weights
        value, count = batch_loss(loss, loss_params, workspace, offsets, layers, y, rows, final_activation, w)
        if penalties.shape[0] > 0:
            value += penalize(params, params, penalties, count, False)
        if count > 0.0:
            total += value * count
        counted += count
        if metrics.shape[0] > 0:
            _batch_metrics(workspace, offsets, layers, activations, activation_params, rows, final_activation, metrics, metric_params, metric_totals, y, w, scratch)
    return total / counted
