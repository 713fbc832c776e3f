"""The kernels of a training step on a CUDA GPU, around the dense layers' products.

The twins of the pieces of :mod:`numbagrad.kernels.cpu.training` that are not
dense layers:

* :func:`batch_loss_kernel`: the loss of a batch, fused with what surrounds
  it. Each thread takes rows of the batch (a grid-stride loop) and, for each:
  gathers the row's targets from the training set (``Y[order[start + i]]``,
  like the dense layers' inputs), computes the loss row (writing its
  gradient), applies the last layer's activation derivative to that
  gradient row when the loss is not fused with the activation, and applies
  the activation itself (``out`` from ``z``) when it is fused and metrics
  need the outputs; then the shares of the batch loss are summed over the
  grid into ``losses[index]`` (:func:`numbagrad.kernels.cuda.reduction.grid_sum`).
  With sample weights, each row's loss is that of the row alone (the loss
  row on a one-row view), its share ``w_i / sum w`` of the batch's weighted
  mean, its gradient scaled by that share: the CPU's ``weighted_loss_rows``.
* :func:`gradient_norm`: the global L2 norm of the gradient from the
  partial sums of squares the backward kernels left, into ``norms[index]``.
* :func:`scale_gradients`: ``clip_grad_norm_``'s rescaling, reading that
  norm on the GPU: ``g *= clip_norm / (norm + 1e-6)`` when that is below 1.
* :func:`finite_check`: after the update, whether every weight is finite,
  into ``checks[index]``.
* With weight regularizers, :func:`penalize` adds each penalized segment's
  gradient and sums its penalty, :func:`add_penalties` adds those to the
  batch's loss, and :func:`clamped_squares` then :func:`square_root` take the
  norm over the whole gradient (the backward kernels' partial sums would miss
  the penalty's share).

Nothing here waits for the host: the loss and the norm of each batch stay
on the GPU until the training loop reads a whole segment's at once.
"""

from __future__ import annotations

import functools
import math

from numba import cuda, float64

from numbagrad.kernels.cuda.dense import identity_backward, identity_forward
from numbagrad.kernels.cuda.reduction import MAX_THREADS, grid_sum, sum_partials

__all__ = [
    "batch_loss_kernel", "gradient_norm", "scale_gradients", "finite_check", "penalize", "add_penalties",
    "clamped_squares", "square_root",
]


@cuda.jit(device=True)
def _no_row_backward(z, out, grad_out, grad_in, params, i):
    return


@cuda.jit(device=True)
def _no_row_forward(z, out, params, i):
    return


@functools.lru_cache(maxsize=None)
def batch_loss_kernel(row, backward=None, backward_row_wise=False, output=None, output_row_wise=False, weighted=False):
    """The fused loss kernel for a loss row function and the last layer's activation.

    ``backward``: the activation's backward device function to apply to the
    loss gradient (element-wise, or row-wise when ``backward_row_wise``), or
    ``None`` when the loss takes the pre-activation values (fused).
    ``output``: the activation's forward function to compute ``out`` from
    ``z`` (for metrics after a fused loss), or ``None``. The kernel::

        (prediction, Y, order, start, target, grad, loss_params,
         z, out, activation_params, partials, counter, losses, index, weights, weight_sums)

    ``target`` receives the batch's target rows; ``losses[index]`` the loss.
    ``weighted``: ``weights`` holds a weight per row of ``Y`` (gathered like
    it) and ``weight_sums[index]`` the batch's sum of them; the loss is then
    ``sum_i w_i l_i / sum_i w_i`` with ``l_i`` the loss of row ``i`` alone, and
    row ``i``'s gradient that of ``l_i`` times ``w_i / sum_i w_i`` (0 when the
    weights sum to 0, and for a row of weight 0, whose loss adds nothing,
    not even a NaN of its own). Unweighted, both arrays are unused.
    """
    apply_backward = backward is not None
    element_backward = backward if apply_backward and not backward_row_wise else identity_backward
    row_backward = backward if apply_backward and backward_row_wise else _no_row_backward
    element_wise_backward = apply_backward and not backward_row_wise
    apply_output = output is not None
    element_forward = output if apply_output and not output_row_wise else identity_forward
    row_forward = output if apply_output and output_row_wise else _no_row_forward
    element_wise_output = apply_output and not output_row_wise

    def batch_loss(
        prediction, Y, order, start, target, grad, loss_params, z, out, activation_params, partials, counter, losses, index,
        weights, weight_sums,
    ):
        gather = order.size > 0
        columns = target.shape[1]
        units = grad.shape[1]
        total = 0.0
        total_weight = weight_sums[index] if weighted else 1.0
        for i in range(cuda.grid(1), prediction.shape[0], cuda.gridsize(1)):
            source = order[start + i] if gather else start + i
            for j in range(columns):
                target[i, j] = Y[source, j]
            if weighted:
                value = row(prediction[i : i + 1], target[i : i + 1], grad[i : i + 1], loss_params, 0)
                share = weights[source] / total_weight if total_weight > 0.0 else 0.0
                if share != 0.0:
                    total += share * value
                scale = grad.dtype.type(share)
                for j in range(units):
                    grad[i, j] = grad[i, j] * scale if share != 0.0 else grad.dtype.type(0.0)
            else:
                total += row(prediction, target, grad, loss_params, i)
            if apply_backward:
                if element_wise_backward:
                    for j in range(units):
                        grad[i, j] = element_backward(z, out, grad, activation_params, i, j)
                else:
                    row_backward(z, out, grad, grad, activation_params, i)
            if apply_output:
                if element_wise_output:
                    for j in range(units):
                        out[i, j] = element_forward(z, activation_params, i, j)
                else:
                    row_forward(z, out, activation_params, i)
        grid_sum(total, partials, counter, losses, index)

    return cuda.jit(batch_loss)


