"""Exceptions and warnings that are part of numbagrad's interface."""

from __future__ import annotations

__all__ = ["UnknownNameError", "PluginError", "PluginWarning", "NonFiniteLossError"]


class UnknownNameError(ValueError):
    """A name (optimizer, loss, schedule, activation, metric, initializer) that is not registered.

    The message lists the registered names and suggests the closest ones.
    """


class PluginError(RuntimeError):
    """A plugin that cannot be used: it fails to import, declares something
    invalid, or claims a name another distribution already has."""


class PluginWarning(UserWarning):
    """A plugin was skipped; every other plugin keeps working.

    ``NUMBAGRAD_STRICT_PLUGINS=1`` turns these into :class:`PluginError`.
    """


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss; the model keeps its last finite weights."""
