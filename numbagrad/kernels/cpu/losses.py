"""Loss kernels: ``<name>_loss``.

Every kernel has the contract of :func:`numbagrad.kernels.signatures.loss_signature`::

    <name>_loss(prediction, target, grad, params) -> float64

over C-ordered ``(rows, columns)`` matrices of one dtype. It returns the
batch's loss and writes ``grad``, the gradient of that returned value with
respect to ``prediction``, the reduction's ``1 / rows`` (and ``1 / columns``)
included. ``target`` has ``prediction``'s shape, except that categorical
losses also take one column of integer class labels (stored as floats).

Reductions: *elementwise* losses (mae, mse, huber, log_cosh, msle,
binary_crossentropy, poisson, hinge) average over every element, which is
PyTorch's ``reduction="mean"`` and equals Keras's mean over the last axis
followed by the mean over the batch. *Row* losses (categorical_crossentropy,
kl_divergence) sum over each row's classes and average over the rows.

Every loss evaluates in float64 and returns float64; gradients are rounded
once to the arrays' precision. The kernels use :data:`FASTMATH` (no
``nnan``/``ninf``): sums may be re-associated, NaN and infinity still
propagate. Targets are validated in Python before they get here; a class
label outside ``[0, columns)`` that reaches a kernel anyway gives a NaN loss
and NaN gradients for its row instead of reading outside the row.

``grad`` must not share memory with ``target``.
"""

from __future__ import annotations

import math

import numpy as np

from numbagrad.kernels.cpu.jit import FASTMATH, inline, kernel
from numbagrad.kernels.cpu.scalars import log_cosh as _log_cosh

__all__ = [
    "mae_loss",
    "mse_loss",
    "huber_loss",
    "log_cosh_loss",
    "msle_loss",
    "binary_crossentropy_loss",
    "categorical_crossentropy_loss",
    "kl_divergence_loss",
    "poisson_loss",
    "hinge_loss",
]

# Numba wants a mutable set; FASTMATH is frozen so that nobody changes it.
loss_kernel = kernel(fastmath=FASTMATH)


@inline
def _sign(x):
    """-1, 0 or 1: the subgradient of ``|x|`` is 0 at 0, as ``torch.sign``."""
    if x > 0.0:
        return 1.0
    if x < 0.0:
        return -1.0
    return 0.0 * x  # 0, or NaN for NaN


@inline
def _label(target, i, columns):
    """Row ``i``'s class label, or -1 when it is not an integer in ``[0, columns)``."""
    value = np.float64(target[i, 0])
    if not (value >= 0.0 and value < columns):
        return -1
    label = int(value)
    return label if label == value else -1


@inline
def _nan_row(grad, i):
    for j in range(grad.shape[1]):
        grad[i, j] = math.nan


# --- regression ------------------------------------------------------------------


@loss_kernel
def mae_loss(prediction, target, grad, params):
    """Mean absolute error: ``mean |p - y|``; ``torch.nn.L1Loss()``, ``keras.losses.MeanAbsoluteError``.

    Gradient ``sign(p - y) / (rows columns)``, 0 where ``p == y`` (PyTorch's
    subgradient). params = [].
    """
    rows, columns = prediction.shape
    scale = 1.0 / (rows * columns)
    total = 0.0
    for i in range(rows):
        for j in range(columns):
            d = np.float64(prediction[i, j]) - np.float64(target[i, j])
            total += abs(d)
            grad[i, j] = _sign(d) * scale
    return total * scale


@loss_kernel
def mse_loss(prediction, target, grad, params):
    """Mean squared error: ``mean (p - y)^2``; ``torch.nn.MSELoss()``, ``keras.losses.MeanSquaredError``.

    Gradient ``2 (p - y) / (rows columns)``. params = [].
    """
    rows, columns = prediction.shape
    scale = 1.0 / (rows * columns)
    total = 0.0
    for i in range(rows):
        for j in range(columns):
            d = np.float64(prediction[i, j]) - np.float64(target[i, j])
            total += d * d
            grad[i, j] = 2.0 * d * scale
    return total * scale


