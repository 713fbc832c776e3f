"""Metric kernels: ``<name>_update``.

Every kernel has the contract of :func:`numbagrad.kernels.signatures.metric_signature`::

    <name>_update(prediction, target, totals, params) -> None

and the metrics whose totals are not sums over rows also have a
``<name>_weighted_update(prediction, target, weights, totals, params)``
(:func:`~numbagrad.kernels.signatures.weighted_metric_signature`), which
counts row ``i`` ``weights[i]`` times. Every kernel adds one batch to the
running ``totals`` (float64), so that an epoch's value is the same however the
epoch is cut into batches; each metric's ``result(totals)`` (in
:mod:`numbagrad.metrics.builtin`) turns the totals into its value. The layout
of ``totals`` is in each docstring. ``target`` has ``prediction``'s shape,
except that the classification metrics also take one column of integer class
labels (stored as floats).

Kernels use :data:`FASTMATH` (sums may be re-associated; NaN and infinity
still propagate). A class label outside ``[0, columns)`` that reaches a kernel
despite the Python-side validation counts as a wrong prediction.

The per-row tests and sums are those of :mod:`numbagrad.kernels.formulas`,
shared with the CUDA kernels.
"""

from __future__ import annotations

import numpy as np

from numbagrad.kernels.cpu.formulas import FORMULAS as F
from numbagrad.kernels.cpu.jit import FASTMATH, inline, kernel

__all__ = [
    "accuracy_update",
    "binary_accuracy_update",
    "categorical_accuracy_update",
    "top_k_accuracy_update",
    "confusion_update",
    "mae_update",
    "mse_update",
    "r2_update",
    "r2_weighted_update",
    "roc_auc_update",
    "roc_auc_weighted_update",
]

# Fast-math that keeps NaN and infinity (see numbagrad.kernels.cpu.jit.FASTMATH).
metric_kernel = kernel(fastmath=FASTMATH)


@inline
def _categorical(prediction, target, totals):
    rows = prediction.shape[0]
    correct = 0.0
    for i in range(rows):
        if F.categorical_match(prediction, target, i):
            correct += 1.0
    totals[0] += correct
    totals[1] += rows


@inline
def _binary(prediction, target, totals, threshold):
    rows, columns = prediction.shape
    correct = 0.0
    for i in range(rows):
        correct = F.binary_matches(prediction, target, i, threshold, correct)
    totals[0] += correct
    totals[1] += rows * columns


@metric_kernel
def categorical_accuracy_update(prediction, target, totals, params):
    """Share of rows whose largest prediction is the true class. params = []; totals = [correct, rows].

    The true class is the row's integer label, or the argmax of its target
    row (one-hot); ties go to the first largest entry, as ``np.argmax`` and
    Keras's ``categorical_accuracy``.
    """
    _categorical(prediction, target, totals)


@metric_kernel
def binary_accuracy_update(prediction, target, totals, params):
    """Share of elements with ``(p > threshold) == (y > 0.5)``, Keras's ``binary_accuracy``.

    For 0/1 targets, ``y > 0.5`` is Keras's ``y == 1``; a soft target (which
    ``accuracy`` accepts for a one-column prediction) counts as its nearer
    label. params = [threshold]; totals = [correct, elements].
    """
    _binary(prediction, target, totals, params[0])


@metric_kernel
def accuracy_update(prediction, target, totals, params):
    """Binary accuracy for one output column, categorical accuracy for several.

    params = [threshold] (used with one column); totals = [correct, count].
    """
    if prediction.shape[1] == 1:
        _binary(prediction, target, totals, params[0])
    else:
        _categorical(prediction, target, totals)


@metric_kernel
def top_k_accuracy_update(prediction, target, totals, params):
    """Share of rows whose true class is among the ``k`` largest predictions. params = [k]; totals = [correct, rows].

    As ``tf.math.in_top_k`` (Keras's ``top_k_categorical_accuracy``): the
    true class counts as in the top ``k`` when fewer than ``k`` classes have
    a strictly larger prediction, so ties at the boundary count in its favour.
    """
    k = params[0]
    rows = prediction.shape[0]
    correct = 0.0
    for i in range(rows):
        if F.top_k_match(prediction, target, i, k):
            correct += 1.0
    totals[0] += correct
    totals[1] += rows


@metric_kernel
def confusion_update(prediction, target, totals, params):
    """Per-class counts of a classification, for precision, recall and F1. params = [threshold].

    ``totals = [TP_0 .. TP_{C-1}, FP_0 .. FP_{C-1}, FN_0 .. FN_{C-1}]``, ``C`` the
    classes: 2 for one output column (``p > threshold`` predicts class 1), else the
    columns (the row's argmax). A row whose label is invalid counts as a false
    positive of its prediction only.
    """
    classes = totals.size // 3
    for i in range(prediction.shape[0]):
        predicted, actual = F.confusion_cell(prediction, target, i, params[0])
        if predicted == actual:
            totals[actual] += 1.0
        else:
            totals[classes + predicted] += 1.0
            if actual >= 0:
                totals[2 * classes + actual] += 1.0


