"""A whole stack of dense layers, forward and backward, in compiled code.

A network is described by tables, so that one cached compilation per dtype
serves every architecture and every activation, a plugin's included:

* ``params``: every weight and bias in one flat buffer; ``grads`` likewise.
* ``layers``: int64 (L, 4) rows ``[fan_in, units, weight_offset, bias_offset]``
  (``bias_offset`` -1 for a layer without bias); the weight is the C-ordered
  (fan_in, units) block at ``weight_offset``.
* ``activations``: int64 (L, 4) kernel tables; ``activation_params``: float64
  (L, P) rows of their parameters.
* ``workspace`` and ``offsets``: one flat buffer holding every intermediate for
  up to ``capacity`` rows: ``offsets[0]`` the input batch, ``offsets[1]`` the
  target batch, ``offsets[2]`` and ``offsets[3]`` two gradient buffers of
  ``capacity * widest`` elements, then ``offsets[4 + 2 l]`` layer l's
  pre-activation ``z`` and ``offsets[5 + 2 l]`` its output.

* ``dropout``: float64 (L,) rates of inverted dropout on each layer's output
  while training (0 for none; an empty array outside training), and ``draw``
  int64 ``[key, step, first_row]``: the coordinates of the batch's masks (see
  :mod:`numbagrad.kernels.cpu.dropout`). A layer with dropout keeps its
  output after dropout in the workspace; the backward pass recomputes the
  activation's output before dropout into the workspace's scratch buffer (its
  last region, ``capacity * widest`` elements).

* ``norms``: float64 (L, 6) rows, a layer's batch or layer normalization of
  its pre-activation (kind 0 for none; see
  :mod:`numbagrad.kernels.cpu.normalization`). A normalized layer ``l`` has
  two more workspace regions, after every layer's ``z`` and output:
  ``offsets[4 + 2 L + 2 l]`` its ``x̂`` and ``offsets[5 + 2 L + 2 l]`` its
  moments (empty for a layer without normalization). A pass is a training
  pass when ``dropout`` is not empty (see below): batch normalization then
  normalizes by the batch's moments and updates its running averages.

* ``penalties``: float64 (S, 5) rows ``[start, stop, l1, l2, per_sample]``:
  the weight regularizers (:mod:`numbagrad.nn.regularizers`) of the segments
  ``params[start:stop]``; (0, 5) for none.

With ``final_activation`` false the last layer's activation is skipped: its
loss is computed from ``z`` (a softmax or sigmoid fused into the loss).
"""

from __future__ import annotations

import numpy as np
from numba import types

from numbagrad.kernels.cpu import dropout as dropout_kernels
from numbagrad.kernels.cpu import normalization
from numbagrad.kernels.cpu.dense import dense_backward_pass, dense_forward_pass
from numbagrad.kernels.cpu.jit import FASTMATH, inline, kernel
from numbagrad.kernels.cpu.normalization import KIND
from numbagrad.kernels.cpu.outline import outlined, prepare
from numbagrad.kernels.pointers import activation_backward_function, activation_forward_function, loss_function

__all__ = [
    "network_predict", "network_value_and_grad", "forward_rows", "backward_rows", "loss_rows", "weighted_loss_rows", "batch_loss",
    "penalize", "update_statistics", "first_delta", "no_dropout", "prepare_network",
]

INPUT, TARGET, GRADIENT_A, GRADIENT_B = 0, 1, 2, 3

# Normalization and dropout, called as their own compiled code and compiled only for a model that
# has them (see numbagrad.kernels.cpu.outline and prepare_network).
normalize_forward = outlined(normalization.normalize_forward, returns=types.none)
normalize_backward = outlined(normalization.normalize_backward, returns=types.none)
update_running_averages = outlined(normalization.update_running_averages, returns=types.none)
dropout_forward = outlined(dropout_kernels.dropout_forward, returns=types.none)
dropout_backward = outlined(dropout_kernels.dropout_backward, returns=types.none)

#: The dropout coordinates a pass called from Python takes outside a training step.
NO_DRAW = np.zeros(3, dtype=np.int64)


