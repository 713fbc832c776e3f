"""The tracking callbacks: CSVLogger, TensorBoard and MLflow.

Every value written is checked against ``model.history`` (the History callback
sees the same logs): the CSV exactly, TensorBoard's float32 scalars to their
precision, MLflow's metrics exactly; the per-batch losses against the epoch's
loss, their weighted mean. TensorBoard files are read back with TensorBoard's
own reader, MLflow runs with MLflow's client on a local folder store.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import numbagrad
from numbagrad import Dense, Sequential
from numbagrad.train import Callback, CSVLogger, MLflow, TensorBoard, tracking_callbacks
from numbagrad.train.tracking import compile_params

ROOT = Path(__file__).resolve().parents[1]
ROWS, BATCH = 20, 8  # three batches an epoch: 8, 8 and 4 rows
BATCH_ROWS = np.array([8, 8, 4])


def make_model(metrics=("mae",)):
    model = Sequential([Dense(4, activation="tanh"), Dense(1)], input_dim=3, dtype=np.float64, seed=1)
    return model.compile(optimizer={"name": "sgd", "lr": 0.05, "momentum": 0.9}, loss="mse", metrics=list(metrics))


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X, X_val = rng.normal(size=(ROWS, 3)), rng.normal(size=(6, 3))
    return X, X.sum(axis=1, keepdims=True), (X_val, X_val.sum(axis=1, keepdims=True))


def fit(model, data, epochs, callbacks, validation=True):
    X, y, validation_data = data
    return model.fit(X, y, batch_size=BATCH, epochs=epochs, validation_data=validation_data if validation else None,
                     callbacks=callbacks, verbose=0, seed=3)


class Recorder(Callback):
    """Every epoch's number, logs and per-batch losses, as the callbacks receive them."""

    def __init__(self):
        self.epochs, self.logs, self.batch_losses = [], [], []

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append(epoch)
        self.logs.append(dict(logs))
        self.batch_losses.append(np.array(self.model.epoch_losses))


# --- model.epoch_losses -----------------------------------------------------------------------------


def test_epoch_losses_are_the_batches_of_the_epoch_loss(data):
    recorder = Recorder()
    fit(make_model(), data, 2, [recorder])
    for losses, logs in zip(recorder.batch_losses, recorder.logs):
        assert losses.shape == (3,)
        assert np.dot(losses, BATCH_ROWS) / ROWS == pytest.approx(logs["loss"], rel=1e-12)


# --- CSVLogger ------------------------------------------------------------------------------------


def read_csv(path, separator=","):
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.reader(file, delimiter=separator))


def test_csv_rows_are_the_history(tmp_path, data):
    model = make_model()
    history = fit(model, data, 3, [CSVLogger(tmp_path / "log.csv")])
    rows = read_csv(tmp_path / "log.csv")
    assert rows[0] == ["epoch", "loss", "lr", "mae", "val_loss", "val_mae"]  # Keras: the keys sorted
    assert [int(r[0]) for r in rows[1:]] == [0, 1, 2]
    for column, key in enumerate(rows[0][1:], start=1):
        assert [float(r[column]) for r in rows[1:]] == history.history[key]  # repr round-trips exactly


def test_csv_separator_and_resume_with_append(tmp_path, data):
    model = make_model()
    first = fit(model, data, 2, [CSVLogger(tmp_path / "log.csv", separator=";")])
    second = fit(model, data, 2, [CSVLogger(tmp_path / "log.csv", separator=";", append=True)])
    rows = read_csv(tmp_path / "log.csv", ";")
    assert rows[0][0] == "epoch" and sum(r[0] == "epoch" for r in rows) == 1  # one header
    assert [int(r[0]) for r in rows[1:]] == [0, 1, 2, 3]
    loss = rows[0].index("loss")
    assert [float(r[loss]) for r in rows[1:]] == first.history["loss"] + second.history["loss"]


