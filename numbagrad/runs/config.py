"""A run's configuration: defaults, a TOML file, command-line flags, in that order of precedence.

Every setting is declared once, in :data:`SETTINGS`, with its TOML table and
key, its flag and its help; the command line, the configuration files and
the CLI reference are all built from (or checked against) that table.

The TOML layout::

    [data]        source, target, task, validation_split, standardize, categorical, drop, unknown_category
    [model]       hidden, activation, dropout, normalization, l2, l1, dtype, device
    [training]    loss, metrics, batch_size, epochs, early_stopping, class_weight, seed, threads
    [optimizer]   name, and any hyperparameter of that optimizer (lr, momentum, betas...)
    [schedule]    name, and the schedule's hyperparameters (or a warmup/join table)
    [output]      folder, tensorboard, mlflow, csv_log
    [compare]     optimizers, backend, workers

Each run writes its fully resolved configuration (every choice made for it,
defaults included) in this layout, so ``--config`` with that file runs it
again.
"""

from __future__ import annotations

import numbers
import os
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping

from numbagrad.columns import UNKNOWN_CATEGORY
from numbagrad.datasets import NAMED, TASKS
from numbagrad.hyperparameters import closest_names

__all__ = [
    "RunConfig", "Setting", "SETTINGS", "SECTIONS", "DEFAULT_COMPARISON", "resolve", "read_toml", "write_toml",
    "parse_assignment",
]

#: The optimizers ``numbagrad compare`` trains by default: the guide's ball, rolling five ways.
DEFAULT_COMPARISON = ("sgd", "momentum", "nesterov", "rmsprop", "adam")

_INSTALL = "pip install 'numbagrad[cli]'"


# --- converting values, from a flag's text or a TOML value -------------------------------------


def _fail(origin: str, allowed: str, value: Any) -> ValueError:
    return ValueError(f"{origin} must be {allowed}; got {value!r}")


def _text(value: Any, origin: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(origin, "a non-empty string", value)
    return value.strip()


def _integer(minimum: int) -> Callable[[Any, str], int]:
    def convert(value: Any, origin: str) -> int:
        allowed = f"an integer >= {minimum}"
        if isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                raise _fail(origin, allowed, value) from None
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
            raise _fail(origin, allowed, value)
        return int(value)

    return convert


def _real(value: Any, origin: str, allowed: str = "a number") -> float:
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise _fail(origin, allowed, value) from None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _fail(origin, allowed, value)
    return float(value)


def _fraction(value: Any, origin: str) -> float:
    number = _real(value, origin, "a number in [0, 1)")
    if not 0 <= number < 1:
        raise _fail(origin, "a number in [0, 1)", value)
    return number


def _penalty_factor(value: Any, origin: str) -> float:
    allowed = "a finite number >= 0"
    number = _real(value, origin, allowed)
    if not (number >= 0 and number != float("inf")):
        raise _fail(origin, allowed, value)
    return number


def _boolean(value: Any, origin: str) -> bool:
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if not isinstance(value, bool):
        raise _fail(origin, "true or false", value)
    return value


def _choice(options: tuple[str, ...]) -> Callable[[Any, str], str]:
    def convert(value: Any, origin: str) -> str:
        if not isinstance(value, str) or value.strip().lower() not in options:
            raise _fail(origin, "one of " + ", ".join(options), value)
        return value.strip().lower()

    return convert


def _listed(value: Any, origin: str, allowed: str) -> list[Any]:
    """A TOML array, or a flag's text split at commas; ``none`` (or nothing) is the empty list."""
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in ("", "none"):
            return []
        parts = [part.strip() for part in text.split(",")]
        if not all(parts):
            raise _fail(origin, allowed, value)
        return parts
    if isinstance(value, (list, tuple)):
        return list(value)
    raise _fail(origin, allowed, value)


def _sizes(value: Any, origin: str) -> tuple[int, ...]:
    allowed = "layer sizes (integers >= 1) separated by commas, such as 64,64, or none"
    sizes = []
    for part in _listed(value, origin, allowed):
        try:
            size = int(part) if isinstance(part, str) else part
        except ValueError:
            raise _fail(origin, allowed, value) from None
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
            raise _fail(origin, allowed, value)
        sizes.append(int(size))
    return tuple(sizes)


def _names(value: Any, origin: str) -> tuple[str, ...]:
    allowed = "names separated by commas, such as accuracy,r2, or none"
    names = _listed(value, origin, allowed)
    if not all(isinstance(name, str) and name.strip() for name in names):
        raise _fail(origin, allowed, value)
    return tuple(name.strip() for name in names)


def _comparison(value: Any, origin: str) -> tuple[str, ...]:
    names = _names(value, origin)
    if not names:
        raise _fail(origin, "optimizer names separated by commas, such as sgd,momentum,adam", value)
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"{origin} names {repeated[0]!r} twice; each optimizer is trained once")
    return names


