"""``numbagrad train``, ``compare``, ``evaluate``, ``predict`` and ``plugins`` end to end, on small data."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import numbagrad
from numbagrad.cli import main
from helpers import run_cli as run
from numbagrad.train import History

ROOT = Path(__file__).resolve().parents[1]
PNG = b"\x89PNG\r\n\x1a\n"
needs_sklearn = pytest.mark.skipif(importlib.util.find_spec("sklearn") is None, reason="scikit-learn is not installed")
needs_matplotlib = pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="matplotlib is not installed")
needs_toml = pytest.mark.skipif(
    importlib.util.find_spec("tomli_w") is None or (sys.version_info < (3, 11) and importlib.util.find_spec("tomli") is None),
    reason="tomli-w (and tomli on Python 3.10) are not installed",
)
RUN_FILES = ["config.toml", "history.csv", "history.json", "model.ngm", "preprocessing.json", "report.json"]
PICTURES = ["loss.png", "metrics.png"]      # lr.png only when a schedule changes the rate


def environment():
    """A subprocess's environment that imports this checkout's numbagrad."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def read_toml(path):
    from numbagrad.runs.config import read_toml as read

    return read(path)


@pytest.fixture
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def flowers(here):
    """Iris as a CSV with a header and text labels, the species not in the last column."""
    from sklearn.datasets import load_iris

    bunch = load_iris()
    path = here / "flowers.csv"
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["species", "sepal_length", "sepal_width", "petal_length", "petal_width"])
        for x, t in zip(bunch.data, bunch.target):
            writer.writerow([bunch.target_names[t], *x])
    return path


# --- train -------------------------------------------------------------------------------------------


@needs_sklearn
@needs_toml
def test_train_writes_a_complete_run_folder(capsys, here):
    status, out, err = run(capsys, "train", "--data", "iris", "--epochs", "3", "--name", "first", "-q")
    assert status == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "iris: 150 samples, 4 features, 3 classes"
    assert lines[1] == "120 for training, 30 for validation; features standardized (mean and std of the training rows)"
    assert lines[2] == "model: 4 -> 64 relu -> 3 softmax, 515 parameters, float32"
    assert lines[3] == "training: adam (lr=0.001), categorical_crossentropy, batch 32, 3 epochs"
    assert re.fullmatch(r"3 epochs in \S+ s: [\d,]+ samples/s", lines[4])
    assert re.fullmatch(r"final: loss \S+, accuracy \S+, val_loss \S+, val_accuracy \S+", lines[5])
    assert re.fullmatch(r"best: val_loss \S+ \(epoch \d\), val_accuracy \S+ \(epoch \d\)", lines[6])
    folder = here / "runs" / "first"
    assert lines[7].startswith(f"saved {Path('runs') / 'first'}: model.ngm, ")
    expected = RUN_FILES + (PICTURES if importlib.util.find_spec("matplotlib") else [])
    assert sorted(os.listdir(folder)) == sorted(expected)
    assert sorted(os.listdir(here / "runs")) == ["first"]              # no temporary folder left

    history = History.from_dict(json.loads((folder / "history.json").read_text()))
    assert history.epoch == [0, 1, 2] and set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    rows = list(csv.reader(open(folder / "history.csv")))
    assert rows[0] == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr"]
    assert [r[0] for r in rows[1:]] == ["1", "2", "3"] and float(rows[3][1]) == history.history["loss"][2]
    report = json.loads((folder / "report.json").read_text())
    assert report["epochs"] == 3 and report["samples_per_epoch"] == 120 and report["samples_per_second"] > 0
    assert report["final"]["val_accuracy"] == history.history["val_accuracy"][-1]

    model = numbagrad.load_model(folder / "model.ngm")       # an ordinary model file
    assert model.epoch == 3 and model.training.loss.name == "categorical_crossentropy"
    preprocessing = json.loads((folder / "preprocessing.json").read_text())
    assert preprocessing["class_names"] == ["setosa", "versicolor", "virginica"] and len(preprocessing["mean"]) == 4


@needs_sklearn
@needs_toml
@needs_matplotlib
def test_the_pictures_are_pngs_and_the_rate_has_one_when_it_changes(capsys, here):
    status, _, _ = run(capsys, "train", "--data", "wine", "--epochs", "2", "--name", "w", "-q")
    assert status == 0
    for name in PICTURES:
        assert (here / "runs" / "w" / name).read_bytes().startswith(PNG)
    assert not (here / "runs" / "w" / "lr.png").exists()                # a constant rate: no picture of it
    status, out, _ = run(capsys, "train", "--data", "wine", "--epochs", "3", "--name", "s", "-q", "--schedule", "cosine")
    assert status == 0 and out.splitlines()[-1].endswith("loss.png, metrics.png, lr.png")
    assert (here / "runs" / "s" / "lr.png").read_bytes().startswith(PNG)


@needs_sklearn
@needs_toml
@needs_matplotlib
def test_the_curves_mark_the_best_epoch_and_label_units(capsys, here, monkeypatch):
    import numbagrad.plotting

    drawn = {}
    real = numbagrad.plotting.plot_history

    def spy(records, keys, path, **options):
        drawn[Path(path).name] = options
        return real(records, keys, path, **options)

    monkeypatch.setattr(numbagrad.plotting, "plot_history", spy)
    assert run(capsys, "train", "--data", "iris", "--epochs", "6", "--name", "c", "-q", "--lr", "0.01")[0] == 0
    history = json.loads((here / "runs" / "c" / "history.json").read_text())["history"]
    best = int(np.argmin(history["val_loss"])) + 1
    assert set(drawn) == {"loss.png", "metrics.png"}
    for options in drawn.values():
        assert options["best_epoch"] == best and options["best_key"] == "val_loss"
        assert options["ylabels"]["loss"] == "categorical_crossentropy (nats per sample)"
        assert options["ylabels"]["accuracy"] == "accuracy (fraction correct)"
    drawn.clear()
    assert run(capsys, "train", "--data", "diabetes", "--epochs", "2", "--name", "r", "-q")[0] == 0
    assert drawn["loss.png"]["ylabels"]["loss"] == "mse (standard deviations of target, squared)"


