"""Tables of samples to train on: scikit-learn's bundled data sets, CSV files and NPZ files.

    >>> from numbagrad import datasets
    >>> digits = datasets.load("digits")             # needs scikit-learn: pip install 'numbagrad[cli]'
    >>> digits.X.shape, digits.task, len(digits.classes)
    ((1797, 64), 'classification', 10)

:func:`load` returns a :class:`Dataset`: the features as a float64 matrix,
the targets as they are in the source (numbers, or text labels), the column
names and whether the targets are classes or numbers to predict. Nothing is
scaled or split here (that is :mod:`numbagrad.preprocessing`).

Sources:

* a name in :data:`NAMED`: scikit-learn's copies shipped inside its wheel,
  so they load offline; scikit-learn is imported on first use only.
* ``*.csv``: one sample per line, an optional header (the first line is
  taken for one when any of its cells is not a number), the target in the
  last column unless ``target`` names another (by header name or index).
  Features must be numbers; the target may hold text labels.
* ``*.npz``: the features in an array ``X``, the targets in ``y`` (or the
  array that ``target`` names). Loaded with ``allow_pickle=False``.

Every error names the file and, for a bad cell, its column and line.
"""

from __future__ import annotations

import csv
import io
import math
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence, TextIO

import numpy as np

from numbagrad import bundled
from numbagrad.hyperparameters import closest_names, did_you_mean

__all__ = ["Dataset", "NAMED", "TASKS", "load", "read_features", "read_cells", "infer_task", "MAX_INFERRED_CLASSES"]

#: What a model learns from a data set: classes, or numbers.
TASKS = ("classification", "regression")

#: scikit-learn's bundled data sets: name -> (task, description).
NAMED = {
    "digits": ("classification", "handwritten digits, 8x8 pixels"),
    "iris": ("classification", "iris flowers, 4 measurements, 3 species"),
    "wine": ("classification", "wines, 13 chemical measurements, 3 cultivars"),
    "breast_cancer": ("classification", "breast tumours, 30 cell measurements, malignant or benign"),
    "diabetes": ("regression", "diabetes progression after one year, 10 measurements"),
}

#: A numeric target with at most this many distinct whole numbers is read as classes.
MAX_INFERRED_CLASSES = 20

_INSTALL = "pip install 'numbagrad[cli]'"


@dataclass
class Dataset:
    """Samples read from a source, unscaled.

    Attributes:
        name: the data set's name, or the file's name.
        X: features, float64, shape (samples, features).
        y: targets, one per sample (a vector) or several (a matrix), as in
            the source: numbers, or strings for text class labels; None when
            the source has no targets (inputs to predict).
        feature_names: one name per column of ``X``.
        target_name: the target column's name (None without targets).
        task: ``"classification"`` or ``"regression"`` (None without targets).
        classes: for classification, the distinct target values, sorted.
        class_names: how each class is written in reports and predictions.
        table: a CSV whose feature columns need encoding (text categories,
            blank cells, ``categorical`` columns): the cells as stripped text,
            ``""`` for a blank one, shape (samples, features), and ``X`` is
            None until :class:`numbagrad.columns.ColumnEncoding` turns them into numbers.
        lines: with ``table``, the file's line of each row, for messages.
    """

    name: str
    X: np.ndarray | None
    y: np.ndarray | None
    feature_names: list[str]
    target_name: str | None = None
    task: str | None = None
    classes: list[Any] | None = None
    class_names: list[str] | None = None
    table: np.ndarray | None = None
    lines: list[int] | None = None

    @property
    def samples(self) -> int:
        return int((self.X if self.X is not None else self.table).shape[0])

    @property
    def features(self) -> int:
        return len(self.feature_names)

    def describe(self) -> str:
        """One line: size, features and what is predicted."""
        text = f"{self.name}: {self.samples:,} samples, {self.features} features"
        if self.task == "classification":
            text += f", {len(self.classes)} classes"
        elif self.task == "regression":
            outputs = 1 if self.y.ndim == 1 else self.y.shape[1]
            text += ", a number to predict" if outputs == 1 else f", {outputs} numbers to predict"
        return text

    def with_task(self, task: str | None) -> "Dataset":
        """This data set with ``task`` forced (None keeps the inferred one).

        Raises:
            ValueError: regression asked for text targets.
        """
        if task is None or task == self.task:
            return self
        if task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}; got {task!r}")
        if task == "regression":
            if self.y.dtype.kind not in "biuf":
                raise ValueError(f"{self.name}: the target {self.target_name!r} holds text labels; regression needs numbers")
            return replace(self, task=task, classes=None, class_names=None)
        classes, names = _classes(self.y, self.name, self.target_name)
        return replace(self, task=task, classes=classes, class_names=names)


