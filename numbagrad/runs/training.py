"""``numbagrad train`` and ``numbagrad compare``: train, report, write the run folder.

Everything that can fail on the user's input (the configuration, the data,
the names of components, the output folder) is checked before training
starts; the run folder is built aside and appears only when complete (see
:mod:`numbagrad.runs.folder`).

A run folder holds::

    model.ngm            the trained model (numbagrad.load_model reads it), with its preprocessing inside
    preprocessing.json   the same preprocessing, readable: feature names, mean and std, classes
    config.toml          the fully resolved configuration: --config runs it again
    history.json/.csv    loss, metrics and learning rate per epoch
    report.json          final and best values, epochs, time, samples per second
    loss.png, metrics.png  the curves (with matplotlib), the best epoch marked
    lr.png               the learning rate, when a schedule changed it

``compare`` writes one such folder per optimizer (without pictures) under its
own, with ``comparison.csv`` and ``comparison.png`` beside them.
"""

from __future__ import annotations

import contextlib

import importlib.util
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import numba

from numbagrad.errors import NonFiniteLossError
from numbagrad.registry import get_registry
from numbagrad.runs.config import RunConfig, toml_writer, write_toml
from numbagrad.runs.folder import building, plan_folder, write_csv, write_history, write_json
from numbagrad.runs.prepare import Prepared, build_model, check_targets, describe_model, prepare, resolved_schedule
from numbagrad.runs.report import Trained, axis_labels, best_epoch, better, result_lines, seconds, shown_keys, summary, table
from numbagrad.train import EarlyStopping, tracking_callbacks

__all__ = ["train", "compare", "fit_prepared", "warm_up", "Echo"]

#: Prints one line of the report (stdout) or a note (stderr).
Echo = Callable[[str], None]

#: Seconds the compiled loop may take to get ready before the user is told it is compiling.
COMPILE_NOTICE_AFTER = 1.0

_NO_PLOTS = "no pictures written: matplotlib is not installed (pip install 'numbagrad[cli]')"


@contextmanager
def _notice_if_slow(note: Echo, message: str, after: float = COMPILE_NOTICE_AFTER) -> Iterator[None]:
    """Say ``message`` only if the block is still running ``after`` seconds in, and then how long it took.

    Compiling the training loop takes about a minute once per installation
    and a fraction of a second afterwards (Numba's cache): a notice on every
    run would be noise, silence on the first would look like a hang.
    """
    began = time.perf_counter()
    said = threading.Event()

    def say() -> None:
        note(message)
        said.set()

    timer = threading.Timer(after, say)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        timer.join()  # a notice being printed finishes before the next line
        if said.is_set():
            note(f"ready in {time.perf_counter() - began:.0f} s")


def _check_machine(config: RunConfig) -> None:
    """Threads and device the run asks for, checked against this machine before any work."""
    if config.device == "cuda":
        from numbagrad.device import require_cuda

        require_cuda(f"{config.origin('device')} cuda: the model trains on the GPU")
    available = numba.config.NUMBA_NUM_THREADS
    if config.threads > available:
        raise ValueError(
            f"{config.origin('threads')} must be at most {available} (the threads Numba may use here; 0 for fit's choice); "
            f"got {config.threads}"
        )


def warm_up(prepared: Prepared, optimizer: str, options: Mapping[str, Any], note: Echo) -> None:
    """Run the compiled training and validation loops over two batches of a throwaway
    model, so that compiling them (or loading them from Numba's cache) and starting
    the thread pools are not timed as training."""
    model = build_model(prepared, optimizer, options)
    rows = min(2 * prepared.config.batch_size, len(prepared.X_train))
    validation = None
    if prepared.validation is not None:
        validation = (prepared.validation[0][:rows], prepared.validation[1][:rows])
    with _notice_if_slow(note, "compiling numbagrad's training loop: once after installing or upgrading; later runs load it from Numba's cache"):
        try:
            model.fit(prepared.X_train[:rows], prepared.y_train[:rows], batch_size=prepared.config.batch_size, epochs=1,
                      validation_data=validation, verbose=0, threads=prepared.config.threads or None)
        except NonFiniteLossError:
            pass  # the loops are compiled all the same; the real run reports a diverging loss itself


