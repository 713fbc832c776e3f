"""Weight initializers: how the ball's starting point is drawn.

Each initializer maps ``(shape, rng)`` to a float64 array, where ``shape`` is
``(fan_in, fan_out)`` for a weight matrix or ``(units,)`` for a bias, and
``rng`` is a ``numpy.random.Generator``; models draw every layer from one
generator seeded once, so the same seed gives the same weights.

The variance-scaling initializers follow PyTorch's ``torch.nn.init``
definitions (plain, not truncated, normals):

=========================  ==============================================
``glorot_uniform``         U(-a, a), a = sqrt(6 / (fan_in + fan_out))
``glorot_normal``          N(0, 2 / (fan_in + fan_out))
``he_uniform``             U(-a, a), a = sqrt(6 / fan_in)
``he_normal``              N(0, 2 / fan_in)
``lecun_normal``           N(0, 1 / fan_in)
``zeros``, ``ones``        constants
``normal(std=0.05)``       N(0, std^2)
``uniform(limit=0.05)``    U(-limit, limit)
=========================  ==============================================

Keras draws its normal variants from a normal truncated at two standard
deviations (and rescaled); numbagrad does not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from numbagrad.errors import UnknownNameError
from numbagrad.hyperparameters import Hyperparameter, closest_names, did_you_mean, validate_hyperparameters

__all__ = ["Initializer", "get", "available"]


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) == 1:
        return shape[0], shape[0]
    return shape[0], shape[1]


def _glorot_uniform(shape, rng, **_):
    fan_in, fan_out = _fans(shape)
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape)


def _glorot_normal(shape, rng, **_):
    fan_in, fan_out = _fans(shape)
    return rng.normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), size=shape)


def _he_uniform(shape, rng, **_):
    limit = math.sqrt(6.0 / _fans(shape)[0])
    return rng.uniform(-limit, limit, size=shape)


def _he_normal(shape, rng, **_):
    return rng.normal(0.0, math.sqrt(2.0 / _fans(shape)[0]), size=shape)


def _lecun_normal(shape, rng, **_):
    return rng.normal(0.0, math.sqrt(1.0 / _fans(shape)[0]), size=shape)


def _zeros(shape, rng, **_):
    return np.zeros(shape)


def _ones(shape, rng, **_):
    return np.ones(shape)


def _normal(shape, rng, std, **_):
    return rng.normal(0.0, std, size=shape)


def _uniform(shape, rng, limit, **_):
    return rng.uniform(-limit, limit, size=shape)


_POSITIVE = {"minimum": 0.0, "exclusive_minimum": True}
_DECLARED: dict[str, tuple[Callable, tuple[Hyperparameter, ...]]] = {
    "glorot_uniform": (_glorot_uniform, ()),
    "glorot_normal": (_glorot_normal, ()),
    "he_uniform": (_he_uniform, ()),
    "he_normal": (_he_normal, ()),
    "lecun_normal": (_lecun_normal, ()),
    "zeros": (_zeros, ()),
    "ones": (_ones, ()),
    "normal": (_normal, (Hyperparameter("std", 0.05, **_POSITIVE, doc="standard deviation"),)),
    "uniform": (_uniform, (Hyperparameter("limit", 0.05, **_POSITIVE, doc="half-width of the interval"),)),
}


@dataclass(frozen=True)
class Initializer:
    """A named initializer with its validated options; call it as ``init(shape, rng)``."""

    name: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def __call__(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        function, _ = _DECLARED[self.name]
        return np.asarray(function(tuple(shape), rng, **self.options), dtype=np.float64)

    def get_config(self) -> dict[str, Any]:
        """``{"name": ..., **options}``, accepted back by :func:`get`."""
        return {"name": self.name, **self.options}


def available() -> list[str]:
    """The initializer names."""
    return sorted(_DECLARED)


def get(initializer: str | Mapping[str, Any] | Initializer, **options: Any) -> Initializer:
    """An :class:`Initializer` from a name (``"he_normal"``), a config dict
    (``{"name": "normal", "std": 0.1}``) or an Initializer.

    Raises:
        UnknownNameError: an unknown name; the message lists the known ones.
        TypeError, ValueError: bad options.
    """
    if isinstance(initializer, Initializer):
        if options:
            return get(initializer.get_config(), **options)
        return initializer
    if isinstance(initializer, Mapping):
        config = dict(initializer)
        if "name" not in config:
            raise ValueError(f"initializer config {initializer!r} has no 'name'")
        name = config.pop("name")
        return get(name, **{**config, **options})
    if not isinstance(initializer, str):
        raise TypeError(f"initializer must be a name, a config dict or an Initializer; got {initializer!r}")
    key = initializer.strip().lower()
    if key not in _DECLARED:
        hint = closest_names(key, _DECLARED)
        suggestion = did_you_mean(hint)
        raise UnknownNameError(f"unknown initializer {initializer!r}.{suggestion} Available initializers: {', '.join(available())}")
    _, declared = _DECLARED[key]
    validated = validate_hyperparameters(declared, options, f"initializer {key!r}")
    return Initializer(key, validated)