# --- named data sets -------------------------------------------------------------------


def _named(name: str) -> Dataset:
    """A bundled data set: read from scikit-learn's files (:mod:`numbagrad.bundled`, a second
    faster than importing it), or by its loader when the files are not as expected."""
    found = bundled.read(name)
    if found is not None:
        X, y, features, target_names = found
    else:
        try:
            from sklearn import datasets as loaders
        except ImportError:
            raise ImportError(f"the data set {name!r} comes with scikit-learn, which is not installed: {_INSTALL}") from None
        bunch = getattr(loaders, f"load_{name}")()
        X, y, features = bunch.data, bunch.target, list(bunch.feature_names)
        target_names = None if NAMED[name][0] == "regression" else list(bunch.target_names)
    task = NAMED[name][0]
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    features = [str(f) for f in features]
    if task == "regression":
        return Dataset(name, X, y.astype(np.float64), features, "target", task)
    classes = [int(c) for c in np.unique(y)]
    names = [str(n) for n in target_names]
    return Dataset(name, X, y.astype(np.int64), features, "target", task, classes, names)


# --- CSV ---------------------------------------------------------------------------------


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def _dialect(sample: str) -> type[csv.Dialect] | csv.Dialect:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        return csv.excel  # a single column, or nothing to go by


def _read_rows(path: Path | str, stream: TextIO | None = None) -> tuple[list[str] | None, list[tuple[int, list[str]]]]:
    """``(header or None, [(line number, cells), ...])`` of the CSV file ``path`` (or of ``stream``,
    text that ``path`` names in messages), blank lines skipped."""
    if stream is None:
        with open(path, newline="", encoding="utf-8-sig") as file:
            return _read_rows(path, file)
    sample = stream.read(65536)
    stream.seek(0)
    reader = csv.reader(stream, _dialect(sample))
    try:
        rows = [(reader.line_num, [cell.strip() for cell in row]) for row in reader if any(cell.strip() for cell in row)]
    except csv.Error as error:  # a cell beyond the csv module's field limit (128 KiB), a NUL byte
        raise ValueError(f"{path}, line {reader.line_num}: not a readable CSV row ({error})") from None
    if not rows:
        raise ValueError(f"{path}: the file has no rows")
    first = rows[0][1]
    header = None
    # A first line with any cell that is not a number names the columns.
    if any(_number(cell) is None for cell in first):
        header, rows = first, rows[1:]
        if not rows:
            raise ValueError(f"{path}: the file has a header but no rows")
    width = len(header) if header is not None else len(rows[0][1])
    for line, cells in rows:
        if len(cells) != width:
            what = "the header has" if header is not None else "the first row has"
            raise ValueError(f"{path}, line {line}: {len(cells)} fields; {what} {width}")
    return header, rows


def _column_index(path: Path, names: list[str], target: str | int, has_header: bool) -> int:
    """The column that ``target`` names: a header name, or an index (negative counts from the end)."""
    text = str(target).strip()
    if has_header and text in names:
        return names.index(text)
    try:
        index = int(text)
    except ValueError:
        hint = closest_names(text, names)
        suggestion = f" (did you mean {' or '.join(map(repr, hint))}?)" if hint else ""
        listed = ", ".join(names) if has_header else f"the file has no header; give an index from 0 to {len(names) - 1}"
        raise ValueError(f"{path}: no column {text!r}{suggestion}; columns: {listed}") from None
    if not -len(names) <= index < len(names):
        raise ValueError(f"{path}: column index {index} is out of range; the file has {len(names)} columns (0 to {len(names) - 1})")
    return index % len(names)


def _numeric_column(path: Path, rows, column: int, name: str, role: str) -> np.ndarray:
    values = np.empty(len(rows))
    for row, (line, cells) in enumerate(rows):
        cell = cells[column]
        value = _number(cell)
        if value is None or not math.isfinite(value):
            what = "an empty cell (a missing value)" if cell == "" else f"{cell!r} is not a finite number"
            raise ValueError(f"{path}: column {name!r}, row {row + 1} (line {line}): {what}; {role}")
        values[row] = value
    return values


