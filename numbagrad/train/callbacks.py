"""Callbacks: code that runs at epoch boundaries of ``fit``.

Python only sees the boundaries of epochs: batches run in compiled code. A
callback gets ``on_train_begin``/``on_train_end`` and
``on_epoch_begin``/``on_epoch_end``, with ``logs`` holding the epoch's
values (``loss``, ``val_loss``, each metric, ``lr``); setting
``self.model.stop_training = True`` ends training after the epoch.
"""

from __future__ import annotations

import math
import numbers
import os
from typing import Any

import numpy as np

from numbagrad.checks import integer

__all__ = ["Callback", "EarlyStopping", "ModelCheckpoint", "ReduceLROnPlateau"]


class Callback:
    """Base class: override the hooks you need. ``self.model`` is set by ``fit``.

    In data-parallel training (:mod:`numbagrad.distributed`) every rank runs the
    callbacks with the same logs, except those that set ``writes = True`` (they
    write files: checkpoints, logs), which run on rank 0 only.
    """

    model: Any = None
    #: Run on rank 0 only in data-parallel training.
    writes: bool = False

    def set_model(self, model: Any) -> None:
        self.model = model

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        pass

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        pass

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        pass


def _check_mode(mode: str, monitor: str, owner: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{owner}: mode must be 'auto', 'min' or 'max'; got {mode!r}")
    if mode == "auto":
        maximized = ("accuracy", "r2", "auc")
        return "max" if any(word in monitor for word in maximized) else "min"
    return mode


def _check_count(value: Any, name: str, owner: str) -> int:
    return integer(value, name, 0, owner)


def _check_number(value: Any, name: str, owner: str, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < minimum:
        raise ValueError(f"{owner}: {name} must be a finite number >= {minimum:g}; got {value!r}")
    return float(value)


class _Monitor(Callback):
    """Shared bookkeeping: is the monitored value better than the best so far?"""

    def __init__(self, monitor: str, mode: str, min_delta: float, owner: str):
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(f"{owner}: monitor must be a history key such as 'val_loss'; got {monitor!r}")
        self.monitor = monitor
        self.mode = _check_mode(mode, monitor, owner)
        self.min_delta = _check_number(min_delta, "min_delta", owner)
        self.owner = owner
        self.best = math.inf if self.mode == "min" else -math.inf

    def current(self, logs: dict[str, float] | None) -> float:
        logs = logs or {}
        if self.monitor not in logs:
            raise KeyError(
                f"{self.owner}: monitor={self.monitor!r} is not among this epoch's values "
                f"{sorted(logs)}; pass validation data to monitor a 'val_' value"
            )
        return float(logs[self.monitor])

    def improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class EarlyStopping(_Monitor):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs
    (as Keras: with ``patience=2``, the second epoch in a row without improvement is the last).

    Args:
        monitor: history key to watch (default ``"val_loss"``).
        patience: epochs without improvement before stopping.
        min_delta: smallest change that counts as an improvement.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (max for accuracies, else min).
        restore_best_weights: put back the weights of the best epoch when stopping
            (and at the end of training).
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 0, min_delta: float = 0.0, mode: str = "auto", restore_best_weights: bool = False):
        super().__init__(monitor, mode, min_delta, "EarlyStopping")
        self.patience = _check_count(patience, "patience", "EarlyStopping")
        if not isinstance(restore_best_weights, (bool, np.bool_)):
            raise TypeError(f"EarlyStopping: restore_best_weights must be True or False; got {restore_best_weights!r}")
        self.restore_best_weights = bool(restore_best_weights)
        self.wait = 0
        self.stopped_epoch: int | None = None
        self.best_epoch: int | None = None
        self.best_weights: list[np.ndarray] | None = None

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = None
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        value = self.current(logs)
        if self.improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()  # host copies, wherever the model lives
            return
        self.wait += 1
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(_Monitor):
    """Save the model after each epoch, or only when ``monitor`` improved.

    Args:
        path: file to write; ``{epoch}`` and history keys are filled in
            (``"model-{epoch:03d}-{val_loss:.3f}.ngm"``).
        monitor: history key deciding what "best" means (default ``"val_loss"``).
        save_best_only: write only when the monitored value improves.
        mode: ``"min"``, ``"max"`` or ``"auto"``.
    """

    writes = True

    def __init__(self, path: str | os.PathLike, monitor: str = "val_loss", save_best_only: bool = False, mode: str = "auto"):
        super().__init__(monitor, mode, 0.0, "ModelCheckpoint")
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"ModelCheckpoint: path must be a file path; got {path!r}")
        if not isinstance(save_best_only, (bool, np.bool_)):
            raise TypeError(f"ModelCheckpoint: save_best_only must be True or False; got {save_best_only!r}")
        self.path = os.fspath(path)
        self.save_best_only = bool(save_best_only)
        self.saved: list[str] = []

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.save_best_only:
            value = self.current(logs)
            if not self.improved(value):
                return
            self.best = value
        target = self.path.format(epoch=epoch + 1, **logs)
        self.model.save(target)
        self.saved.append(target)


class ReduceLROnPlateau(_Monitor):
    """Multiply the learning rate by ``factor`` when ``monitor`` stops improving.

    Args:
        monitor: history key to watch (default ``"val_loss"``).
        factor: in (0, 1): ``lr = max(lr * factor, min_lr)``.
        patience: epochs without improvement before reducing.
        min_delta: smallest change that counts as an improvement.
        cooldown: epochs to wait after a reduction before counting again.
        min_lr: the learning rate never goes below this.
        mode: ``"min"``, ``"max"`` or ``"auto"``.
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10, min_delta: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0, mode: str = "auto"):
        super().__init__(monitor, mode, min_delta, "ReduceLROnPlateau")
        factor = _check_number(factor, "factor", "ReduceLROnPlateau")
        if not 0 < factor < 1:
            raise ValueError(f"ReduceLROnPlateau: factor must be in (0, 1); got {factor!r}")
        self.factor = factor
        self.patience = _check_count(patience, "patience", "ReduceLROnPlateau")
        self.cooldown = _check_count(cooldown, "cooldown", "ReduceLROnPlateau")
        self.min_lr = _check_number(min_lr, "min_lr", "ReduceLROnPlateau")
        self.wait = 0
        self.cooldown_left = 0

    def on_train_begin(self, logs=None):
        if self.model.training.schedule is not None:
            raise ValueError("ReduceLROnPlateau cannot be combined with a learning-rate schedule; use one or the other")
        self.wait = 0
        self.cooldown_left = 0
        self.best = math.inf if self.mode == "min" else -math.inf

    def on_epoch_end(self, epoch, logs=None):
        value = self.current(logs)
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.wait = 0
        if self.improved(value):
            self.best, self.wait = value, 0
            return
        if self.cooldown_left > 0:
            return
        self.wait += 1
        if self.wait >= self.patience:
            for optimizer in self.model.training.optimizers.values():
                for group in optimizer.param_groups:
                    group["lr"] = max(group["lr"] * self.factor, self.min_lr)
            self.cooldown_left = self.cooldown
            self.wait = 0
