"""A loss with its hyperparameters fixed, evaluated by its Numba kernel."""

from __future__ import annotations

from typing import Any

import numpy as np

from numbagrad.losses.spec import LossSpec
from numbagrad.matrices import as_float_array
from numbagrad.targets import check_targets

__all__ = ["Loss", "prediction_matrix"]


def prediction_matrix(owner: str, argument: str, prediction: Any) -> np.ndarray:
    """``prediction`` as a C-contiguous float matrix (a vector becomes one column).

    Raises:
        TypeError: not an array of numbers.
        ValueError: not one- or two-dimensional, or empty.
    """
    prediction = as_float_array(owner, argument, prediction)
    if prediction.ndim == 1:
        prediction = prediction.reshape(-1, 1)
    if prediction.ndim != 2:
        raise ValueError(f"{owner}: {argument} must be a vector or a matrix (rows, columns); got shape {prediction.shape}")
    if prediction.size == 0:
        raise ValueError(f"{owner}: {argument} is empty (shape {prediction.shape}); a loss needs at least one value")
    return prediction


class Loss:
    """A loss bound to validated hyperparameters.

    Created by :func:`numbagrad.losses.get`::

        >>> import numpy as np
        >>> from numbagrad import losses
        >>> cross_entropy = losses.get("categorical_crossentropy", from_logits=True)
        >>> value, grad = cross_entropy.value_and_grad(np.array([[2.0, 0.0, -1.0]]), np.array([0]))
        >>> round(value, 4)
        0.1698

    Targets are checked against the loss's target kind before the kernel
    runs (:func:`numbagrad.targets.check_targets`).

    Attributes:
        spec: the declaration.
        hyperparameters: the validated hyperparameters.
        params: the float64 vector the kernel reads.
    """

    def __init__(self, spec: LossSpec, **hyperparameters: Any):
        if not isinstance(spec, LossSpec):
            raise TypeError(f"Loss needs a LossSpec; got {type(spec).__name__}")
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
        """The addresses of the kernel for ``dtype`` (see :meth:`LossSpec.kernel_table`)."""
        dtype = np.dtype(dtype)
        table = self._tables.get(dtype)
        if table is None:
            table = self._tables[dtype] = self.spec.kernel_table(dtype)
        return table

    def fuses(self, activation: str) -> bool:
        """Whether after ``activation`` this loss can take pre-activation values as logits (see :class:`LossSpec`)."""
        return self.spec.fuses(activation, self.hyperparameters)

    def check_targets(self, y: Any, prediction_shape: tuple[int, int], argument: str = "y", dtype: Any = None) -> np.ndarray:
        """``y`` checked against the loss's target kind, as a matrix (see :func:`numbagrad.targets.check_targets`)."""
        return check_targets(y, prediction_shape, self.spec.target, self.title, argument, dtype)

    def value_and_grad(self, prediction: Any, target: Any) -> tuple[float, np.ndarray]:
        """The loss and its gradient with respect to ``prediction`` (shaped like it).

        A vector ``prediction`` is one column. Integer predictions become float64.
        """
        from numbagrad.kernels.cpu.calls import call_loss

        original = np.shape(prediction)
        matrix = prediction_matrix(self.title, "prediction", prediction)
        target = self.check_targets(target, matrix.shape, "target", matrix.dtype)
        grad = np.empty_like(matrix)
        value = call_loss(self.kernel_table(matrix.dtype), matrix, target, grad, self.params)
        return float(value), grad.reshape(original)

    def __call__(self, prediction: Any, target: Any) -> float:
        """The loss of ``prediction`` against ``target``."""
        return self.value_and_grad(prediction, target)[0]

    def __repr__(self) -> str:
        options = "".join(f", {k}={v!r}" for k, v in self.hyperparameters.items())
        return f"Loss({self.name!r}{options})"
