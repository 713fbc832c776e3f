"""A metric with its hyperparameters fixed: running totals updated by its Numba kernel."""

from __future__ import annotations

from typing import Any

import numpy as np

from numbagrad.losses.loss import prediction_matrix
from numbagrad.metrics.spec import MetricSpec
from numbagrad.targets import check_targets

__all__ = ["Metric"]


class Metric:
    """A metric bound to validated hyperparameters, with its running totals.

    Created by :func:`numbagrad.metrics.get`::

        >>> import numpy as np
        >>> from numbagrad import metrics
        >>> accuracy = metrics.get("accuracy")
        >>> accuracy.update(np.array([[0.9, 0.1], [0.2, 0.8]]), np.array([0, 0]))
        >>> accuracy.update(np.array([[0.3, 0.7]]), np.array([1]))
        >>> round(accuracy.result(), 4)
        0.6667

    Attributes:
        spec: the declaration.
        hyperparameters: the validated hyperparameters.
        params: the float64 vector the kernel reads.
        totals: the running totals (``None`` before the first update).
    """

    def __init__(self, spec: MetricSpec, **hyperparameters: Any):
        if not isinstance(spec, MetricSpec):
            raise TypeError(f"Metric needs a MetricSpec; got {type(spec).__name__}")
        self.spec = spec
        self.hyperparameters = spec.validate(hyperparameters)
        self.params = spec.encode(self.hyperparameters)
        self.totals: np.ndarray | None = None
        self._columns: int | None = None
        self._tables: dict[np.dtype, np.ndarray] = {}

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def title(self) -> str:
        return self.spec.title

    def kernel_table(self, dtype) -> np.ndarray:
        """The addresses of the kernel for ``dtype`` (see :meth:`MetricSpec.kernel_table`)."""
        dtype = np.dtype(dtype)
        table = self._tables.get(dtype)
        if table is None:
            table = self._tables[dtype] = self.spec.kernel_table(dtype)
        return table

    def check_targets(self, y: Any, prediction_shape: tuple[int, int], argument: str = "y", dtype: Any = None) -> np.ndarray:
        """``y`` checked against the metric's target kind, as a matrix (see :func:`numbagrad.targets.check_targets`)."""
        return check_targets(y, prediction_shape, self.spec.target, self.title, argument, dtype)

    def _batch(self, prediction: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
        matrix = prediction_matrix(self.title, "prediction", prediction)
        return matrix, self.check_targets(target, matrix.shape, "target", matrix.dtype)

    def update(self, prediction: Any, target: Any) -> None:
        """Add one batch to the totals. Everything is checked before the totals change.

        Raises:
            ValueError: a prediction with another number of columns than the
                batches before it (call :meth:`reset` first), or bad targets.
        """
        from numbagrad.kernels.cpu.calls import call_metric

        prediction, target = self._batch(prediction, target)
        columns = prediction.shape[1]
        if self._columns is not None and columns != self._columns:
            raise ValueError(
                f"{self.title}.update(): prediction has {columns} columns; earlier batches had {self._columns} "
                "(call reset() to start over)"
            )
        totals = self.totals if self.totals is not None else np.zeros(self.spec.total_count(columns))
        call_metric(self.kernel_table(prediction.dtype), prediction, target, totals, self.params)
        self.totals, self._columns = totals, columns

    def result(self) -> float:
        """The metric over every batch since the last :meth:`reset` (NaN before any)."""
        if self.totals is None:
            return float("nan")
        return float(self.spec.result(self.totals))

    def reset(self) -> None:
        """Forget every batch."""
        self.totals = None
        self._columns = None

    def __call__(self, prediction: Any, target: Any) -> float:
        """The metric of one batch alone; the running totals are left as they are."""
        from numbagrad.kernels.cpu.calls import call_metric

        prediction, target = self._batch(prediction, target)
        totals = np.zeros(self.spec.total_count(prediction.shape[1]))
        call_metric(self.kernel_table(prediction.dtype), prediction, target, totals, self.params)
        return float(self.spec.result(totals))

    def __repr__(self) -> str:
        options = "".join(f", {k}={v!r}" for k, v in self.hyperparameters.items())
        return f"Metric({self.name!r}{options})"
