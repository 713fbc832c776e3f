"""The dense layer: ``y = activation(x @ W + b)``."""

from __future__ import annotations

import numbers
from typing import Any, Mapping

import numpy as np

from numbagrad.nn import initializers, regularizers
from numbagrad.nn.dropout import check_rate
from numbagrad.nn.normalization import normalization_from
from numbagrad.registry import get_registry

__all__ = ["Dense", "resolve_component"]


def resolve_component(kind: str, value: Any, owner: str) -> tuple[Any, dict[str, Any]]:
    """``(spec, validated options)`` for a registered component given as a name,
    a config dict ``{"name": ..., **options}`` or a bound object such as
    ``numbagrad.losses.get("huber", delta=2.0)``."""
    if isinstance(value, str):
        name, options = value, {}
    elif isinstance(value, Mapping):
        config = dict(value)
        if "name" not in config:
            raise ValueError(f"{owner}: {kind} config {value!r} has no 'name'")
        name, options = config.pop("name"), config
    elif hasattr(value, "spec") and hasattr(value, "hyperparameters"):
        # A bound object: numbagrad.losses.get("huber", delta=2.0) and the like.
        return value.spec, dict(value.hyperparameters)
    else:
        raise TypeError(f"{owner}: {kind} must be a name or a config dict {{'name': ..., **options}}; got {value!r}")
    entry = get_registry().lookup(kind, name)
    options = {**entry.preset, **options}
    return entry.spec, entry.spec.validate(options, owner=f"{owner} {kind} {entry.name!r}")


class Dense:
    """A fully connected layer, ``y = activation(x @ W + b)``.

    ``W`` has shape (in_features, units), so a batch of rows goes through as
    ``x @ W``; PyTorch's ``nn.Linear`` stores its transpose.

    Args:
        units: output features, an integer >= 1.
        activation: a registered activation name (``"relu"``,
            ``"softmax"``...) or a config dict such as
            ``{"name": "leaky_relu", "alpha": 0.2}``; default linear.
        use_bias: whether the layer adds a bias.
        kernel_initializer: how W is drawn (see :mod:`numbagrad.nn.initializers`).
        bias_initializer: how b is drawn.
        name: the layer's name in summaries (default ``dense_<i>``).
        kernel_regularizer: a penalty on W added to the loss (see
            :mod:`numbagrad.nn.regularizers`): ``"l2"``, ``{"name": "l2", "l2": 1e-4}``,
            ``"l1"``, ``"l1_l2"``; default none.
        bias_regularizer: the same for b.
        dropout: the rate of inverted dropout on the layer's output while
            training (see :class:`numbagrad.nn.Dropout`, which sets it when it
            follows the layer); default 0, none.
        normalization: ``"batch"``, ``"layer"``, a
            :class:`~numbagrad.nn.BatchNormalization` or
            :class:`~numbagrad.nn.LayerNormalization`: normalize ``x @ W + b``
            before the activation (set by the normalization layer that follows
            the Dense in a ``Sequential``); default none.

    Once the layer is in a :class:`~numbagrad.nn.Sequential`, ``weight`` and
    ``bias`` are views into the model's single parameter buffer.
    """

    def __init__(
        self,
        units: int,
        activation: str | Mapping[str, Any] = "linear",
        use_bias: bool = True,
        kernel_initializer: str | Mapping[str, Any] = "glorot_uniform",
        bias_initializer: str | Mapping[str, Any] = "zeros",
        name: str | None = None,
        kernel_regularizer: str | Mapping[str, Any] | None = None,
        bias_regularizer: str | Mapping[str, Any] | None = None,
        dropout: float = 0.0,
        normalization: Any = None,
    ):
        if isinstance(units, bool) or not isinstance(units, numbers.Integral) or units < 1:
            raise ValueError(f"Dense: units must be an integer >= 1; got {units!r}")
        if not isinstance(use_bias, (bool, np.bool_)):
            raise TypeError(f"Dense: use_bias must be True or False; got {use_bias!r}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Dense: name must be a string; got {name!r}")
        self.units = int(units)
        self.activation_spec, self.activation_options = resolve_component("activation", activation, "Dense")
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.name = name
        self.kernel_regularizer = _regularizer(kernel_regularizer, "kernel_regularizer")
        self.bias_regularizer = _regularizer(bias_regularizer, "bias_regularizer")
        if self.bias_regularizer is not None and not self.use_bias:
            raise ValueError("Dense: bias_regularizer needs use_bias=True; the layer has no bias to penalize")
        self.dropout = check_rate(dropout, "Dense: dropout")
        self.normalization = normalization_from(normalization, "Dense")
        self.weight: np.ndarray | None = None
        self.bias: np.ndarray | None = None
        #: The normalization's scale γ and shift β, and batch normalization's running mean and
        #: variance: views into the model's parameter buffer (None without them).
        self.gamma = self.beta = self.running_mean = self.running_var = None

    def set_activation(self, activation: Any) -> None:
        """Replace the activation (an ``Activation`` layer folded into this one)."""
        self.activation_spec, self.activation_options = resolve_component("activation", activation, "Activation")

    @property
    def activation(self) -> str:
        """The activation's registered name."""
        return self.activation_spec.name

    @property
    def built(self) -> bool:
        return self.weight is not None

    def get_config(self) -> dict[str, Any]:
        """Everything needed to rebuild the layer (not its weights), as plain data."""
        config = {
            "units": self.units,
            "activation": {"name": self.activation, **self.activation_options},
            "use_bias": self.use_bias,
            "kernel_initializer": self.kernel_initializer.get_config(),
            "bias_initializer": self.bias_initializer.get_config(),
            "name": self.name,
        }
        # Written only when set, so that a file without them stays readable by earlier releases.
        for key in ("kernel_regularizer", "bias_regularizer"):
            penalty = getattr(self, key)
            if penalty is not None:
                config[key] = penalty.get_config()
        if self.dropout:
            config["dropout"] = self.dropout
        if self.normalization is not None:
            config["normalization"] = self.normalization.get_config()
        return config

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "Dense":
        return cls(**config)

    def __repr__(self) -> str:
        extra = "".join(
            f", {key}={getattr(self, key).get_config()!r}"
            for key in ("kernel_regularizer", "bias_regularizer")
            if getattr(self, key) is not None
        ) + (f", dropout={self.dropout}" if self.dropout else "") + (
            f", normalization={self.normalization!r}" if self.normalization is not None else ""
        )
        return f"Dense({self.units}, activation={self.activation!r}, use_bias={self.use_bias}{extra})"


def _regularizer(value: Any, name: str) -> "regularizers.Regularizer | None":
    try:
        return regularizers.get(value)
    except (TypeError, ValueError) as error:  # UnknownNameError is a ValueError
        raise type(error)(f"Dense: {name}: {error}") from None
