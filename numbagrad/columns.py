"""A table's columns as a network's inputs: numbers as they are, text categories one-hot, blank cells filled.

A CSV file as people have it mixes numbers (``age``), text categories
(``colour``: ``red``, ``green``) and blank cells. :class:`ColumnEncoding`
learns, from the training rows only,

* for a **number** column, its mean: the value a missing cell takes;
* for a **category** column, the categories seen (sorted), each becoming one
  input that is 1 for its rows and 0 elsewhere (one-hot), and the most
  frequent one: the category a missing cell takes (ties: the first in order).

A cell is missing when it is blank or one of pandas' default markers of a
missing value (:data:`MISSING`: ``NA``, ``N/A``, ``NaN``, ``null``...).

so that a column ``colour`` with categories ``green, red`` becomes the inputs
``colour=green`` and ``colour=red``. A column is a category when none of its
cells in the training rows is a number, or when the run names it one
(``--categorical zip``: numbers that are codes, not quantities). A column of
numbers with some text is refused, naming the first text cell: a typo in a
column of numbers must not turn it into hundreds of categories.

The same encoding applies unchanged to evaluation and prediction data. A
category the training rows never had is an error naming the row, the column
and the categories known, unless ``unknown="ignore"``: then its one-hot inputs
are all 0 (scikit-learn's ``OneHotEncoder(handle_unknown="ignore")``).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

__all__ = ["Column", "ColumnEncoding", "UNKNOWN_CATEGORY", "MISSING", "cells"]

#: What a category unseen in training does: ``error`` names the row, ``ignore`` encodes all zeros.
UNKNOWN_CATEGORY = ("error", "ignore")


#: Cells that mean "no value" (pandas' default ``na_values``), besides a blank one.
MISSING = frozenset({
    "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA",
    "NULL", "NaN", "None", "n/a", "nan", "null",
})


def _blank(cell: str) -> bool:
    return cell == "" or cell in MISSING


def _number(cell: str) -> float | None:
    """The number a cell writes (``inf`` included, refused later as not finite), or None for text."""
    try:
        return float(cell)
    except ValueError:
        return None


def cells(values: Any, columns: int, name: str = "X") -> np.ndarray:
    """``values`` (rows of cells: text, numbers, ``None`` or NaN for a missing one) as a 2-D
    array of stripped strings, ``""`` for a missing cell.

    Raises:
        ValueError: not a 2-D table of ``columns`` columns, or no rows.
    """
    array = np.asarray(values, dtype=object)
    if array.ndim != 2 or array.shape[1] != columns or array.shape[0] == 0:
        raise ValueError(f"{name} has shape {array.shape}; expected rows of {columns} cells, one per column the run read")
    table = np.empty(array.shape, dtype=object)
    for index, value in np.ndenumerate(array):
        if value is None or (isinstance(value, (float, np.floating)) and math.isnan(value)):
            table[index] = ""
        elif isinstance(value, (bytes, np.bytes_)):
            table[index] = value.decode("utf-8", "replace").strip()
        else:
            table[index] = str(value).strip()
    return table


@dataclass
class Column:
    """One raw column: ``kind`` is ``"number"`` or ``"category"``; ``fill`` what a blank cell
    takes (the training mean, or the most frequent category); ``categories`` a category
    column's values, sorted, one network input each."""

    name: str
    kind: str
    fill: float | str
    categories: list[str] | None = None

    @property
    def features(self) -> list[str]:
        """The network inputs this column becomes: its name, or ``name=category`` per category."""
        return [self.name] if self.kind == "number" else [f"{self.name}={c}" for c in self.categories]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "fill": self.fill, "categories": self.categories}


