"""What a run did to its data before training, so that evaluation and prediction do the same.

A :class:`Preprocessing` records the feature columns, the standardization
(mean and standard deviation of each feature, computed on the training rows
only, so that nothing of the validation rows leaks into training), the
target's name, the task and the classes. It travels inside the saved model
file as an extra member, ``preprocessing.json``, which
:func:`numbagrad.load_model` ignores: the file stays an ordinary model, and
``numbagrad evaluate`` and ``numbagrad predict`` find the transform in the
one file they are given.

For regression the target is standardized too (when features are): a
network starts with outputs near zero and an optimizer moves weights by
about the learning rate per step, so a target in the hundreds would take
thousands of steps just to reach its scale. Losses and metrics during
training are then in units of the target's standard deviation; predictions
are converted back.
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from dataclasses import dataclass
from typing import Any

import numpy as np

from numbagrad.columns import ColumnEncoding, cells
from numbagrad.data import as_inputs
from numbagrad.datasets import Dataset

__all__ = ["Preprocessing", "split_rows", "loss_targets", "MEMBER"]

#: The name of the preprocessing record inside a model file.
MEMBER = "preprocessing.json"
#: The largest record read (a few KiB for a thousand features).
_MAX_BYTES = 16 << 20


def split_rows(samples: int, fraction: float, seed: int, labels: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(training rows, validation rows)``: a shuffled split with ``fraction`` of the rows held out.

    With ``labels`` (classification) the split is stratified: each class
    gives the same fraction of its rows, so a small data set keeps every
    class on both sides.

    Raises:
        ValueError: a side would be empty.
    """
    rng = np.random.default_rng(seed)
    if fraction == 0:
        return rng.permutation(samples), np.empty(0, dtype=np.int64)
    groups = [np.arange(samples)] if labels is None else [np.flatnonzero(labels == value) for value in np.unique(labels)]
    training, validation = [], []
    for rows in groups:
        rows = rng.permutation(rows)
        held = int(round(len(rows) * fraction))
        training.append(rows[held:])
        validation.append(rows[:held])
    training, validation = np.concatenate(training), np.concatenate(validation)
    if len(training) == 0 or len(validation) == 0:
        raise ValueError(
            f"validation split {fraction:g} of {samples} samples leaves {len(training)} for training and "
            f"{len(validation)} for validation; both need at least one"
        )
    return rng.permutation(training), rng.permutation(validation)


_FIELDS = {
    "format", "format_version", "feature_names", "task", "target_name", "mean", "std", "classes", "class_names",
    "target_mean", "target_std", "columns",
}


def loss_targets(targets: np.ndarray, outputs: int, loss: str, task: str) -> np.ndarray:
    """Class indices as the loss wants them: as they are for a loss of class labels,
    one-hot rows for any other (``mse`` or ``hinge`` on classes)."""
    from numbagrad.registry import get_registry

    if task != "classification" or get_registry().lookup("loss", loss).spec.target == "labels":
        return targets
    return np.eye(outputs)[targets.astype(np.int64)]


