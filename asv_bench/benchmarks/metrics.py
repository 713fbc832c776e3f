"""Every built-in metric over an epoch of 50,000 rows of 10 classes: its kernel on each batch of 256
into totals allocated for the epoch (as the compiled loops call it), then ``result`` once; with and
without sample weights. ROC AUC's rows include its ranking, r2 and ROC AUC weighted their weighted
kernels, the others each row's totals scaled."""

from __future__ import annotations

import numpy as np

from numbagrad import metrics
from numbagrad.kernels.cpu.calls import call_metric
from numbagrad.kernels.cpu.training import weighted_metric_rows

ROWS, COLUMNS, BATCH = 50_000, 10, 256


class Metric:
    """One epoch of each built-in metric."""

    params = [
        sorted({metrics.get(name).spec.name for name, source in metrics.available().items() if source == "numbagrad"}),
        [False, True],
    ]
    param_names = ["metric", "weighted"]
    timeout = 120

    def setup(self, name, weighted):
        rng = np.random.default_rng(0)
        self.metric = metrics.get(name)
        scores = rng.random((ROWS, COLUMNS), dtype=np.float32)
        self.prediction = scores / scores.sum(axis=1, keepdims=True)
        labels = np.argmax(self.prediction + rng.random((ROWS, COLUMNS), dtype=np.float32), axis=1)
        real = self.metric.spec.target == "real"
        self.target = (np.eye(COLUMNS, dtype=np.float32)[labels] if real else labels.reshape(-1, 1).astype(np.float32))
        self.weights = rng.uniform(0.0, 2.0, ROWS) if weighted else None
        self.size = self.metric.spec.total_count(COLUMNS, ROWS)
        self.table = self.metric.kernel_table(np.float32)
        self.tables = np.array([[*self.table, self.size]], dtype=np.int64)
        self.time_epoch(name, weighted)

    def time_epoch(self, name, weighted):
        totals = np.zeros((1, self.size))
        params = self.metric.params.reshape(1, -1)
        for start in range(0, ROWS, BATCH):
            p, y = self.prediction[start : start + BATCH], self.target[start : start + BATCH]
            if self.weights is None:
                call_metric(self.table, p, y, totals[0], self.metric.params)
            else:
                weighted_metric_rows(self.tables, params, totals, p, y, self.weights[start : start + BATCH])
        self.metric.spec.result(totals[0])
