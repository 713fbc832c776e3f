"""The ``numbagrad`` command line (also ``python -m numbagrad``).

Subcommands:

* ``train``: train a network on a data set (the handwritten digits by
  default) with the "compile options" given as flags or a TOML file; report
  loss, accuracy, time and speed; write a run folder (:mod:`numbagrad.runs`).
* ``compare``: the same network from the same initial weights trained with
  several optimizers; a table and one chart of their curves.
* ``evaluate``: a saved model's loss and metrics on a data set.
* ``predict``: a saved model's predictions for the rows of a file, as CSV.
* ``plugins``: the installed optimizers, losses, schedules... and where each comes from.
* ``cache``: where the compiled kernels are kept and how much room they take;
  ``--clear`` removes them.
* ``landscape``: optimizers started from the same point of a 2-D test
  function (:mod:`numbagrad.landscape`) with the same kernels that train
  networks; prints how close each got to a minimum and draws their paths
  on the function's contours (a PNG, and a GIF with ``--animate``).

This module only reads the command line; the work happens in
:mod:`numbagrad.runs` and :mod:`numbagrad.landscape`. Errors print one line
on stderr and exit with status 1 (2 for a malformed command line, 130 for
Ctrl-C); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import os
import sys
from pathlib import Path

__all__ = ["main"]

_INSTALL_PLOT = "pip install 'numbagrad[plot]'"
_PICTURE_SUFFIXES = (".png", ".svg", ".pdf")


class _Parser(argparse.ArgumentParser):
    """argparse with its errors on one line, naming the command and pointing at ``--help``.

    Abbreviated options are refused: with settings such as ``--epochs`` and
    ``--early-stopping``, a misspelt flag must be an error, not a guess.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# --- plugins ---------------------------------------------------------------------


def _plugins(arguments) -> int:
    import warnings

    from numbagrad.errors import PluginWarning
    from numbagrad.registry import KINDS, get_registry

    registry = get_registry()
    with warnings.catch_warnings():
        # Each skipped plugin is listed below, once: not also as a warning.
        warnings.simplefilter("ignore", PluginWarning)
        registry.available("optimizer")
    rows = []
    for kind in KINDS.values():
        replaced = registry.replaced_builtins(kind.name)
        for name, source in registry.available(kind.name).items():
            note = ""
            if name in replaced:
                note = "  (replaces the built-in"
                builtin = replaced[name].spec
                if getattr(builtin, "has_cuda_kernel", False) and not registry.lookup(kind.name, name).spec.has_cuda_kernel:
                    note += "; CPU only, where the built-in also ran on GPUs"
                note += ")"
            rows.append((kind.name, name, source + note))
    width = max(len(r[1]) for r in rows)
    print(f"{'kind':<12}{'name':<{width + 2}}provided by")
    for kind, name, source in rows:
        print(f"{kind:<12}{name:<{width + 2}}{source}")
    for problem in registry.problems:
        print(f"skipped: {problem}", file=sys.stderr)
    return 0


# --- cache -----------------------------------------------------------------------


def _cache_command(arguments) -> int:
    import shutil

    from numbagrad import _cache

    current = _cache.cache_directory()
    root = os.path.dirname(current)
    folders = _cache.content_folders(root)
    if arguments.clear:
        for _, folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
        print(f"removed {len(folders)} folder(s) of compiled kernels from {root}")
        return 0
    print(f"compiled kernels of numbagrad {_cache.content_key()}: {current}")
    for _, folder in folders:
        marker = "  (this one)" if folder == current else ""
        print(f"{_cache.folder_size(folder) / 2**20:8.1f} MB  {os.path.basename(folder)}{marker}")
    return 0


# --- landscape: reading the options ---------------------------------------------


def _point(text: str) -> tuple[float, float]:
    """``"X,Y"`` as two floats (finiteness is checked by ``trajectories``, which names the value)."""
    parts = text.split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        return float(parts[0]), float(parts[1])
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected X,Y (two numbers, such as -1.5,2); got {text!r}") from None


def _setting(text: str) -> tuple[str, object]:
    """``NAME=VALUE``: ``true``/``false``, an integer, a number, or ``A,B`` (a pair such as Adam's betas).
    Integers stay integers, for hyperparameters that must be one; float ones accept them."""
    name, equals, value = text.partition("=")
    name, value = name.strip(), value.strip()
    if not equals or not name or not value:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, such as momentum=0.5; got {text!r}")
    if value.lower() in ("true", "false"):
        return name, value.lower() == "true"
    try:
        if "," in value:
            return name, tuple(float(part) for part in value.split(","))
        try:
            return name, int(value)
        except ValueError:
            return name, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{name}: expected true, false, a number or numbers separated by commas; got {value!r}") from None


