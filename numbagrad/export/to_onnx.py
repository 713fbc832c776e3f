"""A numbagrad model as an ONNX graph, for onnxruntime, TensorRT, OpenVINO and the like.

The graph has one input, ``input`` (``[N, input_dim]``, the model's dtype),
and one output, ``output`` (``[N, output_dim]``, the same dtype). Each Dense
layer is ``MatMul(W)``, then ``Add(b)`` (none without a bias), then its
activation (:mod:`numbagrad.export.onnx_activations`). A model trained by
``numbagrad train`` carries its data transform (:attr:`Sequential.preprocessing
<numbagrad.nn.Sequential>`): the graph then takes the raw features,
standardizes them with ``Sub`` and ``Div`` nodes, and gives a regression's
predictions in the target's own units (``Mul`` and ``Add``), exactly as
``model.predict`` does. The names of the features, classes and target are in
the model's ``metadata_props``.
"""

from __future__ import annotations

import json
import numbers
from pathlib import Path
from typing import Any

import numpy as np

from numbagrad._version import __version__
from numbagrad.export.onnx_activations import emit_activation
from numbagrad.export.onnx_graph import GraphBuilder
from numbagrad.export.optional import INSTALL_ONNX, require
from numbagrad.export.paths import output_file
from numbagrad.export.supported import builtin_activations, check_model
from numbagrad.files import write_atomically

__all__ = ["onnx_model", "save_onnx", "MIN_OPSET", "DEFAULT_OPSET", "MAX_ONNX_BYTES"]

#: The oldest opset written: Softmax normalizes along one axis from opset 13.
MIN_OPSET = 13
#: The opset written by default: the first with ``Gelu``, which runtimes from
#: onnxruntime 1.17 on load.
DEFAULT_OPSET = 20
#: An ONNX file is one protobuf message, which cannot exceed 2 GiB.
MAX_ONNX_BYTES = 2**31 - 1


def check_opset(opset: Any, onnx: Any, owner: str) -> int:
    """``opset`` (None: :data:`DEFAULT_OPSET`) checked against what this numbagrad and the
    installed ``onnx`` package can write.

    Raises:
        TypeError: not an integer.
        ValueError: outside ``MIN_OPSET`` to the installed onnx's newest opset.
    """
    newest = int(onnx.defs.onnx_opset_version())
    if opset is None:
        return min(DEFAULT_OPSET, newest)
    if isinstance(opset, bool) or not isinstance(opset, numbers.Integral):
        raise TypeError(f"{owner}: opset must be an integer from {MIN_OPSET} to {newest} or None; got {opset!r}")
    if not MIN_OPSET <= opset <= newest:
        raise ValueError(
            f"{owner}: opset must be from {MIN_OPSET} to {newest} (the newest the installed onnx "
            f"{onnx.__version__} knows); got {opset}"
        )
    return int(opset)


def _finite(owner: str, field: str, values: Any, length: int, dtype: np.dtype, positive: bool = False) -> np.ndarray:
    """A preprocessing vector checked for what the graph needs: ``length`` finite numbers,
    still finite (and positive, for a scale) in the graph's dtype."""
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (length,):
        raise ValueError(f"{owner}: model.preprocessing.{field} has shape {array.shape}; the model needs ({length},)")
    if not np.isfinite(array).all() or (positive and not (array > 0).all()):
        kind = "positive finite" if positive else "finite"
        raise ValueError(f"{owner}: model.preprocessing.{field} must hold {kind} numbers; got {array.tolist()}")
    with np.errstate(over="ignore", under="ignore"):  # the checks below report it
        converted = array.astype(dtype)
    if not np.isfinite(converted).all() or (positive and not (converted > 0).all()):
        raise ValueError(
            f"{owner}: model.preprocessing.{field} holds {array.tolist()}, which {dtype} cannot represent "
            f"(overflow to infinity or underflow to zero); export a float64 model"
        )
    return array


