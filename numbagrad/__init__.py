"""numbagrad: dense neural networks trained by Numba kernels.

Importing numbagrad compiles nothing and loads no plugin: kernels compile (or
load from Numba's on-disk cache) on first use, plugins on the first look-up
by name.
"""

from numbagrad import _cache

_cache.install()

from numbagrad._version import __version__  # noqa: E402
from numbagrad import activations, autodiff, losses, metrics, optim, schedules  # noqa: E402
from numbagrad.errors import NonFiniteLossError, PluginError, PluginWarning, UnknownNameError  # noqa: E402
from numbagrad.nn import Activation, BatchNormalization, Dense, Dropout, LayerNormalization, Sequential  # noqa: E402
from numbagrad.train import load_model  # noqa: E402
from numbagrad.train.checkpoint import ModelFileError  # noqa: E402

__all__ = [
    "__version__",
    "optim",
    "schedules",
    "activations",
    "losses",
    "metrics",
    "autodiff",
    "Dense",
    "Dropout",
    "BatchNormalization",
    "LayerNormalization",
    "Activation",
    "Sequential",
    "load_model",
    "UnknownNameError",
    "PluginError",
    "PluginWarning",
    "NonFiniteLossError",
    "ModelFileError",
]
