"""The module the ``numbagrad`` entry point names."""

from __future__ import annotations

from numbagrad.plugin import hookimpl

from numbagrad_lamb.optimizer import LAMB_SPEC


@hookimpl
def numbagrad_optimizers():
    return [LAMB_SPEC]