def fit_prepared(prepared: Prepared, model: Any, label: str, verbose: int, tracking: list | None = None) -> Trained:
    """Train ``model`` on the prepared data with the configured batch size, epochs,
    seed and early stopping, and the ``tracking`` callbacks; time it."""
    config = prepared.config
    callbacks = list(tracking or [])
    stopper = None
    if config.early_stopping:
        stopper = EarlyStopping(
            monitor="val_loss" if prepared.validation is not None else "loss",
            patience=config.early_stopping, restore_best_weights=True,
        )
        callbacks.append(stopper)
    began = time.perf_counter()
    history = model.fit(
        prepared.X_train, prepared.y_train, batch_size=config.batch_size, epochs=config.epochs,
        validation_data=prepared.validation, seed=config.seed, callbacks=callbacks, verbose=verbose,
        class_weight=None if config.class_weight == "none" else config.class_weight, threads=config.threads or None,
    )
    elapsed = time.perf_counter() - began
    stopped = stopper.stopped_epoch + 1 if stopper is not None and stopper.stopped_epoch is not None else None
    return Trained(label, model, history, elapsed, len(prepared.X_train), stopped)


def _resolved(prepared: Prepared, optimizer: str, options: Mapping[str, Any]) -> RunConfig:
    """The configuration with every choice of this run, for its config.toml."""
    return prepared.config.with_changes(optimizer=optimizer, optimizer_options=dict(options), schedule=resolved_schedule(prepared))


def _write_run(folder: Path, prepared: Prepared, trained: Trained, config: RunConfig, plots: bool) -> list[str]:
    """Write one run's files into ``folder``; returns their names."""
    model_path = folder / "model.ngm"
    trained.model.save(model_path)
    prepared.preprocessing.attach(model_path)
    write_json(folder / "preprocessing.json", prepared.preprocessing.to_dict())
    write_toml(folder / "config.toml", config.to_toml("train"), comment="numbagrad train --config config.toml runs this again")
    write_history(folder, trained.history)
    report = summary(trained)
    report["data"] = prepared.describe()
    write_json(folder / "report.json", report)
    written = ["model.ngm", "preprocessing.json", "config.toml", "history.json", "history.csv", "report.json"]
    if plots:
        written += _write_plots(folder, trained, prepared)
    return written


def _write_plots(folder: Path, trained: Trained, prepared: Prepared) -> list[str]:
    """The run's curves: loss, metrics and, when a schedule changed it, the learning rate.

    Every panel marks the best epoch by the value the report judges the run by
    (the first validation value, else the training loss) and labels its axis
    with the unit.
    """
    from numbagrad.plotting import plot_history

    config = prepared.config
    records = trained.history.history
    title = f"{config.data}: {trained.label}"
    rate = records.get("lr", [])
    pictures = {
        "loss.png": ["loss"],
        "metrics.png": [m for m in config.metrics if m in records],
        # A constant rate is one number, in the report and config.toml; a picture of it says nothing.
        "lr.png": ["lr"] if len(set(rate)) > 1 else [],
    }
    judged = shown_keys(records)[0]
    best = best_epoch(records[judged], better(judged)) + 1
    labels = axis_labels(list(records), config.loss, prepared.preprocessing)
    written = []
    for name, keys in pictures.items():
        if keys:
            plot_history(records, keys, folder / name, title=title, ylabels=labels, best_epoch=best, best_key=judged)
            written.append(name)
    return written


def _can_plot(note: Echo) -> bool:
    if importlib.util.find_spec("matplotlib") is None:
        note(_NO_PLOTS)
        return False
    return True


def _header(prepared: Prepared, model: Any, training: str, echo: Echo) -> None:
    for line in prepared.describe():
        echo(line)
    echo(f"model: {describe_model(model)}")
    echo(training)


def _optimizer_text(name: str, options: Mapping[str, Any], shown: tuple[str, ...] = ("lr", "momentum", "nesterov", "weight_decay")) -> str:
    picked = [f"{k}={options[k]:g}" if isinstance(options[k], float) else f"{k}={options[k]}" for k in shown if k in options and options[k]]
    return f"{name} ({', '.join(picked)})" if picked else name


def _training_text(prepared: Prepared, optimizer: str) -> str:
    config = prepared.config
    schedule = ""
    if config.schedule is not None:
        schedule = f", schedule {config.schedule.get('name', 'combined')}"
    return f"training: {optimizer}, {config.loss}, batch {config.batch_size}, {config.epochs} epochs{schedule}"