def _preprocessing(model: Any, owner: str) -> Any:
    """The model's data transform checked for what the graph can express, or None."""
    from numbagrad.preprocessing import Preprocessing

    record = getattr(model, "preprocessing", None)
    if record is None:
        return None
    if not isinstance(record, Preprocessing):
        raise TypeError(f"{owner}: model.preprocessing must be a numbagrad.preprocessing.Preprocessing or None; got {type(record).__name__}")
    if record.task not in ("classification", "regression"):
        raise ValueError(f"{owner}: model.preprocessing.task must be 'classification' or 'regression'; got {record.task!r}")
    if record.task == "classification" and record.target_mean is not None:
        raise ValueError(f"{owner}: model.preprocessing is a classification with a target standardization, which has no meaning")
    names = record.feature_names
    if not isinstance(names, (list, tuple)) or len(names) != model.input_dim:
        count = len(names) if isinstance(names, (list, tuple)) else names
        raise ValueError(f"{owner}: model.preprocessing.feature_names names {count!r} features; the model has {model.input_dim} inputs")
    if record.task == "classification":
        if not isinstance(record.classes, (list, tuple)) or len(record.classes) != model.output_dim:
            raise ValueError(
                f"{owner}: model.preprocessing.classes must list {model.output_dim} classes, one per output; got {record.classes!r}"
            )
    for mean, std, length in (("mean", "std", model.input_dim), ("target_mean", "target_std", model.output_dim)):
        if (getattr(record, mean) is None) != (getattr(record, std) is None):
            raise ValueError(f"{owner}: model.preprocessing.{mean} and .{std} go together; one of them is None")
        if getattr(record, mean) is not None:
            _finite(owner, mean, getattr(record, mean), length, model.dtype)
            _finite(owner, std, getattr(record, std), length, model.dtype, positive=True)
    return record


def _input_description(record: Any) -> str:
    """What the graph's input holds. A run that encoded text columns and missing cells
    (:mod:`numbagrad.columns`) has the graph take the encoded numbers (one input per
    ``metadata_props["numbagrad.feature_names"]``): the encoding of text stays with numbagrad,
    recorded in ``numbagrad.preprocessing``."""
    if record is None or record.mean is None:
        described = "the network's inputs"
    else:
        described = "raw features, standardized in the graph"
    if record is not None and record.encoding is not None:
        described += "; text columns one-hot and missing cells filled beforehand, as numbagrad.preprocessing's columns say"
    return described


def _emit_normalization(g: Any, layer: Any, weights: Any, x: str, opset: int, owner: str) -> str:
    """A Dense layer's normalization at inference: batch normalization as ``(x - running_mean) *
    (γ / sqrt(running_var + ε)) + β`` (the scale computed in float64 as the kernels compute it),
    layer normalization as ONNX's ``LayerNormalization`` (opset 17 and later)."""
    gamma, beta = next(weights), next(weights)
    norm = layer.normalization
    if layer.running_mean is not None:
        mean, variance = next(weights), next(weights)
        scale = gamma.astype(np.float64) / np.sqrt(variance.astype(np.float64) + norm.epsilon)
        centred = g.op("Sub", x, g.tensor("running_mean", mean))
        return g.op("Add", g.op("Mul", centred, g.tensor("scale", scale)), g.tensor("beta", beta))
    if opset < 17:
        raise ValueError(
            f"{owner}: layer {layer.name!r} has layer normalization, which ONNX has from opset 17 (LayerNormalization); "
            f"got opset={opset}"
        )
    return g.op("LayerNormalization", x, g.tensor("gamma", gamma), g.tensor("beta", beta), axis=-1, epsilon=norm.epsilon)


def _scopes(model: Any) -> list[str]:
    """Each layer's name prefix in the graph: its own name, or ``layers.<i>`` when names repeat."""
    names = [layer.name for layer in model.layers]
    return names if len(set(names)) == len(names) else [f"layers.{i}" for i in range(len(names))]


def _metadata(model: Any, record: Any) -> dict[str, str]:
    """``metadata_props``: strings, so structured values are JSON."""
    props = {"numbagrad.version": __version__, "numbagrad.config": json.dumps(model.get_config())}
    if record is not None:
        data = record.to_dict()
        props["numbagrad.preprocessing"] = json.dumps(data)
        props["numbagrad.task"] = record.task
        props["numbagrad.feature_names"] = json.dumps(data["feature_names"])
        if record.target_name is not None:
            props["numbagrad.target_name"] = record.target_name
        if record.task == "classification":
            props["numbagrad.classes"] = json.dumps(data["classes"])
            props["numbagrad.class_names"] = json.dumps(data["class_names"] or [str(c) for c in data["classes"]])
    return props