def _joined_negative_start(argv: list[str]) -> list[str]:
    """``--start -1.5,2`` as ``--start=-1.5,2``: argparse takes a value that starts
    with ``-`` and is not a plain number for an option and would refuse it."""
    joined = []
    i = 0
    while i < len(argv):
        if argv[i] == "--start" and i + 1 < len(argv) and argv[i + 1].startswith("-"):
            try:
                _point(argv[i + 1])
            except argparse.ArgumentTypeError:
                pass
            else:
                joined.append(f"--start={argv[i + 1]}")
                i += 2
                continue
        joined.append(argv[i])
        i += 1
    return joined


def _picture_file(output: str | None) -> Path | None:
    """The picture file ``--output`` names (its GIF goes beside it), or None when it names the
    folder of runs, as for ``numbagrad train``."""
    if output is None:
        return None
    where = Path(output)
    if where.is_dir() or not where.suffix:
        return None
    if where.suffix.lower() in _PICTURE_SUFFIXES:
        return where
    raise ValueError(
        f"--output must be a folder (the run folder goes inside it) or a file ending in {', '.join(_PICTURE_SUFFIXES)}; "
        f"got {output!r}" + (" (--animate writes the GIF beside the picture)" if where.suffix.lower() == ".gif" else "")
    )


# --- landscape: the command -------------------------------------------------------


def _landscape(arguments) -> int:
    from numbagrad import landscape
    from numbagrad.runs.folder import building, plan_folder
    from numbagrad.runs.landscape_run import describe, table, write_run

    function = landscape.get(arguments.function)
    optimizers = [name.strip() for name in arguments.optimizers.split(",")]
    if not all(optimizers):
        raise ValueError(f"--optimizers must be names separated by commas, such as sgd,momentum,adam; got {arguments.optimizers!r}")
    hyperparameters = dict(arguments.set)
    picture = _picture_file(arguments.output)
    if picture is not None and arguments.name is not None:
        raise ValueError(f"--name names a run folder; --output {arguments.output!r} is a picture file, which has no run folder")
    can_draw = importlib.util.find_spec("matplotlib") is not None
    if not can_draw and (picture is not None or arguments.animate):
        raise ImportError(f"writing pictures needs matplotlib: {_INSTALL_PLOT}")
    target = None if picture is not None else plan_folder(arguments.output or "runs", arguments.name, f"landscape-{function.name}")

    paths = landscape.trajectories(
        function, optimizers, start=arguments.start, steps=arguments.steps, lr=arguments.lr, **hyperparameters
    )
    print(describe(function, paths, hyperparameters))
    print("\n".join(table(function, paths)))

    if picture is not None:  # just the picture(s) the user named
        picture.parent.mkdir(parents=True, exist_ok=True)
        written = _draw_landscape(function, paths, picture, arguments.animate)
        print("\n".join(f"wrote {path}" for path in written))
        return 0
    if not can_draw:
        print(f"no picture written: matplotlib is not installed ({_INSTALL_PLOT})", file=sys.stderr)
    with building(target, unique=arguments.name is None) as run:
        draw = (lambda picture: _draw_landscape(function, paths, picture, arguments.animate)) if can_draw else None
        names = write_run(run.temporary, function, paths, hyperparameters, arguments.start is not None, draw)
    print(f"saved {run.final}: {', '.join(names)}")
    return 0


def _draw_landscape(function, paths, picture: Path, animate: bool) -> list[Path]:
    from numbagrad.plotting import animate_landscape, plot_landscape

    plot_landscape(function, paths, picture)
    if not animate:
        return [picture]
    animate_landscape(function, paths, picture.with_suffix(".gif"))
    return [picture, picture.with_suffix(".gif")]


