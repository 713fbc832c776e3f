"""From a configuration to data a network can train on, and to the network itself.

:func:`prepare` loads the data, splits it, learns the standardization from
the training rows and fills in what the data decides (task, loss, metrics);
:func:`build_model` creates and compiles the network for one optimizer,
optionally from given initial weights, which is how ``compare`` starts
every optimizer from the same point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from numbagrad import datasets
from numbagrad.nn import Dense, Sequential
from numbagrad.preprocessing import Preprocessing, loss_targets, split_rows
from numbagrad.runs.config import RunConfig
from numbagrad.schedules import with_run_length

__all__ = ["Prepared", "prepare", "build_model", "check_targets", "loss_targets", "default_loss", "default_metrics"]

def default_loss(task: str) -> str:
    """Cross-entropy over a softmax for classes, mean squared error for numbers."""
    return "categorical_crossentropy" if task == "classification" else "mse"


def default_metrics(task: str) -> tuple[str, ...]:
    return ("accuracy",) if task == "classification" else ("mae", "r2")


@dataclass
class Prepared:
    """A run's data, split and transformed, and its configuration with every choice made.

    ``config`` has the task, loss and metrics filled in; ``validation`` is
    None without a validation split.
    """

    config: RunConfig
    dataset: datasets.Dataset
    preprocessing: Preprocessing
    X_train: np.ndarray
    y_train: np.ndarray
    validation: tuple[np.ndarray, np.ndarray] | None

    @property
    def outputs(self) -> int:
        return self.preprocessing.outputs

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.X_train) / self.config.batch_size)

    def describe(self) -> list[str]:
        """Two lines: the data, then the split and transform."""
        held = 0 if self.validation is None else len(self.validation[0])
        split = f"{len(self.X_train):,} for training" + (f", {held:,} for validation" if held else ", none held out for validation")
        return [self.dataset.describe(), f"{split}; {self.preprocessing.describe()}"]


def prepare(config: RunConfig) -> Prepared:
    """Load, split and transform the data of ``config`` (see the module documentation).

    Raises:
        ImportError, FileNotFoundError, ValueError: from :func:`numbagrad.datasets.load`
            and the split; numbagrad.UnknownNameError: an unknown loss.
    """
    if config.normalization == "batch" and config.batch_size < 2 and config.hidden:
        raise ValueError(
            f"{config.origin('normalization')} batch with {config.origin('batch_size')} {config.batch_size}: a batch of one row "
            "has no variance to normalize by (batch_size=1 with batch normalization); use a batch size of 2 or more, or layer"
        )
    dataset = datasets.load(config.data, config.target, config.task, categorical=config.categorical, drop=config.drop)
    if dataset.task == "classification" and len(dataset.classes) < 2:
        raise ValueError(
            f"{dataset.name}: the target {dataset.target_name!r} has a single class ({dataset.classes[0]!r}); "
            "classification needs at least two"
        )
    if config.class_weight != "none" and dataset.task != "classification":
        raise ValueError(
            f"{config.origin('class_weight')} {config.class_weight} weighs classes; {dataset.name} is a regression task"
        )
    labels = dataset.y if dataset.task == "classification" else None
    training, validation = split_rows(dataset.samples, config.validation_split, config.seed, labels)
    preprocessing = Preprocessing.fit(dataset, training, config.standardize, config.categorical, config.unknown_category)
    dtype = np.dtype(config.dtype)
    inputs = preprocessing.inputs(preprocessing.encoded(dataset)).astype(dtype)
    loss = config.loss or default_loss(dataset.task)
    metrics = config.metrics if config.metrics is not None else default_metrics(dataset.task)
    targets = loss_targets(preprocessing.targets(dataset.y, dataset.name), preprocessing.outputs, loss, dataset.task)
    resolved = config.with_changes(task=dataset.task, loss=loss, metrics=tuple(metrics))
    held = (inputs[validation], targets[validation]) if len(validation) else None
    return Prepared(resolved, dataset, preprocessing, inputs[training], targets[training], held)


def _schedule(config: RunConfig, steps_per_epoch: int) -> dict[str, Any] | None:
    """The schedule's table with the run's length filled in where the schedule needs it."""
    if config.schedule is None:
        return None
    return with_run_length(config.schedule, config.epochs * steps_per_epoch, config.epochs)


def _sequential(layers: list[Dense], input_dim: int, config: RunConfig) -> Sequential:
    """The network, on ``config.device`` (checked when the configuration was read)."""
    return Sequential(layers, input_dim=input_dim, dtype=config.dtype, seed=config.seed, device=config.device)


def build_model(prepared: Prepared, optimizer: str, options: Mapping[str, Any], weights: Sequence[np.ndarray] | None = None) -> Sequential:
    """The configured network, compiled with ``optimizer`` and its ``options``.

    Hidden layers use the configured activation; the output layer is a
    softmax over the classes, or linear for regression; ``--normalization``
    normalizes every hidden layer before its activation and ``--dropout``
    follows every hidden layer. ``--l2``/``--l1``
    regularize every layer's weights (not the biases, as scikit-learn's
    ``alpha``). ``weights`` (from another model's ``get_weights()``) replace
    the seeded initial weights.
    """
    config = prepared.config
    output = "softmax" if config.task == "classification" else "linear"
    penalty = {"name": "l1_l2", "l1": config.l1, "l2": config.l2} if config.l1 or config.l2 else None
    if config.dropout and not config.hidden:
        raise ValueError(f"{config.origin('dropout')} {config.dropout} needs a hidden layer to follow; --hidden is none")
    normalization = None if config.normalization == "none" else config.normalization
    layers = [
        Dense(units, activation=config.activation, kernel_regularizer=penalty, dropout=config.dropout, normalization=normalization)
        for units in config.hidden
    ]
    layers.append(Dense(prepared.outputs, activation=output, kernel_regularizer=penalty))
    model = _sequential(layers, prepared.X_train.shape[1], config)
    if weights is not None:
        model.set_weights(weights)
    model.compile(
        optimizer={"name": optimizer, **options},
        loss=config.loss,
        metrics=list(config.metrics),
        schedule=_schedule(config, prepared.steps_per_epoch),
    )
    return model


def check_targets(prepared: Prepared, model: Sequential) -> None:
    """The training targets checked against the loss and the metrics, as ``fit`` will,
    so that a mismatch (``--task regression --loss categorical_crossentropy``) is
    reported before anything is printed or trained."""
    setup = model.training
    targets = setup.loss.targets(prepared.y_train, len(prepared.y_train), model.output_dim, model.dtype)
    setup.check_metric_targets(targets, len(prepared.y_train), model.output_dim)


def resolved_schedule(prepared: Prepared) -> dict[str, Any] | None:
    """The schedule table as the run used it (for its config.toml)."""
    return _schedule(prepared.config, prepared.steps_per_epoch)


def describe_model(model: Sequential) -> str:
    """``64 -> 64 relu -> 10 softmax, 4,810 parameters, float32``; a hidden layer's normalization and
    dropout in parentheses: ``64 relu (batch norm, dropout 0.5)``."""
    sizes = [str(model.input_dim)] + [_describe_layer(layer) for layer in model.layers]
    return f"{' -> '.join(sizes)}, {model.count_params():,} parameters, {model.dtype}"


def _describe_layer(layer: Any) -> str:
    extras = [f"{layer.normalization.short} norm"] if layer.normalization is not None else []
    if layer.dropout:
        extras.append(f"dropout {layer.dropout:g}")
    return f"{layer.units} {layer.activation}" + (f" ({', '.join(extras)})" if extras else "")
