"""The PyTorch mirror of a numbagrad model, with its weights."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from numbagrad.export.optional import INSTALL_TORCH, require
from numbagrad.export.supported import builtin_activations, check_model
from numbagrad.export.weights import state_dict

__all__ = ["torch_module", "TORCH_ACTIVATIONS"]

#: Activation name -> ``(torch.nn, options) -> module`` with the same function and options.
TORCH_ACTIVATIONS: dict[str, Callable[[Any, dict[str, Any]], Any]] = {
    "linear": lambda nn, o: nn.Identity(),
    "relu": lambda nn, o: nn.ReLU(),
    "leaky_relu": lambda nn, o: nn.LeakyReLU(negative_slope=o["alpha"]),
    "elu": lambda nn, o: nn.ELU(alpha=o["alpha"]),
    "selu": lambda nn, o: nn.SELU(),
    "gelu": lambda nn, o: nn.GELU(approximate="tanh" if o["approximate"] else "none"),
    "sigmoid": lambda nn, o: nn.Sigmoid(),
    "tanh": lambda nn, o: nn.Tanh(),
    "softplus": lambda nn, o: nn.Softplus(beta=o["beta"], threshold=o["threshold"]),
    "silu": lambda nn, o: nn.SiLU(),
    "softmax": lambda nn, o: nn.Softmax(dim=-1),
}


def torch_module(model: Any) -> Any:
    """``torch.nn.Sequential(Linear_0, Act_0, Linear_1, Act_1, ...)`` (with ``BatchNorm1d`` or ``LayerNorm``
    between a normalized layer's Linear and activation) in the model's dtype, holding
    its weights (the layout of :mod:`numbagrad.export.weights`), in evaluation mode.

    ``torch_module(model)(torch.from_numpy(X))`` equals ``model.predict(X)``. It is the network
    alone: for a model with a ``numbagrad train`` run's :attr:`preprocessing
    <numbagrad.nn.Sequential.preprocessing>`, give it ``model.preprocessing.inputs(X)`` and
    convert a regression's outputs with ``model.preprocessing.predictions``. Creating it leaves
    torch's random generator untouched (the layers are not initialized before the weights are
    loaded).

    Raises:
        TypeError: ``model`` is not a Sequential.
        ModuleNotFoundError: torch is missing.
        ValueError: a layer's activation is not built in (named with the layer).
    """
    check_model(model, "torch_module")
    torch = require("torch", INSTALL_TORCH, "torch_module")
    activations = builtin_activations(model, "torch_module", "PyTorch (torch.nn)")
    nn = torch.nn
    dtype = torch.float64 if model.dtype == np.float64 else torch.float32
    modules = []
    fan_in = model.input_dim
    for layer, (name, options) in zip(model.layers, activations):
        modules.append(nn.utils.skip_init(nn.Linear, fan_in, layer.units, bias=layer.use_bias, dtype=dtype))
        norm = layer.normalization
        if norm is not None and layer.running_mean is not None:
            modules.append(nn.BatchNorm1d(layer.units, eps=norm.epsilon, momentum=norm.momentum, dtype=dtype))
        elif norm is not None:
            modules.append(nn.LayerNorm(layer.units, eps=norm.epsilon, dtype=dtype))
        modules.append(TORCH_ACTIVATIONS[name](nn, options))
        fan_in = layer.units
    module = nn.Sequential(*modules)
    module.load_state_dict({name: torch.from_numpy(array) for name, array in state_dict(model).items()})
    return module.eval()
