"""Weight regularizers: penalties on a layer's weights added to the loss.

A regularizer adds to the loss of every training batch, and to the loss that
``evaluate`` reports, as Keras's ``kernel_regularizer``/``bias_regularizer``::

    penalty = l1 * sum |w| + l2 * sum w^2            gradient  l1 * sign(w) + 2 * l2 * w

with ``sign(0) = 0``. ``per_sample=True`` divides the penalty (and so its
gradient) by the number of rows of the batch, which is scikit-learn's
``MLPClassifier(alpha=a)``: ``l2 = a / 2`` on the weights, ``alpha / (2 n_batch)
||W||^2`` added to each batch's loss.

=====================  ==========================================
``"l1"``               ``l1 = 0.01`` (Keras's ``L1()``)
``"l2"``               ``l2 = 0.01`` (Keras's ``L2()``)
``"l1_l2"``            ``l1 = 0.01, l2 = 0.01`` (Keras's ``'l1_l2'``)
=====================  ==========================================

Each name takes the factors as options: ``{"name": "l2", "l2": 1e-4}``,
``get("l1_l2", l1=1e-5, l2=1e-4)``. The penalty is computed in float64 from
the weights the batch's step starts from; it is part of the reported loss,
so a regularized model's loss is not comparable to an unregularized one's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from numbagrad.errors import UnknownNameError
from numbagrad.hyperparameters import Hyperparameter, closest_names, did_you_mean, validate_hyperparameters

__all__ = ["Regularizer", "get", "available", "penalty_value"]


def _factor(name: str, default: float) -> Hyperparameter:
    return Hyperparameter(name, default, minimum=0.0, doc=f"the {name.upper()} factor")


_PER_SAMPLE = Hyperparameter(
    "per_sample", False, kind="bool", doc="divide the penalty by the batch's rows (scikit-learn's alpha)"
)
_DECLARED: dict[str, tuple[Hyperparameter, ...]] = {
    "l1": (_factor("l1", 0.01), _PER_SAMPLE),
    "l2": (_factor("l2", 0.01), _PER_SAMPLE),
    "l1_l2": (_factor("l1", 0.01), _factor("l2", 0.01), _PER_SAMPLE),
}


@dataclass(frozen=True)
class Regularizer:
    """A named penalty with its validated options (see the module's formula)."""

    name: str
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def l1(self) -> float:
        return float(self.options.get("l1", 0.0))

    @property
    def l2(self) -> float:
        return float(self.options.get("l2", 0.0))

    @property
    def per_sample(self) -> bool:
        return bool(self.options.get("per_sample", False))

    def __call__(self, weights: Any, rows: int = 1) -> float:
        """The penalty of ``weights`` in a batch of ``rows`` rows, in NumPy (the kernels' reference)."""
        return penalty_value(np.ravel(weights), [(0, np.size(weights), self.l1, self.l2, self.per_sample)], rows)

    def get_config(self) -> dict[str, Any]:
        """``{"name": ..., **options}``, accepted back by :func:`get`."""
        return {"name": self.name, **self.options}

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"Regularizer({self.name!r}{', ' + options if options else ''})"


def available() -> list[str]:
    """The regularizer names."""
    return sorted(_DECLARED)


def get(regularizer: str | Mapping[str, Any] | Regularizer | None, **options: Any) -> Regularizer | None:
    """A :class:`Regularizer` from a name (``"l2"``), a config dict
    (``{"name": "l2", "l2": 1e-4}``), a Regularizer, or ``None`` (no penalty).

    Raises:
        UnknownNameError: an unknown name; the message lists the known ones.
        TypeError, ValueError: bad options.
    """
    if regularizer is None:
        if options:
            raise TypeError(f"regularizer None takes no options; got {options!r}")
        return None
    if isinstance(regularizer, Regularizer):
        return get(regularizer.get_config(), **options) if options else regularizer
    if isinstance(regularizer, Mapping):
        config = dict(regularizer)
        if "name" not in config:
            raise ValueError(f"regularizer config {regularizer!r} has no 'name'")
        name = config.pop("name")
        return get(name, **{**config, **options})
    if not isinstance(regularizer, str):
        raise TypeError(
            f"regularizer must be a name ({', '.join(map(repr, available()))}), a config dict "
            f"{{'name': 'l2', 'l2': 1e-4}}, a Regularizer or None; got {regularizer!r}"
        )
    key = regularizer.strip().lower()
    if key not in _DECLARED:
        hint = closest_names(key, _DECLARED)
        suggestion = did_you_mean(hint)
        raise UnknownNameError(f"unknown regularizer {regularizer!r}.{suggestion} Available regularizers: {', '.join(available())}")
    validated = validate_hyperparameters(_DECLARED[key], options, f"regularizer {key!r}")
    return Regularizer(key, validated)


def penalty_value(params: Any, table: Any, rows: int) -> float:
    """The penalty of a batch of ``rows`` rows for a model's flat ``params`` and its penalty table
    (float64 rows ``[start, stop, l1, l2, per_sample]``, ``Sequential.penalty_table``), in NumPy."""
    total = 0.0
    for start, stop, l1, l2, per_sample in np.asarray(table, dtype=np.float64):
        w = np.asarray(params[int(start) : int(stop)], dtype=np.float64)
        scale = 1.0 / rows if per_sample else 1.0
        total += l1 * scale * np.abs(w).sum() + l2 * scale * np.square(w).sum()
    return float(total)