@metric_kernel
def mae_update(prediction, target, totals, params):
    """Mean absolute error over every element. params = []; ``totals = [sum |p - y|, elements]``."""
    rows, columns = prediction.shape
    total = 0.0
    for i in range(rows):
        total = F.absolute_errors(prediction, target, i, total)
    totals[0] += total
    totals[1] += rows * columns


@metric_kernel
def mse_update(prediction, target, totals, params):
    """Mean squared error (and its root) over every element. params = []; totals = [sum (p - y)^2, elements]."""
    rows, columns = prediction.shape
    total = 0.0
    for i in range(rows):
        total = F.squared_errors(prediction, target, i, total)
    totals[0] += total
    totals[1] += rows * columns


@inline
def _batch_weight(weights, rows):
    """The batch's weight: its rows, or the sum of ``weights`` (``None``: unweighted)."""
    if weights is None:
        return np.float64(rows)
    total = 0.0
    for i in range(rows):
        total += weights[i]
    return total


@inline
def _r2(prediction, target, weights, totals):
    rows, columns = prediction.shape
    if rows == 0:
        return
    n = totals[0]
    batch_weight = _batch_weight(weights, rows)
    for j in range(columns):
        F.r2_column(prediction, target, weights, totals, j, n, batch_weight, columns)
    totals[0] = n + batch_weight


@metric_kernel
def r2_update(prediction, target, totals, params):
    """Running sums of the coefficient of determination, per output column. params = [].

    totals = [n, mean_0 .. mean_{m-1}, M2_0 .. M2_{m-1}, SSres_0 .. SSres_{m-1}]:
    the number of rows so far, each column's target mean, its sum of squared
    deviations from that mean, and the sum of squared residuals ``(y - p)^2``.
    Batches are merged with Chan et al.'s update (as Welford's): with the
    batch's own ``n_b``, ``mean_b`` and ``M2_b`` and ``delta = mean_b - mean``::

        mean += delta n_b / (n + n_b)
        M2   += M2_b + delta^2 n n_b / (n + n_b)

    which is exact in exact arithmetic and, unlike ``sum y^2 - (sum y)^2 / n``,
    does not cancel when the targets' mean is large next to their spread.
    """
    _r2(prediction, target, None, totals)


@metric_kernel
def r2_weighted_update(prediction, target, weights, totals, params):
    """:func:`r2_update` with row ``i`` counted ``weights[i]`` times (scikit-learn's
    ``r2_score(..., sample_weight=weights)``): ``n`` becomes the sum of the weights, the means
    weighted means, and each squared deviation and residual is multiplied by its row's weight::

        n_b = sum_i w_i,   mean_b = sum_i w_i y_i / n_b,
        M2_b = sum_i w_i (y_i - mean_b)^2,   SSres_b = sum_i w_i (y_i - p_i)^2

    merged by the same update. A batch of weight 0 changes nothing.
    """
    _r2(prediction, target, weights, totals)


@inline
def _roc_auc(prediction, target, weights, totals):
    rows = prediction.shape[0]
    n = np.int64(totals[0])
    for i in range(rows):
        F.record_scores(prediction, target, weights, totals, i, n)
    totals[0] = n + rows
    totals[1] = prediction.shape[1]


@metric_kernel
def roc_auc_update(prediction, target, totals, params):
    """The batch's scores and true classes, kept for ROC AUC's exact ranking. params = [].

    ``totals = [n, columns, record_0, record_1, ...]``: the number of rows
    recorded so far, the prediction's columns ``C``, then one record of
    ``C + 2`` values per row: its ``C`` scores, its true class (0/1 for
    one column; the class index, -1 for an invalid label, for several) and
    its weight (1 here). The area needs every pair of rows, so no sum of
    fixed size can hold it: the totals grow by a record per row
    (``MetricSpec.row_totals``) and are allocated for the rows a pass will
    see. Batches append in order, so the records are those of the rows in
    the order they came.
    """
    _roc_auc(prediction, target, None, totals)


@metric_kernel
def roc_auc_weighted_update(prediction, target, weights, totals, params):
    """:func:`roc_auc_update` with row ``i``'s record weighted ``weights[i]``: the area then counts
    each (positive, negative) pair ``w_pos w_neg`` times (scikit-learn's ``roc_auc_score(...,
    sample_weight=weights)``)."""
    _roc_auc(prediction, target, weights, totals)
