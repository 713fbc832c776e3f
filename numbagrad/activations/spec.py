"""The declaration of an activation: what users and plugins see.

An activation is data plus two kernels with the contracts of
:func:`numbagrad.kernels.signatures.activation_forward_signature` and
:func:`~numbagrad.kernels.signatures.activation_backward_signature`. Built-in
activations are declared exactly as a plugin declares one::

    import math
    from numba import njit
    from numbagrad.activations import ActivationSpec
    from numbagrad.hyperparameters import Hyperparameter

    @njit(cache=True, error_model="numpy")
    def softsign_forward(z, out, params):
        for i in range(z.shape[0]):
            for j in range(z.shape[1]):
                x = z[i, j]
                out[i, j] = x / (1 + abs(x))

    @njit(cache=True, error_model="numpy")
    def softsign_backward(z, out, grad_out, grad_in, params):
        for i in range(z.shape[0]):
            for j in range(z.shape[1]):
                d = 1 + abs(z[i, j])
                grad_in[i, j] = grad_out[i, j] / (d * d)

    SOFTSIGN = ActivationSpec(name="softsign", forward=softsign_forward, backward=softsign_backward)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from numbagrad.declarations import Declaration, check_cuda_field, first_line, import_cuda, require_kernel
from numbagrad.hyperparameters import Hyperparameter

__all__ = ["ActivationSpec", "check_kernels"]


@dataclass(frozen=True)
class ActivationSpec(Declaration):
    """Declaration of an activation.

    Attributes:
        name: registry name, lower case (``"relu"``); looked up case-insensitively.
        forward: ``@njit`` ``forward(z, out, params)`` writing ``out = f(z)``;
            ``out`` may be ``z``.
        backward: ``@njit`` ``backward(z, out, grad_out, grad_in, params)``
            writing ``grad_in = grad_out * f'(z)``; ``grad_in`` may be
            ``grad_out``. It may read ``z``, ``out`` or both.
        hyperparameters: declarations in the order the kernels read them
            from ``params``.
        row_wise: the activation maps each row to a row (softmax) instead of
            each element to an element.
        title: the name in messages and documentation (``"ReLU"``).
        presets: other registry names for preset hyperparameters, or plain
            aliases (``{"swish": {}}``).
        cuda_forward, cuda_backward: the ``cuda.jit(device=True)`` functions
            numbagrad builds the activation's CUDA kernels from, or preferably
            their import paths ``"package.module:name"`` (imported when CUDA is
            first used, so that declaring them does not import ``numba.cuda``);
            ``None``: the activation runs on the host only. Element-wise:
            ``forward(z, params, i, j) -> f(z)[i, j]`` and
            ``backward(z, out, grad_out, params, i, j) -> grad_in[i, j]``;
            row-wise: ``forward(z, out, params, i)`` and
            ``backward(z, out, grad_out, grad_in, params, i)`` write row ``i``
            (contract in :mod:`numbagrad.kernels.cuda`).
        override: a plugin's declaration replaces a built-in of the same name
            only when this is true.
    """

    name: str
    forward: Any
    backward: Any
    hyperparameters: tuple[Hyperparameter, ...] = ()
    row_wise: bool = False
    title: str = ""
    presets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    cuda_forward: Any = None
    cuda_backward: Any = None

    cuda_fields = ("cuda_forward", "cuda_backward")
    override: bool = False

    kind = "activation"

    def __post_init__(self):
        self._normalize()

    def kernel_table(self, dtype) -> np.ndarray:
        """The int64 addresses ``[forward C, forward JIT, backward C, backward JIT]`` for ``dtype``.

        Compiles both kernels for the contract (or loads them from Numba's
        cache) on first use; compiled loops and
        :mod:`numbagrad.kernels.cpu.calls` call them through these addresses.
        """
        from numbagrad.kernels.pointers import kernel_addresses
        from numbagrad.kernels.signatures import activation_backward_signature, activation_forward_signature

        forward = kernel_addresses(self.forward, activation_forward_signature(dtype))
        backward = kernel_addresses(self.backward, activation_backward_signature(dtype))
        return np.array(forward + backward, dtype=np.int64)

    def cuda_functions(self) -> tuple[Any, Any]:
        """``(forward, backward)`` CUDA device functions, imported if declared by path; ``(None, None)`` without.

        Raises ``TypeError`` naming the activation when a path cannot be imported.
        """
        return import_cuda(self.label, "cuda_forward", self.cuda_forward), import_cuda(self.label, "cuda_backward", self.cuda_backward)

    def check_declaration(self) -> None:
        """Check the declaration itself: kernels, flags, hyperparameters, defaults and presets.

        Raises ``TypeError`` or ``ValueError`` saying what is wrong.
        """
        label = self.label
        require_kernel(label, "forward", self.forward)
        require_kernel(label, "backward", self.backward)
        check_cuda_field(label, "cuda_forward", self.cuda_forward)
        check_cuda_field(label, "cuda_backward", self.cuda_backward)
        if (self.cuda_forward is None) != (self.cuda_backward is None):
            raise TypeError(f"{label}: declare both cuda_forward and cuda_backward, or neither")
        if not isinstance(self.row_wise, bool):
            raise TypeError(f"{label}: row_wise must be True or False; got {self.row_wise!r}")
        self._check_common()


_CONTRACT = (
    "forward(z: T[:, ::1], out: T[:, ::1], params: float64[::1]) and "
    "backward(z: T[:, ::1], out: T[:, ::1], grad_out: T[:, ::1], grad_in: T[:, ::1], params: float64[::1])"
)


def check_kernels(spec: ActivationSpec) -> None:
    """Compile ``spec``'s kernels for their contracts and run them once on tiny matrices.

    Raises ``TypeError`` naming the activation when a kernel does not fit
    the contracts of :func:`numbagrad.kernels.signatures.activation_forward_signature`
    and :func:`~numbagrad.kernels.signatures.activation_backward_signature`.
    """
    from numbagrad.kernels.cpu.calls import call_activation_backward, call_activation_forward

    params = spec.encode(spec.validate({}))
    for dtype in (np.dtype(np.float64), np.dtype(np.float32)):
        z = np.linspace(-1.5, 1.5, 6, dtype=dtype).reshape(2, 3)
        out = np.empty_like(z)
        grad_in = np.empty_like(z)
        try:
            table = spec.kernel_table(dtype)
            call_activation_forward(table, z, out, params)
            call_activation_backward(table, z, out, np.ones_like(z), grad_in, params)
        except Exception as error:
            raise TypeError(
                f"activation {spec.name!r}: its kernels do not fit the contract {_CONTRACT} "
                f"for T = {dtype}: {type(error).__name__}: {first_line(error)}"
            ) from None
