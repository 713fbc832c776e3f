"""The arithmetic of activations, losses and metrics, once, for every target.

Written here as plain Python over matrices and scalars, without decorators,
and compiled by :func:`compile_formulas` twice: into the CPU kernels
(:mod:`numbagrad.kernels.cpu.activations`, ``losses``, ``metrics``), which
inline them into their loops, and into the CUDA kernels
(:mod:`numbagrad.kernels.cuda.activations`, ``losses``, ``metrics``), which
call them as device functions from one GPU thread per element, row or
column. Both targets therefore evaluate every formula with the same
operations in the same order; the docstrings of the CPU kernels give the
mathematics.

Shapes of the pieces:

* activations, element-wise: ``<name>_coefficients(z, params)`` once per
  call (the hyperparameters, rounded to the arrays' dtype where the formula
  computes in it), then ``<name>_forward(z, c, i, j)`` returning ``f(z)[i, j]``
  and ``<name>_backward(z, out, grad_out, c, i, j)`` returning
  ``grad_out[i, j] * f'(z[i, j])``; the caller stores the value, which
  rounds it once to the arrays' dtype;
* activations, row-wise (softmax): ``<name>_forward_row(z, out, params, i)``
  and ``<name>_backward_row(z, out, grad_out, grad_in, params, i)`` write row ``i``;
* losses: coefficients once per call (the mean's scale, the
  hyperparameters), then ``<name>_terms(prediction, target, grad, c, i,
  total)`` writes ``grad[i, :]`` and returns ``total`` plus row ``i``'s
  terms, added one by one in the CPU kernel's order (the CPU kernel threads
  one running total through every row; a CUDA thread starts each row at 0);
* metrics: per-row tests and sums, and r2's per-column update.

Numba's builtin ``max`` and ``min`` do not compile for CUDA here; the kernels
use :func:`maximum` and :func:`minimum`, which are what Numba's builtins
compute (``b if b > a else a``: Python's order of arguments, NaN included).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import numpy as np

from numbagrad.kernels.compiling import compile_functions

__all__ = [
    # shared scalars
    "maximum",
    "minimum",
    "sign",
    "sigmoid",
    "softplus",
    "log_cosh",
    "class_label",
    "nan_row",
    "element_scale",
    # activations
    "no_coefficients",
    "linear_forward",
    "linear_backward",
    "relu_coefficients",
    "relu_forward",
    "relu_backward",
    "leaky_relu_coefficients",
    "leaky_relu_forward",
    "leaky_relu_backward",
    "first_parameter",
    "elu_forward",
    "elu_backward",
    "selu_forward",
    "selu_backward",
    "gelu_coefficients",
    "gelu_forward",
    "gelu_backward",
    "sigmoid_forward",
    "sigmoid_backward",
    "tanh_forward",
    "tanh_backward",
    "softplus_coefficients",
    "softplus_forward",
    "softplus_backward",
    "silu_forward",
    "silu_backward",
    "softmax_forward_row",
    "softmax_backward_row",
    # losses
    "scale_coefficients",
    "first_parameter_and_scale",
    "binary_crossentropy_coefficients",
    "categorical_crossentropy_coefficients",
    "mae_terms",
    "mse_terms",
    "huber_terms",
    "log_cosh_terms",
    "msle_terms",
    "poisson_terms",
    "hinge_terms",
    "binary_crossentropy_terms",
    "categorical_crossentropy_terms",
    "kl_divergence_terms",
    # metrics
    "argmax_row",
    "true_class",
    "categorical_match",
    "binary_matches",
    "top_k_match",
    "confusion_cell",
    "absolute_errors",
    "squared_errors",
    "row_weight",
    "r2_column",
    "record_scores",
    "compile_formulas",
]


# --- shared scalars --------------------------------------------------------------


def maximum(a, b):
    """Numba's ``max(a, b)``: ``b if b > a else a`` (so ``maximum(nan, 0.0)`` is NaN)."""
    return b if b > a else a


def minimum(a, b):
    """Numba's ``min(a, b)``: ``b if b < a else a``."""
    return b if b < a else a


