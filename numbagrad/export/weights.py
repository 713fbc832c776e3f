"""Weights as a safetensors file laid out as PyTorch's ``nn.Sequential`` state dict.

The PyTorch mirror of a numbagrad model is ``nn.Sequential(Linear_0, Act_0,
Linear_1, Act_1, ...)``: each Dense layer becomes two modules, its
``nn.Linear`` and its activation (``nn.Identity`` for linear), or three with a
normalization between them (``nn.BatchNorm1d`` or ``nn.LayerNorm``). With ``k``
the module index of a Dense layer's ``nn.Linear`` (``2 i`` for layer ``i``
when no layer is normalized), the file holds::

    "{k}.weight"                (units, fan_in)  the transpose of numbagrad's W, of shape (fan_in, units)
    "{k}.bias"                  (units,)         only for a layer with use_bias=True
    "{k+1}.weight", "{k+1}.bias" (units,)         a normalization's γ and β
    "{k+1}.running_mean", "{k+1}.running_var" (units,), "{k+1}.num_batches_tracked" (), int64:
                                                 batch normalization's running averages (numbagrad
                                                 does not count batches: 0 is written, and ignored on reading)

in the model's dtype. ``nn.Sequential.load_state_dict(safetensors.torch.load_file(path))``
reads it as it is (:func:`numbagrad.export.torch_module` builds that module).
The file's metadata (strings) holds ``"format": "pt"``, the architecture as
JSON under ``"numbagrad.config"`` (``Sequential.from_config`` rebuilds the
model), the numbagrad version, and a ``numbagrad train`` run's data transform
under ``"numbagrad.preprocessing"`` when the model has one.

Reading checks everything before anything changes (the file may come from
anywhere): safetensors' own header checks (its declared offsets must cover the
file exactly), then the tensor names, shapes and dtypes (float32 or float64,
converted to the model's dtype) and that every value is finite in that dtype.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from numbagrad._version import __version__
from numbagrad.export.optional import INSTALL_SAFETENSORS, require
from numbagrad.export.paths import input_file, output_file
from numbagrad.export.supported import check_model
from numbagrad.files import write_atomically

__all__ = ["state_dict", "tensor_shapes", "save_weights", "load_weights", "ACCEPTED_DTYPES", "COUNTER"]

#: The safetensors dtypes ``load_weights`` reads, as NumPy dtypes.
ACCEPTED_DTYPES = {"F32": np.dtype(np.float32), "F64": np.dtype(np.float64)}


#: The batch counter PyTorch's ``BatchNorm1d`` keeps in its state dict, which numbagrad writes as 0 and skips.
COUNTER = "num_batches_tracked"


def tensor_shapes(model: Any) -> dict[str, tuple[int, ...]]:
    """The name and shape of every tensor of the PyTorch mirror, in module order (``get_weights``'s
    order, and then the batch counter of each batch normalization)."""
    shapes: dict[str, tuple[int, ...]] = {}
    fan_in = model.input_dim
    k = 0
    for layer in model.layers:
        shapes[f"{k}.weight"] = (layer.units, fan_in)
        if layer.use_bias:
            shapes[f"{k}.bias"] = (layer.units,)
        if layer.normalization is not None:
            k += 1
            shapes[f"{k}.weight"] = shapes[f"{k}.bias"] = (layer.units,)
            if layer.running_mean is not None:
                shapes[f"{k}.running_mean"] = shapes[f"{k}.running_var"] = (layer.units,)
                shapes[f"{k}.{COUNTER}"] = ()
        k += 2
        fan_in = layer.units
    return shapes


def state_dict(model: Any) -> dict[str, np.ndarray]:
    """The weights under the PyTorch mirror's names (module docstring): new C-ordered arrays in the
    model's dtype, each Linear's weight the transpose of numbagrad's W."""
    check_model(model, "state_dict")
    weights = iter(model.get_weights())
    tensors = {}
    for name, shape in tensor_shapes(model).items():
        if name.endswith(COUNTER):
            tensors[name] = np.zeros((), dtype=np.int64)
            continue
        array = next(weights)
        tensors[name] = np.ascontiguousarray(array.T if len(shape) == 2 else array)
    return tensors


