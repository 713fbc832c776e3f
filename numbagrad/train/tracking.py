"""Tracking callbacks: a CSV file, TensorBoard event files and MLflow runs, one record per epoch.

Each callback writes what ``fit`` puts in its ``logs`` at the end of every
epoch (``loss``, each metric, their ``val_`` twins, ``lr``), with the epoch
number ``model.epoch`` counts (0-based, continuing across ``fit`` calls, as
Keras's ``initial_epoch``). :class:`CSVLogger` needs only the standard
library; :class:`TensorBoard` needs tensorboardX (``pip install
"numbagrad[tensorboard]"``) and :class:`MLflow` mlflow-skinny (``pip install
"numbagrad[mlflow]"``), each imported when the callback is constructed, so a
missing package is reported before ``fit`` starts.
"""

from __future__ import annotations

import csv
import importlib
import json
import numbers
import os
import secrets
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Mapping

from numbagrad.checks import flag, integer
from numbagrad.optional import require
from numbagrad.train.callbacks import Callback

__all__ = ["CSVLogger", "TensorBoard", "MLflow", "tracking_callbacks", "compile_params", "INSTALL_TENSORBOARD", "INSTALL_MLFLOW"]

INSTALL_TENSORBOARD = 'pip install "numbagrad[tensorboard]"'
INSTALL_MLFLOW = 'pip install "numbagrad[mlflow]"'


def _path(value: Any, name: str, owner: str) -> Path:
    if isinstance(value, bool) or not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{owner}: {name} must be a path (a str or os.PathLike); got {value!r}")
    text = os.fspath(value)
    if not isinstance(text, str) or not text:
        raise ValueError(f"{owner}: {name} must be a non-empty path; got {value!r}")
    return Path(text)


