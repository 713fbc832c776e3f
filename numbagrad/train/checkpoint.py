"""Saving and loading models: a zip of JSON and ``.npy`` arrays, never pickle.

A saved model holds its architecture, weights, compile options, optimizer
state (every slot, step count and scalar), epoch counter, shuffling random
state and history, so that ``fit`` on the loaded model continues bit for bit
as if training had never stopped. Loading reads JSON and ``.npy`` with
``allow_pickle=False``: a file cannot run code. Writes go to a temporary
file beside the target and are renamed over it, so a crash never leaves a
half-written model.

Layout of the archive::

    numbagrad.json                          format marker, versions, configuration, counters
    parameters.npy                          the flat parameter buffer
    optimizer/<role>/<index>/<slot>.npy     when compiled: each state slot of each parameter
                                            (W1, b1, W2, ...) of each optimizer ("all", or
                                            "weights" and "biases")

Files of format 1 (one optimizer over the flat buffer, ``optimizer/<slot>.npy``)
load too: their flat slots are cut into the parameters' shapes.
"""

from __future__ import annotations

import io
import json
import os
import re
import stat
import tempfile
import time
import zipfile
from typing import Any

import numpy as np

from numbagrad._version import __version__
from numbagrad.errors import UnknownNameError
from numbagrad.nn.placement import check_device, host_parameters
from numbagrad.train.manifest import check_manifest, declared_parameters

__all__ = ["save_model", "load_model", "FORMAT", "FORMAT_VERSION", "ModelFileError"]

FORMAT = "numbagrad-model"
FORMAT_VERSION = 2
_METADATA = "numbagrad.json"
#: The data transform of a ``numbagrad train`` run (numbagrad.preprocessing.MEMBER).
PREPROCESSING_MEMBER = "preprocessing.json"


class ModelFileError(ValueError):
    """The file is not a numbagrad model, or it is truncated or corrupted."""


