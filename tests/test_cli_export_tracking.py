"""``numbagrad export`` and ``numbagrad train``'s tracking flags, end to end with the real libraries."""

from __future__ import annotations

import csv
import importlib.util
import json

import numpy as np
import pytest

import numbagrad
from helpers import run_cli as run

needs_run = pytest.mark.skipif(
    importlib.util.find_spec("sklearn") is None or importlib.util.find_spec("tomli_w") is None,
    reason="numbagrad train needs scikit-learn and tomli-w",
)


@pytest.fixture
def iris_run(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "train", "--data", "iris", "--epochs", "3", "--name", "iris", "-q")[0] == 0
    return tmp_path / "runs" / "iris"


@needs_run
def test_export_onnx_takes_raw_features_as_the_model_does(capsys, iris_run):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    status, out, err = run(capsys, "export", iris_run, "--format", "onnx")
    assert (status, err) == (0, "") and out == f"wrote {iris_run / 'model.onnx'}\n"
    from sklearn.datasets import load_iris

    X = load_iris().data
    session = ort.InferenceSession(str(iris_run / "model.onnx"), providers=["CPUExecutionProvider"])
    (probabilities,) = session.run(None, {"input": X.astype(np.float32)})
    model = numbagrad.load_model(iris_run / "model.ngm")
    np.testing.assert_allclose(probabilities, model.predict(X), atol=1e-5)


@needs_run
def test_export_safetensors_loads_into_torch(capsys, iris_run, tmp_path):
    pytest.importorskip("safetensors")
    status, out, _ = run(capsys, "export", iris_run / "model.ngm", "--format", "safetensors", "-o", tmp_path / "w.safetensors")
    assert status == 0 and out == f"wrote {tmp_path / 'w.safetensors'}\n"
    model = numbagrad.load_model(iris_run / "model.ngm")
    fresh = numbagrad.Sequential([numbagrad.Dense(64, "relu"), numbagrad.Dense(3, "softmax")], input_dim=4, seed=9)
    fresh.load_weights(tmp_path / "w.safetensors")
    for a, b in zip(fresh.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


@needs_run
@pytest.mark.parametrize("arguments, message", [
    (["--format", "pickle"], "argument --format: invalid choice: 'pickle'"),
    (["-o", "/no/such/folder/m.onnx", "--format", "onnx"], "the directory '/no/such/folder' of --output '/no/such/folder/m.onnx' does not exist"),
])
def test_export_errors_are_one_line(capsys, iris_run, arguments, message):
    status, out, err = run(capsys, "export", iris_run, *arguments)
    assert status in (1, 2) and out == "" and message in err and len(err.splitlines()) == 1
    assert "numbagrad export: numbagrad export" not in err


def test_export_of_a_missing_model_is_one_line(capsys, tmp_path):
    status, out, err = run(capsys, "export", tmp_path / "nope.ngm", "--format", "onnx")
    assert (status, out) == (1, "") and err.startswith("numbagrad export: error: ") and "nope.ngm" in err


@needs_run
def test_train_writes_the_csv_log_and_tensorboard_events(capsys, tmp_path, monkeypatch):
    pytest.importorskip("tensorboardX")
    accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    monkeypatch.chdir(tmp_path)
    status, _, err = run(capsys, "train", "--data", "iris", "--epochs", "3", "--name", "t", "-q",
                         "--csv-log", "log.csv", "--tensorboard", "tb")
    assert status == 0, err
    history = json.loads((tmp_path / "runs" / "t" / "history.json").read_text())["history"]
    rows = list(csv.DictReader(open(tmp_path / "log.csv")))
    assert [float(row["val_loss"]) for row in rows] == history["val_loss"]
    events = accumulator.EventAccumulator(str(tmp_path / "tb" / "train"))
    events.Reload()
    losses = events.Scalars("epoch_loss")
    assert [e.step for e in losses] == [0, 1, 2]
    np.testing.assert_allclose([e.value for e in losses], history["loss"], rtol=1e-6)


@needs_run
def test_train_logs_to_mlflow(capsys, tmp_path, monkeypatch):
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = (tmp_path / "mlruns").as_uri()
    status, _, err = run(capsys, "train", "--data", "iris", "--epochs", "2", "--name", "m", "-q", "--mlflow", uri)
    assert status == 0, err
    client = mlflow.MlflowClient(uri)
    (found,) = client.search_runs([client.get_experiment_by_name("Default").experiment_id])
    assert found.info.run_name == "m" and found.info.status == "FINISHED"
    assert found.data.params["batch_size"] == "32" and found.data.params["epochs"] == "2"
    assert [m.step for m in client.get_metric_history(found.info.run_id, "val_loss")] == [0, 1]


@needs_run
def test_a_missing_tracking_package_is_said_before_any_work(capsys, tmp_path, monkeypatch):
    import sys

    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    status, out, err = run(capsys, "train", "--data", "iris", "--epochs", "1", "--tensorboard", "tb")
    assert (status, out) == (1, "") and "numbagrad[tensorboard]" in err
    assert not (tmp_path / "runs").exists() and not (tmp_path / "tb").exists()
