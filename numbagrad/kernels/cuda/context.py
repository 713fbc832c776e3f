"""``numba.cuda`` for device functions that kernels of other modules call.

Numba's CUDA simulator runs a block's threads as Python threads and, around
every call of a device function, replaces the ``cuda`` global of the
function's module by the running kernel's fake module, then puts it back.
Threads of one block that call the same device function of another module at
the same time race: the first to return restores the real module while the
others still run, and they fail on ``cuda.threadIdx``. Device functions that
read ``cuda.*`` and are called across modules (the reductions) therefore take
``cuda`` from here: under the simulator an object that forwards to the
running kernel's fake module (and that the simulator's swap leaves alone), on
a GPU ``numba.cuda`` itself.
"""

from __future__ import annotations

from numba import cuda as _cuda

from numbagrad.device import simulator_enabled

__all__ = ["cuda"]


class _RunningKernel:
    """``numba.cuda`` in the simulator, seen through the running kernel's fake module when there is one."""

    def __getattr__(self, name):
        try:
            from numba.cuda.simulator.kernel import _get_kernel_context
        except ImportError:  # a simulator without the kernel context: its own swap has to do
            return getattr(_cuda, name)
        context = _get_kernel_context()
        if context is not None and hasattr(context, name):
            return getattr(context, name)
        return getattr(_cuda, name)


cuda = _RunningKernel() if simulator_enabled() else _cuda
