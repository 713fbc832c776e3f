"""Dropout: during training, each output of the layer before it is zeroed with probability
``rate`` and the others scaled by ``1 / (1 - rate)`` (inverted dropout, as ``torch.nn.Dropout``
and Keras's ``Dropout``); at inference (``predict``, ``evaluate``, validation) it does nothing.

Its masks come from the fit's seeded random generator through a counter-based hash (see
:mod:`numbagrad.kernels.cpu.dropout`): a seeded fit is reproducible bit for bit, resumes exactly
after ``save``/``load_model``, and gives the same weights on any number of MPI ranks.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["Dropout", "keep_mask", "check_rate"]

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def check_rate(rate, owner: str) -> float:
    """``rate`` as a float in [0, 1), or a ValueError naming ``owner``."""
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not (math.isfinite(rate) and 0.0 <= rate < 1.0):
        raise ValueError(f"{owner}: rate must be a number in [0, 1) (the fraction of outputs dropped); got {rate!r}")
    return float(rate)


class Dropout:
    """Drop a fraction ``rate`` of the previous layer's outputs while training.

    Goes between two :class:`~numbagrad.nn.Dense` layers of a
    :class:`~numbagrad.nn.Sequential`, as in Keras: ``[Dense(64, "relu"),
    Dropout(0.5), Dense(10, "softmax")]``. The model folds it into the layer
    before it (that layer's ``dropout``), so ``model.layers`` lists the Dense
    layers only.
    """

    def __init__(self, rate: float):
        self.rate = check_rate(rate, "Dropout")

    def get_config(self) -> dict:
        return {"rate": self.rate}

    def __repr__(self) -> str:
        return f"Dropout({self.rate})"


def _mix(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def keep_mask(key: int, step: int, layer: int, first_row: int, rows: int, units: int, rate: float) -> np.ndarray:
    """The (rows, units) boolean mask of the outputs that layer ``layer`` keeps in training step
    ``step`` for the rows ``first_row ...`` of the batch: NumPy's transcription of the compiled
    hash, for tests and for anyone who wants to see the masks a fit used."""
    from numbagrad.kernels.cpu.dropout import ELEMENT, LAYER, STEP

    with np.errstate(over="ignore"):
        base = _mix(np.array([np.uint64(key) + np.uint64(step) * STEP + np.uint64(layer) * LAYER], dtype=np.uint64))[0]
        elements = (np.arange(first_row * units, (first_row + rows) * units, dtype=np.uint64)).reshape(rows, units)
        hashed = _mix(base + elements * ELEMENT)
    return (hashed >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0) >= rate
