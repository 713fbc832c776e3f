"""What a finished run reports: final and best values, time and speed, as text and as data."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from numbagrad.registry import get_registry

__all__ = ["Trained", "better", "best_epoch", "axis_labels", "summary", "result_lines", "table", "seconds", "number", "shown_keys"]


@dataclass
class Trained:
    """One model after ``fit``: its history, how long training took, how it ended.

    Attributes:
        label: the optimizer's name as the user gave it.
        seconds: wall-clock time of ``fit`` (validation included; the
            compiled loop was ready before it started).
        samples: training samples per epoch.
        stopped_at: the epoch (counted from 1) where early stopping ended
            training, or None.
    """

    label: str
    model: Any
    history: Any
    seconds: float
    samples: int
    stopped_at: int | None = None

    @property
    def epochs(self) -> int:
        return len(self.history.epoch)

    @property
    def samples_per_second(self) -> float:
        return self.samples * self.epochs / self.seconds if self.seconds > 0 else math.inf


def better(key: str) -> str:
    """``"max"`` for a metric where larger is better (accuracy, r2), else ``"min"`` (losses, errors)."""
    name = key[4:] if key.startswith("val_") else key
    if name == "loss":
        return "min"
    try:
        return "max" if get_registry().lookup("metric", name).spec.higher_is_better else "min"
    except ValueError:  # not a metric (lr): report it as recorded
        return "min"


def best_epoch(values: list[float], direction: str) -> int:
    """Index of the best value (the first, on ties); NaN never wins."""
    finite = [(v, i) for i, v in enumerate(values) if not math.isnan(v)]
    if not finite:
        return len(values) - 1
    pick = min if direction == "min" else max
    return pick(finite, key=lambda pair: pair[0])[1]


# How each loss and metric is measured, by canonical name: "nats" (a log-likelihood per sample),
# "linear" or "squared" (the target's own unit, or its square), a fixed unit, or none.
_LOSS_UNITS = {
    "categorical_crossentropy": "nats", "binary_crossentropy": "nats", "kl_divergence": "nats", "poisson": "nats",
    "mse": "squared", "mae": "linear", "huber": "linear", "log_cosh": "linear", "msle": "squared log(1 + y)",
}
_METRIC_UNITS = {
    "accuracy": "fraction correct", "binary_accuracy": "fraction correct", "categorical_accuracy": "fraction correct",
    "top_k_categorical_accuracy": "fraction correct", "mae": "linear", "rmse": "linear", "mse": "squared",
    "r2": "fraction of variance explained",
}


def axis_labels(keys: list[str], loss: str, preprocessing: Any) -> dict[str, str]:
    """Each key's y-axis label with its unit: ``{"loss": "categorical_crossentropy (nats per sample)",
    "accuracy": "accuracy (fraction correct)", "lr": "learning rate (log scale)"}``.

    A regression's errors are in the target's unit, or in its standard
    deviations when the run standardized it (training sees the standardized
    target); a classification's squared errors are in probability.
    """
    registry = get_registry()
    target = getattr(preprocessing, "target_name", None) or "the target"
    if getattr(preprocessing, "task", None) != "regression":
        linear = "probability"
    elif getattr(preprocessing, "target_std", None) is not None:
        linear = f"standard deviations of {target}"
    else:
        linear = f"units of {target}"

    def unit(kind: str) -> str | None:
        return {"nats": "nats per sample", "linear": linear, "squared": f"{linear}, squared"}.get(kind, kind)

    labels = {}
    for key in keys:
        name = key[4:] if key.startswith("val_") else key
        if name == "lr":
            labels[key] = "learning rate (log scale)"
            continue
        try:
            canonical = registry.lookup("loss", loss).spec.name if name == "loss" else registry.lookup("metric", name).spec.name
        except ValueError:  # a name the registry no longer has: label it by itself
            labels[key] = name
            continue
        shown = loss if name == "loss" else name
        measured = unit((_LOSS_UNITS if name == "loss" else _METRIC_UNITS).get(canonical))
        labels[key] = f"{shown} ({measured})" if measured else shown
    return labels


def summary(trained: Trained) -> dict[str, Any]:
    """The run's figures as plain data (``report.json``)."""
    records = trained.history.history
    final = {key: values[-1] for key, values in records.items()}
    best = {}
    for key, values in records.items():
        if key == "lr":
            continue
        i = best_epoch(values, better(key))
        best[key] = {"value": values[i], "epoch": i + 1}
    return {
        "optimizer": trained.label,
        "epochs": trained.epochs,
        "stopped_early_at": trained.stopped_at,
        "seconds": trained.seconds,
        "samples_per_epoch": trained.samples,
        "samples_per_second": trained.samples_per_second,
        "final": final,
        "best": best,
    }


def seconds(value: float) -> str:
    """``0.61 s``, ``0.0123 s``, ``12.3 s``: three significant digits."""
    return f"{value:.3g} s"


def number(value: float) -> str:
    """Four significant digits (``0.1235``, ``1.235e+04``); ``nan`` and ``inf`` as they are."""
    return f"{value:.4g}" if math.isfinite(value) else str(value)


def shown_keys(records: dict[str, list[float]]) -> list[str]:
    """The values a report judges a run by: the validation ones, or else all but the learning rate."""
    return [key for key in records if key.startswith("val_")] or [key for key in records if key != "lr"]


def result_lines(trained: Trained) -> list[str]:
    """The final report: epochs, time, speed, final values and the best validation ones."""
    records = trained.history.history
    stopped = f" (early stopping at epoch {trained.stopped_at})" if trained.stopped_at else ""
    lines = [
        f"{trained.epochs} epochs{stopped} in {seconds(trained.seconds)}: {trained.samples_per_second:,.0f} samples/s",
        "final: " + ", ".join(f"{key} {number(values[-1])}" for key, values in records.items() if key != "lr"),
    ]
    watched = shown_keys(records)
    best = []
    for key in watched:
        i = best_epoch(records[key], better(key))
        best.append(f"{key} {number(records[key][i])} (epoch {i + 1})")
    lines.append("best: " + ", ".join(best))
    return lines


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Left-aligned columns two spaces apart."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in [header, *rows]]
