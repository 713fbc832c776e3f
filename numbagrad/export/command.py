"""``numbagrad export MODEL --format onnx|safetensors [-o PATH]``: what the command does."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from numbagrad.export.paths import input_file, output_file

__all__ = ["run_export", "FORMATS"]

#: Each export format and the suffix of the file written when no output is given.
FORMATS = {"onnx": ".onnx", "safetensors": ".safetensors"}
#: The model file inside a ``numbagrad train`` run folder.
RUN_MODEL = "model.ngm"


def run_export(model_path: Any, format: str, output: Any = None) -> Path:
    """Read the model file ``model_path`` (:func:`numbagrad.load_model`; a run folder stands for
    its ``model.ngm``, as for ``numbagrad evaluate``) and write it as ``format`` to ``output``;
    returns the path written.

    ``output`` None: beside the model, with the format's suffix (``run/model.onnx`` from
    ``run/model.ngm``). A ``numbagrad train`` run's data transform goes with the model: into the
    ONNX graph, or into the safetensors metadata.

    Raises:
        ValueError: an unknown ``format``; ``output`` is the model file itself (checked before the
            model is read or anything written).
        TypeError, FileNotFoundError, IsADirectoryError: a bad ``model_path`` or ``output`` (checked
            before the model is read or anything written); and what :func:`numbagrad.load_model`,
            :func:`~numbagrad.export.save_onnx` and :func:`~numbagrad.export.save_weights` raise.
    """
    if not isinstance(format, str) or format not in FORMATS:
        raise ValueError(f"numbagrad export: --format must be one of {', '.join(FORMATS)}; got {format!r}")
    if isinstance(model_path, (str, os.PathLike)) and os.path.isdir(model_path):
        if not os.path.isfile(os.path.join(model_path, RUN_MODEL)):
            raise FileNotFoundError(f"numbagrad export: MODEL {os.fspath(model_path)!r} is a folder without {RUN_MODEL}; give a run folder or a model file")
        model_path = Path(model_path) / RUN_MODEL
    source = input_file(model_path, "numbagrad export", "MODEL")
    target = output_file(source.with_suffix(FORMATS[format]) if output is None else output, "numbagrad export", "--output")
    if target.resolve() == source.resolve():
        raise ValueError(f"numbagrad export: --output {str(target)!r} is the model file itself; choose another path")
    from numbagrad import load_model
    from numbagrad.export.to_onnx import save_onnx
    from numbagrad.export.weights import save_weights

    model = load_model(source)
    if format == "onnx":
        return save_onnx(model, target)
    return save_weights(model, target)