def train(config: RunConfig, name: str | None = None, verbose: int = 1, echo: Echo = print, note: Echo = print,
          write: bool = True) -> Path | None:
    """Train one model as ``config`` says and write its run folder; returns the folder.

    Args:
        name: the run folder's name inside ``config.output`` (default
            ``<data>-<optimizer>-<date>-<time>``).
        verbose: 1 a progress bar per epoch, 0 nothing during training.
        echo: prints a line of the report; note: prints a remark (stderr).
        write: write the run folder (False on the ranks other than 0 of a
            data-parallel run; returns None then).
    """
    toml_writer()  # a missing tomli-w is reported before any work, not after training
    _check_machine(config)
    prepared = prepare(config)
    config = prepared.config
    target = plan_folder(config.output, name, f"{Path(config.data).stem}-{config.optimizer.lower()}", config.origin("output"))
    # Built before any work: a missing optional package or a bad path is said now, not after training.
    tracking = tracking_callbacks(config.tensorboard, config.mlflow, config.csv_log, batch_size=config.batch_size,
                                  epochs=config.epochs, run_name=target.name)
    model = build_model(prepared, config.optimizer, config.optimizer_options)
    check_targets(prepared, model)
    options = dict(model.training.optimizer.defaults)
    plots = _can_plot(note)
    _header(prepared, model, _training_text(prepared, _optimizer_text(config.optimizer, options)), echo)
    warm_up(prepared, config.optimizer, config.optimizer_options, note)
    trained = fit_prepared(prepared, model, config.optimizer, verbose, tracking)
    for line in result_lines(trained):
        echo(line)
    if not write:
        return None
    with building(target, unique=name is None) as run:
        written = _write_run(run.temporary, prepared, trained, _resolved(prepared, config.optimizer, options), plots)
    echo(f"saved {run.final}: {', '.join(written)}")
    return run.final


# --- compare -----------------------------------------------------------------------------------------


def _options_for(optimizer: str, shared: Mapping[str, Any]) -> dict[str, Any]:
    """The shared options that ``optimizer`` has (a momentum for SGD, not for Adam)."""
    spec = get_registry().lookup("optimizer", optimizer).spec
    names = {h.name for h in spec.hyperparameters}
    return {key: value for key, value in shared.items() if key in names}


def _check_shared_options(optimizers: tuple[str, ...], shared: Mapping[str, Any]) -> None:
    known = set()
    for optimizer in optimizers:
        known |= {h.name for h in get_registry().lookup("optimizer", optimizer).spec.hyperparameters}
    for key in shared:
        if key not in known:
            raise ValueError(f"no optimizer among {', '.join(optimizers)} has a hyperparameter {key!r}; allowed: {', '.join(sorted(known))}")


def _compared_keys(metric: str | None, validated: bool) -> list[str]:
    """The loss and the first metric, on the validation rows when there are some."""
    prefix = "val_" if validated else ""
    return [prefix + "loss"] + ([prefix + metric] if metric else [])


def _comparison(runs: list[Trained], options: list[Mapping[str, Any]], keys: list[str]) -> tuple[list[str], list[list[Any]], list[list[str]]]:
    """``(CSV header, CSV rows, printed rows)``: per optimizer, the learning rate, the best
    value of each key with its epoch, the final value, the epochs and the time."""
    header = ["optimizer", "lr"]
    for key in keys:
        header += [f"best {key}", f"best {key} epoch", f"final {key}"]
    header += ["epochs", "seconds"]
    rows, printed = [], []
    for trained, chosen in zip(runs, options):
        lr = chosen.get("lr", "")
        row: list[Any] = [trained.label, lr]
        cells = [trained.label, f"{lr:g}" if isinstance(lr, float) else str(lr)]
        for key in keys:
            values = trained.history.history[key]
            i = best_epoch(values, better(key))
            row += [values[i], i + 1, values[-1]]
            cells += [f"{values[i]:.4g} (epoch {i + 1})", f"{values[-1]:.4g}"]
        row += [trained.epochs, trained.seconds]
        cells += [str(trained.epochs), seconds(trained.seconds)]
        rows.append(row)
        printed.append(cells)
    return header, rows, printed


def _printed_header(keys: list[str]) -> list[str]:
    header = ["optimizer", "lr"]
    for key in keys:
        header += [f"best {key}", f"final {key}"]
    return header + ["epochs", "time"]


#: The learning rate ``compare`` gives every optimizer unless told otherwise.
COMPARE_LR = 1e-3


def _report_run(trained: Trained, options: Mapping[str, Any], verbose: int, echo: Echo) -> None:
    if verbose:
        final = ", ".join(f"{k} {trained.history.history[k][-1]:.4g}" for k in shown_keys(trained.history.history))
        echo(f"{_optimizer_text(trained.label, options)}: {trained.epochs} epochs in {seconds(trained.seconds)}, {final}")