@dataclass
class ColumnEncoding:
    """The encoding of a table's raw columns (see the module documentation).

    Attributes:
        columns: one :class:`Column` per raw column, in the table's order.
        unknown: ``"error"`` or ``"ignore"``: what a category unseen in training does.
    """

    columns: list[Column]
    unknown: str = "error"

    @property
    def names(self) -> list[str]:
        """The raw columns' names, in order."""
        return [column.name for column in self.columns]

    @property
    def feature_names(self) -> list[str]:
        """The network's inputs, in order."""
        return [feature for column in self.columns for feature in column.features]

    @classmethod
    def fit(cls, table: np.ndarray, names: Sequence[str], rows: np.ndarray, categorical: Sequence[str] = (),
            unknown: str = "error", where: str = "the data", lines: Sequence[int] | None = None) -> "ColumnEncoding":
        """Learn the encoding of ``table`` (string cells, ``""`` blank; one column per name)
        from its training ``rows`` (``lines``: the file's line of each row, for messages).

        Raises:
            ValueError: a name in ``categorical`` that is not a column; a column with no
                value in the training rows; ``unknown`` not one of :data:`UNKNOWN_CATEGORY`.
        """
        if unknown not in UNKNOWN_CATEGORY:
            raise ValueError(f"unknown-category must be one of {', '.join(UNKNOWN_CATEGORY)}; got {unknown!r}")
        missing = [name for name in categorical if name not in names]
        if missing:
            raise ValueError(f"{where}: --categorical names {missing[0]!r}, which is not a feature column; columns: {', '.join(names)}")
        columns = []
        for j, name in enumerate(names):
            present = [(row, cell) for row, cell in zip(rows, table[rows, j]) if not _blank(cell)]
            if not present:
                raise ValueError(f"{where}: column {name!r} has no value in the training rows; drop it (--drop {name})")
            text = [(row, cell) for row, cell in present if _number(cell) is None]
            if name in categorical or len(text) == len(present):
                counts = Counter(cell for _, cell in present)
                categories = sorted(counts)
                fill = max(categories, key=lambda category: counts[category])  # the first of the most frequent
                columns.append(Column(name, "category", fill, categories))
            elif text:
                row, cell = text[0]
                raise ValueError(
                    f"{cls._at(where, row, lines)}, column {name!r}: {cell!r} is text in a column of numbers; correct the cell, "
                    f"leave it blank (a missing value), or read the column as categories (--categorical {name})"
                )
            else:
                values = np.array([_number(cell) for _, cell in present])
                if not np.isfinite(values).all():
                    row, cell = present[int(np.argmin(np.isfinite(values)))]
                    raise ValueError(f"{cls._at(where, row, lines)}, column {name!r}: {cell!r} is not a finite number")
                columns.append(Column(name, "number", float(values.mean())))
        return cls(columns, unknown)

    def transform(self, table: np.ndarray, where: str = "the data", lines: Sequence[int] | None = None) -> np.ndarray:
        """``table`` (string cells in :attr:`names`' order) as the network's float64 inputs.

        Missing cells take their column's fill. ``lines`` (the file's line of each row) makes
        messages point at the line.

        Raises:
            ValueError: a cell of a number column that is not a finite number; with
                ``unknown="error"``, a category the training rows did not have.
        """
        X = np.zeros((table.shape[0], len(self.feature_names)))
        start = 0
        for j, column in enumerate(self.columns):
            if column.kind == "number":
                for row, cell in enumerate(table[:, j]):
                    value = column.fill if _blank(cell) else _number(cell)
                    if value is None or not math.isfinite(value):
                        raise ValueError(f"{self._at(where, row, lines)}, column {column.name!r}: {cell!r} is not a finite number; "
                                         "the column held numbers in training")
                    X[row, start] = value
                start += 1
                continue
            index = {category: k for k, category in enumerate(column.categories)}
            for row, cell in enumerate(table[:, j]):
                k = index.get(column.fill if _blank(cell) else cell)
                if k is not None:
                    X[row, start + k] = 1.0
                elif self.unknown == "error":
                    raise ValueError(
                        f"{self._at(where, row, lines)}, column {column.name!r}: the category {cell!r} was not in the training "
                        f"data; known: {', '.join(column.categories)} (a model trained with --unknown-category ignore encodes it as all zeros)"
                    )
            start += len(column.categories)
        return X

    @staticmethod
    def _at(where: str, row: int, lines: Sequence[int] | None) -> str:
        return f"{where}, row {row + 1}" + (f" (line {lines[row]})" if lines is not None else "")

    def describe(self) -> str:
        """``2 category columns one-hot (7 inputs)``, or ``""`` for numbers alone."""
        categories = [column for column in self.columns if column.kind == "category"]
        if not categories:
            return ""
        inputs = sum(len(column.categories) for column in categories)
        plural = "s" if len(categories) > 1 else ""
        return f"{len(categories)} category column{plural} one-hot ({inputs} inputs)"

    # --- plain data -----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {"unknown": self.unknown, "columns": [column.to_dict() for column in self.columns]}

    @classmethod
    def from_dict(cls, data: Any) -> "ColumnEncoding":
        """Raises ValueError for anything but a dict from :meth:`to_dict` (the record may come
        from a downloaded model file): every field's type, finite fills, categories unique."""
        if not isinstance(data, dict) or set(data) != {"unknown", "columns"}:
            raise ValueError("columns must be a table with exactly the keys 'unknown' and 'columns'")
        if data["unknown"] not in UNKNOWN_CATEGORY:
            raise ValueError(f"columns.unknown must be one of {', '.join(UNKNOWN_CATEGORY)}; got {data['unknown']!r}")
        entries = data["columns"]
        if not isinstance(entries, list) or not entries:
            raise ValueError("columns.columns must be a non-empty list")
        columns = []
        for i, entry in enumerate(entries):
            where = f"columns.columns.{i}"
            if not isinstance(entry, dict) or set(entry) != {"name", "kind", "fill", "categories"}:
                raise ValueError(f"{where} must have exactly the keys name, kind, fill, categories")
            name, kind, fill, categories = entry["name"], entry["kind"], entry["fill"], entry["categories"]
            if not isinstance(name, str) or not name:
                raise ValueError(f"{where}.name must be a non-empty string")
            if kind == "number":
                if isinstance(fill, bool) or not isinstance(fill, (int, float)) or not math.isfinite(fill) or categories is not None:
                    raise ValueError(f"{where}: a number column has a finite number as fill and no categories")
                columns.append(Column(name, kind, float(fill)))
            elif kind == "category":
                if (not isinstance(categories, list) or not categories or not all(isinstance(c, str) for c in categories)
                        or len(set(categories)) != len(categories) or fill not in categories):
                    raise ValueError(f"{where}: a category column has a list of distinct strings as categories, and one of them as fill")
                columns.append(Column(name, kind, fill, list(categories)))
            else:
                raise ValueError(f"{where}.kind must be 'number' or 'category'; got {kind!r}")
        if len({column.name for column in columns}) != len(columns):
            raise ValueError("columns.columns names a column twice")
        return cls(columns, data["unknown"])
