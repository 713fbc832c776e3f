"""The declaration of a metric: what users and plugins see.

A metric is data plus one kernel with the contract of
:func:`numbagrad.kernels.signatures.metric_signature`, which adds one batch to
running float64 ``totals``, and a plain Python ``result(totals)`` run once per
epoch. Because batches only add to totals, an epoch's value does not depend
on how the epoch was cut into batches. Built-in metrics are declared exactly
as a plugin declares one::

    import numpy as np
    from numba import njit
    from numbagrad.metrics import MetricSpec

    @njit(cache=True, error_model="numpy")
    def max_error_update(prediction, target, totals, params):
        for i in range(prediction.shape[0]):
            for j in range(prediction.shape[1]):
                totals[0] = max(totals[0], abs(prediction[i, j] - target[i, j]))

    MAX_ERROR = MetricSpec(
        name="max_error", update=max_error_update, totals=1,
        result=lambda totals: float(totals[0]), higher_is_better=False,
        merge=np.maximum,  # maxima of disjoint rows combine by a maximum, not a sum
    )
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from numbagrad.declarations import Declaration, check_cuda_field, first_line, import_cuda, require_kernel
from numbagrad.hyperparameters import Hyperparameter
from numbagrad.targets import TARGET_KINDS

__all__ = ["MetricSpec", "check_kernels"]


@dataclass(frozen=True)
class MetricSpec(Declaration):
    """Declaration of a metric.

    Attributes:
        name: registry name, lower case (``"accuracy"``); looked up case-insensitively.
        update: ``@njit`` ``update(prediction, target, totals, params)`` adding
            one batch to ``totals``.
        totals: the length of ``totals``: a number, or a function of the
            prediction's number of columns (a per-column metric such as r2).
            Totals start at zero.
        result: ``result(totals) -> float``, the metric's value (plain Python,
            run once per epoch).
        hyperparameters: declarations in the order the kernel reads them
            from ``params``.
        target: the kind of targets it accepts, one of
            :data:`numbagrad.targets.TARGET_KINDS`.
        higher_is_better: whether larger values are better (accuracy) or
            worse (errors), for callbacks that watch the metric.
        title: the name in messages and documentation (``"Accuracy"``).
        presets: other registry names for preset hyperparameters, or plain aliases.
        cuda_update: the ``@cuda.jit`` twin of ``update``, with its
            arguments and semantics, launched on one block (contract in
            :mod:`numbagrad.kernels.cuda`); or preferably its import path
            ``"package.module:name"``, imported when CUDA is first used.
            ``None``: the metric runs on the host only.
        additive: whether ``totals`` are sums over rows (counts, sums of
            errors), so that a row of weight ``w`` adds ``w`` times its own
            totals: what ``fit(..., sample_weight=...)`` and
            ``evaluate(..., sample_weight=...)`` need to weight the metric
            when it has no ``weighted_update``.
        weighted_update: ``@njit`` ``weighted_update(prediction, target,
            weights, totals, params)`` adding one batch whose row ``i``
            counts ``weights[i]`` times (float64, ``>= 0``; contract of
            :func:`numbagrad.kernels.signatures.weighted_metric_signature`),
            for a metric whose totals are not sums over rows (r2's running
            means, ROC AUC's records). With integer weights, its totals must
            give the ``result`` of the batch with each row repeated that many
            times. Used with sample or class weights (on the host for a GPU
            model); a metric with neither this nor ``additive`` is refused
            with them.
        merge: ``merge(first, second) -> totals``, the totals of two disjoint
            sets of rows combined (plain Python), as ranks that each train on
            their own rows need; ``None`` (the default): totals add up, as
            counts and sums do. r2's running means and squared deviations
            need their own merge.
        row_totals: how many more totals each row needs (a number, or a
            function of the columns), for a metric that must keep every row
            (ROC AUC's exact ranking keeps each row's scores and class).
            ``totals`` is then allocated with ``totals(columns) + rows *
            row_totals(columns)`` places for the rows a pass will see, and
            ``merge`` is required: it returns the two sets' records together,
            as long as they need (not the length of ``first``).
        override: a plugin's declaration replaces a built-in of the same name
            only when this is true.
    """

    name: str
    update: Any
    totals: int | Callable[[int], int]
    result: Callable[[np.ndarray], float]
    hyperparameters: tuple[Hyperparameter, ...] = ()
    target: str = "real"
    higher_is_better: bool = True
    title: str = ""
    presets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    cuda_update: Any = None
    additive: bool = False
    weighted_update: Any = None
    merge: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
    row_totals: int | Callable[[int], int] = 0

    cuda_fields = ("cuda_update",)
    override: bool = False

    kind = "metric"

    def __post_init__(self):
        self._normalize()

    def total_count(self, columns: int, rows: int = 0) -> int:
        """The length of ``totals`` for a prediction with ``columns`` columns and, for a metric
        with :attr:`row_totals`, room for ``rows`` rows."""
        count = self.totals(columns) if callable(self.totals) else self.totals
        if isinstance(count, bool) or not isinstance(count, numbers.Integral) or count < 1:
            raise ValueError(f"{self.label}: totals must give an integer >= 1; got {count!r} for {columns} columns")
        return int(count) + rows * self.row_count(columns)

    def row_count(self, columns: int) -> int:
        """How many totals each row adds for a prediction with ``columns`` columns (0 for most metrics)."""
        count = self.row_totals(columns) if callable(self.row_totals) else self.row_totals
        if isinstance(count, bool) or not isinstance(count, numbers.Integral) or count < 0:
            raise ValueError(f"{self.label}: row_totals must give an integer >= 0; got {count!r} for {columns} columns")
        return int(count)

    def merged(self, totals: Any) -> np.ndarray:
        """One row of totals from ``totals``' rows (a matrix or a list of vectors), each of a
        disjoint set of rows (in order)."""
        if self.merge is None:
            return np.stack(totals).sum(axis=0)
        merged = totals[0]
        for row in totals[1:]:
            merged = np.asarray(self.merge(merged, row), dtype=np.float64)
        return merged

    @property
    def weighable(self) -> bool:
        """Whether sample weights can weight it: it has a ``weighted_update``, or additive totals."""
        return self.additive or self.weighted_update is not None

    def kernel_table(self, dtype) -> np.ndarray:
        """The int64 addresses ``[update C, update JIT, weighted C, weighted JIT]`` of the kernels
        compiled for ``dtype`` (the last two 0 without a ``weighted_update``)."""
        from numbagrad.kernels.pointers import kernel_addresses
        from numbagrad.kernels.signatures import metric_signature, weighted_metric_signature

        weighted = (0, 0)
        if self.weighted_update is not None:
            weighted = kernel_addresses(self.weighted_update, weighted_metric_signature(dtype))
        return np.array([*kernel_addresses(self.update, metric_signature(dtype)), *weighted], dtype=np.int64)

    def cuda_kernel(self) -> Any:
        """The ``@cuda.jit`` update kernel, imported if declared by path; ``None`` without.

        Raises ``TypeError`` naming the metric when the path cannot be imported.
        """
        return import_cuda(self.label, "cuda_update", self.cuda_update)

    def check_declaration(self) -> None:
        """Check the declaration itself: kernel, totals, result, target kind, hyperparameters.

        Raises ``TypeError`` or ``ValueError`` saying what is wrong.
        """
        label = self.label
        require_kernel(label, "update", self.update)
        require_kernel(label, "weighted_update", self.weighted_update, optional=True)
        check_cuda_field(label, "cuda_update", self.cuda_update)
        if not callable(self.totals):
            self.total_count(1)
        if not callable(self.result):
            raise TypeError(f"{label}: result must be a function of the totals; got {self.result!r}")
        if self.target not in TARGET_KINDS:
            raise ValueError(f"{label}: target must be one of {', '.join(TARGET_KINDS)}; got {self.target!r}")
        if not isinstance(self.higher_is_better, bool):
            raise TypeError(f"{label}: higher_is_better must be True or False; got {self.higher_is_better!r}")
        if not isinstance(self.additive, bool):
            raise TypeError(f"{label}: additive must be True or False; got {self.additive!r}")
        if self.merge is not None and not callable(self.merge):
            raise TypeError(f"{label}: merge must be None or a function of two totals; got {self.merge!r}")
        if not callable(self.row_totals):
            self.row_count(1)
        if self.row_totals and self.merge is None:
            raise ValueError(f"{label}: a metric with row_totals keeps rows, which do not add up: it needs a merge")
        if self.row_totals and self.additive:
            raise ValueError(f"{label}: a metric with row_totals keeps rows: its totals are not additive")
        self._check_common()


_CONTRACTS = {
    "update": "update(prediction: T[:, ::1], target: T[:, ::1], totals: float64[::1], params: float64[::1])",
    "weighted_update": "weighted_update(prediction: T[:, ::1], target: T[:, ::1], weights: float64[::1], "
    "totals: float64[::1], params: float64[::1])",
}


def _attempt(spec: MetricSpec, what: str, dtype: np.dtype, action: Callable[[], Any]) -> Any:
    """``action()``, its failure a ``TypeError`` saying that ``spec``'s kernel ``what`` breaks its contract."""
    try:
        return action()
    except Exception as error:
        raise TypeError(
            f"metric {spec.name!r}: its {what} kernel does not fit the contract {_CONTRACTS[what]} "
            f"for T = {dtype}: {type(error).__name__}: {first_line(error)}"
        ) from None


def _result(spec: MetricSpec, totals: np.ndarray) -> float:
    try:
        value = spec.result(totals)
    except Exception as error:
        raise TypeError(f"metric {spec.name!r}: result(totals) failed: {type(error).__name__}: {first_line(error)}") from None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"metric {spec.name!r}: result(totals) must return a number; got {value!r}")
    return float(value)


