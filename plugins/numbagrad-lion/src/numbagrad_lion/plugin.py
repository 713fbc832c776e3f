"""The module the ``numbagrad`` entry point names: one hook per kind of component."""

from __future__ import annotations

from numbagrad.plugin import hookimpl

from numbagrad_lion.optimizer import LION_SPEC
from numbagrad_lion.schedules import INVERSE_SQRT_SPEC


@hookimpl
def numbagrad_optimizers():
    return [LION_SPEC]


@hookimpl
def numbagrad_schedules():
    return [INVERSE_SQRT_SPEC]
