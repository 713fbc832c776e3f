"""An activation with its hyperparameters fixed, applied by its Numba kernels."""

from __future__ import annotations

from typing import Any

import numpy as np

from numbagrad.activations.spec import ActivationSpec
from numbagrad.bound import Bound
from numbagrad.matrices import as_float_array, check_matrix

__all__ = ["Activation"]


class Activation(Bound):
    """An activation bound to validated hyperparameters.

    Created by :func:`numbagrad.activations.get`::

        >>> import numpy as np
        >>> from numbagrad import activations
        >>> elu = activations.get("elu", alpha=0.5)
        >>> elu(np.array([[-1.0, 0.0, 2.0]])).round(4)
        array([[-0.3161,  0.    ,  2.    ]])

    :meth:`forward` and :meth:`backward` call the kernels on C-contiguous
    float32/float64 matrices, in place when asked; calling the object applies
    the activation to any float array (along the last axis for row-wise
    activations) and returns a new array.

    Attributes:
        spec: the declaration.
        hyperparameters: the validated hyperparameters.
        params: the float64 vector the kernels read.
    """

    spec_type = ActivationSpec

    @property
    def row_wise(self) -> bool:
        """Whether each row maps to a row (softmax) rather than each element to an element."""
        return self.spec.row_wise

    def forward(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``out = f(z)`` for a C-contiguous float32/float64 matrix ``z``; returns ``out``.

        ``out`` may be ``z`` itself (in place); ``None`` allocates it.
        """
        from numbagrad.kernels.cpu.calls import call_activation_forward

        owner = f"{self.title}.forward()"
        check_matrix(owner, "z", z)
        if out is None:
            out = np.empty_like(z)
        else:
            check_matrix(owner, "out", out, like=z, like_name="z", writeable=True)
        call_activation_forward(self.kernel_table(z.dtype), z, out, self.params)
        return out

    def backward(
        self, z: np.ndarray, out: np.ndarray, grad_out: np.ndarray, grad_in: np.ndarray | None = None
    ) -> np.ndarray:
        """``grad_in = grad_out * f'(z)`` from the forward pass's ``z`` and ``out``; returns ``grad_in``.

        ``grad_in`` may be ``grad_out`` itself; ``None`` allocates it.
        """
        from numbagrad.kernels.cpu.calls import call_activation_backward

        owner = f"{self.title}.backward()"
        check_matrix(owner, "z", z)
        check_matrix(owner, "out", out, like=z, like_name="z")
        check_matrix(owner, "grad_out", grad_out, like=z, like_name="z")
        if grad_in is None:
            grad_in = np.empty_like(z)
        else:
            check_matrix(owner, "grad_in", grad_in, like=z, like_name="z", writeable=True)
        call_activation_backward(self.kernel_table(z.dtype), z, out, grad_out, grad_in, self.params)
        return grad_in

    def __call__(self, z: Any) -> np.ndarray:
        """``f(z)`` as a new array shaped like ``z`` (integers become float64)."""
        z = as_float_array(self.title, "z", z)
        if z.size == 0:
            return np.empty_like(z)
        matrix = z.reshape(-1, z.shape[-1]) if z.ndim else z.reshape(1, 1)
        out = np.empty_like(z)
        self.forward(matrix, out.reshape(matrix.shape))
        return out