@needs_sklearn
@needs_toml
def test_the_resolved_config_runs_the_same_run_again(capsys, here):
    flags = ["--data", "iris", "--hidden", "8,8", "--activation", "tanh", "--optimizer", "sgd", "--lr", "0.05",
             "--momentum", "0.9", "--nesterov", "--batch-size", "16", "--epochs", "4", "--seed", "3",
             "--schedule", "cosine", "--validation-split", "0.3", "--early-stopping", "10", "-q"]
    assert run(capsys, "train", *flags, "--name", "a")[0] == 0
    first = here / "runs" / "a"
    config = read_toml(first / "config.toml")
    assert config["model"] == {
        "hidden": [8, 8], "activation": "tanh", "dropout": 0.0, "normalization": "none", "l2": 0.0, "l1": 0.0, "dtype": "float32",
        "device": "cpu",
    }
    assert config["optimizer"] == {"name": "sgd", "lr": 0.05, "momentum": 0.9, "dampening": 0.0, "weight_decay": 0.0,
                                   "nesterov": True, "maximize": False}
    assert config["schedule"] == {"name": "cosine", "T_max": 4 * 7}    # 105 training rows in batches of 16: 7 steps per epoch
    assert config["training"]["metrics"] == ["accuracy"] and config["data"]["task"] == "classification"
    assert run(capsys, "train", "--config", first / "config.toml", "--name", "b", "-q")[0] == 0
    second = here / "runs" / "b"
    assert (second / "config.toml").read_text() == (first / "config.toml").read_text()
    assert json.loads((second / "history.json").read_text()) == json.loads((first / "history.json").read_text())


@needs_sklearn
@needs_toml
def test_flags_override_the_config_file(capsys, here):
    (here / "run.toml").write_text(
        '[data]\nsource = "iris"\n[training]\nepochs = 3\nbatch_size = 8\n'
        '[optimizer]\nname = "sgd"\nlr = 0.1\nmomentum = 0.5\n'
    )
    assert run(capsys, "train", "--config", "run.toml", "--epochs", "2", "--name", "a", "-q")[0] == 0
    config = read_toml(here / "runs" / "a" / "config.toml")
    assert config["training"]["epochs"] == 2 and config["training"]["batch_size"] == 8
    assert config["optimizer"]["lr"] == 0.1 and config["optimizer"]["momentum"] == 0.5
    # Another optimizer on the command line starts from its own defaults: the file's belong to SGD.
    assert run(capsys, "train", "--config", "run.toml", "--optimizer", "adam", "--name", "b", "-q")[0] == 0
    config = read_toml(here / "runs" / "b" / "config.toml")
    assert config["optimizer"]["name"] == "adam" and config["optimizer"]["lr"] == 0.001


@needs_sklearn
@needs_toml
def test_regression_standardizes_the_target_and_predicts_in_its_units(capsys, here):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = 500.0 + 80.0 * X[:, 0] - 40.0 * X[:, 1]
    np.savez(here / "prices.npz", X=X, y=y)
    status, out, _ = run(capsys, "train", "--data", "prices.npz", "--epochs", "40", "--lr", "0.01", "--name", "p", "-q")
    assert status == 0
    assert "target standardized too: losses and metrics are in units of its std" in out
    assert "training: adam (lr=0.01), mse, batch 32, 40 epochs" in out
    assert run(capsys, "predict", "runs/p", "prices.npz", "-o", "out.csv")[0] == 0
    predicted = np.loadtxt(here / "out.csv", delimiter=",", skiprows=1)
    assert (here / "out.csv").read_text().startswith("prediction\n")
    assert np.corrcoef(predicted, y)[0, 1] > 0.95 and abs(predicted.mean() - y.mean()) < 20
    status, out, _ = run(capsys, "evaluate", "runs/p", "--data", "prices.npz")
    assert status == 0
    assert re.fullmatch(r"prices.npz: 200 samples; the target standardized as in training: losses and metrics in units of its std \(\d+\.?\d*\)",
                        out.splitlines()[0])
    assert re.fullmatch(r"loss \S+, mae \S+, r2 0\.9\d*", out.splitlines()[1])


@needs_sklearn
@needs_toml
def test_l2_and_l1_regularize_every_layers_weights(capsys, here):
    status, _, _ = run(capsys, "train", "--data", "iris", "--epochs", "2", "--l2", "0.001", "--l1", "1e-5", "--name", "r", "-q")
    assert status == 0
    model = numbagrad.load_model(here / "runs" / "r" / "model.ngm")
    for layer in model.layers:
        assert (layer.kernel_regularizer.l1, layer.kernel_regularizer.l2, layer.bias_regularizer) == (1e-5, 0.001, None)
    assert "l2 = 0.001" in (here / "runs" / "r" / "config.toml").read_text()


@needs_sklearn
@needs_toml
@pytest.mark.parametrize("kind, norm_type", [("batch", "BatchNormalization"), ("layer", "LayerNormalization")])
@pytest.mark.parametrize("spelled", ["--normalization", "--batch-norm"])
def test_normalization_normalizes_every_hidden_layer(capsys, here, kind, norm_type, spelled):
    flags = ["--normalization", kind] if spelled == "--normalization" else [f"--{kind}-norm"]
    status, out, _ = run(capsys, "train", "--data", "iris", "--epochs", "2", "--hidden", "8,8", "--dropout", "0.1", *flags, "--name", kind)
    assert status == 0
    assert f"model: 4 -> 8 relu ({kind} norm, dropout 0.1) -> 8 relu ({kind} norm, dropout 0.1) -> 3 softmax" in out
    model = numbagrad.load_model(here / "runs" / kind / "model.ngm")
    assert [type(layer.normalization).__name__ for layer in model.layers] == [norm_type, norm_type, "NoneType"]
    assert f'normalization = "{kind}"' in (here / "runs" / kind / "config.toml").read_text()


@needs_sklearn
@needs_toml
def test_class_weight_balanced_weighs_the_rare_class_up(capsys, here):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    y = (X[:, 0] + 0.3 * rng.normal(size=300) > 1.3).astype(int)  # about 10% of class 1
    with open(here / "rare.csv", "w") as file:
        file.write("a,b,label\n" + "".join(f"{a},{b},{c}\n" for (a, b), c in zip(X, y)))
    recalls = {}
    for weighting in ("none", "balanced"):
        args = ("train", "--data", "rare.csv", "--epochs", "5", "--class-weight", weighting, "--name", weighting, "-q")
        assert run(capsys, *args)[0] == 0
        model = numbagrad.load_model(here / "runs" / weighting / "model.ngm")
        recalls[weighting] = (model.predict(X).argmax(axis=1)[y == 1] == 1).mean()
    assert "class_weight = \"balanced\"" in (here / "runs" / "balanced" / "config.toml").read_text()
    assert recalls["balanced"] > recalls["none"]