def _add_landscape(commands, common) -> None:
    from numbagrad.landscape import FUNCTIONS

    command = commands.add_parser(
        "landscape",
        parents=[common],
        help="optimizers rolling down a 2-D loss landscape, as a table and a picture",
        description=(
            "Run optimizers from the same start on a 2-D test function with numbagrad's kernels, "
            "print how close each got to a minimum and draw their paths on the function's contours."
        ),
        epilog="Examples: numbagrad landscape --function ravine --optimizers momentum,nesterov --animate; "
        "numbagrad landscape --function saddle --start -1.8,0.01 --set momentum=0.5 -o saddle.png",
    )
    command.add_argument("--function", "-f", default="rosenbrock", metavar="NAME",
                         help="the landscape (default rosenbrock): " + ", ".join(FUNCTIONS))
    command.add_argument("--optimizers", default="sgd,momentum,nesterov,adam", metavar="A,B,...",
                         help="registry names separated by commas (default sgd,momentum,nesterov,adam)")
    command.add_argument("--lr", type=float, default=None,
                         help="one learning rate for every optimizer (default: a rate per optimizer chosen for each function)")
    command.add_argument("--steps", type=int, default=None, help="steps per optimizer (default: the function's suggestion)")
    command.add_argument("--start", type=_point, default=None, metavar="X,Y", help="start point (default: the function's suggestion)")
    command.add_argument("--set", type=_setting, action="append", default=[], metavar="NAME=VALUE",
                         help="another hyperparameter, for every optimizer that has it, such as momentum=0.5 (repeatable)")
    command.add_argument("--output", "-o", default=None, metavar="PATH",
                         help="the folder of runs (default runs): the run folder, with the picture, paths.csv and "
                         "report.json, goes inside it; or a .png/.svg/.pdf file name for the picture alone")
    command.add_argument("--name", default=None, metavar="NAME",
                         help="the run folder's name inside --output (default: landscape, the function, date and time)")
    command.add_argument("--animate", action="store_true", help="also write an animated GIF beside the picture")


# --- train, compare, evaluate, predict ---------------------------------------------------


def _given(arguments) -> dict:
    """The run settings present on the command line (absent ones are not in the namespace)."""
    from numbagrad.runs.config import SETTINGS

    names = {setting.name for setting in SETTINGS} | {"set", "schedule_set"}
    return {name: value for name, value in vars(arguments).items() if name in names}


def _train(arguments) -> int:
    from numbagrad import distributed, runs

    launched = distributed.launched_ranks()
    ranks = getattr(arguments, "ranks", None)
    if ranks is not None and launched == 1 and ranks > 1:
        return _launch_ranks(ranks, arguments.argv)
    if ranks is not None and launched > 1 and ranks != launched:
        raise ValueError(f"--ranks {ranks}, but the MPI launcher started {launched} ranks; leave --ranks out under mpiexec or srun")
    world = distributed.init() if launched > 1 else None
    lead = world is None or world.rank == 0  # only rank 0 reports and writes the run folder
    config = runs.resolve(_given(arguments), arguments.config, "train")
    runs.train(
        config, name=arguments.name, verbose=_verbosity(arguments) if lead else 0, echo=print if lead else _silent,
        note=_note(arguments.quiet or not lead), write=lead,
    )
    return 0


def _abort_other_ranks() -> None:
    """In a data-parallel run, one rank's error ends every rank (they would wait for it)."""
    from numbagrad import distributed

    world = distributed.current()
    if world is not None:
        sys.stderr.flush()
        world.abort(1)


def _silent(message: str) -> None:
    return None


def _launch_ranks(ranks: int, argv: list[str]) -> int:
    """Run this ``numbagrad train`` on ``ranks`` MPI ranks of this machine with the installed
    ``mpiexec``, without ``--ranks``; returns its exit status."""
    import shutil
    import subprocess

    mpiexec = shutil.which("mpiexec", path=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]))
    if mpiexec is None:
        raise ValueError(f"--ranks {ranks} needs MPI's mpiexec, which is not installed: pip install \"numbagrad[distributed]\"")
    kept, skip = [], False
    for argument in argv:
        if skip:
            skip = False
        elif argument == "--ranks":
            skip = True
        elif not argument.startswith("--ranks="):
            kept.append(argument)
    return subprocess.call([mpiexec, "-n", str(ranks), sys.executable, "-m", "numbagrad", *kept])


def _compare(arguments) -> int:
    from numbagrad import runs

    config = runs.resolve(_given(arguments), arguments.config, "compare")
    runs.compare(config, name=arguments.name, verbose=_verbosity(arguments), note=_note(arguments.quiet))
    return 0


def _evaluate(arguments) -> int:
    from numbagrad import runs

    values, described = runs.evaluate(arguments.model, arguments.data, arguments.target, arguments.batch_size)
    print(described)
    print(", ".join(f"{key} {value:.4g}" for key, value in values.items()))
    return 0


def _predict(arguments) -> int:
    from numbagrad import runs

    rows = runs.predict(arguments.model, arguments.inputs, arguments.output, arguments.batch_size)
    if arguments.output is not None:
        print(f"wrote {rows:,} predictions to {arguments.output}")
    return 0


