"""Optimizers: fused Numba update kernels behind PyTorch's :mod:`torch.optim` interface.

Every built-in follows PyTorch's documented algorithm, argument names and
defaults::

    >>> import numpy as np, numbagrad
    >>> w = np.zeros(3)
    >>> opt = numbagrad.optim.SGD([w], lr=0.1, momentum=0.9)
    >>> opt.step([np.ones(3)])
    >>> w
    array([-0.1, -0.1, -0.1])

Optimizers are found by name through the plugin registry, so a plugin's
optimizer is used exactly like a built-in one (``get("lion")``).
"""

from __future__ import annotations

from typing import Any, Iterable

from numbagrad.optim.adadelta import Adadelta
from numbagrad.optim.adafactor import Adafactor
from numbagrad.optim.adagrad import Adagrad
from numbagrad.optim.adam import Adam, AdamW
from numbagrad.optim.adamax import Adamax
from numbagrad.optim.asgd import ASGD
from numbagrad.optim.lbfgs import LBFGS
from numbagrad.optim.muon import Muon
from numbagrad.optim.nadam import NAdam
from numbagrad.optim.optimizer import Optimizer
from numbagrad.optim.radam import RAdam
from numbagrad.optim.rmsprop import RMSprop
from numbagrad.optim.rprop import Rprop
from numbagrad.optim.sgd import SGD
from numbagrad.optim.spec import OptimizerSpec, StateSlot, check_kernels
from numbagrad.registry import get_registry

__all__ = [
    "Optimizer",
    "OptimizerSpec",
    "StateSlot",
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "Adagrad",
    "Adadelta",
    "Adamax",
    "NAdam",
    "RAdam",
    "Rprop",
    "ASGD",
    "LBFGS",
    "Adafactor",
    "Muon",
    "available",
    "get",
    "register",
    "unregister",
    "check_kernels",
]


def available() -> dict[str, str]:
    """Every optimizer name, sorted, mapped to the distribution that provides it.

    Iterating gives the names: ``list(available())``.
    """
    return get_registry().available("optimizer")


def get(name: str, params: Iterable[Any] | None = None, **hyperparameters: Any) -> Optimizer:
    """Create an optimizer by name, case-insensitively: ``get("adam", params, lr=1e-3)``.

    Preset names (``"momentum"``, ``"nesterov"``, ``"amsgrad"``) set their
    options; hyperparameters given here override them.

    Raises:
        numbagrad.errors.UnknownNameError: no such optimizer; the message
            lists the available ones and the closest match.
    """
    entry = get_registry().lookup("optimizer", name)
    return Optimizer.from_spec(entry.spec, params, **{**entry.preset, **hyperparameters})


def register(*specs: OptimizerSpec) -> str:
    """Register optimizer declarations in code (a notebook, a test); returns the plugin's name.

    The declarations are validated and their kernels compiled and run once,
    exactly as an installed plugin's. A name already in use is refused
    unless the declaration says ``override=True``.

    Raises:
        numbagrad.errors.PluginError: a declaration is invalid or its name
            is taken; nothing is registered.
    """
    return get_registry().register_specs("optimizer", specs)


def unregister(plugin_name: str) -> None:
    """Remove the optimizers registered with :func:`register` under ``plugin_name``
    (what it returned) or under one of their names; names they had replaced come back."""
    get_registry().unregister(plugin_name, kind="optimizer")
