"""Batch and layer normalization of a Dense layer's pre-activation, and the ``Activation`` that follows.

A normalization placed right after a Dense layer normalizes that layer's
``h = x @ W + b`` before its activation, with a learnt scale ``γ`` and shift
``β`` per unit (see :mod:`numbagrad.kernels.cpu.normalization` for the
formulas)::

    Sequential([Dense(256), BatchNormalization(), Activation("relu"), Dense(10, "softmax")], input_dim=784)

is ``torch.nn.Sequential(Linear(784, 256), BatchNorm1d(256), ReLU(), Linear(256, 10), Softmax)``:
the model folds both into the Dense layer (``Dense(256, "relu", normalization=BatchNormalization())``,
the form ``model.layers`` shows). A normalization cannot follow a Dense layer
that already has a nonlinear activation: Keras would normalize that layer's
output, after its activation, which this network does not compute.

Batch normalization normalizes each unit over the batch's rows while training
(``fit``, ``value_and_grad``) and by its running averages in ``predict``,
``evaluate`` and validation. Layer normalization normalizes each row over the
layer's units, the same way always.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Mapping

from numbagrad.kernels.cpu.normalization import BATCH, LAYER

__all__ = ["BatchNormalization", "LayerNormalization", "Activation", "normalization_from"]


def _epsilon(value: Any, owner: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{owner}: epsilon must be a finite number > 0; got {value!r}")
    return float(value)


class BatchNormalization:
    """Batch normalization (Ioffe and Szegedy, 2015) of the Dense layer before it, as ``torch.nn.BatchNorm1d``.

    Training: ``x̂ = (h - mean) / sqrt(var + epsilon)`` with the batch's mean and
    biased variance per unit, output ``γ x̂ + β``; the running averages move as
    ``running = (1 - momentum) running + momentum batch`` (the variance's batch
    value unbiased, ``n / (n - 1)``). Inference uses the running averages.

    Args:
        momentum: the weight of each batch in the running averages, in (0, 1]
            (PyTorch's convention, default 0.1; Keras's ``momentum=0.99`` is
            ``momentum=0.01`` here).
        epsilon: added to the variance, > 0 (default 1e-5, PyTorch's).

    ``γ`` starts at 1 and ``β`` at 0, the running mean at 0 and variance at 1.
    A batch needs two rows or more to have a variance: ``fit`` refuses
    ``batch_size=1``, and an epoch's last batch of one row normalizes to ``β``
    and leaves the running averages as they are.
    """

    kind = BATCH
    short = "batch"

    def __init__(self, momentum: float = 0.1, epsilon: float = 1e-5):
        if isinstance(momentum, bool) or not isinstance(momentum, numbers.Real) or not 0.0 < momentum <= 1.0:
            raise ValueError(f"BatchNormalization: momentum must be a number in (0, 1] (PyTorch's convention); got {momentum!r}")
        self.momentum = float(momentum)
        self.epsilon = _epsilon(epsilon, "BatchNormalization")

    def get_config(self) -> dict[str, Any]:
        return {"name": self.short, "momentum": self.momentum, "epsilon": self.epsilon}

    def __repr__(self) -> str:
        return f"BatchNormalization(momentum={self.momentum:g}, epsilon={self.epsilon:g})"


class LayerNormalization:
    """Layer normalization (Ba, Kiros and Hinton, 2016) of the Dense layer before it, as ``torch.nn.LayerNorm(units)``:
    each row's ``x̂ = (h - mean) / sqrt(var + epsilon)`` over the layer's units, output ``γ x̂ + β``.

    Args:
        epsilon: added to the variance, > 0 (default 1e-5, PyTorch's).
    """

    kind = LAYER
    short = "layer"
    momentum = 0.0

    def __init__(self, epsilon: float = 1e-5):
        self.epsilon = _epsilon(epsilon, "LayerNormalization")

    def get_config(self) -> dict[str, Any]:
        return {"name": self.short, "epsilon": self.epsilon}

    def __repr__(self) -> str:
        return f"LayerNormalization(epsilon={self.epsilon:g})"


_KINDS = {"batch": BatchNormalization, "layer": LayerNormalization}


def normalization_from(value: Any, owner: str) -> "BatchNormalization | LayerNormalization | None":
    """A normalization from ``None``, ``"batch"``, ``"layer"``, a config dict ``{"name": "batch", "momentum": ...}``
    or a :class:`BatchNormalization` / :class:`LayerNormalization`."""
    if value is None or isinstance(value, (BatchNormalization, LayerNormalization)):
        return value
    if isinstance(value, str):
        config: dict[str, Any] = {"name": value}
    elif isinstance(value, Mapping):
        config = dict(value)
    else:
        raise TypeError(f"{owner}: normalization must be None, 'batch', 'layer', a config dict or a BatchNormalization; got {value!r}")
    name = config.pop("name", None)
    if name not in _KINDS:
        raise ValueError(f"{owner}: normalization must be one of 'batch', 'layer'; got {name!r}")
    try:
        return _KINDS[name](**config)
    except TypeError as error:
        raise ValueError(f"{owner}: normalization {name!r}: {error}") from None


class Activation:
    """The activation of the Dense layer before it, given as a layer of its own: ``Dense(64),
    BatchNormalization(), Activation("relu")`` (Keras's spelling of Linear, BatchNorm, ReLU).

    Args:
        activation: a registered activation name or config dict, as ``Dense``'s ``activation``.
    """

    def __init__(self, activation: str | Mapping[str, Any]):
        from numbagrad.nn.layers import resolve_component

        self.activation = activation
        resolve_component("activation", activation, "Activation")  # checked now, not when folded

    def __repr__(self) -> str:
        return f"Activation({self.activation!r})"
