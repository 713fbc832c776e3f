"""Metrics: Numba kernels that add each batch to running totals, found by name.

    >>> import numpy as np
    >>> from numbagrad import metrics
    >>> metrics.get("mae")(np.array([[1.0, 2.0]]), np.array([[1.0, 0.0]]))
    1.0

``"accuracy"`` is binary accuracy for a prediction with one column and
categorical accuracy for several, as Keras picks between them. Metrics are
found through the plugin registry, so a plugin's metric is used exactly like
a built-in one.
"""

from __future__ import annotations

from typing import Any

from numbagrad.metrics.metric import Metric
from numbagrad.metrics.spec import MetricSpec, check_kernels
from numbagrad.registry import get_registry

__all__ = ["Metric", "MetricSpec", "available", "get", "register", "unregister", "check_kernels"]


def available() -> dict[str, str]:
    """Every metric name, sorted, mapped to the distribution that provides it."""
    return get_registry().available("metric")


def get(name: str | Metric, **hyperparameters: Any) -> Metric:
    """A new metric registered as ``name`` (case-insensitive), with these hyperparameters.

    A :class:`Metric` is returned as it is (hyperparameters then are an error).

    Raises:
        numbagrad.errors.UnknownNameError: no such metric; the message lists
            the available ones and the closest match.
        TypeError, ValueError: a bad hyperparameter, named with its value.
    """
    return Metric.resolve(name, hyperparameters)


def register(*specs: MetricSpec) -> str:
    """Register metric declarations in code; returns the plugin's name.

    The declarations are validated and their kernels compiled and run once,
    exactly as an installed plugin's; errors are raised.
    """
    return get_registry().register_specs("metric", specs)


def unregister(plugin_name: str) -> None:
    """Remove the metrics registered with :func:`register` under ``plugin_name``
    (what it returned) or under one of their names; names they had replaced come back."""
    get_registry().unregister(plugin_name, kind="metric")