def test_csv_without_append_starts_again(tmp_path, data):
    model = make_model()
    logger = CSVLogger(tmp_path / "log.csv")
    fit(model, data, 2, [logger])
    fit(model, data, 1, [logger])
    rows = read_csv(tmp_path / "log.csv")
    assert [r[0] for r in rows] == ["epoch", "2"]


def test_csv_append_keeps_the_files_columns(tmp_path, data):
    model = make_model()
    fit(model, data, 1, [CSVLogger(tmp_path / "log.csv")])
    fit(model, data, 1, [CSVLogger(tmp_path / "log.csv", append=True)], validation=False)
    rows = read_csv(tmp_path / "log.csv")
    assert rows[2][rows[0].index("val_loss")] == "NA"
    with pytest.raises(ValueError, match=r"also logs \['val_loss', 'val_mae'\]"):
        other = tmp_path / "other.csv"
        fit(model, data, 1, [CSVLogger(other)], validation=False)
        fit(model, data, 1, [CSVLogger(other, append=True)])
    assert len(read_csv(other)) == 2  # nothing written by the refused epoch


def test_csv_keeps_the_finished_epochs_of_a_crash(tmp_path, data):
    class Crash(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise RuntimeError("crash")

    with pytest.raises(RuntimeError, match="crash"):
        fit(make_model(), data, 5, [CSVLogger(tmp_path / "log.csv"), Crash()])
    assert [r[0] for r in read_csv(tmp_path / "log.csv")] == ["epoch", "0", "1"]


def test_csv_append_refuses_a_file_without_an_epoch_header(tmp_path, data):
    (tmp_path / "log.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"first column is 'epoch'"):
        fit(make_model(), data, 1, [CSVLogger(tmp_path / "log.csv", append=True)])


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"filename": 3}, TypeError, r"filename must be a path.*got 3"),
        ({"filename": ""}, ValueError, r"filename must be a non-empty path; got ''"),
        ({"filename": "missing/log.csv"}, FileNotFoundError, r"folder of filename 'missing/log.csv'"),
        ({"filename": "."}, IsADirectoryError, r"filename '\.' is a folder"),
        ({"filename": "log.csv", "separator": ",,"}, ValueError, r"separator must be one character.*got ',,'"),
        ({"filename": "log.csv", "separator": '"'}, ValueError, r"separator must be one character.*got '\"'"),
        ({"filename": "log.csv", "separator": 1}, ValueError, r"separator must be one character.*got 1"),
        ({"filename": "log.csv", "append": "yes"}, TypeError, r"append must be True or False; got 'yes'"),
    ],
)
def test_csv_bad_arguments(kwargs, error, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(error, match=message):
        CSVLogger(**kwargs)
    assert list(tmp_path.iterdir()) == []


# --- TensorBoard ----------------------------------------------------------------------------------


def scalars(folder):
    event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    accumulator = event_accumulator.EventAccumulator(str(folder), size_guidance={event_accumulator.SCALARS: 0})
    accumulator.Reload()
    return {tag: [(e.step, e.value) for e in accumulator.Scalars(tag)] for tag in accumulator.Tags()["scalars"]}


def as_float32(values):
    return [float(np.float32(v)) for v in values]


def test_tensorboard_epoch_scalars_as_keras_lays_them_out(tmp_path, data):
    pytest.importorskip("tensorboardX")
    model = make_model()
    history = fit(model, data, 3, [TensorBoard(tmp_path / "logs")])
    train, validation = scalars(tmp_path / "logs" / "train"), scalars(tmp_path / "logs" / "validation")
    assert sorted(train) == ["epoch_loss", "epoch_lr", "epoch_mae"]
    assert sorted(validation) == ["epoch_loss", "epoch_mae"]
    for tag, key in [("epoch_loss", "loss"), ("epoch_lr", "lr"), ("epoch_mae", "mae")]:
        assert train[tag] == list(zip([0, 1, 2], as_float32(history.history[key])))
    for tag, key in [("epoch_loss", "val_loss"), ("epoch_mae", "val_mae")]:
        assert validation[tag] == list(zip([0, 1, 2], as_float32(history.history[key])))
    assert history.history["lr"] == [0.05] * 3


def test_tensorboard_batch_losses_and_resume(tmp_path, data):
    pytest.importorskip("tensorboardX")
    model, recorder = make_model(), Recorder()
    fit(model, data, 3, [TensorBoard(tmp_path / "logs", update_freq="batch"), recorder])
    fit(model, data, 2, [TensorBoard(tmp_path / "logs", update_freq="batch"), recorder])  # resumed: new files
    train = scalars(tmp_path / "logs" / "train")
    assert [step for step, _ in train["epoch_loss"]] == [0, 1, 2, 3, 4]
    assert train["epoch_loss"] == list(zip(range(5), as_float32(r["loss"] for r in recorder.logs)))
    steps = [step for step, _ in train["batch_loss"]]
    assert steps == list(range(1, 16))  # the optimizer's steps, continuing across fits
    assert model.training.optimizer.steps == 15
    batch = np.array([value for _, value in train["batch_loss"]]).reshape(5, 3)
    np.testing.assert_array_equal(batch, np.float32(recorder.batch_losses))
    for losses, logs in zip(batch, recorder.logs):  # each epoch's loss is its batches' weighted mean
        assert np.dot(losses, BATCH_ROWS) / ROWS == pytest.approx(logs["loss"], rel=1e-6)


def test_tensorboard_keeps_the_finished_epochs_of_a_crash(tmp_path, data):
    pytest.importorskip("tensorboardX")

    class Crash(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise RuntimeError("crash")

    recorder = Recorder()
    with pytest.raises(RuntimeError, match="crash"):
        fit(make_model(), data, 5, [TensorBoard(tmp_path / "logs", update_freq="batch"), recorder, Crash()])
    train = scalars(tmp_path / "logs" / "train")  # the fit's writers are still open: read what is on disk
    assert train["epoch_loss"] == list(zip([0, 1], as_float32(r["loss"] for r in recorder.logs)))
    assert [step for step, _ in train["batch_loss"]] == list(range(1, 7))


def test_tensorboard_every_nth_step(tmp_path, data):
    pytest.importorskip("tensorboardX")
    fit(make_model(), data, 3, [TensorBoard(tmp_path / "logs", update_freq=2)])
    assert [step for step, _ in scalars(tmp_path / "logs" / "train")["batch_loss"]] == [2, 4, 6, 8]


def test_tensorboard_without_validation_writes_no_validation_run(tmp_path, data):
    pytest.importorskip("tensorboardX")
    fit(make_model(), data, 1, [TensorBoard(tmp_path / "logs")], validation=False)
    assert sorted(p.name for p in (tmp_path / "logs").iterdir()) == ["train"]


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"log_dir": None}, TypeError, r"log_dir must be a path.*got None"),
        ({"log_dir": ""}, ValueError, r"log_dir must be a non-empty path; got ''"),
        ({"log_dir": "file.txt"}, NotADirectoryError, r"log_dir 'file.txt' is a file"),
        ({"log_dir": "logs", "update_freq": "step"}, ValueError, r"update_freq must be 'epoch', 'batch' or an integer >= 1; got 'step'"),
        ({"log_dir": "logs", "update_freq": 0}, ValueError, r"update_freq must be an integer >= 1; got 0"),
        ({"log_dir": "logs", "update_freq": True}, ValueError, r"update_freq must be 'epoch', 'batch'.*got True"),
        ({"log_dir": "logs", "update_freq": 2.0}, ValueError, r"update_freq must be 'epoch', 'batch'.*got 2.0"),
    ],
)
def test_tensorboard_bad_arguments(kwargs, error, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "file.txt").write_text("", encoding="utf-8")
    with pytest.raises(error, match=message):
        TensorBoard(**kwargs)
    assert [p.name for p in tmp_path.iterdir()] == ["file.txt"]