def sign(x):
    """-1, 0 or 1: the subgradient of ``|x|`` is 0 at 0, as ``torch.sign``; NaN for NaN."""
    if x > 0.0:
        return 1.0
    if x < 0.0:
        return -1.0
    return 0.0 * x


def sigmoid(x):
    """``1 / (1 + exp(-x))`` without overflow: ``exp(x) / (1 + exp(x))`` for ``x < 0``."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def softplus(x):
    """``log(1 + exp(x))`` without overflow: ``max(x, 0) + log1p(exp(-|x|))``."""
    return maximum(x, 0.0) + math.log1p(math.exp(-abs(x)))


def log_cosh(x):
    """``log(cosh(x))`` without overflow: ``|x| + log1p(exp(-2|x|)) - log(2)``."""
    a = abs(x)
    return a + math.log1p(math.exp(-2.0 * a)) - 0.6931471805599453


def class_label(target, i, columns):
    """Row ``i``'s class label from one column of labels, or -1 when it is not an integer in ``[0, columns)``."""
    value = np.float64(target[i, 0])
    if not (value >= 0.0 and value < columns):
        return -1
    label = int(value)
    return label if label == value else -1


def nan_row(grad, i):
    """``grad[i, :] = NaN``."""
    for j in range(grad.shape[1]):
        grad[i, j] = math.nan


def element_scale(prediction):
    """``1 / (rows columns)``: the mean over every element."""
    return 1.0 / (prediction.shape[0] * prediction.shape[1])


# --- activations --------------------------------------------------------------------


def no_coefficients(z, params):
    """The coefficients of an activation without hyperparameters: none."""
    return 0.0


def linear_forward(z, c, i, j):
    return z[i, j]


def linear_backward(z, out, grad_out, c, i, j):
    return grad_out[i, j]


def relu_coefficients(z, params):
    """``0`` in the arrays' dtype."""
    return z.dtype.type(0.0)


def relu_forward(z, zero, i, j):
    x = z[i, j]
    return zero if x <= zero else x


def relu_backward(z, out, grad_out, zero, i, j):
    g = grad_out[i, j]
    return g if z[i, j] > zero else zero


def leaky_relu_coefficients(z, params):
    """``(0, alpha)`` in the arrays' dtype."""
    return z.dtype.type(0.0), z.dtype.type(params[0])


def leaky_relu_forward(z, c, i, j):
    zero, alpha = c
    x = z[i, j]
    return x if x > zero else x * alpha


def leaky_relu_backward(z, out, grad_out, c, i, j):
    zero, alpha = c
    g = grad_out[i, j]
    return g if z[i, j] > zero else g * alpha


def first_parameter(z, params):
    """``params[0]`` in float64 (ELU's alpha)."""
    return params[0]


def elu_forward(z, alpha, i, j):
    x = np.float64(z[i, j])
    return alpha * math.expm1(x) if x <= 0.0 else x


def elu_backward(z, out, grad_out, alpha, i, j):
    x = np.float64(z[i, j])
    g = np.float64(grad_out[i, j])
    return g * alpha * math.exp(x) if x <= 0.0 else g


def selu_forward(z, c, i, j):
    scale = 1.0507009873554804934193349852946
    alpha = 1.6732632423543772848170429916717
    x = np.float64(z[i, j])
    return scale * alpha * math.expm1(x) if x <= 0.0 else scale * x


def selu_backward(z, out, grad_out, c, i, j):
    scale = 1.0507009873554804934193349852946
    alpha = 1.6732632423543772848170429916717
    x = np.float64(z[i, j])
    g = np.float64(grad_out[i, j])
    return g * scale * alpha * math.exp(x) if x <= 0.0 else g * scale


def gelu_coefficients(z, params):
    """Whether to use the tanh approximation."""
    return params[0] != 0.0


def gelu_forward(z, approximate, i, j):
    x = np.float64(z[i, j])
    if approximate:
        inner = 0.7978845608028654 * (x + 0.044715 * x * x * x)
        return 0.5 * x * (1.0 + math.tanh(inner))
    return 0.5 * x * (1.0 + math.erf(x * 0.7071067811865476))