def _verbosity(arguments) -> int:
    """fit's verbose: 0 with --quiet, 2 (a line per epoch) with --log epoch, else 1 (a bar on a terminal)."""
    return 0 if arguments.quiet else 2 if getattr(arguments, "log", "bar") == "epoch" else 1


def _note(quiet: bool):
    def note(message: str) -> None:
        if not quiet:
            print(message, file=sys.stderr, flush=True)

    return note


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1; got {text!r}")
    return value


def _add_run_command(commands, common, command_name: str, help: str, description: str, epilog: str) -> None:
    from numbagrad.runs.config import SETTINGS

    command = commands.add_parser(command_name, parents=[common], help=help, description=description, epilog=epilog)
    command.add_argument("--config", metavar="FILE", default=None,
                         help="a TOML file of settings (a run's config.toml, say); flags override it")
    for setting in SETTINGS:
        if command_name not in setting.commands:
            continue
        flags = [setting.flag, *setting.aliases]
        if setting.switch:
            command.add_argument(*flags, dest=setting.name, action=argparse.BooleanOptionalAction,
                                 default=argparse.SUPPRESS, help=setting.help)
        else:
            command.add_argument(*flags, dest=setting.name, metavar=setting.metavar, default=argparse.SUPPRESS, help=setting.help)
        if setting.name == "normalization":  # Keras's and the literature's names for the two kinds
            for flag, kind in (("--batch-norm", "batch"), ("--layer-norm", "layer")):
                command.add_argument(flag, dest=setting.name, action="store_const", const=kind, default=argparse.SUPPRESS,
                                     help=f"the same as --normalization {kind}")
        if setting.name == "weight_decay":
            command.add_argument("--set", dest="set", action="append", default=argparse.SUPPRESS, metavar="NAME=VALUE",
                                 help="another optimizer hyperparameter, such as betas=0.9,0.99 or amsgrad=true (repeatable)")
        if setting.name == "schedule":
            command.add_argument("--schedule-set", dest="schedule_set", action="append", default=argparse.SUPPRESS,
                                 metavar="NAME=VALUE", help="a schedule hyperparameter, such as gamma=0.5 or per=epoch (repeatable)")
    if command_name == "train":
        command.add_argument("--ranks", type=_positive, default=None, metavar="N",
                             help="train data parallel on N MPI ranks of this machine (starts the installed mpiexec; "
                             "needs numbagrad[distributed]); under mpiexec or srun the launcher's ranks are used")
    command.add_argument("--name", default=None, metavar="NAME",
                         help="the run folder's name inside --output (default: data, optimizer, date and time)")
    command.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no notes; the report only")
    command.add_argument("--log", choices=("bar", "epoch"), default="bar",
                         help="bar (default): a progress bar per epoch on a terminal, a line per epoch elsewhere; "
                         "epoch: always one line per epoch, for logs and CI")


def _export(arguments) -> int:
    from numbagrad.export.command import run_export

    print(f"wrote {run_export(arguments.model, arguments.format, arguments.output)}")
    return 0


def _add_export(commands, common) -> None:
    command = commands.add_parser(
        "export", parents=[common], help="write a saved model as ONNX, or its weights as safetensors in PyTorch's layout",
        description="Write a saved model (a run folder or a model file) as an ONNX graph (numbagrad[onnx]), with the "
        "run's preprocessing inside it, or its weights as safetensors (numbagrad[safetensors]) that a PyTorch "
        "nn.Sequential of Linear layers loads with load_state_dict.",
        epilog="Examples: numbagrad export runs/digits-adam-20260102-101500 --format onnx; "
        "numbagrad export model.ngm --format safetensors -o weights.safetensors",
    )
    command.add_argument("model", metavar="MODEL", help="a run folder or a model file (.ngm)")
    command.add_argument("--format", required=True, choices=("onnx", "safetensors"), help="onnx or safetensors")
    command.add_argument("--output", "-o", default=None, metavar="FILE",
                         help="the file to write (default: beside the model file, as model.onnx or model.safetensors)")


def _add_evaluate(commands, common) -> None:
    command = commands.add_parser(
        "evaluate", parents=[common], help="a saved model's loss and metrics on a data set",
        description="Evaluate a saved model (a run folder or a model file) on a data set, "
        "with the preprocessing it was trained with.",
        epilog="Example: numbagrad evaluate runs/digits-adam-20260102-101500 --data digits",
    )
    command.add_argument("model", metavar="MODEL", help="a run folder or a model file (.ngm)")
    command.add_argument("--data", required=True, metavar="NAME|FILE", help="a data set name, or a .csv or .npz file")
    command.add_argument("--target", default=None, metavar="COLUMN",
                         help="the target column or array (default: the one the model was trained on)")
    command.add_argument("--batch-size", type=_positive, default=None, metavar="N", help="samples per batch (default: all at once)")


