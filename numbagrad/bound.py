"""A declaration bound to validated hyperparameters: what activations, losses and metrics share.

:class:`~numbagrad.activations.Activation`, :class:`~numbagrad.losses.Loss`
and :class:`~numbagrad.metrics.Metric` each pair a declaration (an
``ActivationSpec``, ``LossSpec`` or ``MetricSpec``) with hyperparameters
checked once, at construction, and encoded as the float64 vector their
kernels read. :class:`Bound` holds that pairing and caches the kernel
address table per dtype; :class:`Supervised` adds the target checks of
losses and metrics.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from numbagrad.matrices import prediction_matrix
from numbagrad.targets import check_targets

__all__ = ["Bound", "Supervised"]


class Bound:
    """A declaration bound to validated hyperparameters.

    Attributes:
        spec: the declaration.
        hyperparameters: the validated hyperparameters.
        params: the float64 vector the kernels read.
    """

    #: The declaration class a subclass accepts (its ``kind`` is the registry kind).
    spec_type: ClassVar[type]

    def __init__(self, spec: Any, **hyperparameters: Any):
        if not isinstance(spec, self.spec_type):
            raise TypeError(f"{type(self).__name__}: spec must be a {self.spec_type.__name__}; got {type(spec).__name__}")
        self.spec = spec
        self.hyperparameters = spec.validate(hyperparameters)
        self.params = spec.encode(self.hyperparameters)
        self._tables: dict[np.dtype, np.ndarray] = {}

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def title(self) -> str:
        return self.spec.title

    def kernel_table(self, dtype) -> np.ndarray:
        """The addresses of the kernels for ``dtype`` (see the declaration's ``kernel_table``), cached."""
        dtype = np.dtype(dtype)
        table = self._tables.get(dtype)
        if table is None:
            table = self._tables[dtype] = self.spec.kernel_table(dtype)
        return table

    @classmethod
    def resolve(cls, name: Any, hyperparameters: dict[str, Any]) -> "Bound":
        """The object the kind's ``get(name, **hyperparameters)`` returns.

        An instance of ``cls`` comes back as it is (hyperparameters then are a
        ``TypeError``); a name is looked up in the registry (raising
        :class:`~numbagrad.errors.UnknownNameError`), and its preset and
        ``hyperparameters`` bound to the declaration.
        """
        from numbagrad.registry import get_registry

        if isinstance(name, cls):
            if hyperparameters:
                article = "an" if cls.__name__[0] in "AEIOU" else "a"
                raise TypeError(
                    f"get(): hyperparameters {sorted(hyperparameters)} given with {article} {cls.__name__} object; "
                    "set them when creating it"
                )
            return name
        entry = get_registry().lookup(cls.spec_type.kind, name)
        return cls(entry.spec, **{**entry.preset, **hyperparameters})

    def __repr__(self) -> str:
        options = "".join(f", {k}={v!r}" for k, v in self.hyperparameters.items())
        return f"{type(self).__name__}({self.name!r}{options})"


class Supervised(Bound):
    """A bound declaration that compares predictions with targets (losses and metrics)."""

    def check_targets(self, y: Any, prediction_shape: tuple[int, int], argument: str = "y", dtype: Any = None) -> np.ndarray:
        """``y`` checked against the declaration's target kind, as a matrix (see :func:`numbagrad.targets.check_targets`)."""
        return check_targets(y, prediction_shape, self.spec.target, self.title, argument, dtype)

    def _batch(self, prediction: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
        """``prediction`` as a C-contiguous float matrix (a vector is one column) and
        ``target`` checked against it (see :func:`numbagrad.matrices.prediction_matrix`)."""
        matrix = prediction_matrix(self.title, "prediction", prediction)
        return matrix, self.check_targets(target, matrix.shape, "target", matrix.dtype)