def test_tensorboard_names_its_extra_when_tensorboardx_is_missing(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ModuleNotFoundError, match=r"'tensorboardX' package.*pip install \"numbagrad\[tensorboard\]\""):
        TensorBoard(tmp_path / "logs")
    assert not (tmp_path / "logs").exists()


# --- MLflow -----------------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A local folder store (MLflow 3 asks for MLFLOW_ALLOW_FILE_STORE to use one), no active run."""
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    uri = (tmp_path / "mlruns").as_uri()
    yield uri, mlflow.MlflowClient(uri)
    while mlflow.active_run() is not None:
        mlflow.end_run()


def history_of(client, run_id, key):
    return [(m.step, m.value) for m in sorted(client.get_metric_history(run_id, key), key=lambda m: m.step)]


def test_mlflow_logs_params_metrics_and_the_model(store, data, tmp_path):
    uri, client = store
    model = make_model(metrics=("mae", "r2"))
    callback = MLflow(run_name="tiny", tracking_uri=uri, experiment_name="tests", params={"batch_size": BATCH, "epochs": 3})
    history = fit(model, data, 3, [callback])
    run = client.get_run(callback.run_id)
    assert run.info.run_name == "tiny" and run.info.status == "FINISHED"
    assert client.get_experiment(run.info.experiment_id).name == "tests"
    params = run.data.params
    assert {k: params[k] for k in ("optimizer", "optimizer.lr", "optimizer.momentum", "loss", "metrics", "batch_size", "epochs")} == {
        "optimizer": "sgd", "optimizer.lr": "0.05", "optimizer.momentum": "0.9", "loss": "mse", "metrics": "mae, r2",
        "batch_size": "8", "epochs": "3",
    }
    assert params["model.layers"] == "Dense(4, tanh) -> Dense(1, linear)"
    assert params["model.parameters"] == str(model.count_params()) == "21"
    assert params["model.input_dim"] == "3" and params["model.dtype"] == "float64"
    assert params == {**compile_params(model), "batch_size": "8", "epochs": "3"}
    for key, values in history.history.items():
        assert history_of(client, callback.run_id, key) == list(zip([0, 1, 2], values))
    artifacts = {f.path for f in client.list_artifacts(callback.run_id)} | {f.path for f in client.list_artifacts(callback.run_id, "model")}
    assert {"model_summary.txt", "model_config.json", "model/model.ngm"} <= artifacts
    loaded = numbagrad.load_model(client.download_artifacts(callback.run_id, "model/model.ngm", str(tmp_path)))
    assert loaded.epoch == 3
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded.predict(data[0]), model.predict(data[0]))


