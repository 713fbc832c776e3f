"""Every registered loss: value and gradient of a (256, 10) batch, through its kernel."""

from __future__ import annotations

import numpy as np

from numbagrad import losses
from numbagrad.kernels.cpu.calls import call_loss

ROWS, COLUMNS = 256, 10


def _targets(spec, rng):
    kind = spec.target
    if kind == "labels":
        return rng.integers(0, COLUMNS, (ROWS, 1)).astype(np.float32)
    if kind in ("binary", "probability"):
        return (rng.random((ROWS, COLUMNS)) > 0.5).astype(np.float32)
    if kind == "sign":
        return np.where(rng.random((ROWS, COLUMNS)) > 0.5, 1.0, -1.0).astype(np.float32)
    return rng.random((ROWS, COLUMNS), dtype=np.float32)


class Loss:
    """Value and gradient of each built-in loss."""

    # One entry per loss (presets and long names share their loss's kernel).
    params = [sorted({losses.get(name).spec.name for name, source in losses.available().items() if source == "numbagrad"})]
    param_names = ["loss"]

    def setup(self, name):
        rng = np.random.default_rng(0)
        self.loss = losses.get(name)
        self.prediction = rng.random((ROWS, COLUMNS), dtype=np.float32) * 0.9 + 0.05
        self.target = _targets(self.loss.spec, rng)
        self.grad = np.empty_like(self.prediction)
        self.table = self.loss.spec.kernel_table(np.float32)
        self.time_value_and_grad(name)

    def time_value_and_grad(self, name):
        call_loss(self.table, self.prediction, self.target, self.grad, self.loss.params)
