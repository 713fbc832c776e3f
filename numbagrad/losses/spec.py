"""The declaration of a loss: what users and plugins see.

A loss is data plus one kernel with the contract of
:func:`numbagrad.kernels.signatures.loss_signature`: it returns the batch's
loss averaged over rows and writes the gradient with respect to the
prediction, the ``1 / rows`` included. Built-in losses are declared exactly
as a plugin declares one::

    from numba import njit
    from numbagrad.losses import LossSpec

    @njit(cache=True, error_model="numpy")
    def mae_loss(prediction, target, grad, params):
        rows, columns = prediction.shape
        scale = 1.0 / (rows * columns)
        total = 0.0
        for i in range(rows):
            for j in range(columns):
                d = prediction[i, j] - target[i, j]
                total += abs(d)
                grad[i, j] = scale if d > 0 else (-scale if d < 0 else 0.0)
        return total * scale

    MAE = LossSpec(name="my_mae", kernel=mae_loss, target="real")
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from numbagrad.declarations import Declaration, check_cuda_field, first_line, import_cuda, require_kernel
from numbagrad.hyperparameters import Hyperparameter
from numbagrad.targets import TARGET_KINDS

__all__ = ["LossSpec", "check_kernels"]


@dataclass(frozen=True)
class LossSpec(Declaration):
    """Declaration of a loss.

    Attributes:
        name: registry name, lower case (``"mse"``); looked up case-insensitively.
        kernel: ``@njit`` ``loss(prediction, target, grad, params) -> float64``.
        hyperparameters: declarations in the order the kernel reads them
            from ``params``.
        target: the kind of targets it accepts, one of
            :data:`numbagrad.targets.TARGET_KINDS`; checked in Python before
            the kernel runs.
        fused_activation: the activation whose output this loss can take as
            logits instead (``"softmax"`` for categorical cross-entropy,
            ``"sigmoid"`` for binary cross-entropy). When a network ends in
            that activation, a trainer may skip it and call the loss with
            ``from_logits=True`` on the pre-activation values: the same loss,
            computed in a numerically stable form. A loss that declares one
            must declare a boolean ``from_logits`` hyperparameter.
        title: the name in messages and documentation (``"MeanSquaredError"``).
        presets: other registry names for preset hyperparameters, or plain
            aliases (``{"mean_squared_error": {}}``).
        cuda_kernel: the ``cuda.jit(device=True)`` function of one row,
            ``row(prediction, target, grad, params, i) -> float64``: it writes
            ``grad[i, :]`` and returns row ``i``'s share of the batch loss
            (contract in :mod:`numbagrad.kernels.cuda`); or preferably its
            import path ``"package.module:name"``, imported when CUDA is first
            used. ``None``: the loss runs on the host only.
        override: a plugin's declaration replaces a built-in of the same name
            only when this is true.
    """

    name: str
    kernel: Any
    hyperparameters: tuple[Hyperparameter, ...] = ()
    target: str = "real"
    fused_activation: str | None = None
    title: str = ""
    presets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    cuda_kernel: Any = None

    cuda_fields = ("cuda_kernel",)
    override: bool = False

    kind = "loss"

    def __post_init__(self):
        self._normalize()

    def fuses(self, activation: str, values: Mapping[str, Any]) -> bool:
        """Whether, after ``activation``, this loss with these validated hyperparameters
        can instead take the pre-activation values with ``from_logits=True``."""
        return (
            self.fused_activation is not None
            and activation.strip().lower() == self.fused_activation
            and not values.get("from_logits", False)
        )

    def kernel_table(self, dtype) -> np.ndarray:
        """The int64 addresses ``[loss C, loss JIT]`` of the kernel compiled for ``dtype``."""
        from numbagrad.kernels.pointers import kernel_addresses
        from numbagrad.kernels.signatures import loss_signature

        return np.array(kernel_addresses(self.kernel, loss_signature(dtype)), dtype=np.int64)

    def cuda_row(self) -> Any:
        """The CUDA row function, imported if declared by path; ``None`` without.

        Raises ``TypeError`` naming the loss when the path cannot be imported.
        """
        return import_cuda(self.label, "cuda_kernel", self.cuda_kernel)

    def check_declaration(self) -> None:
        """Check the declaration itself: kernel, target kind, fused activation, hyperparameters.

        Raises ``TypeError`` or ``ValueError`` saying what is wrong.
        """
        label = self.label
        require_kernel(label, "kernel", self.kernel)
        check_cuda_field(label, "cuda_kernel", self.cuda_kernel)
        if self.target not in TARGET_KINDS:
            raise ValueError(f"{label}: target must be one of {', '.join(TARGET_KINDS)}; got {self.target!r}")
        if self.fused_activation is not None:
            if not isinstance(self.fused_activation, str) or self.fused_activation != self.fused_activation.strip().lower():
                raise ValueError(
                    f"{label}: fused_activation must be a lower-case activation name or None; got {self.fused_activation!r}"
                )
            declared = {h.name: h for h in self.hyperparameters if isinstance(h, Hyperparameter)}
            if "from_logits" not in declared or declared["from_logits"].kind != "bool":
                raise ValueError(f"{label}: a loss with a fused_activation must declare a bool hyperparameter 'from_logits'")
        self._check_common()


_CONTRACT = "loss(prediction: T[:, ::1], target: T[:, ::1], grad: T[:, ::1], params: float64[::1]) -> float64"


def check_kernels(spec: LossSpec) -> None:
    """Compile ``spec``'s kernel for the contract and run it once on a tiny batch.

    Raises ``TypeError`` naming the loss when the kernel does not fit the
    contract of :func:`numbagrad.kernels.signatures.loss_signature`.
    """
    from numbagrad.kernels.cpu.calls import call_loss

    params = spec.encode(spec.validate({}))
    for dtype in (np.dtype(np.float64), np.dtype(np.float32)):
        prediction = np.full((2, 3), 0.25, dtype=dtype)
        target = np.zeros((2, 3), dtype=dtype)
        target[:, 0] = 1
        grad = np.empty_like(prediction)
        try:
            call_loss(spec.kernel_table(dtype), prediction, target, grad, params)
        except Exception as error:
            raise TypeError(
                f"loss {spec.name!r}: its kernel does not fit the contract {_CONTRACT} "
                f"for T = {dtype}: {type(error).__name__}: {first_line(error)}"
            ) from None