def _write_array(archive: zipfile.ZipFile, name: str, array: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
    archive.writestr(name, buffer.getvalue())


#: The largest manifest numbagrad reads (its own are a few KiB; a history of many epochs, a few MiB).
MAX_MANIFEST_BYTES = 64 << 20


def _check_members(archive: zipfile.ZipFile, path: str) -> None:
    """Refuse what numbagrad never writes before reading anything: compressed members
    (a small file could inflate without bound), sizes that disagree with the stored bytes."""
    for info in archive.infolist():
        if info.compress_type != zipfile.ZIP_STORED:
            raise ModelFileError(
                f"{path}: member {info.filename!r} is compressed (method {info.compress_type}); numbagrad writes "
                "its model files uncompressed, so this one was not written by numbagrad or is corrupted"
            )
        if info.file_size != info.compress_size:
            raise ModelFileError(f"{path}: member {info.filename!r} declares {info.file_size} bytes but stores {info.compress_size}")


def _array_header(member: Any, name: str, path: str) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype a ``.npy`` member declares, read from its header alone."""
    version = np.lib.format.read_magic(member)
    readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    if version not in readers:
        raise ValueError(f".npy format version {version}, which numbagrad never writes")
    shape, fortran_order, dtype = readers[version](member, max_header_size=10_000)
    if dtype.hasobject or dtype.kind not in "biuf" or fortran_order:
        raise ValueError(f"holds {dtype} {'Fortran-ordered ' if fortran_order else ''}data; numbagrad writes numbers in C order")
    return tuple(int(n) for n in shape), dtype


def _read_array(archive: zipfile.ZipFile, name: str, path: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """The ``.npy`` member ``name``, its header checked against its stored size (and ``shape``, when
    given) before any data is read."""
    try:
        info = archive.getinfo(name)
        with archive.open(info) as member:
            declared, dtype = _array_header(member, name, path)
            if shape is not None and declared != tuple(shape):
                raise ModelFileError(f"{path}: {name!r} has shape {declared}; the model needs {tuple(shape)}")
            count = 1
            for n in declared:
                count *= n
            data_bytes = count * dtype.itemsize
            header_bytes = member.tell()
            if header_bytes + data_bytes != info.file_size:
                raise ModelFileError(
                    f"{path}: {name!r} declares {declared} of {dtype} ({data_bytes} bytes) but stores "
                    f"{info.file_size - header_bytes}; it is truncated or corrupted"
                )
            data = member.read(data_bytes)
        if len(data) != data_bytes:
            raise EOFError(f"read {len(data)} of {data_bytes} bytes")
        return np.frombuffer(data, dtype=dtype).reshape(declared).copy()
    except KeyError:
        raise ModelFileError(f"{path}: the model file has no {name!r}; it is incomplete") from None
    except ModelFileError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, NotImplementedError, OverflowError) as error:
        raise ModelFileError(f"{path}: {name!r} in the model file is corrupted: {error}") from None


_TEMPORARY_PREFIX = ".numbagrad-"
_TEMPORARY = re.compile(r"\.numbagrad-(\d+)-.*\.tmp$")
#: A temporary file of another save older than this is stale whatever wrote it.
_STALE_SECONDS = 24 * 3600


def _file_mode(path: str) -> int:
    """The mode of the file ``save`` replaces, or what a new file gets under the umask (0o666 & ~umask)."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mask = os.umask(0o022)
        os.umask(mask)
        return 0o666 & ~mask


def _remove_stale_temporaries(directory: str) -> None:
    """Remove temporary files that saves killed mid-way left in ``directory``: their process is gone
    (POSIX), or they are older than a day."""
    now = time.time()
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if match is None or int(match.group(1)) == os.getpid():
            continue
        try:
            stale = now - entry.stat().st_mtime > _STALE_SECONDS
            if not stale and os.name == "posix":
                try:
                    os.kill(int(match.group(1)), 0)
                except ProcessLookupError:
                    stale = True
                except (PermissionError, OverflowError):
                    pass
            if stale:
                os.unlink(entry.path)
        except OSError:
            continue  # another save removed it first, or it is not ours to remove


def save_model(model: Any, path: str | os.PathLike) -> None:
    """Write ``model`` to ``path`` atomically (see the module documentation)."""
    path = os.fspath(path)
    if not path:
        raise ValueError("save: path is empty")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"save: directory {directory!r} does not exist")
    metadata: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "numbagrad_version": __version__,
        "model": model.get_config(),
        "epoch": int(model.epoch),
        "rng": model.rng.bit_generator.state,
        "history": model.history.to_dict() if model.history is not None else None,
        "compile": None,
    }
    slots: dict[str, np.ndarray] = {}
    if model.training is not None:
        setup = model.training
        metadata["compile"] = setup.get_config()
        metadata["optimizers"] = {}
        for role, optimizer in setup.optimizers.items():
            state = optimizer.state_dict()
            saved: dict[str, Any] = {}
            for index, entry in state["state"].items():
                saved[str(index)] = {k: v for k, v in entry.items() if not isinstance(v, np.ndarray)}
                saved[str(index)]["slots"] = sorted(k for k, v in entry.items() if isinstance(v, np.ndarray))
                slots.update({f"optimizer/{role}/{index}/{k}.npy": v for k, v in entry.items() if isinstance(v, np.ndarray)})
            metadata["optimizers"][role] = {
                "name": state["optimizer"],
                "param_groups": [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()} for g in state["param_groups"]],
                "state": saved,
            }
    _remove_stale_temporaries(directory)
    mode = _file_mode(path)
    handle, temporary = tempfile.mkstemp(prefix=f"{_TEMPORARY_PREFIX}{os.getpid()}-", suffix=".tmp", dir=directory)
    try:
        os.chmod(temporary, mode)  # mkstemp makes it owner-only; the model gets a file's usual mode
        with os.fdopen(handle, "wb") as raw:
            with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_STORED) as archive:
                archive.writestr(_METADATA, json.dumps(metadata, indent=1, sort_keys=True))
                # A GPU model's parameters are copied to the host: the file is a CPU model's.
                _write_array(archive, "parameters.npy", host_parameters(model))
                for name, array in slots.items():
                    _write_array(archive, name, array)
                if getattr(model, "preprocessing", None) is not None:  # a loaded run's model keeps its transform
                    archive.writestr(PREPROCESSING_MEMBER, json.dumps(model.preprocessing.to_dict(), indent=1))
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def load_model(path: str | os.PathLike, device: str = "cpu"):
    """Read a model written by ``model.save`` (see the module documentation).

    The model is built on the host, whatever device it was saved from, then
    moved to ``device`` (``"cpu"`` by default, so that a model saved on a GPU
    loads on a machine without one).

    Raises:
        FileNotFoundError: no such file.
        ModelFileError: not a numbagrad model, a newer format, truncated or corrupted.
        ValueError: ``device`` is neither ``"cpu"`` nor ``"cuda"``.
        numbagrad.errors.CudaUnavailableError: ``device="cuda"`` without a usable GPU.
    """
    from numbagrad.nn.model import Sequential
    from numbagrad.train.history import History

    path = os.fspath(path)
    device = check_device(device, "load_model")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load_model: no file {path!r}")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise ModelFileError(f"{path}: not a numbagrad model file (not a zip archive: {error})") from None
    with archive:
        _check_members(archive, path)
        try:
            if archive.getinfo(_METADATA).file_size > MAX_MANIFEST_BYTES:
                raise ModelFileError(f"{path}: {_METADATA} is larger than {MAX_MANIFEST_BYTES} bytes; not a numbagrad manifest")
            metadata = json.loads(archive.read(_METADATA).decode("utf-8"))
        except KeyError:
            raise ModelFileError(f"{path}: not a numbagrad model file (no {_METADATA})") from None
        except (ValueError, UnicodeDecodeError, zipfile.BadZipFile, OSError, EOFError, RecursionError, NotImplementedError) as error:
            reason = "nested too deeply" if isinstance(error, RecursionError) else error
            raise ModelFileError(f"{path}: the model file is corrupted ({_METADATA}: {reason})") from None
        if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
            raise ModelFileError(f"{path}: not a numbagrad model file (format marker missing)")
        version = metadata.get("format_version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise ModelFileError(f"{path}: the manifest's format_version must be an integer >= 1; got {version!r}")
        if version > FORMAT_VERSION:
            raise ModelFileError(
                f"{path}: model file format {version!r} is newer than this numbagrad ({__version__}) reads "
                f"(up to {FORMAT_VERSION}); upgrade numbagrad"
            )
        count = declared_parameters(metadata.get("model"), path)
        check_manifest(metadata, path, version)
        try:
            parameters = _read_array(archive, "parameters.npy", path, shape=(count,))
            if not np.isfinite(parameters).all():
                raise ModelFileError(f"{path}: parameters.npy holds NaN or infinity, which no fit leaves; the file is corrupted")
            model = Sequential.from_config(metadata["model"])
            if parameters.shape != model.parameters.shape or parameters.dtype != model.parameters.dtype:
                raise ModelFileError(
                    f"{path}: parameters.npy has shape {parameters.shape} and dtype {parameters.dtype}; "
                    f"the architecture needs {model.parameters.shape} of {model.parameters.dtype}"
                )
            model.parameters[...] = parameters
            for layer in model.layers:
                if layer.running_var is not None and (layer.running_var < 0).any():
                    raise ModelFileError(f"{path}: layer {layer.name!r} has a negative running variance, which no fit leaves; the file is corrupted")
            model.preprocessing = _preprocessing(archive, model, path)
            model.epoch = int(metadata["epoch"])
            model.rng.bit_generator.state = metadata["rng"]
            if metadata.get("history") is not None:
                model.history = History.from_dict(metadata["history"])
            if metadata.get("compile") is not None:
                model.compile(**metadata["compile"])
                roles = model.training.optimizers
                saved_roles = metadata["optimizers"] if version >= 2 else {"all": None}
                for role in saved_roles:
                    if role not in roles:
                        raise ModelFileError(
                            f"{path}: the model file has optimizer state for the {role!r}, which its compile options "
                            f"do not optimize separately (they have {', '.join(map(repr, roles))})"
                        )
                for role in roles:
                    if role not in saved_roles:
                        raise ModelFileError(f"{path}: the model file has no optimizer state for the {role}")
                states = _optimizer_states(archive, metadata, model, path) if version >= 2 else _format1_state(archive, metadata, model, path)
                for role, optimizer in roles.items():
                    optimizer.load_state_dict(states[role])
        except ModelFileError:
            raise
        except UnknownNameError as error:  # a plugin's name, the plugin not installed here; or a corrupted name
            raise ModelFileError(f"{path}: the model file uses something this installation does not have: {error}") from None
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError, RecursionError, NotImplementedError, zipfile.BadZipFile, EOFError) as error:
            raise ModelFileError(f"{path}: the model file's contents are invalid: {type(error).__name__}: {error}") from None
    if device != "cpu":
        model.to(device)
    return model