@inline
def no_dropout():
    """``(dropout, draw)`` for a pass outside training, in compiled code: an empty rate table and
    zero coordinates, as arrays of their own (a global array is read-only there, of another type
    than the arrays a training pass passes, and would compile the passes again)."""
    return np.empty(0), np.zeros(3, dtype=np.int64)


@inline
def view(workspace, offset, rows, columns):
    """The C-ordered (rows, columns) matrix at ``workspace[offset:]``."""
    return workspace[offset : offset + rows * columns].reshape((rows, columns))


@inline
def weight_of(params, layers, l):
    return view(params, layers[l, 2], layers[l, 0], layers[l, 1])


@inline
def bias_of(params, layers, l):
    if layers[l, 3] < 0:
        return params[0:0]
    return params[layers[l, 3] : layers[l, 3] + layers[l, 1]]


@inline
def pre_activation(workspace, offsets, layers, l, rows):
    return view(workspace, offsets[4 + 2 * l], rows, layers[l, 1])


@inline
def output(workspace, offsets, layers, l, rows):
    return view(workspace, offsets[5 + 2 * l], rows, layers[l, 1])


@inline
def normalized_of(workspace, offsets, layers, l, rows):
    """Layer ``l``'s x̂ of the last training pass (see :mod:`numbagrad.kernels.cpu.normalization`)."""
    return view(workspace, offsets[4 + 2 * layers.shape[0] + 2 * l], rows, layers[l, 1])


@inline
def moments_of(workspace, offsets, layers, l):
    """Layer ``l``'s moments region: its ``μ`` and ``1 / sqrt(σ² + ε)``."""
    start = offsets[5 + 2 * layers.shape[0] + 2 * l]
    return workspace[start : offsets[6 + 2 * layers.shape[0] + 2 * l]]


@inline
def update_statistics(params, layers, norms, workspace, offsets, rows):
    """Every batch normalization's running averages updated from the last training pass of ``rows`` rows."""
    for l in range(layers.shape[0]):
        if norms[l, KIND] != 0:
            update_running_averages(params, moments_of(workspace, offsets, layers, l), norms[l], rows, layers[l, 1])


@inline
def scratch(workspace, offsets, rows, columns):
    """The workspace's scratch buffer as a (rows, columns) matrix."""
    return view(workspace, offsets[offsets.shape[0] - 2], rows, columns)


@kernel
def forward_rows(params, layers, activations, activation_params, norms, workspace, offsets, x, rows, final_activation, threads, dropout, draw):
    """Forward pass of ``rows`` rows of ``x``; every layer's z and output land in the workspace,
    an output after its ``dropout`` (when ``dropout`` is not empty: a training pass)."""
    count = layers.shape[0]
    inputs = x
    for l in range(count):
        z = pre_activation(workspace, offsets, layers, l, rows)
        out = output(workspace, offsets, layers, l, rows)
        apply = final_activation or l < count - 1
        if norms[l, KIND] == 0:
            dense_forward_pass(inputs, weight_of(params, layers, l), bias_of(params, layers, l), z, out, activations[l], activation_params[l], apply, threads)
        else:
            dense_forward_pass(inputs, weight_of(params, layers, l), bias_of(params, layers, l), z, out, activations[l], activation_params[l], False, threads)
            normalized = normalized_of(workspace, offsets, layers, l, rows)
            normalize_forward(params, z, normalized, moments_of(workspace, offsets, layers, l), norms[l], dropout.size > 0)
            if apply:
                forward = activation_forward_function(z, activations[l, 0], activations[l, 1])
                forward(z, out, activation_params[l])
        if dropout.size > 0 and dropout[l] > 0.0:
            dropout_forward(out, dropout[l], draw[0], draw[1], l, draw[2])
        inputs = out


@inline
def prediction_of(workspace, offsets, layers, rows, final_activation):
    """The network's output for the last forward pass (z of the last layer when the loss is fused)."""
    last = layers.shape[0] - 1
    if final_activation:
        return output(workspace, offsets, layers, last, rows)
    return pre_activation(workspace, offsets, layers, last, rows)


