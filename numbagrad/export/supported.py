"""Which activations the exports can express: numbagrad's built-in ones, with their options.

A plugin's activation is numbagrad code (Numba kernels) that neither ONNX nor
PyTorch can run, so a model using one is refused by name rather than written
with a silently different function.
"""

from __future__ import annotations

from typing import Any

from numbagrad.activations.builtin import BUILTIN_ACTIVATIONS

__all__ = ["BUILTIN_NAMES", "builtin_activations", "check_model"]

_BUILTIN = {spec.name: spec for spec in BUILTIN_ACTIVATIONS}
#: The activations every export expresses, in the documentation's order.
BUILTIN_NAMES = tuple(_BUILTIN)


def builtin_activations(model: Any, owner: str, target: str) -> list[tuple[str, dict[str, Any]]]:
    """``(name, options)`` of each layer's activation, first to last.

    Raises:
        ValueError: a layer's activation is not a built-in one (a plugin's,
            or a plugin's replacement of a built-in name); the message names
            the layer, the activation, the distribution that provides it and
            what ``target`` (the format, in words) can express.
    """
    from numbagrad.registry import get_registry

    result = []
    for index, layer in enumerate(model.layers):
        spec = layer.activation_spec
        builtin = _BUILTIN.get(spec.name)
        # The kernels decide: a plugin may register its own code under a built-in's name.
        if builtin is None or spec.forward is not builtin.forward:
            provider = get_registry().available("activation").get(spec.name)
            origin = f" (from {provider})" if provider else ""
            raise ValueError(
                f"{owner}: layer {index} ({layer.name!r}) uses the activation {spec.name!r}{origin}, which {target} "
                f"cannot express; it expresses numbagrad's built-in activations: {', '.join(BUILTIN_NAMES)}"
            )
        result.append((spec.name, dict(layer.activation_options)))
    return result


def check_model(model: Any, owner: str) -> None:
    """Raise ``TypeError`` unless ``model`` is a :class:`numbagrad.nn.Sequential`."""
    from numbagrad.nn.model import Sequential

    if not isinstance(model, Sequential):
        raise TypeError(f"{owner}: model must be a numbagrad.Sequential; got {type(model).__name__}")