def test_mlflow_resumed_fit_in_the_active_run(store, data):
    uri, client = store
    mlflow = pytest.importorskip("mlflow")
    mlflow.set_tracking_uri(uri)
    model = make_model()
    with mlflow.start_run() as run:
        first = fit(model, data, 2, [MLflow(log_model=False)])
        second = fit(model, data, 2, [MLflow(log_model=False)])
        assert client.get_run(run.info.run_id).info.status == "RUNNING"  # the callback leaves a run it did not start
    assert history_of(client, run.info.run_id, "val_loss") == list(zip(range(4), first.history["val_loss"] + second.history["val_loss"]))
    assert client.list_artifacts(run.info.run_id, "model") == []


def test_mlflow_resumed_fit_starts_its_own_run_at_the_models_epoch(store, data):
    uri, client = store
    model = make_model()
    fit(model, data, 2, [MLflow(tracking_uri=uri, log_model=False)])
    callback = MLflow(tracking_uri=uri, log_model=False)
    history = fit(model, data, 2, [callback])
    assert history_of(client, callback.run_id, "loss") == list(zip([2, 3], history.history["loss"]))


def test_mlflow_warns_of_a_changed_parameter_and_keeps_the_first(store, data):
    uri, client = store
    mlflow = pytest.importorskip("mlflow")
    mlflow.set_tracking_uri(uri)
    model = make_model()
    with mlflow.start_run() as run:
        fit(model, data, 1, [MLflow(log_model=False, params={"batch_size": 8})])
        with pytest.warns(UserWarning, match=r"\['batch_size'\].*batch_size='8', now '4'"):
            fit(model, data, 1, [MLflow(log_model=False, params={"batch_size": 4})])
    assert client.get_run(run.info.run_id).data.params["batch_size"] == "8"


