"""numbagrad's built-in metrics, declared as a plugin declares its own."""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from numbagrad.hyperparameters import Hyperparameter
from numbagrad.kernels.cpu import metrics as k
from numbagrad.metrics.spec import MetricSpec

__all__ = [
    "BUILTIN_METRICS",
    "ratio",
    "root_ratio",
    "r2_result",
    "r2_merge",
    "classification_score",
    "roc_auc_result",
    "roc_auc_merge",
    "binary_roc_auc",
]


def _cuda(kernel: str) -> str:
    """The import path of a metric's CUDA update kernel (imported when CUDA is first used)."""
    return f"numbagrad.kernels.cuda.metrics:{kernel}"


def ratio(totals: np.ndarray) -> float:
    """``totals[0] / totals[1]``: a sum over a count; NaN before any update."""
    return float(totals[0] / totals[1]) if totals[1] else math.nan


def root_ratio(totals: np.ndarray) -> float:
    """``sqrt(totals[0] / totals[1])``."""
    return math.sqrt(ratio(totals)) if totals[1] else math.nan


def r2_result(totals: np.ndarray) -> float:
    """The mean over columns of ``1 - SSres / SStot`` (scikit-learn's ``r2_score``, ``"uniform_average"``).

    A column whose targets are all equal (``SStot = 0``) scores 1.0 when it
    is predicted exactly and 0.0 otherwise, as scikit-learn's
    ``force_finite=True``. See :func:`numbagrad.kernels.cpu.metrics.r2_update`
    for the layout of ``totals``.
    """
    if totals[0] == 0:
        return math.nan
    columns = (len(totals) - 1) // 3
    total_squares = totals[1 + columns : 1 + 2 * columns]
    residual_squares = totals[1 + 2 * columns :]
    scores = np.where(
        total_squares > 0,
        1.0 - residual_squares / np.where(total_squares > 0, total_squares, 1.0),
        np.where(residual_squares == 0, 1.0, 0.0),
    )
    return float(scores.mean())