def _optional_name(value: Any, name: str, owner: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise TypeError(f"{owner}: {name} must be a non-empty str or None; got {value!r}")
    return value


def _value(value: Any) -> Any:
    """A log value as written: a float for a number (``float`` of a NumPy scalar too), else itself."""
    return float(value) if isinstance(value, numbers.Real) and not isinstance(value, bool) else value


# --- CSV ---------------------------------------------------------------------------------------


class CSVLogger(Callback):
    """Append one row per epoch to a CSV file, as Keras's ``CSVLogger``.

    Columns: ``epoch`` (0-based, as ``model.epoch`` counts), then the keys of
    the first epoch's logs sorted by name (``accuracy, loss, lr,
    val_accuracy, val_loss``); a key missing from a later epoch is written
    ``NA``. Each row is written and the file closed at the end of its epoch,
    so a run that crashes keeps every finished epoch. The file grows row by
    row and is not rewritten through a temporary file: each row is one
    ``write`` of a whole line.

    Args:
        filename: the CSV file; its folder must exist.
        separator: the one-character column delimiter (default ``","``).
        append: ``False`` (default) starts the file afresh at the beginning
            of ``fit``; ``True`` adds rows to an existing file, without a
            second header, in the columns of its header: the way to continue
            a log when ``fit`` resumes a model.

    Raises:
        TypeError, ValueError: a bad argument, named with its value.
        FileNotFoundError: the folder of ``filename`` does not exist.
        IsADirectoryError: ``filename`` is a folder.
    """

    writes = True

    def __init__(self, filename: str | os.PathLike, separator: str = ",", append: bool = False):
        path = _path(filename, "filename", "CSVLogger")
        if not isinstance(separator, str) or len(separator) != 1 or separator in '"\r\n':
            raise ValueError(
                f"CSVLogger: separator must be one character other than a quote or a line break "
                f"(such as ',', ';' or '\\t'); got {separator!r}"
            )
        self.append = flag(append, "append", "CSVLogger")
        if path.is_dir():
            raise IsADirectoryError(f"CSVLogger: filename {os.fspath(filename)!r} is a folder; give a file path")
        folder = path.absolute().parent
        if not folder.is_dir():
            raise FileNotFoundError(f"CSVLogger: the folder of filename {os.fspath(filename)!r} ({str(folder)!r}) does not exist")
        self.filename = path
        self.separator = separator
        self.keys: list[str] | None = None
        self._header_written = False

    def on_train_begin(self, logs=None):
        self.keys = None
        self._header_written = False
        if self.append and self.filename.is_file() and self.filename.stat().st_size > 0:
            with open(self.filename, newline="", encoding="utf-8") as file:
                header = next(csv.reader(file, delimiter=self.separator), [])
            if not header or header[0] != "epoch":
                raise ValueError(
                    f"CSVLogger: append=True, but filename {str(self.filename)!r} does not start with a header "
                    f"whose first column is 'epoch' (read with separator={self.separator!r}, it starts {header[:3]!r}); "
                    "give a new file, the file's own separator, or append=False"
                )
            self.keys = header[1:]
            self._header_written = True
        elif not self.append:
            self.filename.write_text("", encoding="utf-8")  # as Keras: a new fit starts a new log

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
        unknown = sorted(set(logs) - set(self.keys))
        if unknown:
            raise ValueError(
                f"CSVLogger: filename {str(self.filename)!r} has the columns {['epoch', *self.keys]}; this epoch also "
                f"logs {unknown}: log to a new file (or append=False) when the values change"
            )
        row = [epoch] + [_value(logs[key]) if key in logs else "NA" for key in self.keys]
        with open(self.filename, "a", newline="", encoding="utf-8") as file:
            writer = csv.writer(file, delimiter=self.separator)
            if not self._header_written:
                writer.writerow(["epoch", *self.keys])
                self._header_written = True
            writer.writerow(row)


# --- TensorBoard ---------------------------------------------------------------------------------


class _EventFile:
    """One event file of a TensorBoard run, written as the events come (no writer thread).

    tensorboardX's ``SummaryWriter`` hands events to a thread that writes
    them later, so its ``flush`` can miss the last ones; its ``EventsWriter``
    writes each event at once and ``flush`` puts them on disk, which is what
    "the finished epochs survive a crash" needs.
    """

    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        writer_module = importlib.import_module("tensorboardX.event_file_writer")
        self._event = importlib.import_module("tensorboardX.proto.event_pb2").Event
        self._scalar = importlib.import_module("tensorboardX.summary").scalar
        # tensorboardX names a file by the second and the host only: two fits in one second
        # would write the same file, the second truncating the first. TensorBoard reads a
        # run's files in the order of their names, and takes a step lower than the last one
        # read for a restart: the suffix keeps that order the order of the fits.
        suffix = f".{time.time_ns()}.{os.getpid()}.{secrets.token_hex(2)}.numbagrad"
        self._writer = writer_module.EventsWriter(str(folder / "events"), suffix)

    def add_scalar(self, tag: str, value: float, step: int) -> None:
        event = self._event(wall_time=time.time(), step=int(step), summary=self._scalar(tag, value))
        self._writer.write_event(event)

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()


class TensorBoard(Callback):
    """Write TensorBoard event files, laid out as Keras's ``TensorBoard`` callback.

    Two runs under ``log_dir``: ``train`` holds ``epoch_<key>`` for every log
    value without the ``val_`` prefix (``epoch_loss``, ``epoch_accuracy``,
    ``epoch_lr``, the learning rate), ``validation`` holds the ``val_``
    values under the same tags (``val_loss`` as ``epoch_loss``), so that
    TensorBoard draws training and validation curves of one value in one
    chart. The step of an epoch's scalars is its number (0-based, continuing
    across ``fit`` calls). Run ``tensorboard --logdir LOG_DIR`` to see them.

    With ``update_freq="batch"`` or an integer ``N``, the ``train`` run also
    holds ``batch_loss``: each batch's own loss (a mean over its rows; Keras
    3 shows the running mean of the epoch instead), at the step the
    optimizer had taken after it (1 for the first batch the optimizer ever
    took, continuing across ``fit`` calls), for the steps that are multiples
    of ``N``. The batches run in compiled code, so these scalars are written
    at the end of each epoch, from ``model.epoch_losses``.

    Each ``fit`` opens new event files (names unique to the process and the
    call), so a resumed model adds to the same runs without overwriting
    them; the files are flushed at the end of every epoch.

    Args:
        log_dir: the folder of the runs (created if missing).
        update_freq: ``"epoch"`` (default), ``"batch"`` (every batch) or an
            integer ``N >= 1`` (every ``N``-th optimizer step).

    Raises:
        ModuleNotFoundError: tensorboardX is not installed
            (``pip install "numbagrad[tensorboard]"``).
        TypeError, ValueError: a bad argument, named with its value.
        NotADirectoryError: ``log_dir`` is an existing file.
    """

    writes = True

    def __init__(self, log_dir: str | os.PathLike, update_freq: str | int = "epoch"):
        path = _path(log_dir, "log_dir", "TensorBoard")
        if update_freq in ("epoch", "batch"):
            every = 0 if update_freq == "epoch" else 1
        elif isinstance(update_freq, numbers.Integral) and not isinstance(update_freq, bool):
            every = integer(update_freq, "update_freq", 1, "TensorBoard")
        else:
            raise ValueError(f"TensorBoard: update_freq must be 'epoch', 'batch' or an integer >= 1; got {update_freq!r}")
        if path.exists() and not path.is_dir():
            raise NotADirectoryError(f"TensorBoard: log_dir {os.fspath(log_dir)!r} is a file; give a folder")
        for module in ("tensorboardX", "tensorboardX.event_file_writer", "tensorboardX.proto.event_pb2", "tensorboardX.summary"):
            require(module, INSTALL_TENSORBOARD, "numbagrad.train.TensorBoard")
        self.log_dir = path
        self.update_freq = update_freq
        self._every = every
        self._writers: dict[str, Any] = {}

    def _writer(self, run: str) -> Any:
        if run not in self._writers:
            self._writers[run] = _EventFile(self.log_dir / run)
        return self._writers[run]

    def _close(self) -> None:
        writers, self._writers = self._writers, {}
        for writer in writers.values():
            writer.close()

    def on_train_begin(self, logs=None):
        self._close()  # writers a fit that raised left open
        self.log_dir.mkdir(parents=True, exist_ok=True)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        for key, value in logs.items():
            run, name = ("validation", key[4:]) if key.startswith("val_") else ("train", key)
            self._writer(run).add_scalar("epoch_" + name, _value(value), epoch)
        if self._every:
            self._log_batches()
        for writer in self._writers.values():
            writer.flush()

    def _log_batches(self) -> None:
        losses = getattr(self.model, "epoch_losses", None)
        if losses is None or len(losses) == 0:
            return
        last = self.model.training.optimizer.steps  # the step after the epoch's last batch
        first = last - len(losses) + 1
        writer = self._writer("train")
        for step, loss in enumerate(losses, start=first):
            if step % self._every == 0:
                writer.add_scalar("batch_loss", float(loss), step)

    def on_train_end(self, logs=None):
        self._close()


# --- MLflow ----------------------------------------------------------------------------------------


def _flatten(prefix: str, value: Any, into: dict[str, str]) -> None:
    """``{"a": {"b": 1}}`` under ``prefix`` as ``{"prefix.a.b": "1"}``; a list is one value."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), item, into)
    elif isinstance(value, (list, tuple)) and any(isinstance(v, Mapping) for v in value):
        into[prefix] = json.dumps(value, default=str)
    else:
        into[prefix] = str(value)


def compile_params(model: Any) -> dict[str, str]:
    """The MLflow parameters of a compiled model: its compile options and architecture, as text.

    ``optimizer`` (its name) and ``optimizer.<hyperparameter>`` (or, with
    optimizers by role, ``optimizer.weights`` and ``optimizer.weights.lr``...),
    ``loss`` and its options, ``metrics`` (the names, comma-separated) and
    their options, ``schedule``, ``clip_norm``, ``clip_value``,
    ``flush_subnormals``, and ``model.input_dim``, ``model.dtype``,
    ``model.seed``, ``model.parameters`` (the count) and ``model.layers``
    (``"Dense(16, relu) -> Dense(1, linear)"``).
    """
    config = model.training.get_config()
    params: dict[str, str] = {}
    optimizer = config["optimizer"]
    if "name" in optimizer:
        optimizer = {"": optimizer}
    for role, options in optimizer.items():
        key = f"optimizer.{role}" if role else "optimizer"
        options = dict(options)
        params[key] = str(options.pop("name"))
        _flatten(key, options, params)
    loss = dict(config["loss"])
    params["loss"] = str(loss.pop("name"))
    _flatten("loss", loss, params)
    params["metrics"] = ", ".join(m["name"] for m in config["metrics"])
    for metric in config["metrics"]:
        options = {k: v for k, v in metric.items() if k != "name"}
        _flatten(f"metrics.{metric['name']}", options, params)
    schedule = config["schedule"]
    if isinstance(schedule, Mapping) and "name" in schedule:
        schedule = dict(schedule)
        params["schedule"] = str(schedule.pop("name"))
        _flatten("schedule", schedule, params)
    else:
        params["schedule"] = str(schedule)
    for key in ("clip_norm", "clip_value", "flush_subnormals"):
        params[key] = str(config[key])
    params["model.input_dim"] = str(model.input_dim)
    params["model.dtype"] = str(model.dtype)
    params["model.seed"] = str(model.seed)
    params["model.parameters"] = str(model.count_params())
    params["model.layers"] = " -> ".join(f"Dense({layer.units}, {layer.activation})" for layer in model.layers)
    return params


class MLflow(Callback):
    """Log a ``fit`` to an MLflow run: parameters, per-epoch metrics and the model file.

    At the beginning of ``fit``: the active run (``mlflow.start_run()``
    around ``fit``) if there is one, else a new run the callback starts in
    ``experiment_name``; then the parameters: :func:`compile_params` (the
    compile options and the architecture) with ``params`` over them; a
    parameter the run already holds with the same value is left as it is,
    one with another value is kept and a warning names it (MLflow never
    changes a logged parameter). At the end of every epoch: each log value
    as a metric named by its key (``loss``, ``val_loss``, ``lr``...) at step
    = the epoch number (0-based, continuing across ``fit`` calls). At the
    end of ``fit``: the artifacts ``model_summary.txt`` and
    ``model_config.json``, and, with ``log_model``, the model file
    ``model/model.ngm`` (:meth:`~numbagrad.nn.Sequential.save`; load it with
    :func:`numbagrad.load_model`); then the run it started ends
    ``FINISHED``. A run the callback started whose ``fit`` raised is ended
    ``FAILED`` when the same callback next begins a ``fit``.

    The callback cannot see ``fit``'s ``batch_size`` and ``epochs``: give
    them in ``params`` (:func:`tracking_callbacks` does).

    Args:
        run_name: the name of a run the callback starts.
        tracking_uri: where runs are stored: a server (``"http://host:5000"``),
            a database URI, or a local folder (a path, or ``"file:///..."``);
            default: MLflow's own (``MLFLOW_TRACKING_URI``). MLflow 3 keeps a
            local folder store only with ``MLFLOW_ALLOW_FILE_STORE=true`` in
            the environment, and a database store (its default,
            ``sqlite:///mlflow.db``) needs the full ``mlflow`` package.
        experiment_name: the experiment of a run the callback starts (created
            if missing); default: ``MLFLOW_EXPERIMENT_NAME``, else MLflow's
            ``Default``.
        log_model: save the model to the run at the end of ``fit``.
        params: more parameters, ``{name: value}`` (``{"batch_size": 32}``).

    Attributes:
        run_id: the id of the run the last ``fit`` logged to (``None`` before one).
        client: the ``mlflow.MlflowClient`` of that run's tracking URI.

    Raises:
        ModuleNotFoundError: mlflow is not installed (``pip install "numbagrad[mlflow]"``).
        TypeError, ValueError: a bad argument, named with its value.
    """

    writes = True

    def __init__(
        self,
        run_name: str | None = None,
        tracking_uri: str | os.PathLike | None = None,
        experiment_name: str | None = None,
        log_model: bool = True,
        params: Mapping[str, Any] | None = None,
    ):
        self.run_name = _optional_name(run_name, "run_name", "MLflow")
        if tracking_uri is not None and not isinstance(tracking_uri, str):
            tracking_uri = _path(tracking_uri, "tracking_uri", "MLflow").absolute().as_uri()
        self.tracking_uri = _optional_name(tracking_uri, "tracking_uri", "MLflow")
        self.experiment_name = _optional_name(experiment_name, "experiment_name", "MLflow")
        self.log_model = flag(log_model, "log_model", "MLflow")
        if params is None:
            params = {}
        if not isinstance(params, Mapping) or not all(isinstance(k, str) and k for k in params):
            raise TypeError(f"MLflow: params must be a dict of non-empty str names to values, or None; got {params!r}")
        self.params = {k: str(v) for k, v in params.items()}
        self._mlflow = require("mlflow", INSTALL_MLFLOW, "numbagrad.train.MLflow")
        self._entities = require("mlflow.entities", INSTALL_MLFLOW, "numbagrad.train.MLflow")
        self.client: Any = None
        self.run_id: str | None = None
        self._started = False

    def on_train_begin(self, logs=None):
        mlflow = self._mlflow
        if self._started and self.run_id is not None:  # the last fit raised before its end
            self.client.set_terminated(self.run_id, "FAILED")
        self._started = False
        active = mlflow.active_run()
        if active is not None:
            current = mlflow.get_tracking_uri()
            if self.tracking_uri is not None and self.tracking_uri != current:
                raise ValueError(
                    f"MLflow: tracking_uri={self.tracking_uri!r}, but the active MLflow run {active.info.run_id} is in "
                    f"{current!r}: leave tracking_uri out to log to the active run, or end that run first"
                )
            self.client = mlflow.MlflowClient(current)
            self.run_id = active.info.run_id
        else:
            try:
                self.client = mlflow.MlflowClient(self.tracking_uri)
                name = self.experiment_name or os.environ.get("MLFLOW_EXPERIMENT_NAME") or "Default"
                experiment = self.client.get_experiment_by_name(name)
                experiment_id = experiment.experiment_id if experiment is not None else self.client.create_experiment(name)
                self.run_id = self.client.create_run(experiment_id, run_name=self.run_name).info.run_id
            except mlflow.exceptions.MlflowException as error:  # a store MLflow refuses or cannot reach: before any epoch
                where = self.tracking_uri or mlflow.get_tracking_uri()
                raise ValueError(f"MLflow: cannot log to the tracking URI {where!r}: {error.message}") from None
            self._started = True
        self._log_params({**compile_params(self.model), **self.params})

    def _log_params(self, params: dict[str, str]) -> None:
        Param = self._entities.Param
        held = self.client.get_run(self.run_id).data.params
        changed = sorted(k for k, v in params.items() if k in held and held[k] != v)
        if changed:
            warnings.warn(
                f"MLflow: run {self.run_id} already holds other values of the parameters {changed} "
                f"(MLflow keeps the first): {', '.join(f'{k}={held[k]!r}, now {params[k]!r}' for k in changed)}",
                stacklevel=3,
            )
        new = [Param(k, v) for k, v in params.items() if k not in held]
        for first in range(0, len(new), 100):  # MLflow takes at most 100 parameters a call
            self.client.log_batch(self.run_id, params=new[first : first + 100])

    def on_epoch_end(self, epoch, logs=None):
        Metric = self._entities.Metric
        stamp = int(time.time() * 1000)
        metrics = [
            Metric(key, float(value), stamp, epoch)
            for key, value in (logs or {}).items()
            if isinstance(value, numbers.Real) and not isinstance(value, bool)
        ]
        if metrics:
            self.client.log_batch(self.run_id, metrics=metrics)

    def on_train_end(self, logs=None):
        model = self.model
        self.client.log_text(self.run_id, model.summary(print_fn=None), "model_summary.txt")
        self.client.log_dict(self.run_id, model.get_config(), "model_config.json")
        if self.log_model:
            with tempfile.TemporaryDirectory(prefix="numbagrad-mlflow-") as folder:
                path = os.path.join(folder, "model.ngm")
                model.save(path)
                self.client.log_artifact(self.run_id, path, artifact_path="model")
        if self._started:
            self.client.set_terminated(self.run_id, "FINISHED")
            self._started = False


# --- command line ---------------------------------------------------------------------------------


def tracking_callbacks(
    tensorboard: str | os.PathLike | None = None,
    mlflow: str | bool | None = None,
    csv_log: str | os.PathLike | None = None,
    *,
    batch_size: int | None = None,
    epochs: int | None = None,
    run_name: str | None = None,
    append: bool = False,
    update_freq: str | int = "epoch",
) -> list[Callback]:
    """The tracking callbacks that ``numbagrad train``'s flags ask for, in the order CSV, TensorBoard, MLflow.

    Args:
        tensorboard: ``--tensorboard DIR``: a :class:`TensorBoard` writing to ``DIR``.
        mlflow: ``--mlflow [URI]``: ``True`` (the flag alone) logs to MLflow's
            default tracking URI, a str to that URI; ``None`` or ``False``: no MLflow.
        csv_log: ``--csv-log FILE``: a :class:`CSVLogger` writing ``FILE``.
        batch_size, epochs: the run's, logged as MLflow parameters.
        run_name: the MLflow run's name (the run's name in ``numbagrad train``).
        append: the CSV log continues an existing file (a resumed run).
        update_freq: the TensorBoard callback's.

    Every argument is checked (by the callbacks' constructors) before any
    callback is returned.
    """
    callbacks: list[Callback] = []
    if csv_log is not None:
        callbacks.append(CSVLogger(csv_log, append=append))
    if tensorboard is not None:
        callbacks.append(TensorBoard(tensorboard, update_freq=update_freq))
    if mlflow is not None and mlflow is not False:
        if mlflow is not True and (not isinstance(mlflow, str) or not mlflow):
            raise TypeError(f"tracking_callbacks: mlflow must be True, a tracking URI (a non-empty str), False or None; got {mlflow!r}")
        params = {}
        if batch_size is not None:
            params["batch_size"] = integer(batch_size, "batch_size", 1, "tracking_callbacks")
        if epochs is not None:
            params["epochs"] = integer(epochs, "epochs", 0, "tracking_callbacks")
        uri = None if mlflow is True else mlflow
        callbacks.append(MLflow(run_name=run_name, tracking_uri=uri, params=params))
    return callbacks