def gelu_backward(z, out, grad_out, approximate, i, j):
    x = np.float64(z[i, j])
    g = np.float64(grad_out[i, j])
    if approximate:
        x_squared = x * x
        t = math.tanh(0.7978845608028654 * (x + 0.044715 * x_squared * x))
        derivative = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * 0.7978845608028654 * (1.0 + 3.0 * 0.044715 * x_squared)
    else:
        cdf = 0.5 * (1.0 + math.erf(x * 0.7071067811865476))
        pdf = 0.3989422804014327 * math.exp(-0.5 * x * x)
        derivative = cdf + x * pdf
    return g * derivative


def sigmoid_forward(z, c, i, j):
    return sigmoid(np.float64(z[i, j]))


def sigmoid_backward(z, out, grad_out, c, i, j):
    e = math.exp(-abs(np.float64(z[i, j])))
    one_plus = 1.0 + e
    return np.float64(grad_out[i, j]) * (e / (one_plus * one_plus))


def tanh_forward(z, c, i, j):
    return math.tanh(np.float64(z[i, j]))


def tanh_backward(z, out, grad_out, c, i, j):
    e = math.exp(-2.0 * abs(np.float64(z[i, j])))
    one_plus = 1.0 + e
    return np.float64(grad_out[i, j]) * (4.0 * e / (one_plus * one_plus))


def softplus_coefficients(z, params):
    """``(beta, threshold)`` in float64."""
    return params[0], params[1]


def softplus_forward(z, c, i, j):
    beta, threshold = c
    x = np.float64(z[i, j])
    scaled = beta * x
    return x if scaled > threshold else softplus(scaled) / beta


def softplus_backward(z, out, grad_out, c, i, j):
    beta, threshold = c
    scaled = beta * np.float64(z[i, j])
    g = np.float64(grad_out[i, j])
    return g if scaled > threshold else g * sigmoid(scaled)


def silu_forward(z, c, i, j):
    x = np.float64(z[i, j])
    return x * sigmoid(x)


def silu_backward(z, out, grad_out, c, i, j):
    x = np.float64(z[i, j])
    s = sigmoid(x)
    return np.float64(grad_out[i, j]) * s * (1.0 + x * (1.0 - s))


def softmax_forward_row(z, out, params, i):
    """Row ``i`` of the softmax, from the row maximum; each ``exp`` is stored, then divided by their sum."""
    row_max = -math.inf
    for j in range(z.shape[1]):
        x = np.float64(z[i, j])
        if x > row_max:
            row_max = x
    total = 0.0
    for j in range(z.shape[1]):
        e = math.exp(np.float64(z[i, j]) - row_max)
        total += e
        out[i, j] = e
    for j in range(z.shape[1]):
        out[i, j] = np.float64(out[i, j]) / total


def softmax_backward_row(z, out, grad_out, grad_in, params, i):
    """Row ``i``: ``grad_in_j = y_j (grad_out_j - sum_k grad_out_k y_k)``."""
    dot = 0.0
    for j in range(z.shape[1]):
        dot += np.float64(grad_out[i, j]) * np.float64(out[i, j])
    for j in range(z.shape[1]):
        grad_in[i, j] = np.float64(out[i, j]) * (np.float64(grad_out[i, j]) - dot)


# --- losses -------------------------------------------------------------------------


def scale_coefficients(prediction, params):
    """``1 / (rows columns)``: the mean over every element."""
    return element_scale(prediction)


def first_parameter_and_scale(prediction, params):
    """``(params[0], 1 / (rows columns))``: delta or epsilon, and the mean over every element."""
    return params[0], element_scale(prediction)


def binary_crossentropy_coefficients(prediction, params):
    """``(from_logits, 1 / (rows columns))``."""
    return params[0] != 0.0, element_scale(prediction)


def categorical_crossentropy_coefficients(prediction, params):
    """``(from_logits, epsilon)``."""
    return params[0] != 0.0, params[1]


def mae_terms(prediction, target, grad, scale, i, total):
    for j in range(prediction.shape[1]):
        d = np.float64(prediction[i, j]) - np.float64(target[i, j])
        total += abs(d)
        grad[i, j] = sign(d) * scale
    return total