def r2_merge(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """r2's totals of two disjoint sets of rows as one, by the merge its kernel applies to each
    batch (Chan et al.): with ``delta = mean_2 - mean_1``::

        mean = mean_1 + delta n_2 / n
        M2   = M2_1 + M2_2 + delta^2 n_1 n_2 / n
        SSres = SSres_1 + SSres_2,   n = n_1 + n_2
    """
    n1, n2 = first[0], second[0]
    if n1 == 0 or n2 == 0:
        return (second if n1 == 0 else first).copy()
    columns = (len(first) - 1) // 3
    n = n1 + n2
    means = slice(1, 1 + columns)
    squares = slice(1 + columns, 1 + 2 * columns)
    delta = second[means] - first[means]
    merged = first + second
    merged[0] = n
    merged[means] = first[means] + delta * n2 / n
    merged[squares] = first[squares] + second[squares] + delta * delta * n1 * n2 / n
    return merged


def _records(totals: np.ndarray) -> tuple[int, int, np.ndarray]:
    """``(n, columns, records)`` of ROC AUC's totals: ``records`` is ``(n, columns + 2)``, each
    row's scores, its class, then its weight (layout of :func:`numbagrad.kernels.cpu.metrics.roc_auc_update`)."""
    n, columns = int(totals[0]), int(totals[1])
    width = columns + 2
    if n and 2 + n * width > len(totals):
        raise RuntimeError(
            f"ROC AUC: the totals count {n} rows but hold room for {(len(totals) - 2) // width}; "
            "they were allocated for fewer rows than the pass saw"
        )
    return n, columns, totals[2 : 2 + n * width].reshape(n, width)


def binary_roc_auc(scores: np.ndarray, positive: np.ndarray, weights: np.ndarray | None = None) -> float:
    """The area under the ROC curve of ``scores`` for the rows where ``positive`` is true, each row
    counted ``weights[i]`` times (once when ``weights`` is ``None``).

    It is the Mann-Whitney statistic: the weighted share of (positive,
    negative) pairs in which the positive scores higher, a tie counting one
    half. With the distinct scores ``s_1 < s_2 < ...``, ``P_k`` and ``N_k`` the
    weights of the positive and negative rows scoring ``s_k``::

        AUC = sum_k P_k (N_1 + ... + N_{k-1} + N_k / 2) / (P N)

    which is what the trapezoids under scikit-learn's weighted ``roc_curve``
    add up to. NaN when the positives or the negatives weigh nothing, or a
    score is NaN.
    """
    weights = np.ones(scores.size) if weights is None else weights
    positive_weights = np.where(positive, weights, 0.0)
    negative_weights = weights - positive_weights
    positives, negatives = positive_weights.sum(), negative_weights.sum()
    if not (positives > 0 and negatives > 0) or np.isnan(scores).any():
        return math.nan
    distinct, group = np.unique(scores, return_inverse=True)
    positive_by_score = np.bincount(group, weights=positive_weights, minlength=distinct.size)
    negative_by_score = np.bincount(group, weights=negative_weights, minlength=distinct.size)
    negatives_below = np.cumsum(negative_by_score) - negative_by_score
    return float(np.dot(positive_by_score, negatives_below + 0.5 * negative_by_score) / (positives * negatives))


def roc_auc_result(totals: np.ndarray) -> float:
    """ROC AUC of the rows recorded in ``totals``, as scikit-learn's ``roc_auc_score`` (with each
    record's weight as its ``sample_weight``).

    One output column: the area of its score for class 1 (``y > 0.5``).
    Two (a softmax over two classes): the area of column 1's score, as
    scikit-learn scores binary targets. More: one-vs-rest, the unweighted
    mean over the classes of each column's area for its class
    (``multi_class="ovr", average="macro"``). A class that no target has
    (or that every target has; by weight) has no area and is left out of
    the mean, where scikit-learn refuses the data; NaN when no class has one.
    """
    n, columns, records = _records(totals)
    if n == 0:
        return math.nan
    labels, weights = records[:, columns], records[:, columns + 1]
    if columns <= 2:
        return binary_roc_auc(records[:, columns - 1], labels == 1, weights)
    areas = [binary_roc_auc(records[:, c], labels == c, weights) for c in range(columns)]
    defined = [a for c, a in enumerate(areas) if not (math.isnan(a) and _one_sided(labels == c, weights))]
    return float(np.mean(defined)) if defined else math.nan


def _one_sided(positive: np.ndarray, weights: np.ndarray) -> bool:
    """Whether the positive rows or the negative ones weigh nothing (so that the area is undefined)."""
    inside = weights[positive].sum()
    return not (inside > 0 and weights.sum() - inside > 0)


def roc_auc_merge(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """ROC AUC's records of two disjoint sets of rows: ``first``'s, then ``second``'s, as long as they need."""
    n1, columns1, records1 = _records(first)
    n2, columns2, records2 = _records(second)
    if n1 and n2 and columns1 != columns2:
        raise ValueError(f"ROC AUC: cannot merge records of {columns1} and {columns2} columns")
    columns = columns1 if n1 else columns2
    merged = np.empty(2 + (n1 + n2) * (columns + 2))
    merged[0], merged[1] = n1 + n2, columns
    merged[2:] = np.concatenate([records1.ravel(), records2.ravel()])
    return merged


THRESHOLD = Hyperparameter("threshold", 0.5, doc="a prediction above it counts as 1")

ACCURACY = MetricSpec(
    name="accuracy",
    title="Accuracy",
    update=k.accuracy_update,
    totals=2,
    result=ratio,
    hyperparameters=(THRESHOLD,),
    target="labels",
    presets={"acc": {}},
    cuda_update=_cuda("accuracy_update"),
    additive=True,
)
CATEGORICAL_ACCURACY = MetricSpec(
    name="categorical_accuracy",
    title="CategoricalAccuracy",
    update=k.categorical_accuracy_update,
    totals=2,
    result=ratio,
    target="labels",
    presets={"sparse_categorical_accuracy": {}},
    cuda_update=_cuda("categorical_accuracy_update"),
    additive=True,
)
BINARY_ACCURACY = MetricSpec(
    name="binary_accuracy",
    title="BinaryAccuracy",
    update=k.binary_accuracy_update,
    totals=2,
    result=ratio,
    hyperparameters=(THRESHOLD,),
    target="binary",
    cuda_update=_cuda("binary_accuracy_update"),
    additive=True,
)
TOP_K_ACCURACY = MetricSpec(
    name="top_k_accuracy",
    title="TopKCategoricalAccuracy",
    update=k.top_k_accuracy_update,
    totals=2,
    result=ratio,
    hyperparameters=(Hyperparameter("k", 5, kind="int", minimum=1, doc="how many of the largest predictions count"),),
    target="labels",
    presets={"top_k_categorical_accuracy": {}, "sparse_top_k_categorical_accuracy": {}},
    cuda_update=_cuda("top_k_accuracy_update"),
    additive=True,
)
MAE = MetricSpec(
    name="mae", title="MeanAbsoluteError", update=k.mae_update, totals=2, result=ratio, higher_is_better=False,
    presets={"mean_absolute_error": {}},
    cuda_update=_cuda("mae_update"), additive=True,
)
MSE = MetricSpec(
    name="mse", title="MeanSquaredError", update=k.mse_update, totals=2, result=ratio, higher_is_better=False,
    presets={"mean_squared_error": {}},
    cuda_update=_cuda("mse_update"), additive=True,
)
RMSE = MetricSpec(
    name="rmse", title="RootMeanSquaredError", update=k.mse_update, totals=2, result=root_ratio,
    higher_is_better=False, presets={"root_mean_squared_error": {}},
    cuda_update=_cuda("mse_update"), additive=True,
)
R2 = MetricSpec(
    name="r2",
    title="R2Score",
    update=k.r2_update,
    totals=lambda columns: 1 + 3 * columns,
    result=r2_result,
    cuda_update=_cuda("r2_update"),
    weighted_update=k.r2_weighted_update,
    merge=r2_merge,
)

ROC_AUC = MetricSpec(
    name="roc_auc",
    title="AUC",
    update=k.roc_auc_update,
    totals=2,
    row_totals=lambda columns: columns + 2,
    result=roc_auc_result,
    weighted_update=k.roc_auc_weighted_update,
    merge=roc_auc_merge,
    target="labels",
    presets={"auc": {}, "roc_auc_ovr": {}},
    cuda_update=_cuda("roc_auc_update"),
)

#: ``(numerator, denominator)`` of each score from per-class true positives, false positives, false negatives.
_SCORES = {
    "precision": lambda tp, fp, fn: (tp, tp + fp),
    "recall": lambda tp, fp, fn: (tp, tp + fn),
    "f1": lambda tp, fp, fn: (2 * tp, 2 * tp + fp + fn),
}
#: The averages over classes, with scikit-learn's names; "auto" is binary for two classes, macro for more.
AVERAGES = ("auto", "macro", "micro", "weighted")


def classification_score(score: str, average: str) -> Callable[[np.ndarray], float]:
    """``result(totals)`` of precision, recall or F1 from :func:`numbagrad.kernels.cpu.metrics.confusion_update`'s
    counts, averaged as scikit-learn's ``average=``: ``"binary"`` (class 1), ``"macro"`` (the
    unweighted mean over the classes that occur in the targets or the predictions), ``"micro"``
    (from the summed counts) or ``"weighted"`` (weighted by each class's true count). A 0/0 score
    is 0, as scikit-learn's ``zero_division`` default; NaN before any update."""

    def result(totals: np.ndarray) -> float:
        classes = len(totals) // 3
        tp, fp, fn = totals[:classes], totals[classes : 2 * classes], totals[2 * classes :]
        if not (tp.sum() + fp.sum() + fn.sum()) > 0:
            return math.nan
        choice = ("binary" if classes == 2 else "macro") if average == "auto" else average
        if choice == "micro":
            numerator, denominator = _SCORES[score](tp.sum(), fp.sum(), fn.sum())
            return float(numerator / denominator) if denominator > 0 else 0.0
        numerator, denominator = _SCORES[score](tp, fp, fn)
        per_class = np.divide(numerator, denominator, out=np.zeros(classes), where=denominator > 0)
        if choice == "binary":
            return float(per_class[1])
        if choice == "macro":
            return float(per_class[(tp + fp + fn) > 0].mean())
        support = tp + fn
        return float(np.dot(per_class, support) / support.sum()) if support.sum() > 0 else 0.0

    result.__name__ = f"{score}_{average}"
    return result


def _classification_metrics() -> tuple[MetricSpec, ...]:
    specs = []
    for score in _SCORES:
        for average in AVERAGES:
            name = score if average == "auto" else f"{score}_{average}"
            specs.append(
                MetricSpec(
                    name=name,
                    title=("F1Score" if score == "f1" else score.title()) + ("" if average == "auto" else average.title()),
                    update=k.confusion_update,
                    totals=lambda columns: 3 * max(2, columns),
                    result=classification_score(score, average),
                    hyperparameters=(THRESHOLD,),
                    target="labels",
                    presets={"f1_score": {}} if name == "f1" else {},
                    cuda_update=_cuda("confusion_update"),
                    additive=True,
                )
            )
    return tuple(specs)


#: Precision, recall and F1 under scikit-learn's scorer names: ``precision`` (binary for two classes,
#: macro for more), ``precision_macro``, ``precision_micro``, ``precision_weighted``, and the same for
#: ``recall`` and ``f1``.
CLASSIFICATION_METRICS = _classification_metrics()

#: Every built-in metric, in the order of the documentation.
BUILTIN_METRICS = (
    ACCURACY, CATEGORICAL_ACCURACY, BINARY_ACCURACY, TOP_K_ACCURACY, *CLASSIFICATION_METRICS, ROC_AUC, MAE, MSE, RMSE, R2,
)
