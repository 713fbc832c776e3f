"""A metric with its hyperparameters fixed: running totals updated by its Numba kernel."""

from __future__ import annotations

from typing import Any

import numpy as np

from numbagrad.bound import Supervised
from numbagrad.checks import row_weights
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
        self._buffer: np.ndarray | None = None
        self._columns: int | None = None

    def update(self, prediction: Any, target: Any, sample_weight: Any = None) -> None:
        """Add one batch to the totals, row ``i`` counted ``sample_weight[i]`` times when given.
        Everything is checked before the totals change.

        Raises:
            ValueError: a prediction with another number of columns than the
                batches before it (call :meth:`reset` first), bad targets, or
                bad weights (one finite number >= 0 per row), or weights for a
                metric that sample weights cannot weight (see ``MetricSpec.weighable``).
        """
        prediction, target = self._batch(prediction, target)
        weights = self._weights(prediction, sample_weight, "update")
        columns = prediction.shape[1]
        if self._columns is not None and columns != self._columns:
            raise ValueError(
                f"{self.title}.update(): prediction has {columns} columns; earlier batches had {self._columns} "
                "(call reset() to start over)"
            )
        totals = self.totals if self.totals is not None else np.zeros(self.spec.total_count(columns))
        if self.spec.row_totals:  # room for this batch's rows after those kept so far
            totals = self._room(totals.size + prediction.shape[0] * self.spec.row_count(columns))
        self._add(prediction, target, weights, totals)
        self.totals, self._columns = totals, columns

    def _room(self, size: int) -> np.ndarray:
        """The kept totals lengthened to ``size``: a view of a buffer that at least doubles when it
        grows, so that a metric keeping its rows costs linear time over many small batches."""
        used = 0 if self.totals is None else self.totals.size
        if self._buffer is None or self._buffer.size < size:
            buffer = np.zeros(max(size, 2 * (0 if self._buffer is None else self._buffer.size)))
            if used:
                buffer[:used] = self.totals
            self._buffer = buffer
        return self._buffer[:size]

    def result(self) -> float:
        """The metric over every batch since the last :meth:`reset` (NaN before any)."""
        if self.totals is None:
            return float("nan")
        return float(self.spec.result(self.totals))

    def reset(self) -> None:
        """Forget every batch."""
        self.totals = None
        self._buffer = None
        self._columns = None

    def __call__(self, prediction: Any, target: Any, sample_weight: Any = None) -> float:
        """The metric of one batch alone (row ``i`` counted ``sample_weight[i]`` times when given);
        the running totals are left as they are."""
        prediction, target = self._batch(prediction, target)
        weights = self._weights(prediction, sample_weight, "__call__")
        totals = np.zeros(self.spec.total_count(prediction.shape[1], prediction.shape[0]))
        self._add(prediction, target, weights, totals)
        return float(self.spec.result(totals))

    def _weights(self, prediction: np.ndarray, sample_weight: Any, method: str) -> np.ndarray | None:
        if sample_weight is None:
            return None
        owner = f"{self.title}.{method}()"
        if not self.spec.weighable:
            raise ValueError(
                f"{owner}: the metric {self.name!r} cannot be weighted by sample weights (it has no weighted_update "
                "and its totals are not sums over rows)"
            )
        return row_weights(sample_weight, prediction.shape[0], "sample_weight", owner)

    def _add(self, prediction: np.ndarray, target: np.ndarray, weights: np.ndarray | None, totals: np.ndarray) -> None:
        """The batch added to ``totals`` by the compiled loops' own weighted path (one
        implementation of weighting: the weighted kernel, or each row's totals scaled)."""
        from numbagrad.kernels.cpu.calls import call_metric
        from numbagrad.kernels.cpu.training import weighted_metric_rows

        table = self.kernel_table(prediction.dtype)
        if weights is None:
            call_metric(table, prediction, target, totals, self.params)
            return
        tables = np.array([[*table, totals.size]], dtype=np.int64)
        weighted_metric_rows(tables, self.params.reshape(1, -1), totals.reshape(1, -1), prediction, target, weights)
