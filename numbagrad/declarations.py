"""What the declarations of optimizers, activations, losses and metrics have in common.

Each declaration (:class:`~numbagrad.optim.OptimizerSpec`,
:class:`~numbagrad.activations.ActivationSpec`,
:class:`~numbagrad.losses.LossSpec`, :class:`~numbagrad.metrics.MetricSpec`)
is a frozen dataclass with a ``name``, a ``title``, ``hyperparameters``,
``presets`` and ``override``, plus its kernels; :class:`Declaration` gives
them the same validation, encoding and self-checks.
"""

from __future__ import annotations

from typing import Any, ClassVar, Mapping

import numpy as np

from numbagrad.hyperparameters import Hyperparameter, validate_hyperparameters

__all__ = ["Declaration", "require_kernel", "check_cuda_field", "import_cuda", "first_line"]


class Declaration:
    """Mixin of the declaration dataclasses: hyperparameters, presets, messages.

    Subclasses are frozen dataclasses with the fields ``name``, ``title``,
    ``hyperparameters``, ``presets`` and ``override``, and call
    :meth:`_normalize` from ``__post_init__``.
    """

    #: The registry kind: "optimizer", "activation", "loss" or "metric".
    kind: ClassVar[str] = ""
    #: The fields that hold the declaration's CUDA code.
    cuda_fields: ClassVar[tuple[str, ...]] = ()

    @property
    def has_cuda_kernel(self) -> bool:
        """Whether the component runs on CUDA devices (it declares its CUDA code)."""
        return any(getattr(self, name) is not None for name in self.cuda_fields)

    def _normalize(self) -> None:
        if not self.title:
            object.__setattr__(self, "title", self.name)
        object.__setattr__(self, "hyperparameters", tuple(self.hyperparameters))
        object.__setattr__(self, "presets", {k: dict(v) for k, v in dict(self.presets).items()})

    @property
    def label(self) -> str:
        """How messages about the declaration itself name it (``loss 'huber'``)."""
        return f"{self.kind} {self.name!r}"

    @property
    def hyperparameter_names(self) -> tuple[str, ...]:
        return tuple(h.name for h in self.hyperparameters)

    @property
    def defaults(self) -> dict[str, Any]:
        """The default value of every hyperparameter."""
        return {h.name: h.default for h in self.hyperparameters}

    def validate(self, values: Mapping[str, Any], base: Mapping[str, Any] | None = None, owner: str = "") -> dict[str, Any]:
        """Validated hyperparameters: ``values`` over ``base`` (or the defaults).

        Raises ``TypeError`` or ``ValueError`` naming the owner (the title by
        default), the hyperparameter, the value and what is allowed.
        """
        owner = owner or self.title
        if values and not self.hyperparameters:
            raise TypeError(f"{owner} takes no hyperparameters; got {', '.join(map(repr, values))}")
        return validate_hyperparameters(self.hyperparameters, values, owner, base)

    def encode(self, values: Mapping[str, Any]) -> np.ndarray:
        """The float64 ``params`` vector the kernels read (declaration order; booleans as 0.0/1.0)."""
        entries: list[float] = []
        for h in self.hyperparameters:
            entries.extend(h.encode(values[h.name]))
        return np.array(entries, dtype=np.float64)

    def _check_common(self) -> None:
        """Hyperparameters, defaults, presets and flags; raises ``TypeError``/``ValueError``."""
        label = self.label
        if not isinstance(self.title, str):
            raise TypeError(f"{label}: title must be a string; got {self.title!r}")
        names = []
        for h in self.hyperparameters:
            if not isinstance(h, Hyperparameter):
                raise TypeError(f"{label}: hyperparameters must be Hyperparameter instances; got {h!r}")
            names.append(h.name)
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"{label}: hyperparameter names {duplicated} are declared twice")
        try:
            self.validate({})
        except (TypeError, ValueError) as error:
            raise ValueError(f"{label}: a declared default is invalid: {error}") from None
        for preset_name, preset in self.presets.items():
            try:
                self.validate(preset)
            except (TypeError, ValueError) as error:
                raise ValueError(f"{label}: preset {preset_name!r} is invalid: {error}") from None
        if not isinstance(self.override, bool):
            raise TypeError(f"{label}: override must be True or False; got {self.override!r}")


def require_kernel(label: str, field: str, value: Any, optional: bool = False) -> None:
    """Raise ``TypeError`` unless ``value`` is an ``@njit`` function (or ``None`` when ``optional``)."""
    from numba.core.registry import CPUDispatcher

    if value is None and optional:
        return
    if not isinstance(value, CPUDispatcher):
        allowed = "an @njit function or None" if optional else "an @njit function"
        raise TypeError(f"{label}: {field} must be {allowed}; got {value!r}")


def check_cuda_field(label: str, field: str, value: Any) -> None:
    """Raise ``TypeError`` unless ``value`` is ``None``, a function or an import path ``"package.module:name"``.

    Nothing is imported: a declaration's CUDA functions are imported when
    CUDA is first asked for (:func:`import_cuda`), so that declaring them
    never imports ``numba.cuda``.
    """
    if value is None or (callable(value) and not isinstance(value, str)):
        return
    if isinstance(value, str):
        module_name, colon, attribute = value.partition(":")
        if colon and attribute.isidentifier() and all(part.isidentifier() for part in module_name.split(".")):
            return
        raise TypeError(f"{label}: {field} must be 'package.module:name'; got {value!r}")
    raise TypeError(f"{label}: {field} must be a CUDA function, its import path 'package.module:name' or None; got {value!r}")


def import_cuda(label: str, field: str, value: Any) -> Any:
    """``value`` itself, or the object its import path ``"package.module:name"`` names; ``None`` stays ``None``.

    Raises ``TypeError`` naming the declaration and the field when the path
    cannot be imported or names nothing (importing it imports ``numba.cuda``).
    """
    if not isinstance(value, str):
        return value
    import importlib

    module_name, _, attribute = value.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise TypeError(f"{label}: {field} {value!r} cannot be imported: {type(error).__name__}: {error}") from None


def first_line(error: BaseException) -> str:
    """The first line of an exception's message, or its type's name (for one-line reports)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