def save_weights(model: Any, path: Any) -> Path:
    """Write the weights to ``path`` as safetensors (module docstring); atomic. Returns the path.

    Raises:
        TypeError, ValueError, FileNotFoundError, IsADirectoryError: a bad ``model`` or ``path``.
        ModuleNotFoundError: safetensors is missing (``pip install "numbagrad[safetensors]"``).
    """
    check_model(model, "save_weights")
    target = output_file(path, "save_weights")
    safetensors_numpy = require("safetensors.numpy", INSTALL_SAFETENSORS, "save_weights")
    tensors = state_dict(model)
    metadata = {"format": "pt", "numbagrad.config": json.dumps(model.get_config()), "numbagrad.version": __version__}
    if getattr(model, "preprocessing", None) is not None:
        metadata["numbagrad.preprocessing"] = json.dumps(model.preprocessing.to_dict())
    return write_atomically(target, lambda temporary: safetensors_numpy.save_file(tensors, temporary, metadata=metadata))


def _read(safetensors: Any, source: Path, shapes: dict[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    """The tensors ``shapes`` names, read from ``source`` once their names, shapes and dtypes are right."""
    from numbagrad.train.checkpoint import ModelFileError

    where = str(source)
    try:
        with safetensors.safe_open(where, framework="np") as file:
            names = set(file.keys())
            missing = [name for name in shapes if name not in names]
            extra = sorted(names - set(shapes))
            if missing or extra:
                problems = ([f"missing {missing}"] if missing else []) + ([f"unexpected {extra}"] if extra else [])
                raise ModelFileError(
                    f"{where}: the tensors do not match the model ({'; '.join(problems)}); "
                    f"it holds exactly {list(shapes)}"
                )
            for name, shape in shapes.items():
                header = file.get_slice(name)
                dtype, found = header.get_dtype(), tuple(header.get_shape())
                if name.endswith(COUNTER):  # read by nothing; any integer scalar will do
                    if not dtype.startswith(("I", "U")) or found != ():
                        raise ModelFileError(f"{where}: tensor {name!r} is {dtype} of shape {found}; a batch counter is an integer scalar")
                    continue
                if dtype not in ACCEPTED_DTYPES:
                    raise ModelFileError(f"{where}: tensor {name!r} has dtype {dtype}; load_weights reads F32 or F64")
                if found != shape:
                    raise ModelFileError(f"{where}: tensor {name!r} has shape {found}; the model needs {shape}")
            return {name: np.array(file.get_tensor(name), copy=True) for name in shapes if not name.endswith(COUNTER)}
    except ModelFileError:
        raise
    except Exception as error:  # safetensors raises its own SafetensorError, and OSError
        raise ModelFileError(f"{where}: not a readable safetensors file ({type(error).__name__}: {error})") from None


def load_weights(model: Any, path: Any) -> None:
    """Replace the model's weights by those of the safetensors file ``path`` (as :func:`save_weights`
    writes, or a PyTorch ``nn.Sequential`` mirror's ``state_dict`` saves); all or nothing.

    Raises:
        TypeError, ValueError, FileNotFoundError, IsADirectoryError: a bad ``model`` or ``path``.
        ModuleNotFoundError: safetensors is missing (``pip install "numbagrad[safetensors]"``).
        numbagrad.ModelFileError: naming the path and the problem: not a safetensors file, a
            truncated or corrupted one, missing or unexpected tensors, a wrong shape, a dtype
            other than float32 and float64, NaN or infinity (also after conversion to the
            model's dtype). The model is unchanged then.
    """
    from numbagrad.train.checkpoint import ModelFileError

    check_model(model, "load_weights")
    source = input_file(path, "load_weights")
    safetensors = require("safetensors", INSTALL_SAFETENSORS, "load_weights")
    shapes = tensor_shapes(model)
    tensors = _read(safetensors, source, shapes)
    arrays = []
    for name, array in tensors.items():
        if not np.isfinite(array).all():
            raise ModelFileError(f"{source}: tensor {name!r} holds NaN or infinity")
        with np.errstate(over="ignore"):  # reported just below
            converted = array.astype(model.dtype)
        if not np.isfinite(converted).all():
            raise ModelFileError(f"{source}: tensor {name!r} holds values beyond the range of the model's {model.dtype}")
        arrays.append(converted.T if converted.ndim == 2 else converted)
    model.set_weights(arrays)