def _preprocessing(archive: zipfile.ZipFile, model: Any, path: str):
    """The data transform of the run that trained the model (``numbagrad train``), or None."""
    from numbagrad.preprocessing import Preprocessing

    record = Preprocessing.from_archive(archive, path)
    if record is not None:
        try:
            record.check_model(model, path)
        except ValueError as error:
            raise ModelFileError(str(error)) from None
    return record


def _optimizer_states(archive: zipfile.ZipFile, metadata: dict, model: Any, path: str) -> dict[str, dict]:
    """Each role's ``state_dict`` from a file of format 2."""
    states = {}
    for role, saved in metadata["optimizers"].items():
        entries = {}
        for index, values in saved["state"].items():
            entry = {k: v for k, v in values.items() if k != "slots"}
            for name in values["slots"]:
                entry[name] = _read_array(archive, f"optimizer/{role}/{index}/{name}.npy", path)
            entries[int(index)] = entry
        states[role] = {"optimizer": saved["name"], "param_groups": saved["param_groups"], "state": entries}
    return states


def _format1_state(archive: zipfile.ZipFile, metadata: dict, model: Any, path: str) -> dict[str, dict]:
    """The one optimizer's ``state_dict`` from a file of format 1: its flat slots cut per parameter."""
    from numbagrad.nn.placement import tensor_views

    saved = metadata["optimizer"]
    scalars = dict(saved["scalars"])
    flat = {name: _read_array(archive, f"optimizer/{name}.npy", path) for name in saved["slots"]}
    for name, array in flat.items():
        if array.shape != model.parameters.shape:
            raise ModelFileError(f"{path}: optimizer/{name}.npy has shape {array.shape}; the parameters have {model.parameters.shape}")
    count = len(tensor_views(model, model.parameters))
    cut = {name: [v for _, v in tensor_views(model, array)] for name, array in flat.items()}
    entries = {i: {**scalars, **{name: views[i] for name, views in cut.items()}} for i in range(count)} if scalars or flat else {}
    groups = [dict(g, params=list(range(count))) for g in saved["param_groups"]]
    return {"all": {"optimizer": saved["name"], "param_groups": groups, "state": entries}}
