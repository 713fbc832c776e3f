"""A table's raw columns as network inputs: numbers, one-hot categories, missing cells filled."""

from __future__ import annotations

import numpy as np
import pytest

from numbagrad.columns import MISSING, Column, ColumnEncoding, cells

NAMES = ["age", "colour", "size"]
TABLE = np.array([
    ["20", "red", "S"],
    ["30", "green", ""],
    ["", "red", "M"],
    ["40", "NA", "S"],
    ["99", "blue", "L"],          # a validation row: not seen by fit
], dtype=object)
TRAINING = np.array([0, 1, 2, 3])


def test_fit_learns_kinds_fills_and_categories_from_the_training_rows_only():
    encoding = ColumnEncoding.fit(TABLE, NAMES, TRAINING)
    age, colour, size = encoding.columns
    assert (age.kind, age.fill, age.categories) == ("number", 30.0, None)              # mean of 20, 30, 40
    assert (colour.kind, colour.categories, colour.fill) == ("category", ["green", "red"], "red")   # blue is a validation row's
    assert (size.kind, size.categories, size.fill) == ("category", ["M", "S"], "S")
    assert encoding.feature_names == ["age", "colour=green", "colour=red", "size=M", "size=S"]
    assert encoding.names == NAMES


def test_transform_one_hot_and_fills_missing_cells():
    encoding = ColumnEncoding.fit(TABLE, NAMES, TRAINING)
    X = encoding.transform(TABLE[:4])
    np.testing.assert_array_equal(X, [
        [20, 0, 1, 0, 1],
        [30, 1, 0, 0, 1],        # blank size: the most frequent, S
        [30, 0, 1, 1, 0],        # blank age: the mean, 30
        [40, 0, 1, 0, 1],        # NA colour: the most frequent, red
    ])


def test_a_category_unseen_in_training_is_named_or_ignored():
    encoding = ColumnEncoding.fit(TABLE, NAMES, TRAINING)
    with pytest.raises(ValueError) as error:
        encoding.transform(TABLE, "new.csv", lines=[2, 3, 4, 5, 6])
    assert str(error.value) == (
        "new.csv, row 5 (line 6), column 'colour': the category 'blue' was not in the training data; known: green, red "
        "(a model trained with --unknown-category ignore encodes it as all zeros)"
    )
    ignoring = ColumnEncoding.fit(TABLE, NAMES, TRAINING, unknown="ignore")
    np.testing.assert_array_equal(ignoring.transform(TABLE[4:]), [[99, 0, 0, 0, 0]])


def test_categorical_reads_numbers_as_categories():
    table = np.array([["02139", "1"], ["10001", "2"], ["02139", "3"]], dtype=object)
    encoding = ColumnEncoding.fit(table, ["zip", "n"], np.arange(3), categorical=["zip"])
    assert encoding.columns[0].categories == ["02139", "10001"] and encoding.columns[0].fill == "02139"
    np.testing.assert_array_equal(encoding.transform(table), [[1, 0, 1], [0, 1, 2], [1, 0, 3]])


def test_every_missing_marker_is_missing():
    table = np.array([["1"], ["3"], *[[marker] for marker in sorted(MISSING)]], dtype=object)
    encoding = ColumnEncoding.fit(table, ["x"], np.arange(len(table)))
    assert encoding.columns[0].fill == 2.0
    assert encoding.transform(table)[2:, 0].tolist() == [2.0] * len(MISSING)


FIT_ERRORS = [
    (np.array([["1"], ["2"], ["three"]], dtype=object), {},
     "d.csv, row 3 (line 4), column 'x': 'three' is text in a column of numbers; correct the cell, leave it blank "
     "(a missing value), or read the column as categories (--categorical x)"),
    (np.array([["1"], ["inf"]], dtype=object), {}, "d.csv, row 2 (line 3), column 'x': 'inf' is not a finite number"),
    (np.array([[""], ["NA"]], dtype=object), {}, "d.csv: column 'x' has no value in the training rows; drop it (--drop x)"),
    (np.array([["1"]], dtype=object), {"categorical": ["y"]}, "d.csv: --categorical names 'y', which is not a feature column; columns: x"),
    (np.array([["1"]], dtype=object), {"unknown": "skip"}, "unknown-category must be one of error, ignore; got 'skip'"),
]


@pytest.mark.parametrize("table, options, message", FIT_ERRORS)
def test_fit_errors_name_the_row_column_and_cell(table, options, message):
    with pytest.raises(ValueError) as error:
        ColumnEncoding.fit(table, ["x"], np.arange(len(table)), where="d.csv", lines=list(range(2, 2 + len(table))), **options)
    assert str(error.value) == message


def test_transform_refuses_text_in_a_number_column():
    encoding = ColumnEncoding.fit(np.array([["1"], ["2"]], dtype=object), ["x"], np.arange(2))
    with pytest.raises(ValueError, match=r"^X, row 2, column 'x': 'two' is not a finite number; the column held numbers in training$"):
        encoding.transform(np.array([["1"], ["two"]], dtype=object), "X")


def test_cells_takes_rows_of_text_numbers_and_missing_values():
    table = cells([[1, "red", None], [2.5, b"blue ", float("nan")]], 3)
    assert table.tolist() == [["1", "red", ""], ["2.5", "blue", ""]]
    for bad in ([1, 2, 3], [[1, 2]], np.empty((0, 3))):
        with pytest.raises(ValueError, match=r"X has shape .*; expected rows of 3 cells, one per column the run read"):
            cells(bad, 3)


def test_the_record_round_trips_and_refuses_what_no_run_writes():
    encoding = ColumnEncoding.fit(TABLE, NAMES, TRAINING, unknown="ignore")
    again = ColumnEncoding.from_dict(encoding.to_dict())
    assert again == encoding
    good = encoding.to_dict()
    forged = [
        ("a list", []),
        ("extra key", {**good, "more": 1}),
        ("unknown mode", {**good, "unknown": "skip"}),
        ("no columns", {**good, "columns": []}),
        ("nan fill", {**good, "columns": [{"name": "a", "kind": "number", "fill": float("nan"), "categories": None}]}),
        ("bool fill", {**good, "columns": [{"name": "a", "kind": "number", "fill": True, "categories": None}]}),
        ("fill outside", {**good, "columns": [{"name": "a", "kind": "category", "fill": "x", "categories": ["y"]}]}),
        ("repeated", {**good, "columns": [{"name": "a", "kind": "category", "fill": "y", "categories": ["y", "y"]}]}),
        ("kind", {**good, "columns": [{"name": "a", "kind": "date", "fill": 1.0, "categories": None}]}),
        ("twice", {**good, "columns": [good["columns"][0], good["columns"][0]]}),
        ("no name", {**good, "columns": [{"name": "", "kind": "number", "fill": 1.0, "categories": None}]}),
    ]
    for what, data in forged:
        with pytest.raises(ValueError):
            ColumnEncoding.from_dict(data)
        assert what


def test_column_features():
    assert Column("a", "number", 1.0).features == ["a"]
    assert Column("c", "category", "x", ["x", "y"]).features == ["c=x", "c=y"]