def _floats(values: Any, name: str) -> np.ndarray | None:
    if values is None:
        return None
    if not isinstance(values, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise ValueError(f"preprocessing: {name} must be a list of finite numbers")
    array = np.array(values, dtype=np.float64)
    if not np.isfinite(array).all():
        raise ValueError(f"preprocessing: {name} must be a list of finite numbers")
    return array


def _scale(data: dict, mean_key: str, std_key: str, length: int | None) -> tuple[np.ndarray | None, np.ndarray | None]:
    """A standardization's mean and std: both absent, or lists of one length (``length``, when given)
    with positive stds."""
    mean, std = _floats(data.get(mean_key), mean_key), _floats(data.get(std_key), std_key)
    if (mean is None) != (std is None):
        raise ValueError(f"preprocessing: {mean_key} and {std_key} go together")
    if mean is not None:
        expected = len(mean) if length is None else length
        if len(mean) != expected or len(std) != expected or not expected:
            raise ValueError(f"preprocessing: {mean_key} and {std_key} must each hold {expected or 'at least one'} numbers")
        if (std <= 0).any():
            raise ValueError(f"preprocessing: {std_key} must be positive")
    return mean, std


@dataclass
class Preprocessing:
    """The transform between a data set's columns and a network's inputs and targets.

    Attributes:
        feature_names: the network's inputs, in order: the data's columns, or
            with :attr:`encoding`, its numbers and one-hot categories (``colour=red``).
        task: ``"classification"`` or ``"regression"``.
        target_name: the target's column (or array) in the training data.
        mean, std: per-feature standardization, or None (features as they are).
        classes: classification: the target values, in output order.
        class_names: classification: how each class is written.
        target_mean, target_std: regression: the target's standardization, or None.
        encoding: a CSV with text categories or blank cells: how its raw columns
            become the inputs (:class:`numbagrad.columns.ColumnEncoding`), or None.
            The data then comes as rows of cells in :attr:`raw_columns`' order.
    """

    feature_names: list[str]
    task: str
    target_name: str | None = None
    mean: np.ndarray | None = None
    std: np.ndarray | None = None
    classes: list[Any] | None = None
    class_names: list[str] | None = None
    target_mean: np.ndarray | None = None
    target_std: np.ndarray | None = None
    encoding: ColumnEncoding | None = None

    @classmethod
    def fit(cls, dataset: Dataset, rows: np.ndarray, standardize: bool, categorical: tuple[str, ...] = (),
            unknown_category: str = "error") -> "Preprocessing":
        """The preprocessing of ``dataset`` learnt from its training ``rows`` only: the
        columns' encoding (a dataset with :attr:`~numbagrad.datasets.Dataset.table`; see
        :mod:`numbagrad.columns`), then the standardization."""
        encoding = None
        feature_names = list(dataset.feature_names)
        if dataset.table is not None:
            encoding = ColumnEncoding.fit(dataset.table, dataset.feature_names, rows, categorical, unknown_category,
                                          where=dataset.name, lines=dataset.lines)
            feature_names = encoding.feature_names
        record = cls(feature_names=feature_names, task=dataset.task, target_name=dataset.target_name,
                     classes=dataset.classes, class_names=dataset.class_names, encoding=encoding)
        if standardize:
            record.mean, record.std = _moments(record.encoded(dataset)[rows])
            if dataset.task == "regression":
                record.target_mean, record.target_std = _moments(dataset.y[rows].reshape(len(rows), -1))
        return record

    @property
    def raw_columns(self) -> list[str]:
        """The data's columns the model reads, in order: :attr:`feature_names`, or the encoded columns."""
        return self.feature_names if self.encoding is None else self.encoding.names

    def encoded(self, dataset: Dataset) -> np.ndarray:
        """The data set's features as numbers (its cells encoded), before standardization."""
        if self.encoding is None:
            return dataset.X
        return self.encoding.transform(dataset.table, dataset.name, dataset.lines)

    # --- the transform -----------------------------------------------------------------

    @property
    def outputs(self) -> int:
        """The network's output units: one per class, or one per target column."""
        if self.task == "classification":
            return len(self.classes)
        return 1 if self.target_mean is None else len(self.target_mean)

    def inputs(self, X: np.ndarray) -> np.ndarray:
        """Features as the network takes them (standardized when the run standardized)."""
        if self.mean is None:
            return X
        return (X - self.mean) / self.std

    def targets(self, y: np.ndarray, name: str = "the data") -> np.ndarray:
        """Targets as the network's loss takes them: class indices (a vector) for
        classification, standardized numbers (a matrix) for regression.

        Raises:
            ValueError: a label the model does not know, text for regression.
        """
        if self.task == "classification":
            if y.ndim != 1:
                raise ValueError(f"{name}: the target has {y.shape[1]} columns; the model predicts one class per sample")
            # A label may be given as its value (2) or its name ("virginica").
            names = self.class_names or [str(c) for c in self.classes]
            lookup = {**{name: i for i, name in enumerate(names)}, **{str(c): i for i, c in enumerate(self.classes)}}
            indices = np.empty(len(y), dtype=np.float64)
            for row, key in enumerate(str(_plain(v)) for v in y):
                if key not in lookup:
                    known = ", ".join(names)
                    if names != [str(c) for c in self.classes]:
                        known += f" (or {', '.join(map(str, self.classes))})"
                    raise ValueError(f"{name}: row {row + 1} has the label {key!r}; the model knows {known}")
                indices[row] = lookup[key]
            return indices
        if y.dtype.kind not in "biuf":
            raise ValueError(f"{name}: the target holds text; the model predicts numbers")
        matrix = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        if matrix.shape[1] != self.outputs:
            raise ValueError(f"{name}: the target has {matrix.shape[1]} columns; the model predicts {self.outputs}")
        if self.target_mean is None:
            return matrix
        return (matrix - self.target_mean) / self.target_std

    def network_inputs(self, X: Any, name: str = "X") -> np.ndarray:
        """Features as the data has them (checked: 2-D, one column per feature, finite) to what
        the network takes, in float64. With :attr:`encoding`, ``X`` is rows of cells in
        :attr:`raw_columns`' order: text, numbers, and ``None``, NaN or ``""`` where a value is missing."""
        if self.encoding is not None:
            return self.inputs(self.encoding.transform(cells(X, len(self.encoding.names), name), name))
        return self.inputs(as_inputs(X, np.float64, len(self.feature_names), name))

    def network_targets(self, y: Any, loss: str, name: str = "y") -> np.ndarray:
        """Targets as the data has them (class labels or names; values in their own units) to what
        ``loss`` takes: class indices or one-hot rows, standardized values."""
        array = np.asarray(y)
        if self.task == "classification" and array.ndim == 2 and array.shape[1] == 1:
            array = array[:, 0]
        return loss_targets(self.targets(array, name), self.outputs, loss, self.task)

    def predictions(self, outputs: np.ndarray) -> np.ndarray:
        """Regression: the network's outputs in the target's own units."""
        if self.target_mean is None:
            return outputs
        return outputs * self.target_std + self.target_mean

    def describe(self) -> str:
        """How the data was transformed, in a few words."""
        encoded = self.encoding.describe() if self.encoding is not None else ""
        encoded = f"{encoded}, missing cells filled; " if encoded else ("missing cells filled; " if self.encoding is not None else "")
        if self.mean is None:
            return encoded + "features as they are"
        text = encoded + "features standardized (mean and std of the training rows)"
        if self.target_mean is not None:
            text += "; target standardized too: losses and metrics are in units of its std"
        return text

    # --- plain data and model files ----------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        def listed(array):
            return None if array is None else [float(v) for v in array]

        record = {
            "format": "numbagrad-preprocessing",
            # Version 2 adds the columns' encoding: a reader of version 1 could not apply it.
            "format_version": 1 if self.encoding is None else 2,
            "feature_names": list(self.feature_names),
            "task": self.task,
            "target_name": self.target_name,
            "mean": listed(self.mean),
            "std": listed(self.std),
            "classes": None if self.classes is None else [_plain(c) for c in self.classes],
            "class_names": self.class_names,
            "target_mean": listed(self.target_mean),
            "target_std": listed(self.target_std),
        }
        if self.encoding is not None:
            record["columns"] = self.encoding.to_dict()
        return record

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Preprocessing":
        """Raises ValueError for anything but a dict from :meth:`to_dict`: each field is checked
        (types, lengths that agree, finite numbers, positive scales), since the record may come
        from a downloaded model file."""
        if not isinstance(data, dict) or data.get("format") != "numbagrad-preprocessing":
            raise ValueError("preprocessing: not a numbagrad preprocessing record")
        unknown = sorted(set(data) - _FIELDS)
        if unknown:
            raise ValueError(f"preprocessing: unknown field {unknown[0]!r}")
        version = data.get("format_version")
        if isinstance(version, bool) or version not in (1, 2):
            raise ValueError(f"preprocessing: format_version {version!r}; this numbagrad reads 1 and 2")
        if (version == 2) != ("columns" in data):
            raise ValueError("preprocessing: the columns' encoding belongs to format_version 2, and only there")
        if data.get("task") not in ("classification", "regression"):
            raise ValueError(f"preprocessing: unknown task {data.get('task')!r}")
        names = data.get("feature_names")
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise ValueError("preprocessing: feature_names must be a non-empty list of strings")
        if data.get("target_name") is not None and not isinstance(data["target_name"], str):
            raise ValueError("preprocessing: target_name must be a string or null")
        mean, std = _scale(data, "mean", "std", len(names))
        target_mean, target_std = _scale(data, "target_mean", "target_std", None)
        classes, class_names = data.get("classes"), data.get("class_names")
        if data["task"] == "classification":
            if not isinstance(classes, list) or not classes or not all(isinstance(c, (str, int, float)) and not isinstance(c, bool) for c in classes):
                raise ValueError("preprocessing: classes must be a non-empty list of labels (numbers or strings)")
            if class_names is not None and (
                not isinstance(class_names, list) or len(class_names) != len(classes) or not all(isinstance(n, str) for n in class_names)
            ):
                raise ValueError(f"preprocessing: class_names must be a list of {len(classes)} strings, one per class")
        elif classes is not None or class_names is not None:
            raise ValueError("preprocessing: a regression has no classes")
        encoding = None
        if version == 2:
            encoding = ColumnEncoding.from_dict(data["columns"])
            if encoding.feature_names != names:
                raise ValueError("preprocessing: feature_names are not the inputs its columns' encoding gives")
        return cls(
            feature_names=list(names), task=data["task"], target_name=data.get("target_name"), mean=mean, std=std,
            classes=classes, class_names=class_names, target_mean=target_mean, target_std=target_std, encoding=encoding,
        )

    def check_model(self, model: Any, where: str) -> None:
        """Raise ValueError unless ``model`` takes these features and gives these outputs."""
        outputs = model.layers[-1].units
        if len(self.feature_names) != model.input_dim or self.outputs != outputs:
            raise ValueError(
                f"{where}: its {MEMBER} describes {len(self.feature_names)} features and {self.outputs} outputs; "
                f"the model has {model.input_dim} inputs and {outputs} outputs"
            )

    def attach(self, model_path: str | os.PathLike) -> None:
        """Add this record to a model file written by ``model.save`` (which is left loadable)."""
        with zipfile.ZipFile(model_path, "a") as archive:
            archive.writestr(MEMBER, json.dumps(self.to_dict(), indent=1))

    @classmethod
    def read(cls, model_path: str | os.PathLike) -> "Preprocessing | None":
        """The record in a model file, or None for a model saved from Python without one."""
        from numbagrad.train.checkpoint import ModelFileError

        where = os.fspath(model_path)
        try:
            with zipfile.ZipFile(model_path) as archive:
                return cls.from_archive(archive, where)
        except (OSError, zipfile.BadZipFile) as error:
            raise ModelFileError(f"{where}: not a readable model file ({error})") from None

    @classmethod
    def from_archive(cls, archive: zipfile.ZipFile, where: str) -> "Preprocessing | None":
        """The record in an open model file, or None; ``ModelFileError`` naming ``where`` when it is
        compressed, oversized or invalid in any field."""
        from numbagrad.train.checkpoint import ModelFileError

        try:
            if MEMBER not in archive.namelist():
                return None
            info = archive.getinfo(MEMBER)
            if info.compress_type != zipfile.ZIP_STORED or info.file_size > _MAX_BYTES:
                raise ValueError(f"compressed, or larger than {_MAX_BYTES} bytes")
            return cls.from_dict(json.loads(archive.read(MEMBER).decode("utf-8")))
        except (ValueError, KeyError, TypeError, UnicodeDecodeError, RecursionError, OSError, zipfile.BadZipFile, EOFError, NotImplementedError) as error:
            reason = "nested too deeply" if isinstance(error, RecursionError) else error
            raise ModelFileError(f"{where}: its {MEMBER} is invalid ({reason})") from None


def _moments(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and standard deviation; a constant column (the blank border
    pixels of the digits) keeps a std of 1, so it is centred rather than divided by zero."""
    mean = values.mean(axis=0)
    std = values.std(axis=0)
    std = np.where(std > 1e-12 * np.maximum(1.0, np.abs(mean)), std, 1.0)
    return mean, std


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python number or string it holds; whole floats as ints (3.0 -> 3)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value