@needs_sklearn
@needs_toml
def test_early_stopping_is_reported(capsys, here):
    status, out, _ = run(capsys, "train", "--data", "iris", "--epochs", "60", "--lr", "0.5", "--optimizer", "sgd",
                         "--early-stopping", "1", "--name", "e", "-q")
    assert status == 0
    stopped = re.search(r"^(\d+) epochs \(early stopping at epoch (\d+)\)", out, re.M)
    assert stopped and stopped.group(1) == stopped.group(2) and int(stopped.group(1)) < 60


@needs_sklearn
@needs_toml
def test_without_matplotlib_the_run_is_saved_without_pictures(capsys, here, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    status, _, err = run(capsys, "train", "--data", "iris", "--epochs", "1", "--name", "r")
    assert status == 0
    assert "no pictures written: matplotlib is not installed (pip install 'numbagrad[cli]')" in err
    assert sorted(os.listdir(here / "runs" / "r")) == RUN_FILES


# --- compare ------------------------------------------------------------------------------------------------


@needs_sklearn
@needs_toml
def test_compare_trains_each_optimizer_from_the_same_weights(capsys, here):
    # "momentum" with momentum=0 is plain SGD: the same start and the same shuffling must give the same run.
    status, out, err = run(capsys, "compare", "--data", "iris", "--optimizers", "sgd,momentum,adam", "--momentum", "0",
                           "--lr", "0.05", "--epochs", "3", "--name", "c", "-q")
    assert status == 0 and err == ""
    folder = here / "runs" / "c"
    histories = {name: json.loads((folder / name / "history.json").read_text()) for name in ("sgd", "momentum", "adam")}
    assert histories["sgd"] == histories["momentum"] != histories["adam"]
    printed = out.splitlines()[-5:-1]
    assert printed[0].split() == ["optimizer", "lr", "best", "val_loss", "final", "val_loss", "best", "val_accuracy",
                                  "final", "val_accuracy", "epochs", "time"]
    assert [line.split()[:2] for line in printed[1:]] == [["sgd", "0.05"], ["momentum", "0.05"], ["adam", "0.05"]]
    assert re.search(r"\(epoch \d\)", printed[3])
    rows = list(csv.DictReader(open(folder / "comparison.csv")))
    assert [r["optimizer"] for r in rows] == ["sgd", "momentum", "adam"]
    assert list(rows[0]) == ["optimizer", "lr", "best val_loss", "best val_loss epoch", "final val_loss", "best val_accuracy",
                             "best val_accuracy epoch", "final val_accuracy", "epochs", "seconds"]
    assert float(rows[2]["final val_loss"]) == histories["adam"]["history"]["val_loss"][-1]
    expected = ["adam", "comparison.csv", "config.toml", "momentum", "sgd"]
    if importlib.util.find_spec("matplotlib"):
        expected.append("comparison.png")
        assert (folder / "comparison.png").read_bytes().startswith(PNG)
    assert sorted(os.listdir(folder)) == sorted(expected)
    config = read_toml(folder / "config.toml")
    assert config["compare"] == {"optimizers": ["sgd", "momentum", "adam"], "backend": "none", "workers": 0}
    assert config["optimizer"] == {"lr": 0.05, "momentum": 0.0}
    assert read_toml(folder / "adam" / "config.toml")["optimizer"]["name"] == "adam"
    # The comparison's own config runs it again.
    assert run(capsys, "compare", "--config", folder / "config.toml", "--name", "again", "-q")[0] == 0
    assert json.loads((here / "runs" / "again" / "adam" / "history.json").read_text()) == histories["adam"]


def comparison_without_times(folder):
    """comparison.csv's rows without the seconds column (the one thing that differs between runs)."""
    rows = list(csv.reader(open(folder / "comparison.csv")))
    keep = [i for i, name in enumerate(rows[0]) if "second" not in name]
    return [[row[i] for i in keep] for row in rows]


def assert_same_comparison(here, first, second):
    assert comparison_without_times(here / "runs" / first) == comparison_without_times(here / "runs" / second)
    for optimizer in ("sgd", "adam"):
        a = numbagrad.load_model(here / "runs" / first / optimizer / "model.ngm")
        b = numbagrad.load_model(here / "runs" / second / optimizer / "model.ngm")
        np.testing.assert_array_equal(a.parameters, b.parameters)
        assert a.training.optimizer.state_dict()["state"][0]["step"] == b.training.optimizer.state_dict()["state"][0]["step"]


@needs_sklearn
@needs_toml
def test_compare_on_worker_processes_gives_the_same_runs(capsys, here):
    args = ("compare", "--data", "iris", "--optimizers", "sgd,adam", "--epochs", "2", "-q")
    assert run(capsys, *args, "--name", "serial")[0] == 0
    status, _, err = run(capsys, *args, "--backend", "loky", "--workers", "2", "--name", "loky")
    assert status == 0
    assert_same_comparison(here, "serial", "loky")
    assert 'backend = "loky"' in (here / "runs" / "loky" / "config.toml").read_text()


@needs_sklearn
@needs_toml
def test_compare_trains_every_optimizer_at_one_learning_rate_unless_told(capsys, here):
    """SGD's default lr is 0.001, RMSprop's 0.01, Adadelta's 1.0: ranked at their defaults they would
    rank the defaults. Without --lr each trains at 0.001, said on stderr and in the table."""
    status, out, err = run(capsys, "compare", "--data", "iris", "--optimizers", "sgd,rmsprop,adadelta", "--epochs", "1", "--name", "c")
    assert status == 0 and "every optimizer trains at lr 0.001" in err
    rows = list(csv.DictReader(open(here / "runs" / "c" / "comparison.csv")))
    assert [(r["optimizer"], float(r["lr"])) for r in rows] == [("sgd", 0.001), ("rmsprop", 0.001), ("adadelta", 0.001)]
    for name in ("sgd", "rmsprop", "adadelta"):
        assert read_toml(here / "runs" / "c" / name / "config.toml")["optimizer"]["lr"] == 0.001


@needs_sklearn
@needs_toml
def test_compare_refuses_an_option_no_optimizer_has(capsys, here):
    status, out, err = run(capsys, "compare", "--data", "iris", "--optimizers", "sgd,adam", "--set", "rho=0.9", "-q")
    assert (status, out) == (1, "")
    assert err.startswith("numbagrad compare: error: no optimizer among sgd, adam has a hyperparameter 'rho'; allowed: ")
    assert not (here / "runs").exists()


# --- evaluate and predict -----------------------------------------------------------------------------------


@needs_sklearn
@needs_toml
def test_evaluate_and_predict_apply_the_saved_preprocessing(capsys, here, flowers, monkeypatch):
    assert run(capsys, "train", "--data", flowers, "--target", "species", "--epochs", "30", "--hidden", "16",
               "--lr", "0.01", "--name", "f", "-q")[0] == 0
    status, out, _ = run(capsys, "evaluate", "runs/f", "--data", flowers)
    assert status == 0
    described, values = out.splitlines()
    assert described == "flowers.csv: 150 samples"
    accuracy = float(re.fullmatch(r"loss \S+, accuracy (\S+)", values).group(1))
    assert accuracy > 0.8
    # The same numbers from the model file, and from a file with the columns in another order.
    reordered = here / "reordered.csv"
    with open(flowers) as source, open(reordered, "w", newline="") as target:
        rows = list(csv.reader(source))
        csv.writer(target).writerows([row[::-1] for row in rows])
    assert run(capsys, "evaluate", "runs/f/model.ngm", "--data", reordered)[1] == out.replace("flowers.csv", "reordered.csv")

    status, out, err = run(capsys, "predict", "runs/f", reordered)
    assert status == 0 and err == ""
    table = list(csv.reader(out.splitlines()))
    assert table[0] == ["prediction", "probability_setosa", "probability_versicolor", "probability_virginica"]
    assert len(table) == 151
    truth = [row[0] for row in rows[1:]]
    assert np.mean([p[0] == t for p, t in zip(table[1:], truth)]) > 0.8
    assert all(abs(sum(map(float, row[1:])) - 1) < 1e-5 for row in table[1:])

    status, out, _ = run(capsys, "predict", "runs/f", reordered, "-o", "predictions.csv")
    assert (status, out) == (0, "wrote 150 predictions to predictions.csv\n")
    assert list(csv.reader(open(here / "predictions.csv"))) == table

    # "-" reads the CSV from standard input, as a pipe gives it.
    monkeypatch.setattr("sys.stdin", io.StringIO(reordered.read_text()))
    status, out, err = run(capsys, "predict", "runs/f", "-")
    assert status == 0 and err == "" and list(csv.reader(out.splitlines())) == table
    monkeypatch.setattr("sys.stdin", io.StringIO("petal length (cm)\n1\n"))
    status, _, err = run(capsys, "predict", "runs/f", "-")
    assert status == 1 and err.startswith("numbagrad predict: error: <stdin>: no column")


@needs_sklearn
@needs_toml
def test_a_model_saved_from_python_evaluates_and_predicts_as_it_is(capsys, here):
    X = np.random.default_rng(1).normal(size=(20, 2))
    y = (X[:, 0] > 0).astype(float)
    model = numbagrad.Sequential([numbagrad.Dense(2, "softmax")], input_dim=2)
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    model.save(here / "plain.ngm")
    np.savez(here / "d.npz", X=X, y=y)
    status, out, _ = run(capsys, "evaluate", "plain.ngm", "--data", "d.npz")
    assert status == 0
    expected = model.evaluate(X, y)
    assert out.splitlines()[1] == f"loss {expected['loss']:.4g}, accuracy {expected['accuracy']:.4g}"
    status, out, _ = run(capsys, "predict", "plain.ngm", "d.npz")
    assert out.splitlines()[0] == "output_0,output_1"
    np.testing.assert_allclose(np.loadtxt(out.splitlines()[1:], delimiter=","), model.predict(X), rtol=1e-6)


# --- plugins ---------------------------------------------------------------------------------------------------


def test_plugins_lists_every_kind_and_its_source(capsys):
    status, out, _ = run(capsys, "plugins")
    assert status == 0
    rows = {tuple(line.split()[:3]) for line in out.splitlines()[1:]}
    for kind, name in [("optimizer", "adam"), ("loss", "categorical_crossentropy"), ("schedule", "cosine"), ("metric", "accuracy")]:
        assert (kind, name, "numbagrad") in rows


# --- errors: one line on stderr, a non-zero status, nothing written -----------------------------------------


TRAIN_ERRORS = [
    (["--data", "nope.csv"], 1, "no file 'nope.csv'"),
    (["--data", "mnist"], 1, "unknown data 'mnist'. Give a data set (digits, iris, wine, breast_cancer, diabetes) or a .csv or .npz file"),
    (["--data", "flowers.csv", "--target", "specie"], 1, "flowers.csv: no column 'specie' (did you mean 'species'?); columns: species, sepal_length, sepal_width, petal_length, petal_width"),
    (["--data", "towns.csv"], 1, "towns.csv, row 2 (line 3), column 'town': 'Paris' is "),
    (["--data", "towns.csv", "--drop", "tow"], 1, "towns.csv: no column 'tow' (did you mean 'town'?); columns: size, town, kind"),
    (["--data", "towns.csv", "--unknown-category", "skip"], 1, "--unknown-category must be one of error, ignore; got 'skip'"),
    (["--data", "iris", "--target", "species"], 1, "the data set 'iris' has its target built in"),
    (["--epoch", "3"], 2, "unrecognized arguments: --epoch 3"),
    (["--speed", "3"], 2, "unrecognized arguments: --speed 3"),
    (["--optimizer", "adan"], 1, "unknown optimizer 'adan'. Did you mean 'adam'"),
    (["--loss", "crossentropy"], 1, "unknown loss 'crossentropy'."),
    (["--activation", "rel"], 1, "unknown activation 'rel'. Did you mean 'relu'"),
    (["--metrics", "accuracy,acuracy"], 1, "unknown metric 'acuracy'. Did you mean 'accuracy'"),
    (["--schedule", "cosin"], 1, "unknown schedule 'cosin'. Did you mean 'cosine'"),
    (["--schedule", "step"], 1, "schedule 'step': missing required hyperparameter 'step_size'"),
    (["--schedule-set", "gamma=0.5"], 1, "--schedule-set needs a schedule: add --schedule NAME (such as --schedule cosine)"),
    (["--momentum", "0.9"], 1, "Adam: unknown hyperparameter 'momentum'; allowed: lr, betas, eps"),
    (["--set", "betas"], 1, "--set expects NAME=VALUE, such as momentum=0.9; got 'betas'"),
    (["--lr", "fast"], 1, "--lr must be a number; got 'fast'"),
    (["--lr", "-1"], 1, "Adam: lr must be a finite number >= 0; got -1.0"),
    (["--epochs", "0"], 1, "--epochs must be an integer >= 1; got 0"),
    (["--epochs", "ten"], 1, "--epochs must be an integer >= 1; got 'ten'"),
    (["--batch-size", "0"], 1, "--batch-size must be an integer >= 1; got 0"),
    (["--hidden", "64,x"], 1, "--hidden must be layer sizes (integers >= 1) separated by commas, such as 64,64, or none; got '64,x'"),
    (["--validation-split", "1"], 1, "--validation-split must be a number in [0, 1); got '1'"),
    (["--task", "clustering"], 1, "--task must be one of classification, regression; got 'clustering'"),
    (["--dtype", "float16"], 1, "--dtype must be one of float32, float64; got 'float16'"),
    (["--device", "tpu"], 1, "--device must be one of cpu, cuda; got 'tpu'"),
    (["--threads", "-1"], 1, "--threads must be an integer >= 0; got -1"),
    (["--threads", "999"], 1, "--threads must be at most "),
    (["--config", "missing.toml"], 1, "--config: no file 'missing.toml'"),
    (["--config", "broken.toml"], 1, "broken.toml: not valid TOML: "),
    (["--config", "typo.toml"], 1, "typo.toml: unknown key training.epoch (did you mean 'epochs'?); [training] takes loss, metrics, batch_size, epochs, early_stopping, class_weight, seed"),
    (["--config", "table.toml"], 1, "table.toml: unknown table [optimiser] (did you mean [optimizer]?)"),
    (["--config", "value.toml"], 1, "value.toml: training.epochs must be an integer >= 1; got -2"),
    (["--output", "flowers.csv"], 1, "--output 'flowers.csv' is a file; it must be a folder (created if needed)"),
    (["--name", "taken"], 1, "--name: 'runs/taken' already exists; choose another name or remove it"),
    (["--name", "../up"], 1, "--name must be a plain folder name, such as first-run; got '../up'"),
    (["--data", "diabetes", "--loss", "categorical_crossentropy"], 1, "loss 'categorical_crossentropy': y[0, 0] = "),
    (["--data", "huge.csv", "--optimizer", "sgd", "--lr", "1e30"], 1, "the loss became"),
    (["--lr", "1e39"], 1, "lr=1e+39 cannot be represented in the parameters' dtype float32"),
    (["--hidden", "100000000000", "--epochs", "1"], 1, "not enough memory"),
    (["--l2", "-0.1"], 1, "--l2 must be a finite number >= 0; got '-0.1'"),
    (["--normalization", "group"], 1, "--normalization must be one of none, batch, layer; got 'group'"),
    (["--normalization", "batch", "--batch-size", "1"], 1, "batch_size=1 with batch normalization"),
    (["--l1", "inf"], 1, "--l1 must be a finite number >= 0; got 'inf'"),
    (["--class-weight", "balanced", "--data", "diabetes"], 1, "--class-weight balanced weighs classes; diabetes is a regression task"),
    (["--class-weight", "equal"], 1, "--class-weight must be one of"),
]


def _error_files(here, flowers):
    (here / "towns.csv").write_text("size,town,kind\n1,5,a\n2,Paris,b\n3,7,a\n4,8,b\n5,9,a\n6,4,b\n")
    (here / "broken.toml").write_text("[training\nepochs = 3\n")
    (here / "typo.toml").write_text("[training]\nepoch = 3\n")
    (here / "table.toml").write_text("[optimiser]\nlr = 0.1\n")
    (here / "value.toml").write_text("[training]\nepochs = -2\n")
    rng = np.random.default_rng(0)
    with open(here / "huge.csv", "w") as file:
        file.write("a,b,y\n" + "".join(f"{a},{b},{1e6 * a}\n" for a, b in rng.normal(size=(64, 2))))
    (here / "runs" / "taken").mkdir(parents=True)


def _listing(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@needs_sklearn
@needs_toml
@pytest.mark.parametrize("arguments, status, message", TRAIN_ERRORS)
def test_each_train_error_is_one_line_with_no_traceback_and_nothing_written(arguments, status, message, capsys, here, flowers):
    _error_files(here, flowers)
    before = _listing(here)
    code, out, err = run(capsys, "train", "--epochs", "2", "-q", *arguments)
    assert code == status
    if "huge.csv" not in arguments:   # a loss that diverges in training follows the run's header; the rest come first
        assert out == ""
    assert len(err.splitlines()) == 1 and message in err, err
    assert err.startswith("numbagrad train: error: " if status == 1 else "numbagrad: error: ")
    assert _listing(here) == before


OTHER_ERRORS = [
    (["evaluate", "nowhere", "--data", "iris"], "numbagrad evaluate: error: MODEL: no file or folder 'nowhere'"),
    (["evaluate", "runs", "--data", "iris"], "numbagrad evaluate: error: MODEL 'runs' is a folder without model.ngm; give a run folder or a model file"),
    (["evaluate", "flowers.csv", "--data", "iris"], "numbagrad evaluate: error: flowers.csv: not a numbagrad model file"),
    (["evaluate", "runs/iris", "--data", "wine"], "numbagrad evaluate: error: wine: 13 feature columns; the model takes 4"),
    (["evaluate", "runs/iris", "--data", "cows.csv"], "numbagrad evaluate: error: cows.csv: row 1 has the label 'cow'; the model knows setosa, versicolor, virginica (or 0, 1, 2)"),
    (["evaluate", "runs/iris"], "numbagrad evaluate: error: the following arguments are required: --data"),
    (["predict", "runs/iris", "missing.csv"], "numbagrad predict: error: no file 'missing.csv'"),
    (["predict", "runs/iris", "short.csv"], "numbagrad predict: error: short.csv: no column 'petal width (cm)'"),
    (["predict", "runs/iris", "iris"], "numbagrad predict: error: inputs to predict must be a .csv or .npz file; 'iris' is a named data set"),
    (["predict", "runs/iris", "short.csv", "-o", "no/such/out.csv"], "numbagrad predict: error: --output 'no/such/out.csv': the folder 'no/such' does not exist"),
    (["predict", "runs/iris", "short.csv", "--batch-size", "0"], "numbagrad predict: error: argument --batch-size: expected an integer >= 1; got '0'"),
    (["predict", "runs/iris", "wide.csv"], "numbagrad predict: error: wide.csv, line 2: not a readable CSV row (field larger than field limit"),
    (["evaluate", "forged.ngm", "--data", "iris"], "numbagrad evaluate: error: forged.ngm: its preprocessing.json is invalid (preprocessing: std must be positive)"),
    (["predict", "forged.ngm", "short.csv"], "numbagrad predict: error: forged.ngm: its preprocessing.json is invalid (preprocessing: std must be positive)"),
    (["predict", "mismatched.ngm", "short.csv"], "numbagrad predict: error: mismatched.ngm: its preprocessing.json describes 5 features and 3 outputs; the model has 4 inputs"),
    (["evaluate", "truncated.ngm", "--data", "iris"], "numbagrad evaluate: error: truncated.ngm: not a numbagrad model file"),
    (["compare", "--optimizers", "sgd,sgd"], "numbagrad compare: error: --optimizers names 'sgd' twice; each optimizer is trained once"),
    (["compare", "--optimizers", "sgd,adan"], "numbagrad compare: error: unknown optimizer 'adan'"),
]


@pytest.fixture
def iris_run(here):
    assert main(["train", "--data", "iris", "--epochs", "1", "--name", "iris", "-q"]) == 0
    features = "sepal length (cm),sepal width (cm),petal length (cm),petal width (cm)"
    (here / "cows.csv").write_text(f"{features},target\n1,2,3,4,cow\n")
    (here / "short.csv").write_text("sepal length (cm),sepal width (cm),petal length (cm)\n1,2,3\n")
    (here / "wide.csv").write_text(f"{features}\n1,2,3,{'4' * 200_000}\n")
    model = here / "runs" / "iris" / "model.ngm"
    (here / "truncated.ngm").write_bytes(model.read_bytes()[:3000])
    with zipfile.ZipFile(model) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    record = json.loads(members["preprocessing.json"])
    for name, edit in [("forged.ngm", {"std": [0.0] * 4}), ("mismatched.ngm", {"feature_names": record["feature_names"] + ["extra"], "mean": None, "std": None})]:
        with zipfile.ZipFile(here / name, "w") as archive:
            for member, data in members.items():
                archive.writestr(member, json.dumps({**record, **edit}) if member == "preprocessing.json" else data)
    return here / "runs" / "iris"


@needs_sklearn
@needs_toml
@pytest.mark.parametrize("arguments, message", OTHER_ERRORS)
def test_evaluate_predict_and_compare_errors(arguments, message, capsys, here, flowers, iris_run):
    capsys.readouterr()
    before = _listing(here)
    code, out, err = run(capsys, *arguments)
    assert code != 0 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith(message), err
    assert _listing(here) == before


@needs_sklearn
@needs_toml
def test_debug_shows_the_exception(capsys, here):
    with pytest.raises(ValueError, match="--epochs must be an integer >= 1; got 0"):
        main(["train", "--epochs", "0", "--debug"])


@needs_sklearn
@needs_toml
def test_a_failure_while_writing_leaves_no_folder(capsys, here, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr("numbagrad.runs.training.write_history", broken)
    status, _, err = run(capsys, "train", "--data", "iris", "--epochs", "1", "--output", "deep/runs", "-q")
    assert status == 1 and err == "numbagrad train: error: No space left on device\n"
    assert os.listdir(here) == []                       # not even the folders it had created


@needs_sklearn
@needs_toml
def test_ctrl_c_leaves_nothing(capsys, here, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("numbagrad.runs.training.write_history", interrupted)   # in the middle of writing the folder
    status, _, err = run(capsys, "train", "--data", "iris", "--epochs", "1", "-q")
    assert status == 130 and err == "numbagrad train: interrupted; nothing was written\n"
    assert os.listdir(here) == []


@needs_toml
def test_without_scikit_learn_a_named_set_names_the_extra(capsys, here, monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    status, _, err = run(capsys, "train")
    assert status == 1
    assert err == "numbagrad train: error: the data set 'digits' comes with scikit-learn, which is not installed: pip install 'numbagrad[cli]'\n"


def test_without_tomli_w_nothing_is_trained(capsys, here, monkeypatch):
    monkeypatch.setitem(sys.modules, "tomli_w", None)
    status, out, err = run(capsys, "train", "--data", "iris")
    assert (status, out) == (1, "")
    assert err == "numbagrad train: error: writing the run's config.toml needs tomli-w: pip install 'numbagrad[cli]'\n"
    assert os.listdir(here) == []


@needs_sklearn
@pytest.mark.skipif(__import__("numbagrad.device", fromlist=["cuda_available"]).cuda_available(allow_simulator=True),
                    reason="CUDA works here")
def test_a_gpu_run_without_cuda_stops_before_any_work(capsys, here):
    code, out, err = run(capsys, "train", "--data", "iris", "--device", "cuda", "-q")
    assert (code, out) == (1, "")
    assert err.startswith("numbagrad train: error: --device cuda: the model trains on the GPU, but CUDA cannot be used here: ")
    assert len(err.splitlines()) == 1
    assert os.listdir(here) == []


@needs_sklearn
@needs_toml
def test_the_device_is_passed_on_to_a_model_that_takes_one(capsys, here, monkeypatch):
    import numbagrad.runs.prepare as prepare

    received = []

    class DeviceSequential(numbagrad.Sequential):
        def __init__(self, layers, input_dim, dtype=np.float32, seed=0, device="cpu"):
            received.append(device)
            super().__init__(layers, input_dim, dtype, seed)  # trains on the CPU: this machine may have no GPU

    monkeypatch.setattr(prepare, "Sequential", DeviceSequential)
    monkeypatch.setattr("numbagrad.device.require_cuda", lambda purpose, allow_simulator=True: None)
    assert run(capsys, "train", "--data", "iris", "--epochs", "1", "--device", "cuda", "--name", "d", "-q")[0] == 0
    assert set(received) == {"cuda"}
    assert read_toml(here / "runs" / "d" / "config.toml")["model"]["device"] == "cuda"


def test_a_subprocess_shows_no_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "numbagrad", "train", "--data", "nope.csv"],
                            capture_output=True, text=True, cwd=tmp_path, env=environment())
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == "numbagrad train: error: no file 'nope.csv'\n"
    assert os.listdir(tmp_path) == []


# --- the README ----------------------------------------------------------------------------------------------------


def _quick_start_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## Quick start\n(.*?)(?=^## |\Z)", text, re.S | re.M).group(1)
    return re.findall(r"^```[a-z]*\n(.*?)^```", section, re.S | re.M)


def test_the_readme_quick_start_installs_the_cli_extra_and_the_test_extra():
    first, second = _quick_start_blocks()[:2]
    assert first.splitlines() == ['pip install ".[cli]"', "numbagrad train"]
    assert second.splitlines() == ['pip install -e ".[test]"', "python -m pytest --cov"]
    tomllib = pytest.importorskip("tomllib")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    needed = {"scikit-learn", "tqdm", "matplotlib", "pillow", "tomli-w"}
    assert needed <= {re.split(r"[<>=;\s\[]", d)[0] for d in extras["cli"]}
    # The tests need real data and TOML files: the test extra brings them.
    assert {"scikit-learn", "tomli-w", "matplotlib", "pytest-cov"} <= {re.split(r"[<>=;\s\[]", d)[0] for d in extras["test"]}
    assert "tomli>=2; python_version < '3.11'" in extras["cli"] and "tomli>=2; python_version < '3.11'" in extras["test"]


@needs_sklearn
@needs_toml
def test_the_readme_quick_start_command_runs(tmp_path):
    """`numbagrad train` as a new user types it: digits, the defaults, a run folder."""
    commands = [line for line in _quick_start_blocks()[0].splitlines() if line.startswith("numbagrad ")]
    assert commands == ["numbagrad train"]
    result = subprocess.run([sys.executable, "-m", "numbagrad", *commands[0].split()[1:]],
                            capture_output=True, text=True, cwd=tmp_path, env=environment())
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "digits: 1,797 samples, 64 features, 10 classes"
    assert lines[3] == "training: adam (lr=0.001), categorical_crossentropy, batch 32, 20 epochs"
    assert re.fullmatch(r"20 epochs in \S+ s: [\d,]+ samples/s", lines[4])
    accuracy = float(re.search(r"val_accuracy (\S+)$", lines[5]).group(1))
    assert accuracy > 0.9
    assert "Epoch 20/20" in result.stderr                               # the progress, on stderr
    (folder,) = os.listdir(tmp_path / "runs")
    assert folder.startswith("digits-adam-")


def test_the_readme_arrays_example_runs(tmp_path, monkeypatch):
    """The tour's first code block trains on NumPy arrays as written."""
    monkeypatch.chdir(tmp_path)
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^### Your own arrays\n(.*?)(?=^### |^## |\Z)", text, re.S | re.M).group(1)
    (code,) = re.findall(r"^```python\n(.*?)^```", section, re.S | re.M)
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["history"].history["val_accuracy"][-1] > 0.8
    assert numbagrad.load_model(tmp_path / "model.ngm").count_params() == namespace["model"].count_params()


def test_a_folder_that_appears_meanwhile_moves_a_generated_name_on(tmp_path):
    from numbagrad.runs.folder import building

    target = tmp_path / "runs" / "digits-adam-20260102-101500"
    with building(target, unique=True) as run:
        (run.temporary / "model.ngm").write_text("model")
        target.mkdir()                                      # another run, started in the same second
    assert run.final == target.with_name(target.name + "-2")
    assert (run.final / "model.ngm").read_text() == "model"
    with pytest.raises(FileExistsError, match="appeared while the run was being written; the run is not saved"):
        with building(target) as run:                       # a name the user chose: never overwritten
            (run.temporary / "model.ngm").write_text("model")
    assert sorted(os.listdir(target.parent)) == [target.name, target.name + "-2"]


def test_the_compile_notice_appears_only_when_it_takes_time():
    import time

    from numbagrad.runs.training import _notice_if_slow

    notes = []
    with _notice_if_slow(notes.append, "compiling", after=0.05):
        pass
    assert notes == []
    with _notice_if_slow(notes.append, "compiling", after=0.05):
        time.sleep(0.3)
    assert notes[0] == "compiling" and re.fullmatch(r"ready in \d+ s", notes[1])


@needs_sklearn
@needs_toml
def test_one_thread_or_several_give_the_same_run(capsys, here):
    assert run(capsys, "train", "--data", "wine", "--epochs", "3", "--threads", "1", "--name", "one", "-q")[0] == 0
    assert run(capsys, "train", "--data", "wine", "--epochs", "3", "--name", "all", "-q")[0] == 0
    histories = [json.loads((here / "runs" / name / "history.json").read_text()) for name in ("one", "all")]
    assert histories[0] == histories[1]
    assert read_toml(here / "runs" / "one" / "config.toml")["training"]["threads"] == 1


@needs_sklearn
@needs_toml
def test_a_run_model_loaded_in_python_applies_the_runs_preprocessing(capsys, here, iris_run):
    """load_model on a model `numbagrad train` saved takes raw data, as `numbagrad evaluate` does: no
    path predicts on differently scaled inputs."""
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    model = numbagrad.load_model(iris_run / "model.ngm")
    record = model.preprocessing
    assert record is not None and record.feature_names[0] == "sepal length (cm)"
    standardized = ((X - record.mean) / record.std).astype(np.float32)
    np.testing.assert_array_equal(model.predict(X), model._predict(standardized, 1024))
    values = model.evaluate(X, y)
    assert values["accuracy"] == pytest.approx((model.predict(X).argmax(axis=1) == y).mean())
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    assert model.evaluate(X, names) == values                       # labels by name, as in the CSV
    code, out, _ = run(capsys, "evaluate", iris_run, "--data", "iris")
    assert code == 0 and f"accuracy {values['accuracy']:.4f}" in out
    with pytest.raises(ValueError, match="X has 3 columns; the model expects input_dim=4"):
        model.predict(X[:, :3])
    model.save(here / "again.ngm")                                  # the transform travels on
    again = numbagrad.load_model(here / "again.ngm")
    np.testing.assert_array_equal(again.predict(X), model.predict(X))
    model.fit(X, y, epochs=model.epoch + 1, verbose=0)              # and training continues on raw data
    assert model.evaluate(X, y)["loss"] < values["loss"]


@needs_sklearn
@needs_toml
def test_a_regression_run_model_predicts_in_the_targets_units(capsys, here):
    from sklearn.datasets import load_diabetes

    assert main(["train", "--data", "diabetes", "--epochs", "3", "--name", "sugar", "-q"]) == 0
    X, y = load_diabetes(return_X_y=True)
    model = numbagrad.load_model(here / "runs" / "sugar" / "model.ngm")
    record = model.preprocessing
    network = model._predict(((X - record.mean) / record.std).astype(np.float32), 1024).astype(np.float64)
    np.testing.assert_allclose(model.predict(X), network * record.target_std + record.target_mean, rtol=1e-12)
    assert model.predict(X).dtype == np.float64 and 50 < model.predict(X).mean() < 250


@needs_sklearn
@needs_toml
def test_log_epoch_prints_one_line_per_epoch(capsys, here):
    status, out, err = run(capsys, "train", "--data", "iris", "--epochs", "3", "--log", "epoch", "--name", "logged")
    assert status == 0 and "\r" not in err
    epochs = [line for line in err.splitlines() if line.startswith("Epoch ")]
    assert [line.split(" - ")[0] for line in epochs] == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
    assert "val_loss" in epochs[-1]


@needs_sklearn
@needs_toml
def test_compare_log_epoch_prints_each_optimizers_epochs(capsys, here):
    status, out, err = run(capsys, "compare", "--data", "iris", "--optimizers", "sgd,adam", "--epochs", "2", "--log", "epoch",
                           "--name", "logged")
    assert status == 0 and "\r" not in err
    assert [line.split(" - ")[0] for line in err.splitlines() if line.startswith("Epoch ")] == ["Epoch 1/2", "Epoch 2/2"] * 2
    status, out, err = run(capsys, "compare", "--data", "iris", "--optimizers", "sgd,adam", "--epochs", "2", "--name", "plain")
    assert status == 0 and "Epoch " not in err                        # without --log epoch: a line per optimizer only


# --- CSV files as people have them: text categories, blank cells, columns to drop ------------------------


def _shop(path, rows=60, seed=0):
    """Buyers: age (some blank), a colour and a size (text), an id to drop; bought when old or red."""
    rng = np.random.default_rng(seed)
    lines = ["id,age,colour,size,bought"]
    for i in range(rows):
        age = int(rng.integers(18, 70))
        colour = ["red", "green", "blue"][int(rng.integers(3))]
        size = ["S", "M", "L"][int(rng.integers(3))]
        bought = "yes" if age > 45 or colour == "red" else "no"
        cell = "" if i % 7 == 3 else str(age)
        lines.append(f"{1000 + i},{cell},{colour},{'NA' if i % 11 == 5 else size},{bought}")
    path.write_text("\n".join(lines) + "\n")
    return path


@needs_toml
def test_a_csv_with_text_and_blank_cells_trains_and_every_path_applies_the_same_encoding(capsys, here):
    _shop(here / "shop.csv")
    status, out, err = run(capsys, "train", "--data", "shop.csv", "--drop", "id", "--epochs", "30", "--lr", "0.01", "--name", "s", "-q")
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0] == "shop.csv: 60 samples, 3 features, 2 classes"
    assert "2 category columns one-hot (6 inputs), missing cells filled; features standardized" in lines[1]
    assert lines[2].startswith("model: 7 -> 64 relu -> 2 softmax")
    record = json.loads((here / "runs" / "s" / "preprocessing.json").read_text())
    assert record["format_version"] == 2
    assert record["feature_names"] == ["age", "colour=blue", "colour=green", "colour=red", "size=L", "size=M", "size=S"]
    assert [c["kind"] for c in record["columns"]["columns"]] == ["number", "category", "category"]
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((here / "runs" / "s" / "config.toml").read_text())["data"]
    assert (config["drop"], config["categorical"], config["unknown_category"]) == (["id"], [], "error")

    # The CLI's evaluate and predict, and load_model's predict on the raw cells, agree.
    status, out, _ = run(capsys, "evaluate", "runs/s", "--data", "shop.csv")
    assert status == 0
    evaluated = float(out.splitlines()[1].split("accuracy ")[1])
    (here / "new.csv").write_text("size,colour,age\nM,red,30\nL,blue,\nNA,green,60\n")   # other order, no id, blanks
    status, out, _ = run(capsys, "predict", "runs/s", "new.csv")
    assert status == 0
    predicted = list(csv.reader(io.StringIO(out)))
    model = numbagrad.load_model(here / "runs" / "s" / "model.ngm")
    probabilities = model.predict([[30, "red", "M"], [None, "blue", "L"], [60, "green", float("nan")]])
    np.testing.assert_allclose([[float(v) for v in row[1:]] for row in predicted[1:]], probabilities, rtol=1e-6)
    assert [row[0] for row in predicted[1:]] == [["no", "yes"][int(i)] for i in probabilities.argmax(axis=1)]
    # The same encoding by hand: blank age -> the training mean, NA size -> the most frequent size.
    encoding = model.preprocessing.encoding
    by_hand = encoding.transform(np.array([["30", "red", "M"], ["", "blue", "L"], ["60", "green", ""]], dtype=object))
    np.testing.assert_allclose(model.predict([[30, "red", "M"], ["", "blue", "L"], [60, "green", ""]]),
                               model._predict(model.preprocessing.inputs(by_hand), 1024), rtol=1e-6)
    from numbagrad import datasets

    data = datasets.load("shop.csv", drop=["id"])
    assert model.evaluate(data.table, data.y)["accuracy"] == pytest.approx(evaluated, abs=1e-4)


@needs_toml
def test_an_unseen_category_is_named_or_ignored_as_trained(capsys, here):
    _shop(here / "shop.csv")
    (here / "odd.csv").write_text("id,age,colour,size\n1,30,red,M\n2,40,purple,S\n")
    assert run(capsys, "train", "--data", "shop.csv", "--epochs", "2", "--name", "strict", "-q", "--drop", "id")[0] == 0
    status, out, err = run(capsys, "predict", "runs/strict", "odd.csv")
    assert (status, out) == (1, "")
    assert err == ("numbagrad predict: error: odd.csv, row 2 (line 3), column 'colour': the category 'purple' was not in the "
                   "training data; known: blue, green, red (a model trained with --unknown-category ignore encodes it as all zeros)\n")
    assert run(capsys, "train", "--data", "shop.csv", "--epochs", "2", "--name", "lenient", "-q", "--drop", "id",
               "--unknown-category", "ignore")[0] == 0
    status, out, _ = run(capsys, "predict", "runs/lenient", "odd.csv")
    assert status == 0 and len(out.splitlines()) == 3
    # A model that encodes columns needs them from a CSV file.
    np.savez(here / "x.npz", X=np.zeros((2, 3)))
    status, _, err = run(capsys, "predict", "runs/strict", "x.npz")
    assert status == 1 and "the model encodes text and blank cells of its columns (age, colour, size); give a .csv file" in err
    status, _, err = run(capsys, "evaluate", "runs/strict", "--data", "iris")
    assert status == 1 and "the model reads the columns age, colour, size of a CSV file; 'iris' is a named data set" in err


@needs_toml
def test_categorical_one_hot_encodes_a_number_column(capsys, here):
    rows = "\n".join(f"{z},{i % 5},{'a' if z == '02139' else 'b'}" for i, z in enumerate(["02139", "10001", "94105"] * 6))
    (here / "zips.csv").write_text("zip,n,kind\n" + rows + "\n")
    status, out, _ = run(capsys, "train", "--data", "zips.csv", "--categorical", "zip", "--epochs", "2", "--name", "z", "-q")
    assert status == 0
    record = json.loads((here / "runs" / "z" / "preprocessing.json").read_text())
    assert record["feature_names"] == ["zip=02139", "zip=10001", "zip=94105", "n"]