@cuda.jit
def gradient_norm(partials, count, norms, index):
    """``norms[index] = sqrt(sum(partials[:count]))``, on one block: the sum of squares is in a fixed order."""
    shared = cuda.shared.array(MAX_THREADS, float64)
    total = sum_partials(partials, count, shared)
    if cuda.threadIdx.x == 0 and cuda.blockIdx.x == 0:
        norms[index] = math.sqrt(total)


@cuda.jit
def scale_gradients(grads, norms, index, clip_norm):
    """``grads *= clip_norm / (norm + 1e-6)`` when that is below 1, ``norm = norms[index]``
    (``torch.nn.utils.clip_grad_norm_``); nothing for a non-finite norm, which stops training anyway."""
    norm = norms[index]
    coefficient = clip_norm / (norm + 1e-6)
    if not (coefficient < 1.0 and math.isfinite(norm)):
        return
    scale = grads.dtype.type(coefficient)
    for i in range(cuda.grid(1), grads.size, cuda.gridsize(1)):
        grads[i] = grads[i] * scale


@cuda.jit
def finite_check(values, partials, counter, checks, index):
    """``checks[index]`` = the sum of ``x - x`` over ``values``: 0 when every value is finite, NaN
    otherwise (it cannot overflow); summed over the grid in a fixed order."""
    total = 0.0
    for i in range(cuda.grid(1), values.size, cuda.gridsize(1)):
        total += float(values[i] - values[i])
    grid_sum(total, partials, counter, checks, index)


@cuda.jit
def penalize(params, grads, l1, l2, per_sample, scales, partials, counters, sums, index, batch):
    """``grads += l1' sign(w) + 2 l2' w`` over one penalized segment of the weights, with ``l1' = l1 s``
    and ``l2' = l2 s``, ``s = scales[batch]`` (1 over the batch's rows or sum of weights, 0 for none)
    when ``per_sample``, else 1; ``sums[index]`` = ``sum |w|`` and ``sums[index + 1]`` = ``sum w^2``
    (grid sums, in float64). The two sums use the two rows of ``partials`` and the two ``counters``:
    a block may start the second sum while the last block still reads the first one's partials."""
    scale = scales[batch] if per_sample else 1.0
    a = grads.dtype.type(l1 * scale)
    b = grads.dtype.type(2.0 * (l2 * scale))
    absolute = 0.0
    square = 0.0
    for i in range(cuda.grid(1), params.size, cuda.gridsize(1)):
        w = params[i]
        absolute += abs(float(w))
        square += float(w) * float(w)
        sign = grads.dtype.type(1 if w > 0 else (-1 if w < 0 else 0))
        grads[i] += a * sign + b * w
    grid_sum(absolute, partials[0], counters[0:1], sums, index)
    grid_sum(square, partials[1], counters[1:2], sums, index + 1)


@cuda.jit
def add_penalties(sums, factors, per_sample, scales, losses, index):
    """``losses[index] += sum((factors[k] s_k) sums[k])``, ``s_k = scales[index]`` where ``per_sample[k]``,
    else 1: the penalties of every segment, on one thread, in order."""
    if cuda.grid(1) == 0:
        total = 0.0
        for k in range(sums.size):
            scale = scales[index] if per_sample[k] != 0.0 else 1.0
            total += (factors[k] * scale) * sums[k]
        losses[index] += total


@cuda.jit
def clamped_squares(grads, clip_value, partials, counter, norms, index):
    """Clamp ``grads`` to ``[-clip_value, clip_value]`` when ``clip_value > 0``; ``norms[index]`` = the
    sum of their squares (a grid sum)."""
    limit = grads.dtype.type(clip_value)
    total = 0.0
    for i in range(cuda.grid(1), grads.size, cuda.gridsize(1)):
        g = grads[i]
        if clip_value > 0:
            if g > limit:
                g = limit
            elif g < -limit:
                g = -limit
            grads[i] = g
        total += float(g) * float(g)
    grid_sum(total, partials, counter, norms, index)


@cuda.jit
def square_root(values, index):
    """``values[index] = sqrt(values[index])``, on one thread."""
    if cuda.grid(1) == 0:
        values[index] = math.sqrt(values[index])