def _feature_matrix(path: Path, rows, names: Sequence[str], columns: Sequence[int]) -> np.ndarray:
    """The ``columns`` of the parsed ``rows`` as a float64 matrix; a cell that is not a finite number is an error."""
    X = np.empty((len(rows), len(columns)))
    for j, column in enumerate(columns):
        X[:, j] = _numeric_column(path, rows, column, names[column], "feature columns must hold numbers")
    return X


def _column_names(header: list[str] | None, rows) -> list[str]:
    """The header, or the columns' indices as names when the file has none."""
    return header if header is not None else [str(i) for i in range(len(rows[0][1]))]


def _picked(path: Path, names: list[str], wanted: Sequence[str], flag: str, has_header: bool) -> list[int]:
    """The columns that ``wanted`` names (header names, or indices in a file without a header)."""
    return [_column_index(path, names, name, has_header) for name in wanted] if wanted else []


def _csv(path: Path, target: str | int | None, with_target: bool = True, categorical: Sequence[str] = (),
         drop: Sequence[str] = (), keep_cells: bool = False) -> Dataset:
    header, rows = _read_rows(path)
    width = len(rows[0][1])
    names = _column_names(header, rows)
    if with_target:
        target_column = _column_index(path, names, target, header is not None) if target is not None else width - 1
        if width < 2:
            raise ValueError(f"{path}: the file has one column; it needs feature columns and a target column")
    else:
        target_column = None
    dropped = _picked(path, names, drop, "--drop", header is not None)
    if target_column in dropped:
        raise ValueError(f"{path}: --drop names the target column {names[target_column]!r}; choose another target with --target")
    forced = _picked(path, names, categorical, "--categorical", header is not None)
    if target_column in forced:
        raise ValueError(f"{path}: --categorical names the target column {names[target_column]!r}; it applies to feature columns "
                         "(a text target is a classification already)")
    feature_columns = [c for c in range(width) if c != target_column and c not in dropped]
    if not feature_columns:
        raise ValueError(f"{path}: --drop leaves no feature column")
    features = [names[c] for c in feature_columns]
    table = np.array([[cells[c] for c in feature_columns] for _, cells in rows], dtype=object)
    plain = not forced and not keep_cells and all(_number(cell) is not None and math.isfinite(_number(cell)) for cell in table.flat)
    if plain:
        X, table, lines = table.astype(np.float64), None, None
    else:
        X, lines = None, [line for line, _ in rows]
    if target_column is None:
        return Dataset(path.name, X, None, features, table=table, lines=lines)
    cells = [cells[target_column] for _, cells in rows]
    numbers = [_number(cell) for cell in cells]
    if all(n is not None and math.isfinite(n) for n in numbers):
        y = np.array(numbers)
    else:
        for row, (cell, (line, _)) in enumerate(zip(cells, rows)):
            if cell == "":
                raise ValueError(f"{path}: column {names[target_column]!r}, row {row + 1} (line {line}): an empty cell (a missing target)")
        y = np.array(cells)
    return _with_inferred_task(Dataset(path.name, X, y, features, names[target_column], table=table, lines=lines))


# --- NPZ -------------------------------------------------------------------------------------