def test_mlflow_ends_a_run_whose_fit_raised_as_failed(store, data):
    uri, client = store

    class Crash(Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise RuntimeError("crash")

    model, callback = make_model(), MLflow(tracking_uri=uri, log_model=False)
    with pytest.raises(RuntimeError):
        fit(model, data, 2, [callback, Crash()])
    crashed = callback.run_id
    fit(model, data, 1, [callback])
    assert client.get_run(crashed).info.status == "FAILED"
    assert client.get_run(callback.run_id).info.status == "FINISHED" and callback.run_id != crashed


def test_mlflow_refuses_another_tracking_uri_than_the_active_runs(store, data, tmp_path):
    uri, _ = store
    mlflow = pytest.importorskip("mlflow")
    mlflow.set_tracking_uri(uri)
    with mlflow.start_run():
        with pytest.raises(ValueError, match=r"tracking_uri='file:.*other', but the active MLflow run"):
            fit(make_model(), data, 1, [MLflow(tracking_uri=(tmp_path / "other").as_uri())])


def test_mlflow_params_by_role_and_schedule():
    model = Sequential([Dense(2), Dense(1)], input_dim=2).compile(
        optimizer={"weights": {"name": "sgd", "lr": 0.1}, "biases": "adam"}, loss="mae",
        schedule={"name": "step", "step_size": 2, "gamma": 0.5},
    )
    params = compile_params(model)
    assert params["optimizer.weights"] == "sgd" and params["optimizer.weights.lr"] == "0.1"
    assert params["optimizer.biases"] == "adam" and params["optimizer.biases.lr"] == "0.001"
    assert params["schedule"] == "step" and params["schedule.gamma"] == "0.5"
    assert params["metrics"] == "" and params["clip_norm"] == "None"


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"run_name": ""}, TypeError, r"run_name must be a non-empty str or None; got ''"),
        ({"run_name": 5}, TypeError, r"run_name must be a non-empty str or None; got 5"),
        ({"tracking_uri": 5}, TypeError, r"tracking_uri must be a path.*got 5"),
        ({"tracking_uri": " "}, TypeError, r"tracking_uri must be a non-empty str or None; got ' '"),
        ({"experiment_name": ["x"]}, TypeError, r"experiment_name must be a non-empty str or None; got \['x'\]"),
        ({"log_model": 1}, TypeError, r"log_model must be True or False; got 1"),
        ({"params": [("a", 1)]}, TypeError, r"params must be a dict of non-empty str names.*got \[\('a', 1\)\]"),
        ({"params": {1: 2}}, TypeError, r"params must be a dict of non-empty str names.*got \{1: 2\}"),
    ],
)
def test_mlflow_bad_arguments(kwargs, error, message):
    pytest.importorskip("mlflow")
    with pytest.raises(error, match=message):
        MLflow(**kwargs)


def test_mlflow_takes_a_folder_path_as_tracking_uri(tmp_path):
    pytest.importorskip("mlflow")
    assert MLflow(tracking_uri=tmp_path / "runs").tracking_uri == (tmp_path / "runs").as_uri()


