"""scikit-learn's bundled data sets, read from the files in its wheel without importing it.

Importing scikit-learn takes over a second (it imports SciPy's sparse and
linear-algebra modules and its array-API layer), most of a warm
``numbagrad train``'s wall time on a small data set. The five data sets that
:data:`numbagrad.datasets.NAMED` offers are small text files inside the
installed package (``sklearn/datasets/data``); this module reads them as
scikit-learn's ``load_*`` functions do, giving the same arrays (the tests
compare them), and gives ``None`` when a file is missing or not as expected,
so that the caller falls back to scikit-learn's own loader.

* ``iris.csv``, ``wine_data.csv``, ``breast_cancer.csv``: a first line
  ``samples,features,<class names>``, then the features and the class index.
* ``digits.csv.gz``: 64 pixel values and the digit, comma-separated.
* ``diabetes_data_raw.csv.gz`` and ``diabetes_target.csv.gz``: whitespace-separated;
  the features are scaled as ``load_diabetes()`` does by default: each column
  centred and divided by its standard deviation times ``sqrt(samples)``.
"""

from __future__ import annotations

import csv
import gzip
import importlib.util
import os
from typing import NamedTuple

import numpy as np

__all__ = ["Bundled", "read", "folder"]

# Each cell nucleus measure of the breast cancer data: its mean, standard error and worst value are columns.
_MEASURES = (
    "radius", "texture", "perimeter", "area", "smoothness", "compactness", "concavity", "concave points", "symmetry",
    "fractal dimension",
)
_FEATURES = {
    "iris": ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"],
    "wine": [
        "alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium", "total_phenols", "flavanoids",
        "nonflavanoid_phenols", "proanthocyanins", "color_intensity", "hue", "od280/od315_of_diluted_wines", "proline",
    ],
    "breast_cancer": [f"mean {m}" for m in _MEASURES] + [f"{m} error" for m in _MEASURES] + [f"worst {m}" for m in _MEASURES],
    "digits": [f"pixel_{row}_{column}" for row in range(8) for column in range(8)],
    "diabetes": ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"],
}

_FILES = {"iris": "iris.csv", "wine": "wine_data.csv", "breast_cancer": "breast_cancer.csv"}


class Bundled(NamedTuple):
    """A bundled data set: features (float64), targets, feature names, class names (None for regression)."""

    X: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    target_names: list[str] | None


def folder() -> str | None:
    """``sklearn/datasets/data`` of the installed scikit-learn (found without importing it), or None."""
    try:
        spec = importlib.util.find_spec("sklearn")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(list(spec.submodule_search_locations)[0], "datasets", "data")
    return path if os.path.isdir(path) else None


def _classes_file(path: str, features: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    with open(path, newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    samples, width = int(rows[0][0]), int(rows[0][1])
    table = np.array(rows[1:], dtype=np.float64)
    if width != features or table.shape != (samples, features + 1):
        raise ValueError(f"{path}: {table.shape} does not match its header {rows[0][:2]}")
    return table[:, :-1], table[:, -1].astype(np.int64), rows[0][2:]


def _digits(path: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    with gzip.open(path, "rt") as file:
        table = np.loadtxt(file, delimiter=",")
    if table.shape[1] != 65:
        raise ValueError(f"{path}: {table.shape[1]} columns; 64 pixels and the digit expected")
    return table[:, :-1], table[:, -1].astype(np.int64), [str(digit) for digit in range(10)]


def _diabetes(data_path: str, target_path: str) -> tuple[np.ndarray, np.ndarray, None]:
    with gzip.open(data_path, "rt") as file:
        X = np.loadtxt(file)
    with gzip.open(target_path, "rt") as file:
        y = np.loadtxt(file)
    if X.shape != (len(y), 10):
        raise ValueError(f"{data_path}: shape {X.shape}; (samples, 10) expected")
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return X / np.sqrt(len(X)), y, None


def read(name: str) -> Bundled | None:
    """The data set ``name`` (a key of :data:`numbagrad.datasets.NAMED`) from scikit-learn's
    files, or None when scikit-learn is not installed or its files are not as described above."""
    where = folder()
    if where is None or name not in _FEATURES:
        return None
    try:
        if name in _FILES:
            X, y, targets = _classes_file(os.path.join(where, _FILES[name]), len(_FEATURES[name]))
        elif name == "digits":
            X, y, targets = _digits(os.path.join(where, "digits.csv.gz"))
        else:
            X, y, targets = _diabetes(os.path.join(where, "diabetes_data_raw.csv.gz"), os.path.join(where, "diabetes_target.csv.gz"))
    except (OSError, ValueError, IndexError, EOFError):
        return None  # another layout in another release: scikit-learn's own loader reads it
    return Bundled(X, y, list(_FEATURES[name]), targets)
