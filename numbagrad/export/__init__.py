"""Exporting numbagrad models to other tools.

* ONNX (:func:`save_onnx`, :func:`onnx_model`): the whole model as a graph for
  onnxruntime and other inference engines, with a ``numbagrad train`` run's
  data transform built in. Needs ``pip install "numbagrad[onnx]"``.
* safetensors (:func:`save_weights`, :func:`load_weights`): the weights laid
  out as a PyTorch ``nn.Sequential`` state dict; :func:`torch_module` builds
  that PyTorch module. Needs ``pip install "numbagrad[safetensors]"`` (and
  torch for :func:`torch_module`).

Importing this package imports none of onnx, safetensors or torch; each
function imports what it needs when it runs.
"""

from numbagrad.export.command import FORMATS, run_export
from numbagrad.export.supported import BUILTIN_NAMES
from numbagrad.export.to_onnx import DEFAULT_OPSET, MIN_OPSET, onnx_model, save_onnx
from numbagrad.export.to_torch import torch_module
from numbagrad.export.weights import load_weights, save_weights, state_dict, tensor_shapes

__all__ = [
    "save_onnx",
    "onnx_model",
    "save_weights",
    "load_weights",
    "state_dict",
    "tensor_shapes",
    "torch_module",
    "run_export",
    "FORMATS",
    "BUILTIN_NAMES",
    "MIN_OPSET",
    "DEFAULT_OPSET",
]