def test_mlflow_names_its_extra_when_mlflow_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)
    with pytest.raises(ModuleNotFoundError, match=r"'mlflow' package.*pip install \"numbagrad\[mlflow\]\""):
        MLflow()


# --- all three on one fit, and the command line's helper ------------------------------------------------


def test_all_three_on_one_resumed_fit(store, data, tmp_path):
    pytest.importorskip("tensorboardX")
    uri, client = store
    model = make_model()
    first = fit(model, data, 3, tracking_callbacks(tmp_path / "tb", uri, tmp_path / "log.csv", batch_size=BATCH, epochs=3))
    callbacks = tracking_callbacks(tmp_path / "tb", uri, tmp_path / "log.csv", batch_size=BATCH, epochs=2, append=True)
    second = fit(model, data, 2, callbacks)
    losses = first.history["loss"] + second.history["loss"]
    rows = read_csv(tmp_path / "log.csv")
    assert [(int(r[0]), float(r[rows[0].index("loss")])) for r in rows[1:]] == list(zip(range(5), losses))
    assert scalars(tmp_path / "tb" / "train")["epoch_loss"] == list(zip(range(5), as_float32(losses)))
    run = client.get_run(callbacks[2].run_id)
    assert run.data.params["epochs"] == "2" and run.data.params["batch_size"] == "8"
    assert history_of(client, run.info.run_id, "loss") == list(zip([3, 4], second.history["loss"]))


def test_tracking_callbacks_chooses_by_flag(tmp_path):
    assert tracking_callbacks() == []
    assert tracking_callbacks(mlflow=False) == []
    (csv_logger,) = tracking_callbacks(csv_log=tmp_path / "log.csv", append=True)
    assert isinstance(csv_logger, CSVLogger) and csv_logger.append


def test_tracking_callbacks_mlflow_flag(tmp_path):
    pytest.importorskip("mlflow")
    (default,) = tracking_callbacks(mlflow=True, run_name="run-1", batch_size=16, epochs=5)
    assert default.tracking_uri is None and default.run_name == "run-1"
    assert default.params == {"batch_size": "16", "epochs": "5"}
    (given,) = tracking_callbacks(mlflow="http://localhost:5000")
    assert given.tracking_uri == "http://localhost:5000" and given.params == {}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"mlflow": ""}, r"mlflow must be True, a tracking URI \(a non-empty str\), False or None; got ''"),
        ({"mlflow": 3}, r"mlflow must be True, a tracking URI.*got 3"),
        ({"mlflow": True, "batch_size": 0}, r"batch_size must be an integer >= 1; got 0"),
        ({"mlflow": True, "epochs": -1}, r"epochs must be an integer >= 0; got -1"),
    ],
)
def test_tracking_callbacks_bad_arguments(kwargs, message):
    pytest.importorskip("mlflow")
    with pytest.raises((TypeError, ValueError), match=message):
        tracking_callbacks(**kwargs)


def test_import_numbagrad_imports_no_tracking_package():
    code = "import sys, numbagrad, numbagrad.train; print(sorted(m for m in sys.modules if m.split('.')[0] in ('mlflow', 'tensorboardX', 'tensorboard')))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"


# --- the documentation's examples ----------------------------------------------------------------------


def test_the_tracking_pages_examples_run(tmp_path):
    """docs/tracking.md's blocks need the extras, so they are ``code-block`` blocks the page test skips: run here."""
    pytest.importorskip("tensorboardX")
    pytest.importorskip("mlflow")
    text = (ROOT / "docs" / "tracking.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```(?:python|\{code-block\} python)\n(.*?)^```", text, re.S | re.M)
    assert len(blocks) >= 4
    script = tmp_path / "page.py"
    script.write_text("\n\n".join(blocks), encoding="utf-8")
    environment = dict(os.environ, MLFLOW_ALLOW_FILE_STORE="true", PYTHONPATH=str(ROOT))
    environment.pop("MLFLOW_TRACKING_URI", None)
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