@loss_kernel
def huber_loss(prediction, target, grad, params):
    """Huber loss, ``torch.nn.HuberLoss(delta=delta)`` and ``keras.losses.Huber``. params = [delta].

    With ``d = p - y``: ``d^2 / 2`` where ``|d| < delta``, else
    ``delta (|d| - delta / 2)``, averaged over every element. Gradient
    ``clip(d, -delta, delta) / (rows columns)``.
    """
    delta = params[0]
    rows, columns = prediction.shape
    scale = 1.0 / (rows * columns)
    total = 0.0
    for i in range(rows):
        for j in range(columns):
            d = np.float64(prediction[i, j]) - np.float64(target[i, j])
            a = abs(d)
            if a < delta:
                total += 0.5 * d * d
                grad[i, j] = d * scale
            else:
                total += delta * (a - 0.5 * delta)
                grad[i, j] = delta * _sign(d) * scale
    return total * scale


@loss_kernel
def log_cosh_loss(prediction, target, grad, params):
    """``mean log(cosh(p - y))``, ``keras.losses.LogCosh``. params = [].

    Evaluated as ``|d| + log1p(exp(-2|d|)) - log 2``, which does not
    overflow for large ``|d|``. Gradient ``tanh(p - y) / (rows columns)``.
    """
    rows, columns = prediction.shape
    scale = 1.0 / (rows * columns)
    total = 0.0
    for i in range(rows):
        for j in range(columns):
            d = np.float64(prediction[i, j]) - np.float64(target[i, j])
            total += _log_cosh(d)
            grad[i, j] = math.tanh(d) * scale
    return total * scale


@loss_kernel
def msle_loss(prediction, target, grad, params):
    """Mean squared logarithmic error, ``keras.losses.MeanSquaredLogarithmicError``. params = [epsilon].

    ``mean (log(max(p, eps) + 1) - log(max(y, eps) + 1))^2``. Gradient
    ``2 (log(max(p, eps) + 1) - log(max(y, eps) + 1)) / (p + 1) / (rows columns)``
    where ``p >= eps``, and 0 where ``p < eps`` (the clamp is flat there).
    """
    epsilon = params[0]
    rows, columns = prediction.shape
    scale = 1.0 / (rows * columns)
    total = 0.0
    for i in range(rows):
        for j in range(columns):
            p = np.float64(prediction[i, j])
            clamped = max(p, epsilon)
            d = math.log1p(clamped) - math.log1p(max(np.float64(target[i, j]), epsilon))
            total += d * d
            grad[i, j] = 2.0 * d / (clamped + 1.0) * scale if p >= epsilon else 0.0
    return total * scale


@loss_kernel
def poisson_loss(prediction, target, grad, params):
    """Poisson loss ``mean(p - y log(p + eps))``, ``keras.losses.Poisson``. params = [epsilon].

    With ``epsilon=1e-8`` it is ``torch.nn.PoissonNLLLoss(log_input=False)``.
    Gradient ``(1 - y / (p + eps)) / (rows columns)``.
    """
    epsilon = params[0]
    rows, columns = prediction.shape
    scale = 1.0 / (rows * columns)
    total = 0.0
    for i in range(rows):
        for j in range(columns):
            p = np.float64(prediction[i, j])
            y = np.float64(target[i, j])
            total += p - y * math.log(p + epsilon)
            grad[i, j] = (1.0 - y / (p + epsilon)) * scale
    return total * scale


@loss_kernel
def hinge_loss(prediction, target, grad, params):
    """Hinge loss ``mean max(0, 1 - y p)``, ``keras.losses.Hinge``. params = [].

    Targets are -1 or 1; a 0 is read as -1, so 0/1 targets work as in Keras.
    Gradient ``-y / (rows columns)`` where ``1 - y p > 0``, else 0 (also at
    the kink, like relu's).
    """
    rows, columns = prediction.shape
    scale = 1.0 / (rows * columns)
    total = 0.0
    for i in range(rows):
        for j in range(columns):
            y = np.float64(target[i, j])
            if y == 0.0:
                y = -1.0
            margin = 1.0 - y * np.float64(prediction[i, j])
            if margin > 0.0:
                total += margin
                grad[i, j] = -y * scale
            else:
                grad[i, j] = 0.0
    return total * scale


# --- classification --------------------------------------------------------------