def mse_terms(prediction, target, grad, scale, i, total):
    for j in range(prediction.shape[1]):
        d = np.float64(prediction[i, j]) - np.float64(target[i, j])
        total += d * d
        grad[i, j] = 2.0 * d * scale
    return total


def huber_terms(prediction, target, grad, c, i, total):
    delta, scale = c
    for j in range(prediction.shape[1]):
        d = np.float64(prediction[i, j]) - np.float64(target[i, j])
        a = abs(d)
        if a < delta:
            total += 0.5 * d * d
            grad[i, j] = d * scale
        else:
            total += delta * (a - 0.5 * delta)
            grad[i, j] = delta * sign(d) * scale
    return total


def log_cosh_terms(prediction, target, grad, scale, i, total):
    for j in range(prediction.shape[1]):
        d = np.float64(prediction[i, j]) - np.float64(target[i, j])
        total += log_cosh(d)
        grad[i, j] = math.tanh(d) * scale
    return total


def msle_terms(prediction, target, grad, c, i, total):
    epsilon, scale = c
    for j in range(prediction.shape[1]):
        p = np.float64(prediction[i, j])
        clamped = maximum(p, epsilon)
        d = math.log1p(clamped) - math.log1p(maximum(np.float64(target[i, j]), epsilon))
        total += d * d
        grad[i, j] = 2.0 * d / (clamped + 1.0) * scale if p >= epsilon else 0.0
    return total


def poisson_terms(prediction, target, grad, c, i, total):
    epsilon, scale = c
    for j in range(prediction.shape[1]):
        p = np.float64(prediction[i, j])
        y = np.float64(target[i, j])
        total += p - y * math.log(p + epsilon)
        grad[i, j] = (1.0 - y / (p + epsilon)) * scale
    return total


def hinge_terms(prediction, target, grad, scale, i, total):
    for j in range(prediction.shape[1]):
        y = np.float64(target[i, j])
        if y == 0.0:
            y = -1.0
        margin = 1.0 - y * np.float64(prediction[i, j])
        if margin > 0.0:
            total += margin
            grad[i, j] = -y * scale
        else:
            grad[i, j] = 0.0
    return total


def binary_crossentropy_terms(prediction, target, grad, c, i, total):
    from_logits, scale = c
    for j in range(prediction.shape[1]):
        p = np.float64(prediction[i, j])
        y = np.float64(target[i, j])
        if from_logits:
            # softplus(x) - x y and sigmoid(x) - y, written as sums of
            # same-signed terms so that neither cancels when y is 0 or 1.
            e = math.exp(-abs(p))
            shared = math.log1p(e)
            near = 1.0 / (1.0 + e)  # sigmoid(|x|)
            far = e / (1.0 + e)  # sigmoid(-|x|)
            positive, negative = (near, far) if p >= 0.0 else (far, near)
            total += (1.0 - y) * (maximum(p, 0.0) + shared) + y * (maximum(-p, 0.0) + shared)
            grad[i, j] = ((1.0 - y) * positive - y * negative) * scale
        else:
            total -= y * maximum(math.log(p), -100.0) + (1.0 - y) * maximum(math.log1p(-p), -100.0)
            grad[i, j] = (p - y) / maximum(p * (1.0 - p), 1e-12) * scale
    return total


