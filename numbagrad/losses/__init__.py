"""Losses: Numba kernels that return a batch's loss and its gradient, found by name.

    >>> import numpy as np
    >>> from numbagrad import losses
    >>> losses.get("mse")(np.array([[1.0, 2.0]]), np.array([[1.0, 0.0]]))
    2.0

Every built-in documents its formula, its reduction (the mean over rows, and
over columns for elementwise losses, as PyTorch's ``reduction="mean"``) and
the PyTorch or Keras loss it equals. Losses are found through the plugin
registry, so a plugin's loss is used exactly like a built-in one.
"""

from __future__ import annotations

from typing import Any

from numbagrad.losses.loss import Loss
from numbagrad.losses.spec import LossSpec, check_kernels
from numbagrad.registry import get_registry

__all__ = ["Loss", "LossSpec", "available", "get", "register", "unregister", "check_kernels"]


def available() -> dict[str, str]:
    """Every loss name, sorted, mapped to the distribution that provides it."""
    return get_registry().available("loss")


def get(name: str | Loss, **hyperparameters: Any) -> Loss:
    """The loss registered as ``name`` (case-insensitive), with these hyperparameters.

    A :class:`Loss` is returned as it is (hyperparameters then are an error).

    Raises:
        numbagrad.errors.UnknownNameError: no such loss; the message lists
            the available ones and the closest match.
        TypeError, ValueError: a bad hyperparameter, named with its value.
    """
    return Loss.resolve(name, hyperparameters)


def register(*specs: LossSpec) -> str:
    """Register loss declarations in code; returns the plugin's name.

    The declarations are validated and their kernels compiled and run once,
    exactly as an installed plugin's; errors are raised.
    """
    return get_registry().register_specs("loss", specs)


def unregister(plugin_name: str) -> None:
    """Remove the losses registered with :func:`register` under ``plugin_name``
    (what it returned) or under one of their names; names they had replaced come back."""
    get_registry().unregister(plugin_name, kind="loss")