@inline
def loss_rows(loss, loss_params, workspace, offsets, layers, y, rows, final_activation):
    """The loss of the last forward pass; its gradient goes to gradient buffer A."""
    last = layers.shape[0] - 1
    prediction = prediction_of(workspace, offsets, layers, rows, final_activation)
    grad = view(workspace, offsets[GRADIENT_A], rows, layers[last, 1])
    compute = loss_function(workspace, loss[0], loss[1])
    return compute(prediction, y, grad, loss_params)


@kernel
def weighted_loss_rows(loss, loss_params, workspace, offsets, layers, y, rows, final_activation, w):
    """The weighted loss of the last forward pass, ``sum w_i l_i / sum w_i`` with ``l_i`` the loss of
    row ``i`` alone (the kernel called on that row), and its gradient in buffer A; returns
    ``(loss, sum w_i)``. A batch whose weights sum to 0 has loss 0 and gradient 0.

    Every built-in loss is a mean over rows of per-row terms, so with equal
    weights this is :func:`loss_rows`, to rounding.
    """
    last = layers.shape[0] - 1
    prediction = prediction_of(workspace, offsets, layers, rows, final_activation)
    grad = view(workspace, offsets[GRADIENT_A], rows, layers[last, 1])
    compute = loss_function(workspace, loss[0], loss[1])
    total_weight = 0.0
    for i in range(rows):
        total_weight += w[i]
    value = 0.0
    for i in range(rows):
        row_value = compute(prediction[i : i + 1], y[i : i + 1], grad[i : i + 1], loss_params)
        share = w[i] / total_weight if total_weight > 0.0 else 0.0
        if share != 0.0:  # a row of weight 0 adds nothing, not even a NaN of its own
            value += share * row_value
        scale = grad.dtype.type(share)
        for j in range(grad.shape[1]):
            grad[i, j] = grad[i, j] * scale if share != 0.0 else grad.dtype.type(0.0)
    return value, total_weight


# Compiled only for a run with sample weights (numbagrad.kernels.cpu.training.prepare_weights).
_weighted_loss_rows = outlined(weighted_loss_rows, returns=types.UniTuple(types.float64, 2))


@kernel
def batch_loss(loss, loss_params, workspace, offsets, layers, y, rows, final_activation, w):
    """``(loss, count)`` of the last forward pass, its gradient in buffer A: :func:`weighted_loss_rows`
    with the batch's weights ``w``, or :func:`loss_rows` and the batch's rows when ``w`` is empty."""
    if w.size > 0:
        return _weighted_loss_rows(loss, loss_params, workspace, offsets, layers, y, rows, final_activation, w)
    return loss_rows(loss, loss_params, workspace, offsets, layers, y, rows, final_activation), float(rows)


@kernel
def backward_rows(
    params, grads, layers, activations, activation_params, norms, workspace, offsets, x, rows, final_activation, threads, dropout, draw,
    first_weight,
):
    """Backward pass from dL/d(output) in gradient buffer A; writes every weight's and bias's gradient
    (and every normalization's scale and shift). Through a layer's dropout first (the same masks as
    :func:`forward_rows`, recomputed), and from dL/dz through its normalization to dL/dh.

    With ``first_weight`` false the first layer's weight gradient ``x^T dz`` is not written: its
    ``dz`` stays in the workspace (:func:`first_delta`) for a caller that steps on the product
    without forming it.
    """
    count = layers.shape[0]
    current = offsets[GRADIENT_A]
    spare = offsets[GRADIENT_B]
    for l in range(count - 1, -1, -1):
        fan_in = layers[l, 0]
        units = layers[l, 1]
        grad_out = view(workspace, current, rows, units)
        inputs = x if l == 0 else output(workspace, offsets, layers, l - 1, rows)
        grad_x = view(workspace, spare, rows, fan_in if l > 0 else 0)
        z = pre_activation(workspace, offsets, layers, l, rows)
        out = output(workspace, offsets, layers, l, rows)
        if dropout.size > 0 and dropout[l] > 0.0:
            dropout_backward(grad_out, dropout[l], draw[0], draw[1], l, draw[2])
            # The activation's derivative may read its output: the one before dropout, recomputed.
            out = scratch(workspace, offsets, rows, units)
            forward = activation_forward_function(z, activations[l, 0], activations[l, 1])
            forward(z, out, activation_params[l])
        apply = final_activation or l < count - 1
        grad_weight = weight_of(grads, layers, l)
        if l == 0 and not first_weight:
            grad_weight = view(grads, layers[0, 2], 0, units)
        if norms[l, KIND] != 0:
            if apply:
                backward = activation_backward_function(z, activations[l, 2], activations[l, 3])
                backward(z, out, grad_out, grad_out, activation_params[l])
                apply = False
            normalize_backward(params, grads, grad_out, normalized_of(workspace, offsets, layers, l, rows), moments_of(workspace, offsets, layers, l), norms[l])
        dense_backward_pass(
            inputs,
            weight_of(params, layers, l),
            z,
            out,
            grad_out,
            grad_weight,
            bias_of(grads, layers, l),
            grad_x,
            activations[l],
            activation_params[l],
            apply,
            False,
            threads,
        )
        current, spare = spare, current