def categorical_crossentropy_terms(prediction, target, grad, c, i, total):
    """Row ``i`` of categorical cross-entropy; a label outside ``[0, columns)`` makes the total NaN."""
    from_logits, epsilon = c
    rows, columns = prediction.shape
    labels = target.shape[1] == 1 and columns > 1
    label = class_label(target, i, columns) if labels else 0
    if label < 0:
        nan_row(grad, i)
        return math.nan
    if from_logits:
        row_max = -math.inf
        for j in range(columns):
            x = np.float64(prediction[i, j])
            if x > row_max:
                row_max = x
        exp_sum = 0.0
        others = 0.0  # the sum without the label's term
        for j in range(columns):
            e = math.exp(np.float64(prediction[i, j]) - row_max)
            exp_sum += e
            if labels and j != label:
                others += e
        lse = row_max + math.log(exp_sum)
        if labels:
            # For a label at the maximum, lse - x_label = log1p(others) and
            # softmax_label - 1 = -others / exp_sum, without cancellation.
            x_label = np.float64(prediction[i, label])
            total += math.log1p(others) if x_label == row_max else lse - x_label
            for j in range(columns):
                if j == label:
                    grad[i, j] = -others / exp_sum / rows
                else:
                    grad[i, j] = math.exp(np.float64(prediction[i, j]) - lse) / rows
        else:
            target_sum = 0.0
            for j in range(columns):
                y = np.float64(target[i, j])
                target_sum += y
                total += y * (lse - np.float64(prediction[i, j]))
            for j in range(columns):
                softmax = math.exp(np.float64(prediction[i, j]) - lse)
                grad[i, j] = (softmax * target_sum - np.float64(target[i, j])) / rows
    else:
        row_sum = 0.0
        for j in range(columns):
            row_sum += np.float64(prediction[i, j])
        weighted = 0.0  # sum_k a_k q_k
        for j in range(columns):
            y = (1.0 if j == label else 0.0) if labels else np.float64(target[i, j])
            q = np.float64(prediction[i, j]) / row_sum
            clipped = minimum(maximum(q, epsilon), 1.0 - epsilon)
            total -= y * math.log(clipped)
            if q >= epsilon and q <= 1.0 - epsilon:
                weighted -= y / clipped * q
        for j in range(columns):
            y = (1.0 if j == label else 0.0) if labels else np.float64(target[i, j])
            q = np.float64(prediction[i, j]) / row_sum
            a = -y / q if (q >= epsilon and q <= 1.0 - epsilon) else 0.0
            grad[i, j] = (a - weighted) / row_sum / rows
    return total


def kl_divergence_terms(prediction, target, grad, epsilon, i, total):
    rows = prediction.shape[0]
    for j in range(prediction.shape[1]):
        p = np.float64(prediction[i, j])
        y = minimum(maximum(np.float64(target[i, j]), epsilon), 1.0)
        clipped = minimum(maximum(p, epsilon), 1.0)
        total += y * math.log(y / clipped)
        grad[i, j] = -y / clipped / rows if (p >= epsilon and p <= 1.0) else 0.0
    return total


# --- metrics ------------------------------------------------------------------------


def argmax_row(matrix, i):
    """Index of the first largest entry of row ``i``, as ``np.argmax`` for rows without NaN."""
    best = 0
    best_value = matrix[i, 0]
    for j in range(1, matrix.shape[1]):
        if matrix[i, j] > best_value:
            best = j
            best_value = matrix[i, j]
    return best


def true_class(target, i, columns):
    """Row ``i``'s class: its integer label (one column of labels), or the argmax of its target row;
    -1 when a label is not an integer in ``[0, columns)``."""
    if target.shape[1] == 1 and columns > 1:
        return class_label(target, i, columns)
    return argmax_row(target, i)


def categorical_match(prediction, target, i):
    """Whether row ``i``'s largest prediction is its true class."""
    label = true_class(target, i, prediction.shape[1])
    return label >= 0 and argmax_row(prediction, i) == label


def binary_matches(prediction, target, i, threshold, correct):
    """``correct`` plus the number of row ``i``'s elements with ``(p > threshold) == (y > 0.5)``."""
    for j in range(prediction.shape[1]):
        predicted = np.float64(prediction[i, j]) > threshold
        actual = np.float64(target[i, j]) > 0.5
        if predicted == actual:
            correct += 1.0
    return correct


def confusion_cell(prediction, target, i, threshold):
    """Row ``i``'s ``(predicted class, true class)``: with one output column, 1 when ``p > threshold``
    (true: ``y > 0.5``) and 0 otherwise; with several, the row's argmax and its label or the argmax of
    its one-hot target (-1 for a label that is not an integer in ``[0, columns)``)."""
    if prediction.shape[1] == 1:
        predicted = 1 if np.float64(prediction[i, 0]) > threshold else 0
        actual = 1 if np.float64(target[i, 0]) > 0.5 else 0
        return predicted, actual
    return argmax_row(prediction, i), true_class(target, i, prediction.shape[1])