def _npz(path: Path, target: str | int | None, with_target: bool = True) -> Dataset:
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as error:
        raise ValueError(f"{path}: not a readable NPZ file ({error})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: a single .npy array, not an NPZ archive of named arrays (save with np.savez(path, X=..., y=...))")
    with archive:
        keys = list(archive.files)

        def read(key: str) -> np.ndarray:
            try:
                return archive[key]
            except ValueError as error:  # object arrays need pickle, which stays off
                raise ValueError(f"{path}: array {key!r} cannot be read without pickle ({error}); save numbers or text") from None

        if "X" not in keys:
            raise ValueError(f"{path}: no array named 'X' (the features); the file holds {', '.join(keys) or 'nothing'}")
        X = read("X")
        if X.dtype.kind not in "biuf":
            raise ValueError(f"{path}: array 'X' has dtype {X.dtype}; features must be numbers")
        if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
            raise ValueError(f"{path}: array 'X' has shape {X.shape}; features must be a non-empty 2-D array (samples, features)")
        X = X.astype(np.float64)
        bad = np.argwhere(~np.isfinite(X))
        if len(bad):
            row, column = bad[0]
            raise ValueError(f"{path}: array 'X', row {row}, column {column}: {X[row, column]} is not a finite number")
        features = [str(i) for i in range(X.shape[1])]
        if not with_target:
            return Dataset(path.name, X, None, features)
        key = "y" if target is None else str(target)
        if key not in keys:
            hint = closest_names(key, keys)
            suggestion = f" (did you mean {' or '.join(map(repr, hint))}?)" if hint else ""
            raise ValueError(f"{path}: no array named {key!r}{suggestion} for the target; the file holds {', '.join(keys)}")
        y = read(key)
    if y.dtype.kind not in "biufUS" or y.ndim not in (1, 2) or (y.ndim == 2 and y.dtype.kind in "US"):
        raise ValueError(f"{path}: array {key!r} has dtype {y.dtype} and shape {y.shape}; targets must be a vector of numbers or labels, or a matrix of numbers")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"{path}: array {key!r} has {y.shape[0]} rows and 'X' has {X.shape[0]}; they must match")
    if y.dtype.kind in "biuf":
        y = y.astype(np.float64)
        bad = np.argwhere(~np.isfinite(y))
        if len(bad):
            raise ValueError(f"{path}: array {key!r}, row {bad[0][0]}: {y[tuple(bad[0])]} is not a finite number")
    else:
        y = y.astype(str)
    return _with_inferred_task(Dataset(path.name, X, y, features, key))


# --- tasks and classes ----------------------------------------------------------------------------


def infer_task(y: np.ndarray) -> str:
    """``"classification"`` for text labels or a vector of at most
    :data:`MAX_INFERRED_CLASSES` distinct whole numbers; ``"regression"`` otherwise."""
    if y.dtype.kind in "US":
        return "classification"
    if y.ndim == 1 and np.all(y == np.round(y)) and len(np.unique(y)) <= MAX_INFERRED_CLASSES:
        return "classification"
    return "regression"


def _classes(y: np.ndarray, name: str, target_name: str | None) -> tuple[list[Any], list[str]]:
    if y.ndim != 1:
        raise ValueError(f"{name}: the target {target_name!r} has {y.shape[1]} columns; classification needs one label per sample")
    values = np.unique(y)
    if values.dtype.kind in "US":
        classes = [str(v) for v in values]
        return classes, classes
    classes = [int(v) if float(v).is_integer() else float(v) for v in values]
    return classes, [str(c) for c in classes]


def _with_inferred_task(dataset: Dataset) -> Dataset:
    task = infer_task(dataset.y)
    dataset.task = task
    if task == "classification":
        dataset.classes, dataset.class_names = _classes(dataset.y, dataset.name, dataset.target_name)
    return dataset


# --- entry points ---------------------------------------------------------------------------------


def _file(source: str) -> Path:
    path = Path(source)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".npz"):
        hint = closest_names(source, NAMED)
        suggestion = did_you_mean(hint)
        raise ValueError(f"unknown data {source!r}.{suggestion} Give a data set ({', '.join(NAMED)}) or a .csv or .npz file")
    if not path.is_file():
        raise FileNotFoundError(f"no file {source!r}" + (" (it is a folder)" if path.is_dir() else ""))
    return path


def load(source: str | os.PathLike, target: str | int | None = None, task: str | None = None,
         categorical: Sequence[str] = (), drop: Sequence[str] = (), keep_cells: bool = False) -> Dataset:
    """Read a data set with its targets.

    Args:
        source: a name in :data:`NAMED`, or a ``.csv`` or ``.npz`` file.
        target: the target's column (CSV: header name or index, default the
            last) or array (NPZ: default ``y``); not for named data sets.
        task: ``"classification"`` or ``"regression"``; by default the named
            set's own, or :func:`infer_task` for files.
        categorical: CSV feature columns to read as categories even when they
            hold numbers (codes rather than quantities).
        drop: CSV columns to leave out.
        keep_cells: a CSV keeps its cells as text (:attr:`Dataset.table`) even
            when they are all numbers, as a run that encoded columns reads new data.

    Raises:
        ImportError: a named data set without scikit-learn.
        FileNotFoundError: no such file.
        ValueError: an unknown name or suffix, an unknown column or array, a
            cell that is not a number, ragged rows; the message names the
            file, the column and the line.
    """
    source = os.fspath(source)
    if task is not None and task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}; got {task!r}")
    if source in NAMED:
        if target is not None:
            raise ValueError(f"the data set {source!r} has its target built in; a target column applies to CSV and NPZ files only")
        if categorical or drop:
            raise ValueError(f"--categorical and --drop apply to CSV files; {source!r} is a named data set of numbers")
        return _named(source).with_task(task)
    path = _file(source)
    if path.suffix.lower() == ".csv":
        return _csv(path, target, categorical=categorical, drop=drop, keep_cells=keep_cells).with_task(task)
    if categorical or drop:
        raise ValueError(f"--categorical and --drop apply to CSV files; {os.fspath(path)!r} is an NPZ file of numbers")
    return _npz(path, target).with_task(task)


