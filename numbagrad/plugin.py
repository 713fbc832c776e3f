"""The public interface for writing a numbagrad plugin: everything a plugin imports.

A plugin is a module with functions marked :data:`hookimpl` and named after
numbagrad's hooks (:class:`numbagrad.hookspecs.HookSpecs`); each returns a
list of declarations. A distribution exposes the module through an entry
point in the group ``numbagrad``::

    # pyproject.toml
    [project.entry-points.numbagrad]
    myopt = "numbagrad_myopt.plugin"

    # numbagrad_myopt/plugin.py
    from numbagrad.plugin import hookimpl
    from numbagrad_myopt.optimizer import MYOPT_SPEC

    @hookimpl
    def numbagrad_optimizers():
        return [MYOPT_SPEC]

After ``pip install``, ``numbagrad.optim.get("myopt", params)`` finds it. The
documentation's "Writing a plugin" walks through a complete one.

Only the names below are the plugin interface; numbagrad keeps them
compatible across minor versions.
"""

from __future__ import annotations

from typing import Any

from numbagrad.errors import PluginError, PluginWarning
from numbagrad.hookspecs import PROJECT, hookimpl
from numbagrad.activations.spec import ActivationSpec
from numbagrad.hyperparameters import REQUIRED, Hyperparameter
from numbagrad.kernels.rules import lerp
from numbagrad.kernels.rules import root as sqrt
from numbagrad.kernels.signatures import PREPARE_SIGNATURE, cuda_update_signature, tensor_update_signature, update_signature
from numbagrad.losses.spec import LossSpec
from numbagrad.metrics.spec import MetricSpec
from numbagrad.optim.spec import OptimizerSpec, StateSlot
from numbagrad.schedules.spec import ScheduleSpec

__all__ = [
    "ENTRY_POINT_GROUP",
    "hookimpl",
    "Hyperparameter",
    "REQUIRED",
    "OptimizerSpec",
    "StateSlot",
    "ScheduleSpec",
    "ActivationSpec",
    "LossSpec",
    "MetricSpec",
    "lerp",
    "sqrt",
    "update_signature",
    "tensor_update_signature",
    "cuda_update_signature",
    "PREPARE_SIGNATURE",
    "check",
    "PluginError",
    "PluginWarning",
]

#: The entry-point group numbagrad loads plugins from.
ENTRY_POINT_GROUP = PROJECT


def check(spec: Any) -> None:
    """Run on ``spec`` the checks that registration runs, and raise what they find.

    For an :class:`OptimizerSpec`: its declaration (names, defaults within
    their ranges, state slots, presets), then its kernels compiled for the
    update contract in float32 and float64 and run once on tiny arrays. For
    a :class:`ScheduleSpec`: its declaration, then its function evaluated
    with its defaults and ``example``. Use it in a plugin's tests.

    Raises:
        TypeError, ValueError: what is wrong, naming the component.
    """
    from numbagrad.registry import KINDS

    known = []
    for kind in KINDS.values():
        spec_type = kind.spec_type()
        if isinstance(spec, spec_type):
            spec.check_declaration()
            kind.check_kernels(spec)
            return
        known.append(spec_type.__name__)
    raise TypeError(f"check() takes a declaration ({', '.join(known)}); got {spec!r}")
