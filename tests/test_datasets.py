"""Reading data sets (named, CSV, NPZ) and the preprocessing saved with a model."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import zipfile

import numpy as np
import pytest

import numbagrad
from numbagrad import datasets
from numbagrad.preprocessing import MEMBER, Preprocessing, split_rows

needs_sklearn = pytest.mark.skipif(importlib.util.find_spec("sklearn") is None, reason="scikit-learn is not installed")


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


# --- named data sets ---------------------------------------------------------------------


@needs_sklearn
@pytest.mark.parametrize("name, shape, task, classes", [
    ("digits", (1797, 64), "classification", 10),
    ("iris", (150, 4), "classification", 3),
    ("wine", (178, 13), "classification", 3),
    ("breast_cancer", (569, 30), "classification", 2),
    ("diabetes", (442, 10), "regression", None),
])
def test_named_data_sets(name, shape, task, classes):
    data = datasets.load(name)
    assert data.X.shape == shape and data.X.dtype == np.float64
    assert data.task == task and len(data.feature_names) == shape[1]
    if classes:
        assert len(data.classes) == classes == len(data.class_names)
    if name == "iris":
        assert data.class_names == ["setosa", "versicolor", "virginica"]
        assert data.describe() == "iris: 150 samples, 4 features, 3 classes"


def test_a_named_set_without_scikit_learn_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(ImportError, match=r"the data set 'digits' comes with scikit-learn, which is not installed: pip install 'numbagrad\[cli\]'"):
        datasets.load("digits")


@needs_sklearn
def test_a_named_set_takes_no_target_column():
    with pytest.raises(ValueError, match="the data set 'iris' has its target built in; a target column applies to CSV and NPZ files only"):
        datasets.load("iris", target="species")


def test_an_unknown_name_suggests_and_lists():
    with pytest.raises(ValueError, match=r"unknown data 'digit'. Did you mean 'digits'\? Give a data set \(digits, iris, wine, breast_cancer, diabetes\) or a .csv or .npz file"):
        datasets.load("digit")


# --- CSV -------------------------------------------------------------------------------------


def test_csv_with_header_text_labels_and_the_last_column_as_target(tmp_path):
    path = write(tmp_path / "pets.csv", "weight,height,kind\n4.0,25,cat\n30,60,dog\n5.5,28,cat\n")
    data = datasets.load(path)
    np.testing.assert_array_equal(data.X, [[4, 25], [30, 60], [5.5, 28]])
    assert data.feature_names == ["weight", "height"] and data.target_name == "kind"
    assert data.task == "classification" and data.classes == ["cat", "dog"]


def test_csv_target_by_name_or_index_and_other_delimiters(tmp_path):
    path = write(tmp_path / "t.csv", "a;b;c\n1;2;3\n4;5;6\n7;8;9\n")
    by_name = datasets.load(path, target="a")
    by_index = datasets.load(path, target="0")
    by_negative = datasets.load(path, target=-3)
    for data in (by_name, by_index, by_negative):
        assert data.feature_names == ["b", "c"] and list(data.y) == [1, 4, 7]


def test_csv_without_header_names_columns_by_index(tmp_path):
    path = write(tmp_path / "n.csv", "1,2,0\n3,4,1\n\n5,6,0\n")       # a blank line is skipped
    data = datasets.load(path)
    assert data.feature_names == ["0", "1"] and data.target_name == "2"
    assert data.samples == 3 and data.classes == [0, 1]


def test_task_inference_and_override(tmp_path):
    many = "\n".join(f"{i},{i * 1.5}" for i in range(30))
    assert datasets.load(write(tmp_path / "r.csv", "x,y\n" + many)).task == "regression"
    few = "\n".join(f"{i},{i % 3}" for i in range(30))
    data = datasets.load(write(tmp_path / "c.csv", "x,y\n" + few))
    assert data.task == "classification" and data.classes == [0, 1, 2]
    assert datasets.load(tmp_path / "c.csv", task="regression").task == "regression"
    forced = datasets.load(tmp_path / "r.csv", task="classification")
    assert forced.task == "classification" and len(forced.classes) == 30


def test_text_targets_cannot_be_regression(tmp_path):
    path = write(tmp_path / "t.csv", "x,kind\n1,a\n2,b\n")
    with pytest.raises(ValueError, match="t.csv: the target 'kind' holds text labels; regression needs numbers"):
        datasets.load(path, task="regression")


CSV_ERRORS = [
    ("a,b,c\n1,2,3\n", {"drop": ["c"]}, "bad.csv: --drop names the target column 'c'; choose another target with --target"),
    ("a,b,c\n1,2,3\n", {"drop": ["d"]}, "bad.csv: no column 'd'; columns: a, b, c"),
    ("a,b,c\n1,2,3\n", {"drop": ["a", "b"]}, "bad.csv: --drop leaves no feature column"),
    ("a,b,c\n1,2,3\n", {"categorical": ["c"]}, "bad.csv: --categorical names the target column 'c'; it applies to feature columns"),
    ("a,b,c\n1,2,3\n", {"categorical": ["bb"]}, "bad.csv: no column 'bb' (did you mean 'b'?); columns: a, b, c"),
    ("a,b,c\n1,2,3\n4,5\n", {}, "bad.csv, line 3: 2 fields; the header has 3"),
    ("a,b,c\n1,2,3\n", {"target": "d"}, "bad.csv: no column 'd'; columns: a, b, c"),
    ("price,b,c\n1,2,3\n", {"target": "prise"}, "bad.csv: no column 'prise' (did you mean 'price'?); columns: price, b, c"),
    ("a,b,c\n1,2,3\n", {"target": 3}, "bad.csv: column index 3 is out of range; the file has 3 columns (0 to 2)"),
    ("a,b,c\n1,2,\n", {}, "bad.csv: column 'c', row 1 (line 2): an empty cell (a missing target)"),
    ("a\n1\n", {}, "bad.csv: the file has one column; it needs feature columns and a target column"),
    ("a,b\n", {}, "bad.csv: the file has a header but no rows"),
    ("", {}, "bad.csv: the file has no rows"),
]


@pytest.mark.parametrize("text, options, message", CSV_ERRORS)
def test_csv_errors_name_the_file_column_and_line(tmp_path, text, options, message):
    path = write(tmp_path / "bad.csv", text)
    with pytest.raises(ValueError) as error:
        datasets.load(path, **options)
    assert str(error.value).startswith(message.replace("bad.csv", str(path), 1))


def test_text_and_blank_feature_cells_are_kept_as_text_for_encoding(tmp_path):
    path = write(tmp_path / "mixed.csv", "a,colour,c,y\n1,red,,0\n2, blue ,NA,1\n")
    data = datasets.load(path)
    assert data.X is None and data.features == 3 and data.samples == 2 and data.lines == [2, 3]
    assert data.table.tolist() == [["1", "red", ""], ["2", "blue", "NA"]]
    assert data.feature_names == ["a", "colour", "c"] and data.task == "classification"
    # Numbers alone stay a float matrix, unless the caller keeps the cells or names a categorical column.
    plain = write(tmp_path / "plain.csv", "a,b,y\n1,2,0\n3,4,1\n")
    assert datasets.load(plain).table is None and datasets.load(plain).X.tolist() == [[1, 2], [3, 4]]
    assert datasets.load(plain, keep_cells=True).table.tolist() == [["1", "2"], ["3", "4"]]
    assert datasets.load(plain, categorical=["b"]).table.tolist() == [["1", "2"], ["3", "4"]]
    assert datasets.load(plain, drop=["a"]).X.tolist() == [[2], [4]]


@pytest.mark.parametrize("source", ["iris", "npz"])
def test_categorical_and_drop_apply_to_csv_files_only(tmp_path, source):
    if source == "npz":
        source = tmp_path / "d.npz"
        np.savez(source, X=np.zeros((2, 2)), y=np.zeros(2))
    with pytest.raises(ValueError, match="--categorical and --drop apply to CSV files"):
        datasets.load(source, drop=["0"])


def test_missing_files_and_unknown_suffixes(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no file '.*nope.csv'"):
        datasets.load(tmp_path / "nope.csv")
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(FileNotFoundError, match=r"\(it is a folder\)"):
        datasets.load(tmp_path / "folder.csv")
    with pytest.raises(ValueError, match=r"unknown data '.*data.txt'.* or a .csv or .npz file"):
        datasets.load(tmp_path / "data.txt")


# --- NPZ ---------------------------------------------------------------------------------------------


def test_npz_with_X_and_y_or_a_named_target(tmp_path):
    X = np.arange(12.0).reshape(6, 2)
    np.savez(tmp_path / "d.npz", X=X, y=np.array([0, 1, 0, 1, 0, 1]), price=np.linspace(0, 1, 6))
    data = datasets.load(tmp_path / "d.npz")
    np.testing.assert_array_equal(data.X, X)
    assert data.task == "classification" and data.classes == [0, 1]
    assert datasets.load(tmp_path / "d.npz", target="price").task == "regression"


def test_npz_text_labels_and_matrix_targets(tmp_path):
    np.savez(tmp_path / "t.npz", X=np.zeros((3, 2)), y=np.array(["a", "b", "a"]))
    assert datasets.load(tmp_path / "t.npz").classes == ["a", "b"]
    np.savez(tmp_path / "m.npz", X=np.zeros((3, 2)), y=np.ones((3, 2)))
    data = datasets.load(tmp_path / "m.npz")
    assert data.task == "regression" and data.describe().endswith("2 numbers to predict")


NPZ_ERRORS = [
    ({"features": np.zeros((2, 2))}, {}, "no array named 'X' (the features); the file holds features"),
    ({"X": np.zeros((2, 2))}, {}, "no array named 'y' for the target; the file holds X"),
    ({"X": np.zeros((2, 2)), "label": np.zeros(2)}, {"target": "labels"}, "no array named 'labels' (did you mean 'label'?) for the target"),
    ({"X": np.zeros(4), "y": np.zeros(4)}, {}, "array 'X' has shape (4,); features must be a non-empty 2-D array"),
    ({"X": np.array([["a", "b"]]), "y": np.zeros(1)}, {}, "array 'X' has dtype <U1; features must be numbers"),
    ({"X": np.zeros((3, 2)), "y": np.zeros(2)}, {}, "array 'y' has 2 rows and 'X' has 3; they must match"),
    ({"X": np.array([[1.0, np.inf]]), "y": np.zeros(1)}, {}, "array 'X', row 0, column 1: inf is not a finite number"),
    ({"X": np.zeros((2, 2)), "y": np.array([1.0, np.nan])}, {}, "array 'y', row 1: nan is not a finite number"),
]


@pytest.mark.parametrize("arrays, options, message", NPZ_ERRORS)
def test_npz_errors(tmp_path, arrays, options, message):
    np.savez(tmp_path / "d.npz", **arrays)
    with pytest.raises(ValueError) as error:
        datasets.load(tmp_path / "d.npz", **options)
    assert str(error.value).startswith(f"{tmp_path / 'd.npz'}: {message}")


def test_npz_never_unpickles(tmp_path):
    np.savez(tmp_path / "o.npz", X=np.array([[object()]], dtype=object), y=np.zeros(1))
    with pytest.raises(ValueError, match="array 'X' cannot be read without pickle"):
        datasets.load(tmp_path / "o.npz")
    np.save(tmp_path / "single.npy", np.zeros(3))
    (tmp_path / "single.npz").write_bytes((tmp_path / "single.npy").read_bytes())
    with pytest.raises(ValueError, match="a single .npy array, not an NPZ archive"):
        datasets.load(tmp_path / "single.npz")


# --- inputs to predict ----------------------------------------------------------------------------------


def test_read_features_matches_columns_by_name(tmp_path):
    path = write(tmp_path / "in.csv", "kind,b,a\ncat,2,1\ndog,4,3\n")
    np.testing.assert_array_equal(datasets.read_features(path, ["a", "b"], 2), [[1, 2], [3, 4]])
    with pytest.raises(ValueError, match=r"no column 'c'; the model needs the columns a, c"):
        datasets.read_features(path, ["a", "c"], 2)
    plain = write(tmp_path / "plain.csv", "1,2\n3,4\n")
    np.testing.assert_array_equal(datasets.read_features(plain, ["a", "b"], 2), [[1, 2], [3, 4]])
    with pytest.raises(ValueError, match=r"plain.csv: 2 feature columns; the model takes 3"):
        datasets.read_features(plain, None, 3)
    with pytest.raises(ValueError, match="inputs to predict must be a .csv or .npz file; 'iris' is a named data set"):
        datasets.read_features("iris", None, 4)


# --- split and preprocessing ------------------------------------------------------------------------------


def test_split_is_stratified_seeded_and_complete():
    labels = np.array([0] * 50 + [1] * 10)
    training, validation = split_rows(60, 0.2, seed=3, labels=labels)
    assert sorted(np.concatenate([training, validation])) == list(range(60))
    assert (labels[validation] == 1).sum() == 2 and (labels[validation] == 0).sum() == 10
    again = split_rows(60, 0.2, seed=3, labels=labels)
    np.testing.assert_array_equal(training, again[0])
    assert len(split_rows(60, 0.0, seed=3)[1]) == 0
    with pytest.raises(ValueError, match="validation split 0.01 of 10 samples leaves 10 for training and 0 for validation"):
        split_rows(10, 0.01, seed=0)


def test_standardization_comes_from_the_training_rows_only():
    X = np.array([[0.0, 5.0], [2.0, 5.0], [100.0, 5.0]])
    data = datasets.Dataset("d", X, np.array([0, 1, 0]), ["a", "b"], "y", "classification", [0, 1], ["0", "1"])
    pre = Preprocessing.fit(data, np.array([0, 1]), standardize=True)
    np.testing.assert_allclose(pre.mean, [1.0, 5.0])
    np.testing.assert_allclose(pre.std, [1.0, 1.0])           # the constant column keeps std 1
    np.testing.assert_allclose(pre.inputs(X), [[-1, 0], [1, 0], [99, 0]])
    assert Preprocessing.fit(data, np.array([0, 1]), standardize=False).inputs(X) is X


def test_targets_and_predictions():
    classes = Preprocessing(["a"], "classification", "kind", classes=["cat", "dog"], class_names=["cat", "dog"])
    np.testing.assert_array_equal(classes.targets(np.array(["dog", "cat"])), [1, 0])
    with pytest.raises(ValueError, match="new.csv: row 2 has the label 'cow'; the model knows cat, dog"):
        classes.targets(np.array(["dog", "cow"]), "new.csv")
    numbers = Preprocessing(["a"], "regression", "y", target_mean=np.array([10.0]), target_std=np.array([2.0]))
    np.testing.assert_allclose(numbers.targets(np.array([12.0, 8.0])), [[1.0], [-1.0]])
    np.testing.assert_allclose(numbers.predictions(np.array([[1.0]])), [[12.0]])
    with pytest.raises(ValueError, match="the target holds text; the model predicts numbers"):
        numbers.targets(np.array(["x"]))


def test_the_record_travels_inside_a_loadable_model_file(tmp_path):
    model = numbagrad.Sequential([numbagrad.Dense(2, "softmax")], input_dim=3)
    model.compile("sgd", "categorical_crossentropy")
    path = tmp_path / "m.ngm"
    model.save(path)
    assert Preprocessing.read(path) is None
    pre = Preprocessing(["a", "b", "c"], "classification", "y", mean=np.zeros(3), std=np.ones(3), classes=[0, 1], class_names=["no", "yes"])
    pre.attach(path)
    assert Preprocessing.read(path).to_dict() == pre.to_dict()
    np.testing.assert_array_equal(numbagrad.load_model(path).parameters, model.parameters)
    with zipfile.ZipFile(path) as archive:
        assert json.loads(archive.read(MEMBER))["class_names"] == ["no", "yes"]


def test_a_record_with_a_columns_encoding_round_trips_and_refuses_forgeries(tmp_path):
    from numbagrad.columns import ColumnEncoding

    table = np.array([["1", "red"], ["", "green"], ["3", "red"]], dtype=object)
    encoding = ColumnEncoding.fit(table, ["n", "colour"], np.arange(3))
    pre = Preprocessing(encoding.feature_names, "classification", "y", classes=[0, 1], class_names=["0", "1"], encoding=encoding)
    record = pre.to_dict()
    assert record["format_version"] == 2 and record["columns"] == encoding.to_dict()
    assert Preprocessing.from_dict(record).encoding == encoding
    assert Preprocessing.from_dict(record).raw_columns == ["n", "colour"]
    forgeries = [
        ({**record, "format_version": 1}, "the columns' encoding belongs to format_version 2, and only there"),
        ({k: v for k, v in record.items() if k != "columns"}, "the columns' encoding belongs to format_version 2"),
        ({**record, "format_version": True}, "format_version True; this numbagrad reads 1 and 2"),
        ({**record, "feature_names": ["n", "colour=red", "colour=green"]}, "feature_names are not the inputs its columns' encoding gives"),
        ({**record, "columns": {"unknown": "error", "columns": "n"}}, "columns.columns must be a non-empty list"),
    ]
    model = numbagrad.Sequential([numbagrad.Dense(2, "softmax")], input_dim=3)
    for data, message in forgeries:
        with pytest.raises(ValueError, match=re.escape(message)):
            Preprocessing.from_dict(data)
        path = tmp_path / "forged.ngm"
        model.save(path)
        with zipfile.ZipFile(path, "a") as archive:
            archive.writestr(MEMBER, json.dumps(data))
        with pytest.raises(numbagrad.ModelFileError, match=re.escape(message)):
            numbagrad.load_model(path)


@needs_sklearn
@pytest.mark.parametrize("name", list(datasets.NAMED))
def test_bundled_data_sets_are_read_from_scikit_learns_files_as_its_loaders_read_them(name):
    from sklearn import datasets as loaders

    from numbagrad import bundled

    found = bundled.read(name)
    bunch = getattr(loaders, f"load_{name}")()
    np.testing.assert_array_equal(found.X, bunch.data)
    np.testing.assert_array_equal(found.y, bunch.target)
    assert found.feature_names == [str(f) for f in bunch.feature_names]
    assert found.target_names == (None if name == "diabetes" else [str(t) for t in bunch.target_names])


@needs_sklearn
def test_a_named_data_set_loads_without_importing_scikit_learn():
    import subprocess

    code = "import sys; from numbagrad import datasets; d = datasets.load('digits'); print(d.X.shape, 'sklearn' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["(1797,", "64)", "False"]


@needs_sklearn
def test_files_not_as_expected_fall_back_to_scikit_learns_loader(tmp_path, monkeypatch):
    from numbagrad import bundled

    (tmp_path / "iris.csv").write_text("150,5,a,b\n1,2,3\n")              # another layout
    monkeypatch.setattr(bundled, "folder", lambda: str(tmp_path))
    assert bundled.read("iris") is None and bundled.read("digits") is None
    iris = datasets.load("iris")
    assert iris.X.shape == (150, 4) and iris.class_names == ["setosa", "versicolor", "virginica"]
