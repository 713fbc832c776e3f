"""The hooks through which optimizers, losses, schedules, activations and metrics are registered.

numbagrad registers its own components through these hooks, exactly as a
third-party package does. A plugin is any module or object with functions
marked ``@numbagrad.plugin.hookimpl`` whose names are the hooks below; a
distribution exposes it through an entry point in the group ``numbagrad``::

    # pyproject.toml of the plugin
    [project.entry-points.numbagrad]
    lion = "numbagrad_lion.plugin"

Each hook takes no arguments and returns a sequence of declarations. The
registry calls each plugin's hooks on their own (never through pluggy's
combined call), so that one plugin's failure cannot hide another's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import pluggy

if TYPE_CHECKING:
    from numbagrad.activations.spec import ActivationSpec
    from numbagrad.losses.spec import LossSpec
    from numbagrad.metrics.spec import MetricSpec
    from numbagrad.optim.spec import OptimizerSpec
    from numbagrad.schedules.spec import ScheduleSpec

__all__ = ["PROJECT", "hookspec", "hookimpl", "HookSpecs"]

#: The pluggy project name and the entry-point group.
PROJECT = "numbagrad"

hookspec = pluggy.HookspecMarker(PROJECT)
#: Marks a plugin's hook implementation.
hookimpl = pluggy.HookimplMarker(PROJECT)


class HookSpecs:
    """Hook specifications (one per kind of component)."""

    @hookspec
    def numbagrad_optimizers(self) -> Sequence["OptimizerSpec"]:
        """Return the optimizers this plugin provides, as :class:`numbagrad.optim.OptimizerSpec`."""

    @hookspec
    def numbagrad_losses(self) -> Sequence["LossSpec"]:
        """Return the losses this plugin provides, as :class:`numbagrad.losses.LossSpec`."""

    @hookspec
    def numbagrad_schedules(self) -> Sequence["ScheduleSpec"]:
        """Return the learning-rate schedules this plugin provides, as :class:`numbagrad.schedules.ScheduleSpec`."""

    @hookspec
    def numbagrad_activations(self) -> Sequence["ActivationSpec"]:
        """Return the activations this plugin provides, as :class:`numbagrad.activations.ActivationSpec`."""

    @hookspec
    def numbagrad_metrics(self) -> Sequence["MetricSpec"]:
        """Return the metrics this plugin provides, as :class:`numbagrad.metrics.MetricSpec`."""