@inline
def first_delta(workspace, offsets, layers, rows):
    """The first layer's dL/dz after :func:`backward_rows`, (rows, units): the gradient buffers
    alternate from A at the last layer, so it is in A when the layers are odd in number."""
    return view(workspace, offsets[GRADIENT_A if layers.shape[0] % 2 == 1 else GRADIENT_B], rows, layers[0, 1])


@kernel(fastmath=FASTMATH)
def penalty_sums(params, grads, start, stop, l1, l2, gradient):
    """``(sum |w|, sum w^2)`` over ``params[start:stop]`` in float64; with ``gradient``,
    ``l1 sign(w) + 2 l2 w`` is added to ``grads[start:stop]``.

    Written for LLVM's vectorizer (it measured 10x faster than one fused loop):
    the loops run over slices from 0 (an index Numba cannot prove non-negative
    carries a wrap-around check), and the sums and the update are separate
    loops. The sums may be re-associated; NaN and infinity still propagate.
    """
    w = params[start:stop]
    g = grads[start:stop]
    absolute = 0.0
    square = 0.0
    if l1 != 0.0:
        for i in range(w.size):
            absolute += abs(np.float64(w[i]))
    if l2 != 0.0:
        for i in range(w.size):
            square += np.float64(w[i]) * np.float64(w[i])
    if gradient:
        a = g.dtype.type(l1)
        b = g.dtype.type(2.0 * l2)
        zero = g.dtype.type(0.0)
        if l1 == 0.0:
            for i in range(w.size):
                g[i] += b * w[i]
        else:
            for i in range(w.size):
                sign = a if w[i] > zero else (-a if w[i] < zero else zero)
                g[i] += sign + b * w[i]
    return absolute, square


# Called as its own compiled code (see numbagrad.kernels.cpu.outline), compiled only for a model
# with regularizers; one compilation serves training (gradient True) and evaluation (False).
_penalty_sums = outlined(penalty_sums, returns=types.UniTuple(types.float64, 2))


@inline
def penalize(params, grads, penalties, rows, gradient):
    """The regularizers' penalty ``sum l1 |w| + l2 w^2`` over their segments (divided by ``rows``, the
    batch's rows or, with sample weights, the sum of its weights, for a ``per_sample`` one), in float64;
    with ``gradient``, ``l1 sign(w) + 2 l2 w`` is added to ``grads``.

    Called after the backward pass, before clipping: the penalty's gradient is
    part of the gradient that is clipped and stepped on, as in Keras and PyTorch.
    """
    total = 0.0
    for s in range(penalties.shape[0]):
        scale = (1.0 / rows if rows > 0 else 0.0) if penalties[s, 4] != 0.0 else 1.0
        l1 = penalties[s, 2] * scale
        l2 = penalties[s, 3] * scale
        absolute, square = _penalty_sums(params, grads, int(penalties[s, 0]), int(penalties[s, 1]), l1, l2, gradient)
        total += l1 * absolute + l2 * square
    return total