def _target(value: Any, origin: str) -> str | int:
    if isinstance(value, bool) or not isinstance(value, (str, numbers.Integral)) or (isinstance(value, str) and not value.strip()):
        raise _fail(origin, "a column name or index", value)
    return value.strip() if isinstance(value, str) else int(value)


def parse_assignment(text: str, origin: str) -> tuple[str, Any]:
    """``NAME=VALUE`` with VALUE read as ``true``/``false``, an integer, a number, numbers
    separated by commas (a tuple, such as Adam's betas), or else a string."""
    name, equals, value = text.partition("=")
    name, value = name.strip(), value.strip()
    if not equals or not name or not value:
        raise ValueError(f"{origin} expects NAME=VALUE, such as momentum=0.9; got {text!r}")
    if value.lower() in ("true", "false"):
        return name, value.lower() == "true"
    parts = value.split(",")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        try:
            values = [float(p) for p in parts]
        except ValueError:
            return name, value
    return name, values[0] if len(values) == 1 else tuple(values)


# --- the settings ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """One setting: where it lives in the TOML file, its flag, how it is checked.

    ``name`` is the :class:`RunConfig` field, except for the optimizer's
    hyperparameters (``section == "optimizer"``, any key but ``name``), which
    go into :attr:`RunConfig.optimizer_options`.
    """

    name: str
    section: str
    key: str
    flag: str
    convert: Callable[[Any, str], Any]
    help: str
    metavar: str | None = None
    switch: bool = False           # a --flag/--no-flag pair
    commands: tuple[str, ...] = ("train", "compare")
    aliases: tuple[str, ...] = ()

    @property
    def toml_key(self) -> str:
        return f"{self.section}.{self.key}"

    @property
    def optimizer_option(self) -> bool:
        return self.section == "optimizer" and self.key != "name"


SETTINGS: tuple[Setting, ...] = (
    Setting("data", "data", "source", "--data", _text,
            f"a data set ({', '.join(NAMED)}) or a .csv or .npz file (default digits)", "NAME|FILE"),
    Setting("target", "data", "target", "--target", _target,
            "the target: a CSV column (header name or index; default the last column) or an NPZ array (default y)", "COLUMN"),
    Setting("task", "data", "task", "--task", _choice(TASKS),
            "classification or regression (default: the data set's own; for files, text labels or at most "
            "20 distinct whole numbers are classes)", "TASK"),
    Setting("validation_split", "data", "validation_split", "--validation-split", _fraction,
            "fraction of the samples held out for validation, stratified by class (default 0.2; 0 for none)", "FRACTION"),
    Setting("standardize", "data", "standardize", "--standardize", _boolean,
            "scale each feature to mean 0 and std 1, from the training rows (and a regression target) (default on)", switch=True),
    Setting("categorical", "data", "categorical", "--categorical", _names,
            "CSV feature columns to one-hot encode although they hold numbers (codes, not quantities), separated by "
            "commas; columns of text always are (default none)", "COLUMNS"),
    Setting("drop", "data", "drop", "--drop", _names,
            "CSV columns to leave out, separated by commas (default none)", "COLUMNS"),
    Setting("unknown_category", "data", "unknown_category", "--unknown-category", _choice(UNKNOWN_CATEGORY),
            "what evaluate and predict do with a category the training rows never had: error (default) names the "
            "row; ignore encodes it as all zeros", "WHAT"),
    Setting("hidden", "model", "hidden", "--hidden", _sizes,
            "hidden layer sizes separated by commas, or none (default 64)", "SIZES"),
    Setting("activation", "model", "activation", "--activation", _text,
            "activation of the hidden layers (default relu)", "NAME"),
    Setting("dropout", "model", "dropout", "--dropout", _fraction,
            "dropout after every hidden layer while training: the fraction of its outputs zeroed in each step "
            "(Keras's Dropout(RATE); default 0: none)", "RATE"),
    Setting("normalization", "model", "normalization", "--normalization", _choice(("none", "batch", "layer")),
            "normalize every hidden layer's x @ W + b before its activation: batch (PyTorch's BatchNorm1d; needs "
            "--batch-size 2 or more) or layer (LayerNorm) (default none)", "KIND"),
    Setting("l2", "model", "l2", "--l2", _penalty_factor,
            "L2 regularization: add FACTOR * sum(W**2) of every layer's weights to the loss (Keras's "
            "kernel_regularizer='l2' is 0.01; default 0: none)", "FACTOR"),
    Setting("l1", "model", "l1", "--l1", _penalty_factor,
            "L1 regularization: add FACTOR * sum(|W|) of every layer's weights to the loss (default 0: none)", "FACTOR"),
    Setting("dtype", "model", "dtype", "--dtype", _choice(("float32", "float64")),
            "float32 (default) or float64", "DTYPE"),
    Setting("device", "model", "device", "--device", _choice(("cpu", "cuda")),
            "where the model trains: cpu (default) or cuda (an NVIDIA GPU; needs numbagrad[cuda])", "DEVICE"),
    Setting("loss", "training", "loss", "--loss", _text,
            "a registered loss (default categorical_crossentropy for classification, mse for regression)", "NAME"),
    Setting("metrics", "training", "metrics", "--metrics", _names,
            "metrics separated by commas, or none (default accuracy for classification, mae,r2 for regression)", "NAMES"),
    Setting("batch_size", "training", "batch_size", "--batch-size", _integer(1),
            "samples per update (default 32)", "N"),
    Setting("epochs", "training", "epochs", "--epochs", _integer(1),
            "passes over the training samples (default 20)", "N"),
    Setting("early_stopping", "training", "early_stopping", "--early-stopping", _integer(0),
            "stop after this many epochs without a better validation loss and keep the best weights (default 0: off)", "PATIENCE"),
    Setting("class_weight", "training", "class_weight", "--class-weight", _choice(("none", "balanced")),
            "balanced weighs each class's training samples by n_samples / (n_classes * its count), for imbalanced "
            "classes; none (default) weighs every sample alike", "WHAT"),
    Setting("seed", "training", "seed", "--seed", _integer(0),
            "seed of the split, the initial weights and the shuffling (default 0)", "N"),
    Setting("threads", "training", "threads", "--threads", _integer(0),
            "Numba threads for the compiled training loop (default 0: as many as fit chooses); "
            "small networks often train fastest on 1", "N"),
    Setting("optimizer", "optimizer", "name", "--optimizer", _text,
            "a registered optimizer (default adam)", "NAME", commands=("train",)),
    Setting("lr", "optimizer", "lr", "--lr", _real,
            "learning rate (default: the optimizer's own, 0.001 for Adam and SGD)", "RATE"),
    Setting("momentum", "optimizer", "momentum", "--momentum", _real,
            "momentum, for the optimizers that have it", "BETA"),
    Setting("nesterov", "optimizer", "nesterov", "--nesterov", _boolean,
            "Nesterov momentum, for the optimizers that have it", switch=True),
    Setting("weight_decay", "optimizer", "weight_decay", "--weight-decay", _real,
            "weight decay, for the optimizers that have it", "DECAY"),
    Setting("schedule", "schedule", "name", "--schedule", _text,
            "a learning-rate schedule, or none (default none); T_max and total_steps default to the run's length", "NAME"),
    Setting("output", "output", "folder", "--output", _text,
            "the folder that receives the run's folder (default runs)", "FOLDER", aliases=("-o",)),
    Setting("tensorboard", "output", "tensorboard", "--tensorboard", _text,
            "also write TensorBoard event files into this folder (needs numbagrad[tensorboard])", "FOLDER", commands=("train",)),
    Setting("mlflow", "output", "mlflow", "--mlflow", _text,
            "also log the run to MLflow at this tracking URI, such as file:mlruns or http://host:5000: settings, "
            "values per epoch, the model file (needs numbagrad[mlflow])", "URI", commands=("train",)),
    Setting("csv_log", "output", "csv_log", "--csv-log", _text,
            "also write one CSV row per epoch to this file as training goes (a finished run has history.csv)", "FILE",
            commands=("train",)),
    Setting("optimizers", "compare", "optimizers", "--optimizers", _comparison,
            f"optimizers to compare, separated by commas (default {','.join(DEFAULT_COMPARISON)})", "A,B,...",
            commands=("compare",)),
    Setting("backend", "compare", "backend", "--backend", _choice(("none", "loky", "dask", "ray")),
            "train the optimizers in parallel worker processes: loky (joblib's, on this machine), dask or ray "
            "(a local cluster; needs numbagrad[dask] or numbagrad[ray]); none (default) trains them one after another",
            "NAME", commands=("compare",)),
    Setting("workers", "compare", "workers", "--workers", _integer(0),
            "worker processes for --backend (default 0: one per optimizer, at most one per core)", "N",
            commands=("compare",)),
)

#: The tables a configuration file may have.
SECTIONS = ("data", "model", "training", "optimizer", "schedule", "output", "compare")
_BY_KEY = {(s.section, s.key): s for s in SETTINGS}


@dataclass
class RunConfig:
    """Every choice of a run; ``None`` means "chosen from the data" (task, loss, metrics).

    ``origins`` says where each value came from (a flag, or a file and key),
    so that an error names what the user wrote.
    """

    data: str = "digits"
    target: str | int | None = None
    task: str | None = None
    validation_split: float = 0.2
    standardize: bool = True
    categorical: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    unknown_category: str = "error"
    hidden: tuple[int, ...] = (64,)
    activation: str = "relu"
    dropout: float = 0.0
    normalization: str = "none"
    l2: float = 0.0
    l1: float = 0.0
    dtype: str = "float32"
    device: str = "cpu"
    loss: str | None = None
    metrics: tuple[str, ...] | None = None
    batch_size: int = 32
    epochs: int = 20
    early_stopping: int = 0
    class_weight: str = "none"
    seed: int = 0
    threads: int = 0
    optimizer: str = "adam"
    optimizer_options: dict[str, Any] = field(default_factory=dict)
    schedule: dict[str, Any] | None = None
    output: str = "runs"
    tensorboard: str | None = None
    mlflow: str | None = None
    csv_log: str | None = None
    optimizers: tuple[str, ...] = DEFAULT_COMPARISON
    backend: str = "none"
    workers: int = 0
    origins: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def origin(self, name: str) -> str:
        """Where ``name`` was set: its flag, ``FILE: table.key``, or its flag for a default."""
        if name in self.origins:
            return self.origins[name]
        flags = {s.name: s.flag for s in SETTINGS}
        return flags.get(name, name)

    def with_changes(self, **changes: Any) -> "RunConfig":
        """A copy with ``changes``; its dicts are copies too, so neither config can change the other."""
        copied = {
            "origins": dict(self.origins),
            "optimizer_options": dict(self.optimizer_options),
            "schedule": None if self.schedule is None else dict(self.schedule),
        }
        return replace(self, **{**copied, **changes})

    def to_toml(self, command: str = "train") -> dict[str, Any]:
        """The configuration as TOML tables (None values left out: TOML has no null).

        For ``compare`` the ``[optimizer]`` table holds the options shared by
        every optimizer and ``[compare]`` the optimizers; for ``train`` the
        optimizer's name and options.
        """
        tables: dict[str, dict[str, Any]] = {section: {} for section in SECTIONS}
        for setting in SETTINGS:
            if setting.optimizer_option or command not in setting.commands or setting.section == "schedule":
                continue
            tables[setting.section][setting.key] = getattr(self, setting.name)
        tables["optimizer"].update(self.optimizer_options)
        if self.schedule is not None:
            tables["schedule"] = dict(self.schedule)
        return {section: values for section, values in _plain(tables).items() if values}


def _plain(value: Any) -> Any:
    """Tuples as lists and None left out, recursively: what TOML can hold."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# --- TOML files ----------------------------------------------------------------------------------


