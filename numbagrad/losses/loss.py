"""A loss with its hyperparameters fixed, evaluated by its Numba kernel."""

from __future__ import annotations

from typing import Any

import numpy as np

from numbagrad.bound import Supervised
from numbagrad.losses.spec import LossSpec
from numbagrad.matrices import prediction_matrix

__all__ = ["Loss", "prediction_matrix"]


class Loss(Supervised):
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

    spec_type = LossSpec

    def fuses(self, activation: str) -> bool:
        """Whether after ``activation`` this loss can take pre-activation values as logits (see :class:`LossSpec`)."""
        return self.spec.fuses(activation, self.hyperparameters)

    def value_and_grad(self, prediction: Any, target: Any) -> tuple[float, np.ndarray]:
        """The loss and its gradient with respect to ``prediction`` (shaped like it).

        A vector ``prediction`` is one column. Integer predictions become float64.
        """
        from numbagrad.kernels.cpu.calls import call_loss

        original = np.shape(prediction)
        matrix, target = self._batch(prediction, target)
        grad = np.empty_like(matrix)
        value = call_loss(self.kernel_table(matrix.dtype), matrix, target, grad, self.params)
        return float(value), grad.reshape(original)

    def __call__(self, prediction: Any, target: Any) -> float:
        """The loss of ``prediction`` against ``target``."""
        return self.value_and_grad(prediction, target)[0]