def _fit_in_parallel(prepared: Prepared, models: list, config: RunConfig, verbose: int, note: Echo) -> list[Trained]:
    """Each optimizer's fit as a task on ``config.backend``'s worker processes (models travel as plain
    data: see :mod:`numbagrad.nn.state`), in the order of ``config.optimizers``."""
    import joblib

    from numbagrad import sweeps

    workers = config.workers or min(len(models), sweeps._cores())
    if verbose:
        note(f"training {len(models)} optimizers on {workers} {config.backend} worker processes")
    if config.backend == "loky":  # joblib's default: processes on this machine, their threads shared out by joblib
        context = contextlib.nullcontext()
    else:
        context = {"dask": sweeps.dask_backend, "ray": sweeps.ray_backend}[config.backend](workers=workers)
    with context:
        tasks = (joblib.delayed(fit_prepared)(prepared, model, optimizer, 0) for optimizer, model in zip(config.optimizers, models))
        return list(joblib.Parallel(n_jobs=workers)(tasks))


def compare(config: RunConfig, name: str | None = None, verbose: int = 1, echo: Echo = print, note: Echo = print) -> Path:
    """Train the same network from the same initial weights with each of
    ``config.optimizers``; print a table, write a folder with a run per optimizer,
    ``comparison.csv`` and ``comparison.png``. Returns the folder.

    ``verbose``: 0 the table alone, 1 a line per optimizer as it finishes, 2 also
    fit's line per epoch of each (``--log epoch``)."""
    toml_writer()
    _check_machine(config)
    prepared = prepare(config)
    config = prepared.config
    _check_shared_options(config.optimizers, config.optimizer_options)
    target = plan_folder(config.output, name, f"compare-{Path(config.data).stem}", config.origin("output"))
    # A ranking means something only at one learning rate: each optimizer's own default (SGD's
    # 0.001, RMSprop's 0.01, Adadelta's 1.0) would rank the defaults, not the optimizers.
    shared = {"lr": COMPARE_LR, **config.optimizer_options}
    if "lr" not in config.optimizer_options and verbose:
        note(f"every optimizer trains at lr {COMPARE_LR:g} (numbagrad train's default); --lr chooses another")
    chosen = [_options_for(optimizer, shared) for optimizer in config.optimizers]
    # One set of initial weights for all: each optimizer starts from the same point.
    first = build_model(prepared, config.optimizers[0], chosen[0])
    weights = first.get_weights()
    models = [first] + [build_model(prepared, o, c, weights) for o, c in zip(config.optimizers[1:], chosen[1:])]
    check_targets(prepared, first)
    resolved_options = [dict(model.training.optimizer.defaults) for model in models]
    plots = _can_plot(note)
    _header(prepared, first, _training_text(prepared, ", ".join(config.optimizers)) + ", from the same initial weights", echo)
    warm_up(prepared, config.optimizers[0], chosen[0], note)
    if config.backend == "none":
        runs = []
        for optimizer, model, options in zip(config.optimizers, models, resolved_options):
            runs.append(fit_prepared(prepared, model, optimizer, verbose=2 if verbose == 2 else 0))
            _report_run(runs[-1], options, verbose, echo)
    else:
        runs = _fit_in_parallel(prepared, models, config, verbose, note)
        for trained, options in zip(runs, resolved_options):
            _report_run(trained, options, verbose, echo)
    metric = config.metrics[0] if config.metrics else None
    keys = _compared_keys(metric, prepared.validation is not None)
    header, rows, printed = _comparison(runs, resolved_options, keys)
    for line in table(_printed_header(keys), printed):
        echo(line)
    with building(target, unique=name is None) as run:
        folder = run.temporary
        for trained, options in zip(runs, resolved_options):
            (folder / trained.label).mkdir()
            _write_run(folder / trained.label, prepared, trained, _resolved(prepared, trained.label, options), plots=False)
        write_csv(folder / "comparison.csv", header, [[repr(c) if isinstance(c, float) else c for c in row] for row in rows])
        write_toml(folder / "config.toml", config.to_toml("compare"), comment="numbagrad compare --config config.toml runs this again")
        written = [*(f"{r.label}/" for r in runs), "comparison.csv", "config.toml"]
        if plots:
            from numbagrad.plotting import plot_comparison

            plot_comparison({_optimizer_text(r.label, o, ("lr",)): r.history for r, o in zip(runs, resolved_options)}, keys,
                            folder / "comparison.png", ylabels=axis_labels(keys, config.loss, prepared.preprocessing),
                            title=f"{config.data}: the same network from the same initial weights")
            written.append("comparison.png")
    echo(f"saved {run.final}: {', '.join(written)}")
    return run.final