def _toml_reader():
    try:
        import tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            raise ImportError(f"reading a configuration file on Python 3.10 needs tomli: {_INSTALL}") from None
    return tomllib


def read_toml(path: str | os.PathLike) -> dict[str, Any]:
    """The tables of a TOML file.

    Raises:
        FileNotFoundError: no such file; ValueError: not valid TOML (with the line).
    """
    tomllib = _toml_reader()
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"--config: no file {path!r}")
    with open(path, "rb") as file:
        try:
            return tomllib.load(file)
        except tomllib.TOMLDecodeError as error:
            raise ValueError(f"{path}: not valid TOML: {error}") from None
        except UnicodeDecodeError as error:
            raise ValueError(f"{path}: not valid TOML: not UTF-8 text ({error})") from None


def toml_writer():
    """``tomli_w``, or an ImportError naming the extra (checked before a run starts)."""
    try:
        import tomli_w
    except ImportError:
        raise ImportError(f"writing the run's config.toml needs tomli-w: {_INSTALL}") from None
    return tomli_w


def write_toml(path: str | os.PathLike, tables: Mapping[str, Any], comment: str = "") -> None:
    """Write ``tables`` as TOML to ``path``, after ``comment`` lines (each prefixed with ``#``)."""
    text = toml_writer().dumps(_plain(tables))
    header = "".join(f"# {line}\n" for line in comment.splitlines())
    with open(path, "w", encoding="utf-8") as file:
        file.write(header + ("\n" if header else "") + text)


