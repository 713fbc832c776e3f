"""Compiled training and evaluation loops: batching, forward, loss, backward,
clipping, the optimizer update and the metrics, with no Python between batches.

The network tables are those of :mod:`numbagrad.kernels.cpu.network`; the
loss, the metrics and the optimizer arrive as kernel tables of addresses, so
one cached compilation per dtype runs any architecture with any registered
components.

Threads: the matrix products run on BLAS's thread pool; everything else in
these loops runs on the calling thread (the optimizer update is given a
parallel threshold the caller chooses). Running Numba's pool and BLAS's pool
in the same step makes them compete for the cores.
"""

from __future__ import annotations

import math

from numbagrad.kernels.cpu.jit import FASTMATH, inline, kernel
from numbagrad.kernels.cpu.network import (
    INPUT,
    TARGET,
    backward_rows,
    forward_rows,
    loss_rows,
    output,
    pre_activation,
    view,
)
from numbagrad.kernels.cpu.update import apply_update
from numbagrad.kernels.pointers import activation_forward_function, metric_function

__all__ = ["train_batches", "evaluate_batches", "gradient_norm"]


@kernel(fastmath=FASTMATH)
def gradient_norm(grads):
    """``sqrt(sum(grads ** 2))``: the global L2 norm (NaN or inf when any gradient is)."""
    total = 0.0
    for i in range(grads.size):
        total += grads[i] * grads[i]
    return math.sqrt(total)


@inline
def clip_gradients(grads, clip_value, clip_norm):
    """Clip in place, as ``torch.nn.utils.clip_grad_value_`` then ``clip_grad_norm_``;
    returns whether every gradient is finite."""
    if clip_value > 0:
        limit = grads.dtype.type(clip_value)
        for i in range(grads.size):
            if grads[i] > limit:
                grads[i] = limit
            elif grads[i] < -limit:
                grads[i] = -limit
    norm = gradient_norm(grads)
    if not math.isfinite(norm):
        return False
    if clip_norm > 0:
        coefficient = clip_norm / (norm + 1e-6)
        if coefficient < 1.0:
            scale = grads.dtype.type(coefficient)
            for i in range(grads.size):
                grads[i] = grads[i] * scale
    return True


@inline
def gather_rows(source, order, start, stop, destination):
    """``destination[k] = source[order[start + k]]`` for the batch's rows."""
    for k in range(stop - start):
        destination[k, :] = source[order[start + k]]


@inline
def update_metrics(metrics, metric_params, totals, prediction, y):
    for m in range(metrics.shape[0]):
        update = metric_function(prediction, metrics[m, 0], metrics[m, 1])
        update(prediction, y, totals[m], metric_params[m])


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
    optimizer,
    optimizer_state,
    optimizer_hyper,
    lr_index,
    learning_rates,
    step,
    chunk_size,
    parallel_threshold,
    threads,
    clip_value,
    clip_norm,
    metrics,
    metric_params,
    metric_totals,
    batch_losses,
):
    """Train on batches ``first_batch <= b < last_batch`` of an epoch.

    Batch ``b`` holds rows ``order[b * batch_size : (b + 1) * batch_size]`` of
    ``X`` and ``Y`` (the last one may be shorter). For each batch: forward,
    loss, backward, clipping, learning rate ``learning_rates[b - first_batch]``
    written to ``optimizer_hyper[lr_index]`` (unless ``lr_index`` < 0), one optimizer update (step
    ``step + 1``, then ``step + 2``...), metrics on the batch's predictions.
    ``batch_losses[b - first_batch]`` receives each batch's loss.

    Returns the number of batches completed. It is smaller than asked when a
    batch's loss or gradient is not finite: that batch changes nothing, so the
    parameters stay those of the last finite step.
    """
    n = X.shape[0]
    for b in range(first_batch, last_batch):
        start = b * batch_size
        stop = min(n, start + batch_size)
        rows = stop - start
        x = view(workspace, offsets[INPUT], rows, X.shape[1])
        y = view(workspace, offsets[TARGET], rows, Y.shape[1])
        gather_rows(X, order, start, stop, x)
        gather_rows(Y, order, start, stop, y)
        forward_rows(params, layers, activations, activation_params, workspace, offsets, x, rows, final_activation)
        value = loss_rows(loss, loss_params, workspace, offsets, layers, y, rows, final_activation)
        if not math.isfinite(value):
            batch_losses[b - first_batch] = value
            return b - first_batch
        backward_rows(params, grads, layers, activations, activation_params, workspace, offsets, x, rows, final_activation)
        if not clip_gradients(grads, clip_value, clip_norm):
            batch_losses[b - first_batch] = math.inf
            return b - first_batch
        if lr_index >= 0:
            optimizer_hyper[lr_index] = learning_rates[b - first_batch]
        apply_update(
            optimizer, params, grads, optimizer_state, optimizer_hyper, step + 1 + b - first_batch,
            chunk_size, parallel_threshold, threads,
        )
        batch_losses[b - first_batch] = value
        if metrics.shape[0] > 0:
            prediction = final_output(workspace, offsets, layers, activations, activation_params, rows, final_activation)
            update_metrics(metrics, metric_params, metric_totals, prediction, y)
    return last_batch - first_batch


@kernel
def evaluate_batches(
    params,
    layers,
    activations,
    activation_params,
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
):
    """Mean loss over every row of ``(X, Y)`` (each batch weighted by its rows),
    and the metrics' totals; nothing is updated."""
    n = X.shape[0]
    total = 0.0
    for start in range(0, n, batch_size):
        stop = min(n, start + batch_size)
        rows = stop - start
        x = X[start:stop]
        y = Y[start:stop]
        forward_rows(params, layers, activations, activation_params, workspace, offsets, x, rows, final_activation)
        # The loss kernel writes its gradient too; the buffer is scratch here.
        total += loss_rows(loss, loss_params, workspace, offsets, layers, y, rows, final_activation) * rows
        if metrics.shape[0] > 0:
            prediction = final_output(workspace, offsets, layers, activations, activation_params, rows, final_activation)
            update_metrics(metrics, metric_params, metric_totals, prediction, y)
    return total / n