def _add_predict(commands, common) -> None:
    command = commands.add_parser(
        "predict", parents=[common], help="a saved model's predictions for the rows of a file, as CSV",
        description="Predict the rows of a CSV or NPZ file with a saved model (a run folder or a model file); "
        "classification gives the class and each class's probability, regression the value.",
        epilog="Example: numbagrad predict runs/iris-adam-20260102-101500 flowers.csv -o predictions.csv",
    )
    command.add_argument("model", metavar="MODEL", help="a run folder or a model file (.ngm)")
    command.add_argument("inputs", metavar="INPUT", help="a .csv file (matched to the model's columns by header), a .npz file with X, or - for CSV on standard input")
    command.add_argument("--output", "-o", default=None, metavar="FILE", help="the CSV file to write (default: standard output)")
    command.add_argument("--batch-size", type=_positive, default=1024, metavar="N", help="rows per batch (default 1024)")


def _parser() -> _Parser:
    common = _Parser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    parser = _Parser(prog="numbagrad", description="Dense neural networks trained by Numba kernels.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_run_command(
        commands, common, "train", help="train a network on a data set and save the run",
        description="Train a network (digits, Adam, learning rate 0.001, batch 32 by default), report loss, "
        "accuracy, time and speed, and write a run folder: the model, the history, the resolved configuration "
        "and the curves.",
        epilog="Examples: numbagrad train; numbagrad train --data iris --hidden 16,16 --epochs 60; "
        "numbagrad train --optimizer sgd --lr 0.01 --momentum 0.9 --nesterov; numbagrad train --config run.toml --epochs 5",
    )
    _add_run_command(
        commands, common, "compare", help="train the same network with several optimizers and compare them",
        description="Train the same network from the same initial weights with each optimizer; print a table of "
        "the best and final loss and accuracy and the time, and draw their curves in one chart.",
        epilog="Example: numbagrad compare --optimizers sgd,momentum,nesterov,rmsprop,adam --lr 0.01",
    )
    _add_evaluate(commands, common)
    _add_predict(commands, common)
    _add_export(commands, common)
    commands.add_parser("plugins", parents=[common], help="list installed optimizers, losses, schedules... and the distribution of each")
    cache = commands.add_parser(
        "cache", parents=[common], help="where the compiled kernels are kept, and their size",
        description="Print the folder of numbagrad's compiled kernels (the per-user cache folder, or "
        "$NUMBA_CACHE_DIR/numbagrad) and the size of each version's or copy's subfolder.",
    )
    cache.add_argument("--clear", action="store_true", help="remove every subfolder: the next run compiles again")
    _add_landscape(commands, common)
    return parser


_COMMANDS = {"train": _train, "compare": _compare, "evaluate": _evaluate, "predict": _predict, "export": _export,
             "plugins": _plugins, "cache": _cache_command, "landscape": _landscape}


def main(argv=None) -> int:
    """Run the command line with ``argv`` (``sys.argv[1:]`` by default); returns the exit status."""
    from numbagrad.errors import CudaUnavailableError, DistributedError, PluginError

    argv = _joined_negative_start(list(sys.argv[1:] if argv is None else argv))
    arguments = _parser().parse_args(argv)
    arguments.argv = argv
    run = _COMMANDS[arguments.command]
    try:
        return run(arguments)
    except BrokenPipeError:
        # The reader of our output went away (numbagrad predict ... | head): not an error.
        # Point stdout at nothing so that Python's exit flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        if arguments.debug:
            raise
        print(f"numbagrad {arguments.command}: interrupted; nothing was written", file=sys.stderr)
        return 130
    except (
        ValueError, TypeError, KeyError, ImportError, OSError, FloatingPointError, PluginError, CudaUnavailableError,
        DistributedError, MemoryError, OverflowError, csv.Error,
    ) as error:
        if arguments.debug:
            raise
        # KeyError's text is the repr of its argument; show the message itself.
        text = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
        if isinstance(error, MemoryError):
            text = f"not enough memory{': ' + text if text else ''} (a size too large for this machine: --hidden, --batch-size or the data)"
        message = " ".join(str(text).split())  # one line, whatever the exception's text
        # A message that already names the command (numbagrad.export.run_export's) does not name it twice.
        message = message.removeprefix(f"numbagrad {arguments.command}: ")
        print(f"numbagrad {arguments.command}: error: {message}", file=sys.stderr)
        _abort_other_ranks()
        return 1
