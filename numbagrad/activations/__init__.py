"""Activations: Numba kernels for the forward and backward pass, found by name.

    >>> import numpy as np
    >>> from numbagrad import activations
    >>> relu = activations.get("relu")
    >>> relu(np.array([-1.0, 0.0, 2.0]))
    array([0., 0., 2.])

Built-ins follow PyTorch's definitions, including the derivative chosen at
kinks (``relu'(0) = 0``, ``leaky_relu'(0) = alpha``, ``elu'(0) = alpha``).
Activations are found through the plugin registry, so a plugin's activation
is used exactly like a built-in one.
"""

from __future__ import annotations

from typing import Any

from numbagrad.activations.activation import Activation
from numbagrad.activations.spec import ActivationSpec, check_kernels
from numbagrad.registry import get_registry

__all__ = ["Activation", "ActivationSpec", "available", "get", "register", "unregister", "check_kernels"]


def available() -> dict[str, str]:
    """Every activation name, sorted, mapped to the distribution that provides it."""
    return get_registry().available("activation")


def get(name: str | Activation, **hyperparameters: Any) -> Activation:
    """The activation registered as ``name`` (case-insensitive), with these hyperparameters.

    An :class:`Activation` is returned as it is (hyperparameters then are an error).

    Raises:
        numbagrad.errors.UnknownNameError: no such activation; the message
            lists the available ones and the closest match.
        TypeError, ValueError: a bad hyperparameter, named with its value.
    """
    return Activation.resolve(name, hyperparameters)


def register(*specs: ActivationSpec) -> str:
    """Register activation declarations in code; returns the plugin's name.

    The declarations are validated and their kernels compiled and run once,
    exactly as an installed plugin's; errors are raised.
    """
    return get_registry().register_specs("activation", specs)


def unregister(plugin_name: str) -> None:
    """Remove the activations registered with :func:`register` under ``plugin_name``
    (what it returned) or under one of their names; names they had replaced come back."""
    get_registry().unregister(plugin_name, kind="activation")