def read_cells(source: str | os.PathLike, names: Sequence[str]) -> tuple[np.ndarray, list[int], str]:
    """``(cells, lines, shown name)``: the columns ``names`` of a CSV file (``"-"``: standard
    input) as text, in that order (matched by header, or by position in a file of exactly
    that many columns without one), for a run that encoded its columns.

    Raises:
        FileNotFoundError, ValueError: as :func:`load`; a missing column; an NPZ file.
    """
    source = os.fspath(source)
    if source in NAMED:
        raise ValueError(f"inputs to predict must be a .csv file; {source!r} is a named data set (evaluate it with 'numbagrad evaluate')")
    if source == "-":
        path, stream = "<stdin>", io.StringIO(sys.stdin.read())
    else:
        path, stream = _file(source), None
        if path.suffix.lower() != ".csv":
            raise ValueError(f"{path}: the model encodes text and blank cells of its columns ({', '.join(names)}); give a .csv file")
    header, rows = _read_rows(path, stream)
    if header is not None:
        missing = [name for name in names if name not in header]
        if missing:
            hint = closest_names(missing[0], header)
            suggestion = f" (did you mean {' or '.join(map(repr, hint))}?)" if hint else ""
            raise ValueError(f"{path}: no column {missing[0]!r}{suggestion}; the model needs the columns {', '.join(names)}")
        columns = [header.index(name) for name in names]
    elif len(rows[0][1]) == len(names):
        columns = list(range(len(names)))
    else:
        raise ValueError(f"{path}: {len(rows[0][1])} columns and no header; the model needs the columns {', '.join(names)}")
    table = np.array([[cells[c] for c in columns] for _, cells in rows], dtype=object)
    return table, [line for line, _ in rows], os.fspath(path)


def read_features(source: str | os.PathLike, feature_names: Sequence[str] | None, features: int) -> np.ndarray:
    """The features of a CSV or NPZ file of inputs to predict (``"-"``: CSV on standard input),
    as a float64 matrix.

    A CSV with a header and known ``feature_names`` is matched by name (other
    columns, such as a target, are ignored); otherwise the file must have
    exactly ``features`` columns, in the model's order. An NPZ gives ``X``.

    Raises:
        FileNotFoundError, ValueError: as :func:`load`; a missing column;
            the wrong number of columns.
    """
    source = os.fspath(source)
    if source in NAMED:
        raise ValueError(f"inputs to predict must be a .csv or .npz file; {source!r} is a named data set (evaluate it with 'numbagrad evaluate')")
    if source == "-":  # CSV text on standard input
        path, stream = "<stdin>", io.StringIO(sys.stdin.read())
    else:
        path, stream = _file(source), None
    if stream is None and path.suffix.lower() == ".npz":
        X = _npz(path, None, with_target=False).X
    else:
        header, rows = _read_rows(path, stream)
        if header is not None and feature_names is not None:
            missing = [name for name in feature_names if name not in header]
            if missing:
                hint = closest_names(missing[0], header)
                suggestion = f" (did you mean {' or '.join(map(repr, hint))}?)" if hint else ""
                raise ValueError(f"{path}: no column {missing[0]!r}{suggestion}; the model needs the columns {', '.join(feature_names)}")
            X = _feature_matrix(path, rows, header, [header.index(name) for name in feature_names])
        else:
            X = _feature_matrix(path, rows, _column_names(header, rows), range(len(rows[0][1])))
    if X.shape[1] != features:
        raise ValueError(f"{path}: {X.shape[1]} feature columns; the model takes {features}")
    return X
