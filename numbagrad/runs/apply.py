"""``numbagrad evaluate`` and ``numbagrad predict``: a saved model applied to new data.

The model is a run folder (its ``model.ngm``) or a model file. The
preprocessing saved inside the file (:mod:`numbagrad.preprocessing`) is
applied to the data first: the same feature columns, in the same order, the
same standardization, the same classes. A model saved from Python without
one takes the data's columns as they are.
"""

from __future__ import annotations

import csv
import io
import os
import sys
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from numbagrad import datasets
from numbagrad.files import write_atomically
from numbagrad.preprocessing import Preprocessing
from numbagrad.train import load_model

__all__ = ["load_trained", "evaluate", "predict"]


def load_trained(path: str | os.PathLike) -> tuple[Any, Preprocessing | None, Path]:
    """``(model, preprocessing or None, model file)`` from a run folder or a model file.

    Raises:
        FileNotFoundError: no such file or folder, or a folder without ``model.ngm``.
        numbagrad.train.ModelFileError: not a numbagrad model.
    """
    model_path = Path(path)
    if model_path.is_dir():
        if not (model_path / "model.ngm").is_file():
            raise FileNotFoundError(f"MODEL {os.fspath(path)!r} is a folder without model.ngm; give a run folder or a model file")
        model_path = model_path / "model.ngm"
    elif not model_path.exists():
        raise FileNotFoundError(f"MODEL: no file or folder {os.fspath(path)!r}")
    model = load_model(model_path)
    return model, model.preprocessing, model_path


def _aligned(dataset: datasets.Dataset, preprocessing: Preprocessing | None, model: Any) -> np.ndarray:
    """The data's features in the model's column order: by name when the data names
    every column the model was trained on, else by position. A model that encodes its
    columns gets their cells, checked here so that a message names the file's line."""
    if preprocessing is not None and preprocessing.encoding is not None:
        names = preprocessing.encoding.names
        if set(names) <= set(dataset.feature_names):
            order = [dataset.feature_names.index(name) for name in names]
        elif len(dataset.feature_names) == len(names):
            order = list(range(len(names)))
        else:
            raise ValueError(f"{dataset.name}: no column {sorted(set(names) - set(dataset.feature_names))[0]!r}; "
                             f"the model needs the columns {', '.join(names)}")
        table = dataset.table[:, order]
        preprocessing.encoding.transform(table, dataset.name, dataset.lines)
        return table
    X = dataset.X
    if preprocessing is not None and set(preprocessing.feature_names) <= set(dataset.feature_names):
        X = X[:, [dataset.feature_names.index(name) for name in preprocessing.feature_names]]
    if X.shape[1] != model.input_dim:
        raise ValueError(f"{dataset.name}: {X.shape[1]} feature columns; the model takes {model.input_dim}")
    return X


def evaluate(path: str | os.PathLike, data: str, target: str | None = None, batch_size: int | None = None) -> tuple[dict[str, float], str]:
    """The saved model's loss and metrics on ``data``; returns ``(values, description of the data)``.

    ``target`` defaults to the column the model was trained on (files) or
    the data set's own target (named data sets).

    Raises:
        ValueError: a model saved without compile options (no loss to
            evaluate), features that do not match, unknown class labels.
    """
    model, preprocessing, model_path = load_trained(path)
    if model.training is None:
        raise ValueError(f"{model_path}: the model was saved without compile options; evaluate needs its loss (save it after model.compile)")
    if target is None and preprocessing is not None and data not in datasets.NAMED:
        target = preprocessing.target_name
    encoded = preprocessing is not None and preprocessing.encoding is not None
    if encoded and data in datasets.NAMED:
        raise ValueError(f"{model_path}: the model reads the columns {', '.join(preprocessing.encoding.names)} of a CSV file; "
                         f"{data!r} is a named data set")
    dataset = datasets.load(data, target, keep_cells=encoded)
    if encoded and dataset.table is None:
        raise ValueError(f"{dataset.name}: the model reads the columns {', '.join(preprocessing.encoding.names)} of a CSV file; give one")
    # The model applies its run's preprocessing itself: raw features, labels as the data writes them.
    X = _aligned(dataset, preprocessing, model)
    y = dataset.y
    if preprocessing is not None:
        preprocessing.targets(dataset.y, dataset.name)  # unknown labels named with the data set's name
    else:
        X = X.astype(model.dtype)
    described = f"{dataset.name}: {dataset.samples:,} samples"
    if preprocessing is not None and preprocessing.target_std is not None:
        stds = ", ".join(f"{v:.4g}" for v in preprocessing.target_std)
        described += f"; the target standardized as in training: losses and metrics in units of its std ({stds})"
    return model.evaluate(X, y, batch_size=batch_size), described


def _prediction_table(outputs: np.ndarray, preprocessing: Preprocessing | None) -> tuple[list[str], list[list[Any]]]:
    if preprocessing is None:
        return [f"output_{j}" for j in range(outputs.shape[1])], outputs.tolist()
    if preprocessing.task == "classification":
        names = preprocessing.class_names
        chosen = outputs.argmax(axis=1)
        header = ["prediction"] + [f"probability_{name}" for name in names]
        return header, [[names[c], *map(str, row)] for c, row in zip(chosen, outputs)]
    values = outputs.astype(np.float64)  # the model gave them in the target's units
    header = ["prediction"] if values.shape[1] == 1 else [f"prediction_{j}" for j in range(values.shape[1])]
    return header, [[repr(float(v)) for v in row] for row in values]


def _write(stream: TextIO, header: list[str], rows: list[list[Any]]) -> None:
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)


def _output_file(output: str) -> Path:
    """The file ``--output`` names, checked before any work."""
    target = Path(output)
    if not target.parent.is_dir():
        raise FileNotFoundError(f"--output {output!r}: the folder {os.fspath(target.parent)!r} does not exist")
    if target.is_dir():
        raise ValueError(f"--output {output!r} is a folder; give a file name such as predictions.csv")
    return target


def predict(path: str | os.PathLike, inputs: str, output: str | None = None, batch_size: int = 1024, stdout: TextIO | None = None) -> int:
    """Write the saved model's predictions for the rows of ``inputs`` (CSV or NPZ) as CSV,
    to ``output`` (atomically) or to standard output; returns the number of rows.

    Classification gives the predicted class and each class's probability;
    regression the predicted value(s), in the target's own units.
    """
    target = None if output is None else _output_file(output)
    model, preprocessing, _ = load_trained(path)
    if preprocessing is not None and preprocessing.encoding is not None:
        X, lines, shown = datasets.read_cells(inputs, preprocessing.encoding.names)
        preprocessing.encoding.transform(X, shown, lines)  # a bad cell named by its line, before any work
    else:
        names = None if preprocessing is None else preprocessing.feature_names
        X = datasets.read_features(inputs, names, model.input_dim)
    outputs = model.predict(X if preprocessing is not None else X.astype(model.dtype), batch_size=batch_size)
    header, rows = _prediction_table(outputs, preprocessing)
    if output is None:
        _write(stdout or sys.stdout, header, rows)
        return len(rows)
    buffer = io.StringIO()
    _write(buffer, header, rows)
    write_atomically(target, lambda temporary: temporary.write_text(buffer.getvalue(), encoding="utf-8"))
    return len(rows)