# --- resolution -------------------------------------------------------------------------------------


def _apply(config: RunConfig, setting: Setting, value: Any, origin: str) -> None:
    converted = setting.convert(value, origin)
    if setting.optimizer_option:
        config.optimizer_options[setting.key] = converted
    else:
        setattr(config, setting.name, converted)
    config.origins[setting.name] = origin


def _apply_file(config: RunConfig, tables: Mapping[str, Any], path: str, command: str) -> None:
    for section, values in tables.items():
        if section not in SECTIONS:
            hint = closest_names(section, SECTIONS)
            suggestion = f" (did you mean [{hint[0]}]?)" if hint else ""
            raise ValueError(f"{path}: unknown table [{section}]{suggestion}; allowed: {', '.join(f'[{s}]' for s in SECTIONS)}")
        if not isinstance(values, Mapping):
            raise ValueError(f"{path}: {section} must be a table ([{section}] with keys under it); got {values!r}")
        if section == "schedule":
            config.schedule = dict(values)
            config.origins["schedule"] = f"{path}: [schedule]"
            continue
        for key, value in values.items():
            setting = _BY_KEY.get((section, key))
            if setting is None:
                if section == "optimizer":  # any hyperparameter; the optimizer checks it
                    config.optimizer_options[key] = value
                    continue
                known = [k for (s, k) in _BY_KEY if s == section]
                hint = closest_names(key, known)
                suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
                raise ValueError(f"{path}: unknown key {section}.{key}{suggestion}; [{section}] takes {', '.join(known)}")
            if command not in setting.commands:
                continue  # [optimizer] name is for train, [compare] for compare: one file serves both
            _apply(config, setting, value, f"{path}: {section}.{key}")


