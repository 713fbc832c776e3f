"""The record of a training run: one list per value, one entry per epoch, as in Keras."""

from __future__ import annotations

import os
from typing import Any, Iterable

from numbagrad.train.callbacks import Callback

__all__ = ["History", "require_matplotlib"]


def require_matplotlib():
    """``matplotlib.pyplot`` with a headless backend, or an ImportError naming the extra to install."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install 'numbagrad[plot]'") from None
    if not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


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
        on a log scale. Writes a PNG to ``path`` when given; returns the figure."""
        plt = require_matplotlib()
        names = [k for k in (keys or self.history) if not k.startswith("val_")]
        unknown = [k for k in names if k not in self.history]
        if unknown:
            raise KeyError(f"History.plot: no values named {unknown}; recorded: {sorted(self.history)}")
        if not names:
            raise ValueError("History.plot: nothing recorded yet")
        figure, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.4), squeeze=False)
        epochs = [e + 1 for e in self.epoch]
        for axis, name in zip(axes[0], names):
            axis.plot(epochs, self.history[name], marker="o", markersize=3, label=name)
            if "val_" + name in self.history:
                axis.plot(epochs, self.history["val_" + name], marker="o", markersize=3, label="val_" + name)
            if name == "lr":
                axis.set_yscale("log")
            axis.set_xlabel("epoch")
            axis.set_title(name)
            axis.grid(alpha=0.3)
            axis.legend()
        figure.tight_layout()
        if path is not None:
            figure.savefig(os.fspath(path), dpi=110)
        return figure
