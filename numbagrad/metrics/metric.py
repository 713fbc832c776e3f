"""A metric with its hyperparameters fixed: running totals updated by its Numba kernel."""

from __future__ import annotations

from typing import Any

import numpy as np

from numbagrad.bound import Supervised
from numbagrad.metrics.spec import MetricSpec

__all__ = ["Metric"]


class Metric(Supervised):
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

    spec_type = MetricSpec

    def __init__(self, spec: MetricSpec, **hyperparameters: Any):
        super().__init__(spec, **hyperparameters)
        self.totals: np.ndarray | None = None
        self._columns: int | None = None

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
        if self.spec.row_totals:  # room for this batch's rows after those kept so far
            grown = np.zeros(totals.size + prediction.shape[0] * self.spec.row_count(columns))
            grown[: totals.size] = totals
            totals = grown
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
        totals = np.zeros(self.spec.total_count(prediction.shape[1], prediction.shape[0]))
        call_metric(self.kernel_table(prediction.dtype), prediction, target, totals, self.params)
        return float(self.spec.result(totals))
