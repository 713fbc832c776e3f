"""Exceptions and warnings that are part of numbagrad's interface."""

from __future__ import annotations

__all__ = ["UnknownNameError", "PluginError", "PluginWarning", "NonFiniteLossError", "CudaUnavailableError", "DistributedError"]


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


class CudaUnavailableError(RuntimeError):
    """CUDA was asked for (a CUDA device array given to an optimizer, a GPU
    benchmark) but cannot be used here.

    The message says what is missing: the ``numba-cuda`` package (the
    ``numbagrad[cuda]`` extra), a CUDA driver and GPU, the CUDA compiler
    library (NVVM), or that Numba's CUDA simulator stands in for the GPU.
    """


class DistributedError(RuntimeError):
    """Data-parallel training cannot go on: a collective waited longer than the world's timeout
    (another rank died, raised or stopped calling ``fit``), MPI reported an error, or the ranks
    disagree about what they are training (data, batch size, epochs).

    ``every_rank`` is true on an error every rank raises alike (the ranks' disagreement, found
    from values they all gathered): an uncaught one then ends each rank without ``MPI_Abort``."""

    every_rank: bool = False
