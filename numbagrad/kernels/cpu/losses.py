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

The arithmetic is that of :mod:`numbagrad.kernels.formulas`, shared with the
CUDA kernels: ``<name>_terms`` adds one row's terms to the running total and
writes that row's gradient; each kernel threads one total through its rows.
"""

from __future__ import annotations

from numbagrad.kernels.cpu.formulas import FORMULAS as F
from numbagrad.kernels.cpu.jit import FASTMATH, kernel

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

# Fast-math that keeps NaN and infinity (see numbagrad.kernels.cpu.jit.FASTMATH).
loss_kernel = kernel(fastmath=FASTMATH)


# --- regression ------------------------------------------------------------------


@loss_kernel
def mae_loss(prediction, target, grad, params):
    """Mean absolute error: ``mean |p - y|``; ``torch.nn.L1Loss()``, ``keras.losses.MeanAbsoluteError``.

    Gradient ``sign(p - y) / (rows columns)``, 0 where ``p == y`` (PyTorch's
    subgradient). params = [].
    """
    c = F.scale_coefficients(prediction, params)
    total = 0.0
    for i in range(prediction.shape[0]):
        total = F.mae_terms(prediction, target, grad, c, i, total)
    return total * F.element_scale(prediction)


@loss_kernel
def mse_loss(prediction, target, grad, params):
    """Mean squared error: ``mean (p - y)^2``; ``torch.nn.MSELoss()``, ``keras.losses.MeanSquaredError``.

    Gradient ``2 (p - y) / (rows columns)``. params = [].
    """
    c = F.scale_coefficients(prediction, params)
    total = 0.0
    for i in range(prediction.shape[0]):
        total = F.mse_terms(prediction, target, grad, c, i, total)
    return total * F.element_scale(prediction)


@loss_kernel
def huber_loss(prediction, target, grad, params):
    """Huber loss, ``torch.nn.HuberLoss(delta=delta)`` and ``keras.losses.Huber``. params = [delta].

    With ``d = p - y``: ``d^2 / 2`` where ``|d| < delta``, else
    ``delta (|d| - delta / 2)``, averaged over every element. Gradient
    ``clip(d, -delta, delta) / (rows columns)``.
    """
    c = F.first_parameter_and_scale(prediction, params)
    total = 0.0
    for i in range(prediction.shape[0]):
        total = F.huber_terms(prediction, target, grad, c, i, total)
    return total * F.element_scale(prediction)


@loss_kernel
def log_cosh_loss(prediction, target, grad, params):
    """``mean log(cosh(p - y))``, ``keras.losses.LogCosh``. params = [].

    Evaluated as ``|d| + log1p(exp(-2|d|)) - log 2``, which does not
    overflow for large ``|d|``. Gradient ``tanh(p - y) / (rows columns)``.
    """
    c = F.scale_coefficients(prediction, params)
    total = 0.0
    for i in range(prediction.shape[0]):
        total = F.log_cosh_terms(prediction, target, grad, c, i, total)
    return total * F.element_scale(prediction)


@loss_kernel
def msle_loss(prediction, target, grad, params):
    """Mean squared logarithmic error, ``keras.losses.MeanSquaredLogarithmicError``. params = [epsilon].

    ``mean (log(max(p, eps) + 1) - log(max(y, eps) + 1))^2``. Gradient
    ``2 (log(max(p, eps) + 1) - log(max(y, eps) + 1)) / (p + 1) / (rows columns)``
    where ``p >= eps``, and 0 where ``p < eps`` (the clamp is flat there).
    """
    c = F.first_parameter_and_scale(prediction, params)
    total = 0.0
    for i in range(prediction.shape[0]):
        total = F.msle_terms(prediction, target, grad, c, i, total)
    return total * F.element_scale(prediction)


@loss_kernel
def poisson_loss(prediction, target, grad, params):
    """Poisson loss ``mean(p - y log(p + eps))``, ``keras.losses.Poisson``. params = [epsilon].

    With ``epsilon=1e-8`` it is ``torch.nn.PoissonNLLLoss(log_input=False)``.
    Gradient ``(1 - y / (p + eps)) / (rows columns)``.
    """
    c = F.first_parameter_and_scale(prediction, params)
    total = 0.0
    for i in range(prediction.shape[0]):
        total = F.poisson_terms(prediction, target, grad, c, i, total)
    return total * F.element_scale(prediction)


@loss_kernel
def hinge_loss(prediction, target, grad, params):
    """Hinge loss ``mean max(0, 1 - y p)``, ``keras.losses.Hinge``. params = [].

    Targets are -1 or 1; a 0 is read as -1, so 0/1 targets work as in Keras.
    Gradient ``-y / (rows columns)`` where ``1 - y p > 0``, else 0 (also at
    the kink, like relu's).
    """
    c = F.scale_coefficients(prediction, params)
    total = 0.0
    for i in range(prediction.shape[0]):
        total = F.hinge_terms(prediction, target, grad, c, i, total)
    return total * F.element_scale(prediction)


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
    c = F.binary_crossentropy_coefficients(prediction, params)
    total = 0.0
    for i in range(prediction.shape[0]):
        total = F.binary_crossentropy_terms(prediction, target, grad, c, i, total)
    return total * F.element_scale(prediction)


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
    c = F.categorical_crossentropy_coefficients(prediction, params)
    total = 0.0
    for i in range(prediction.shape[0]):
        total = F.categorical_crossentropy_terms(prediction, target, grad, c, i, total)
    return total / prediction.shape[0]


@loss_kernel
def kl_divergence_loss(prediction, target, grad, params):
    """Kullback-Leibler divergence, ``keras.losses.KLDivergence``. params = [epsilon].

    Per row ``sum_j y_j log(y_j / p_j)`` with ``y`` and ``p`` clipped to
    ``[eps, 1]``, averaged over rows; without clipping it is
    ``torch.nn.KLDivLoss(reduction="batchmean")`` applied to ``log p``.
    Gradient ``-clip(y) / clip(p) / rows`` where ``eps <= p <= 1``, else 0.
    """
    c = F.first_parameter(prediction, params)
    total = 0.0
    for i in range(prediction.shape[0]):
        total = F.kl_divergence_terms(prediction, target, grad, c, i, total)
    return total / prediction.shape[0]