def check_kernels(spec: MetricSpec) -> None:
    """Compile ``spec``'s kernels for their contracts, run them once on a tiny batch, then ``result``
    and ``merge``.

    Raises ``TypeError`` naming the metric when a kernel does not fit the
    contract of :func:`numbagrad.kernels.signatures.metric_signature` (or
    :func:`~numbagrad.kernels.signatures.weighted_metric_signature`),
    ``result`` does not return a number, or the weighted kernel with unit
    weights gives another value than the plain one.
    """
    from numbagrad.kernels.cpu.calls import call_metric, call_weighted_metric
    from numbagrad.kernels.pointers import kernel_addresses
    from numbagrad.kernels.signatures import metric_signature, weighted_metric_signature

    params = spec.encode(spec.validate({}))
    for dtype in (np.dtype(np.float64), np.dtype(np.float32)):
        prediction = np.array([[0.75, 0.25, 0.0], [0.0, 0.25, 0.75]], dtype=dtype)
        target = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=dtype)
        totals = np.zeros(spec.total_count(3, rows=2))
        _attempt(spec, "update", dtype, lambda: kernel_addresses(spec.update, metric_signature(dtype)))
        if spec.weighted_update is not None:
            signature = weighted_metric_signature(dtype)
            _attempt(spec, "weighted_update", dtype, lambda: kernel_addresses(spec.weighted_update, signature))
        table = spec.kernel_table(dtype)
        _attempt(spec, "update", dtype, lambda: call_metric(table, prediction, target, totals, params))
        value = _result(spec, totals)
        if spec.weighted_update is not None:
            weighted = np.zeros_like(totals)
            _attempt(
                spec, "weighted_update", dtype,
                lambda: call_weighted_metric(table, prediction, target, np.ones(2), weighted, params),
            )
            weighted_value = _result(spec, weighted)
            if not (np.isclose(weighted_value, value, rtol=1e-6, atol=1e-9) or (math.isnan(value) and math.isnan(weighted_value))):
                raise TypeError(
                    f"metric {spec.name!r}: weighted_update with every weight 1 gives {weighted_value!r}, "
                    f"update gives {value!r}: they must agree"
                )
        if spec.merge is not None:
            try:
                merged = np.asarray(spec.merge(totals, totals.copy()), dtype=np.float64)
            except Exception as error:
                raise TypeError(
                    f"metric {spec.name!r}: merge(first, second) failed: {type(error).__name__}: {first_line(error)}"
                ) from None
            if merged.ndim != 1 if spec.row_totals else merged.shape != totals.shape:
                raise TypeError(
                    f"metric {spec.name!r}: merge(first, second) must return totals of shape {totals.shape}; "
                    f"got shape {merged.shape}"
                )
