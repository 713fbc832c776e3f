"""The record of a training run: one list per value, one entry per epoch, as in Keras."""

from __future__ import annotations

import os
from typing import Any, Iterable

from numbagrad.train.callbacks import Callback

__all__ = ["History"]


class History(Callback):
    """``history.history``: a dict of per-epoch lists (``loss``, ``val_loss``, each
    metric and its ``val_`` twin, ``lr``); ``history.epoch``: the epoch numbers (0-based)."""

    def __init__(self):
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))

    def to_dict(self) -> dict[str, Any]:
        return {"epoch": list(self.epoch), "history": {k: list(v) for k, v in self.history.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "History":
        history = cls()
        history.epoch = [int(e) for e in data.get("epoch", [])]
        history.history = {str(k): [float(x) for x in v] for k, v in data.get("history", {}).items()}
        return history

    def plot(self, path: str | os.PathLike | None = None, keys: Iterable[str] | None = None):
        """Draw the curves: one panel per value, its ``val_`` twin beside it, the learning rate
        on a log scale (:func:`numbagrad.plotting.plot_history`). Writes a PNG to ``path``
        when given; returns the figure."""
        from numbagrad.plotting import plot_history

        if keys is None:
            keys = [k for k in self.history if not k.startswith("val_")]
        return plot_history(self, keys, path)