# Called as their own compiled code (see numbagrad.kernels.cpu.outline), as the training loops call them.
_forward_rows = outlined(forward_rows)
_backward_rows = outlined(backward_rows)
_batch_loss = outlined(batch_loss)


@kernel
def network_predict(params, layers, activations, activation_params, norms, workspace, offsets, capacity, X, out):
    """``out`` = the network applied to every row of ``X``, ``capacity`` rows at a time."""
    last = layers.shape[0] - 1
    n = X.shape[0]
    dropout, draw = no_dropout()
    for start in range(0, n, capacity):
        stop = min(n, start + capacity)
        rows = stop - start
        # threads = 0: gemm for every product, a row alone rounded as among others (blas.block_product)
        _forward_rows(params, layers, activations, activation_params, norms, workspace, offsets, X[start:stop], rows, True, 0, dropout, draw)
        out[start:stop] = output(workspace, offsets, layers, last, rows)


@kernel
def network_value_and_grad(
    params, grads, layers, activations, activation_params, norms, workspace, offsets, X, Y, loss, loss_params, final_activation, penalties,
    weights, dropout, draw,
):
    """The loss of the whole of ``X`` (one batch) against ``Y``, weighted by ``weights`` (one per row;
    empty for none), the regularizers' penalty included, and its gradient in ``grads``; with the
    ``dropout`` of a training step at the coordinates ``draw`` (a training pass: ``dropout`` holds
    one rate per layer, 0 for none)."""
    rows = X.shape[0]
    _forward_rows(params, layers, activations, activation_params, norms, workspace, offsets, X, rows, final_activation, 1, dropout, draw)
    value, count = _batch_loss(loss, loss_params, workspace, offsets, layers, Y, rows, final_activation, weights)
    _backward_rows(params, grads, layers, activations, activation_params, norms, workspace, offsets, X, rows, final_activation, 1, dropout, draw, True)
    if dropout.size > 0:
        update_statistics(params, layers, norms, workspace, offsets, rows)
    return value + penalize(params, grads, penalties, count, True)


def prepare_network(norms: np.ndarray, penalties: np.ndarray, dropout: np.ndarray) -> None:
    """Compile the on-demand kernels that the passes over a network with these ``norms``,
    ``penalties`` and ``dropout`` tables call: its normalizations', its regularizers' and its
    dropout's."""
    if (norms[:, KIND] != 0).any():
        prepare(normalization.normalize_forward, normalization.normalize_backward, normalization.update_running_averages)
    if penalties.shape[0] > 0:
        prepare(penalty_sums)
    if (dropout > 0.0).any():
        prepare(dropout_kernels.dropout_forward, dropout_kernels.dropout_backward)


def workspace_offsets(fan_in: int, units: list[int], target_columns: int, capacity: int, kinds: list[int] | None = None) -> np.ndarray:
    """The ``offsets`` table for a network of ``units`` per layer, each layer's normalization of kind
    ``kinds[l]`` (none when not given), 64-byte aligned for float32 and float64 (multiples of 16
    elements); its last entry is the workspace's total size."""
    from numbagrad.kernels.cpu.normalization import BATCH, NONE

    def aligned(size: int) -> int:
        return (size + 15) // 16 * 16

    kinds = [NONE] * len(units) if kinds is None else kinds
    widest = max([fan_in] + list(units))
    sizes = [capacity * fan_in, capacity * target_columns, capacity * widest, capacity * widest]
    for width in units:
        sizes += [capacity * width, capacity * width]
    for width, kind in zip(units, kinds):
        if kind == NONE:
            sizes += [0, 0]
        else:  # x̂, and two moments per column (batch) or per row (layer)
            sizes += [capacity * width, 3 * width if kind == BATCH else 2 * capacity]
    sizes.append(capacity * widest)  # scratch
    offsets = [0]
    for size in sizes:
        offsets.append(offsets[-1] + aligned(size))
    return np.array(offsets, dtype=np.int64)