def top_k_match(prediction, target, i, k):
    """Whether fewer than ``k`` classes score strictly above row ``i``'s true class (a NaN score never matches)."""
    label = true_class(target, i, prediction.shape[1])
    if label < 0:
        return False
    score = prediction[i, label]
    larger = 0
    for j in range(prediction.shape[1]):
        if prediction[i, j] > score:
            larger += 1
    return larger < k and score == score


def absolute_errors(prediction, target, i, total):
    """``total`` plus ``sum_j |p_ij - y_ij|``."""
    for j in range(prediction.shape[1]):
        total += abs(np.float64(prediction[i, j]) - np.float64(target[i, j]))
    return total


def squared_errors(prediction, target, i, total):
    """``total`` plus ``sum_j (p_ij - y_ij)^2``."""
    for j in range(prediction.shape[1]):
        d = np.float64(prediction[i, j]) - np.float64(target[i, j])
        total += d * d
    return total


def row_weight(weights, i):
    """Row ``i``'s weight: ``weights[i]``, or 1 when ``weights`` is ``None`` (an unweighted batch;
    the branch is resolved at compile time)."""
    if weights is None:
        return 1.0
    return weights[i]


def r2_column(prediction, target, weights, totals, j, n, batch_weight, columns):
    """Merge column ``j`` of the batch into r2's running totals (see
    :func:`numbagrad.kernels.cpu.metrics.r2_update`): ``n`` is the weight so far, ``batch_weight``
    the batch's (its rows, or the sum of ``weights``), and row ``i`` counts ``row_weight(weights, i)``
    times in the batch's mean, squared deviations and squared residuals."""
    if batch_weight == 0.0:  # nothing to merge; dividing by it would give NaN
        return
    rows = prediction.shape[0]
    batch_mean = 0.0
    for i in range(rows):
        batch_mean += row_weight(weights, i) * np.float64(target[i, j])
    batch_mean /= batch_weight
    batch_m2 = 0.0
    residuals = 0.0
    for i in range(rows):
        w = row_weight(weights, i)
        y = np.float64(target[i, j])
        deviation = y - batch_mean
        batch_m2 += w * deviation * deviation
        r = y - np.float64(prediction[i, j])
        residuals += w * r * r
    merged = n + batch_weight
    delta = batch_mean - totals[1 + j]
    totals[1 + j] += delta * batch_weight / merged
    totals[1 + columns + j] += batch_m2 + delta * delta * n * batch_weight / merged
    totals[1 + 2 * columns + j] += residuals


def record_scores(prediction, target, weights, totals, i, n):
    """Store row ``i`` of the batch as the ``n + i``-th record of ROC AUC's totals (see
    :func:`numbagrad.kernels.cpu.metrics.roc_auc_update`): its ``columns`` scores, its true
    class (with one column: 1 when ``y > 0.5``, else 0; with several: the label or the one-hot
    target's argmax, -1 for an invalid label), then its weight. A record past the end of
    ``totals`` is not written (the count still counts it, and ``result`` refuses the totals)."""
    columns = prediction.shape[1]
    start = 2 + (n + i) * (columns + 2)
    if start + columns + 2 > totals.size:
        return
    for j in range(columns):
        totals[start + j] = np.float64(prediction[i, j])
    if columns == 1:
        totals[start + 1] = 1.0 if np.float64(target[i, 0]) > 0.5 else 0.0
    else:
        totals[start + columns] = true_class(target, i, columns)
    totals[start + columns + 1] = row_weight(weights, i)


# --- compiling the formulas for a target ----------------------------------------------


def compile_formulas(
    jit: Callable, name: str, overrides: Mapping[str, Callable] | None = None, namespace: Mapping[str, Any] | None = None
):
    """Every function of this module compiled with ``jit``, as a module object
    (see :func:`numbagrad.kernels.compiling.compile_functions`)."""
    return compile_functions(globals(), _FORMULAS, jit, name, overrides, namespace)


_FORMULAS = tuple(name for name in __all__ if name != "compile_formulas")