def onnx_model(model: Any, opset: int | None = None, owner: str = "onnx_model") -> Any:
    """``model`` as an ``onnx.ModelProto`` (see the module documentation), checked by
    ``onnx.checker.check_model``.

    Args:
        model: a :class:`numbagrad.nn.Sequential` (on any device; its weights are copied to the host).
        opset: the default domain's opset version, from :data:`MIN_OPSET` to the newest the
            installed ``onnx`` knows; None: :data:`DEFAULT_OPSET`.
        owner: the name error messages give the caller.

    Raises:
        ModuleNotFoundError: the ``onnx`` package is missing (``pip install "numbagrad[onnx]"``).
        TypeError: ``model`` is not a Sequential, ``opset`` not an integer.
        ValueError: an opset out of range; a layer whose activation is not built in (named);
            a preprocessing the graph cannot express (named field); weights over 2 GiB.
    """
    check_model(model, owner)
    onnx = require("onnx", INSTALL_ONNX, owner)
    opset = check_opset(opset, onnx, owner)
    activations = builtin_activations(model, owner, f"ONNX opset {opset}")
    record = _preprocessing(model, owner)
    weight_bytes = model.count_params() * model.dtype.itemsize
    if weight_bytes > MAX_ONNX_BYTES:
        raise ValueError(
            f"{owner}: the model's {model.count_params():,} parameters take {weight_bytes:,} bytes; "
            f"an ONNX file holds at most {MAX_ONNX_BYTES:,} (use save_weights for larger models)"
        )
    g = GraphBuilder(onnx, model.dtype, opset)
    x = "input"
    if record is not None and record.mean is not None:
        g.scope = "standardize"
        x = g.op("Div", g.op("Sub", x, g.tensor("mean", record.mean)), g.tensor("std", record.std))
    weights = iter(model.get_weights())
    for layer, scope, (name, options) in zip(model.layers, _scopes(model), activations):
        g.scope = scope
        x = g.op("MatMul", x, g.tensor("W", next(weights)))
        if layer.use_bias:
            x = g.op("Add", x, g.tensor("b", next(weights)))
        if layer.normalization is not None:
            x = _emit_normalization(g, layer, weights, x, opset, owner)
        x = emit_activation(g, name, options, x)
    if record is not None and record.task == "regression" and record.target_mean is not None:
        g.scope = "target_units"
        x = g.op("Add", g.op("Mul", x, g.tensor("target_std", record.target_std)), g.tensor("target_mean", record.target_mean))
    g.rename_output(x, "output")

    helper = onnx.helper
    graph = helper.make_graph(
        g.nodes,
        "numbagrad_sequential",
        [helper.make_tensor_value_info("input", g.element_type, ["N", model.input_dim])],
        [helper.make_tensor_value_info("output", g.element_type, ["N", model.output_dim])],
        initializer=g.initializers,
        doc_string=_input_description(record),
    )
    opset_imports = [helper.make_opsetid("", opset)]
    proto = helper.make_model(
        graph, opset_imports=opset_imports, producer_name="numbagrad", producer_version=__version__,
        ir_version=helper.find_min_ir_version_for(opset_imports),
    )
    helper.set_model_props(proto, _metadata(model, record))
    onnx.checker.check_model(proto, full_check=True)
    return proto


def save_onnx(model: Any, path: Any, opset: int | None = None) -> Path:
    """Write ``model`` to ``path`` as an ONNX file (see :func:`onnx_model`); atomic. Returns the path.

    Raises:
        TypeError, ValueError, FileNotFoundError, IsADirectoryError: a bad ``path`` (checked
            first), and everything :func:`onnx_model` raises. Nothing is written then.
    """
    target = output_file(path, "save_onnx")
    proto = onnx_model(model, opset, owner="save_onnx")
    data = proto.SerializeToString()
    return write_atomically(target, lambda temporary: temporary.write_bytes(data))