def _apply_flags(config: RunConfig, given: Mapping[str, Any]) -> None:
    if "optimizer" in given:
        name = _text(given["optimizer"], "--optimizer")
        if name.lower() != config.optimizer.lower():
            # The file's hyperparameters belong to the optimizer it named.
            config.optimizer_options = {}
    for setting in SETTINGS:
        if setting.name in given and setting.section != "schedule":
            _apply(config, setting, given[setting.name], setting.flag)
    for text in given.get("set", []):
        name, value = parse_assignment(text, "--set")
        config.optimizer_options[name] = value
    if "schedule" in given:
        name = _text(given["schedule"], "--schedule")
        if name.lower() == "none":
            config.schedule = None
        elif config.schedule is None or str(config.schedule.get("name", "")).lower() != name.lower():
            config.schedule = {"name": name}
        config.origins["schedule"] = "--schedule"
    settings = given.get("schedule_set", [])
    if settings:
        if config.schedule is None:
            raise ValueError("--schedule-set needs a schedule: add --schedule NAME (such as --schedule cosine)")
        if "name" not in config.schedule:
            raise ValueError("--schedule-set sets a named schedule's hyperparameters; a warmup or join schedule is set in the [schedule] table of the config file")
        for text in settings:
            name, value = parse_assignment(text, "--schedule-set")
            config.schedule[name] = value


def resolve(given: Mapping[str, Any], config_file: str | os.PathLike | None = None, command: str = "train") -> RunConfig:
    """Defaults, then the configuration file, then the flags.

    Args:
        given: the flags on the command line: a setting's name mapped to its
            text (or True/False for switches), plus ``set`` and
            ``schedule_set``, lists of ``NAME=VALUE``.
        config_file: a TOML file in the layout of this module.
        command: ``"train"`` or ``"compare"`` (which settings apply).

    Raises:
        ValueError: a bad value, an unknown table or key; the message names
            the flag, or the file and key, the value and what is allowed.
        FileNotFoundError: no such configuration file.
    """
    config = RunConfig()
    if config_file is not None:
        _apply_file(config, read_toml(config_file), os.fspath(config_file), command)
    _apply_flags(config, given)
    return config