@loss_kernel
def binary_crossentropy_loss(prediction, target, grad, params):
    """Binary cross-entropy, averaged over every element. params = [from_logits].

    Probabilities (``from_logits = 0``), ``torch.nn.BCELoss()``: each log is
    clamped to ``>= -100``::

        -(y max(log p, -100) + (1 - y) max(log(1 - p), -100))
        gradient (p - y) / max(p (1 - p), 1e-12) / (rows columns)

    Logits ``x`` (``from_logits = 1``), ``torch.nn.BCEWithLogitsLoss()``::

        softplus(x) - x y = (1 - y) softplus(x) + y softplus(-x)
        gradient (sigmoid(x) - y) / (rows columns) = ((1 - y) sigmoid(x) - y sigmoid(-x)) / (rows columns)

    evaluated in the right-hand forms, with ``softplus(x) = max(x, 0) +
    log1p(exp(-|x|))``: no ``exp`` overflows, and a confident, correct
    prediction keeps its tiny loss and gradient instead of rounding them to 0.
    """
    from_logits = params[0] != 0.0
    rows, columns = prediction.shape
    scale = 1.0 / (rows * columns)
    total = 0.0
    for i in range(rows):
        for j in range(columns):
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
                total += (1.0 - y) * (max(p, 0.0) + shared) + y * (max(-p, 0.0) + shared)
                grad[i, j] = ((1.0 - y) * positive - y * negative) * scale
            else:
                total -= y * max(math.log(p), -100.0) + (1.0 - y) * max(math.log1p(-p), -100.0)
                grad[i, j] = (p - y) / max(p * (1.0 - p), 1e-12) * scale
    return total * scale


@loss_kernel
def categorical_crossentropy_loss(prediction, target, grad, params):
    """Categorical cross-entropy, summed over classes, averaged over rows. params = [from_logits, epsilon].

    ``target`` is one column of integer class labels, or rows of class
    probabilities (one-hot or soft) shaped like ``prediction``.

    Logits ``x`` (``from_logits = 1``), ``torch.nn.CrossEntropyLoss()``
    (labels or probabilities), through the log-sum-exp::

        lse = m + log sum_j exp(x_j - m),  m = max_j x_j
        loss = sum_j y_j (lse - x_j)                   (labels: lse - x_label)
        gradient (softmax(x)_j sum_k y_k - y_j) / rows

    Probabilities ``p`` (``from_logits = 0``), Keras's
    ``categorical_crossentropy`` and ``sparse_categorical_crossentropy``:
    each row is normalized, ``q = p / sum_k p_k``, then clipped,
    ``c = clip(q, eps, 1 - eps)``::

        loss = -sum_j y_j log c_j
        a_j = -y_j / c_j where eps <= q_j <= 1 - eps, else 0     (d loss / d q_j)
        gradient (a_j - sum_k a_k q_k) / sum_k p_k / rows
    """
    from_logits = params[0] != 0.0
    epsilon = params[1]
    rows, columns = prediction.shape
    labels = target.shape[1] == 1 and columns > 1
    total = 0.0
    for i in range(rows):
        label = _label(target, i, columns) if labels else 0
        if label < 0:
            total = math.nan
            _nan_row(grad, i)
            continue
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
                clipped = min(max(q, epsilon), 1.0 - epsilon)
                total -= y * math.log(clipped)
                if q >= epsilon and q <= 1.0 - epsilon:
                    weighted -= y / clipped * q
            for j in range(columns):
                y = (1.0 if j == label else 0.0) if labels else np.float64(target[i, j])
                q = np.float64(prediction[i, j]) / row_sum
                a = -y / q if (q >= epsilon and q <= 1.0 - epsilon) else 0.0
                grad[i, j] = (a - weighted) / row_sum / rows
    return total / rows


@loss_kernel
def kl_divergence_loss(prediction, target, grad, params):
    """Kullback-Leibler divergence, ``keras.losses.KLDivergence``. params = [epsilon].

    Per row ``sum_j y_j log(y_j / p_j)`` with ``y`` and ``p`` clipped to
    ``[eps, 1]``, averaged over rows; without clipping it is
    ``torch.nn.KLDivLoss(reduction="batchmean")`` applied to ``log p``.
    Gradient ``-clip(y) / clip(p) / rows`` where ``eps <= p <= 1``, else 0.
    """
    epsilon = params[0]
    rows, columns = prediction.shape
    total = 0.0
    for i in range(rows):
        for j in range(columns):
            p = np.float64(prediction[i, j])
            y = min(max(np.float64(target[i, j]), epsilon), 1.0)
            clipped = min(max(p, epsilon), 1.0)
            total += y * math.log(y / clipped)
            grad[i, j] = -y / clipped / rows if (p >= epsilon and p <= 1.0) else 0.0
    return total / rows
