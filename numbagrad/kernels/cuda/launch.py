"""Kernel launches whose arguments are bound once, for loops that launch the same kernels every batch.

A launch through Numba's dispatcher (``kernel[blocks, threads](*args)``)
types every argument and converts each device array into a dozen C values
on every call: tens of microseconds of Python per launch, more than a small
layer's product takes on a GPU. A training step launches the same half
dozen kernels on the same buffers batch after batch; only a few scalars
change (the batch's first row, its index, the optimizer step) and one array
(the row of hyperparameters of this step). :class:`Launch` converts the
arguments once and, per call, rewrites the values that changed in place
and calls the driver's ``cuLaunchKernel`` directly.

That path uses Numba's internals (``_Kernel._prepare_args``, the compiled
function's handle, the driver binding), which numba-cuda may change:
:data:`numbagrad.config.CUDA_PREPARED_LAUNCHES` = 0 turns it off, and
anything missing turns it off by itself, for the ordinary dispatcher call.
Under the simulator launches always take the ordinary call.
"""

from __future__ import annotations

import ctypes
from typing import Any, Mapping, Sequence

from numbagrad import config
from numbagrad.device import simulator_enabled

__all__ = ["Launch"]


class Launch:
    """``kernel[blocks, threads](*args)``, ready to be launched again with some arguments changed.

    Args:
        kernel: a ``@cuda.jit`` dispatcher.
        blocks, threads: the one-dimensional grid.
        args: the arguments.
        variables: names for the positions of the arguments that change
            between calls: ``Launch(k, 4, 256, args, {"start": 2})(start=64)``.
            A changed argument must keep its type (an array: its dtype,
            dimensions and layout).
    """

    def __init__(self, kernel: Any, blocks: int, threads: int, args: Sequence[Any], variables: Mapping[str, int] | None = None):
        self.kernel = kernel
        self.blocks = int(blocks)
        self.threads = int(threads)
        self.args = list(args)
        self.variables = dict(variables or {})
        self._prepared = None
        if config.CUDA_PREPARED_LAUNCHES and not simulator_enabled():
            try:
                self._prepared = _Prepared(kernel, self.blocks, self.threads, self.args)
            except Exception:  # numba-cuda internals not as expected: the dispatcher works
                self._prepared = None

    @property
    def prepared(self) -> bool:
        """Whether calls bypass Numba's dispatcher."""
        return self._prepared is not None

    def __call__(self, **changes: Any) -> None:
        for name, value in changes.items():
            self.args[self.variables[name]] = value
        if self._prepared is not None:
            for name, value in changes.items():
                self._prepared.rebind(self.variables[name], value)
            self._prepared.launch()
        else:
            self.kernel[self.blocks, self.threads](*self.args)


class _Prepared:
    """The driver-level form of a launch (see the module documentation)."""

    def __init__(self, kernel, blocks: int, threads: int, args: list):
        from numba.cuda.cudadrv import driver

        argument_types = tuple(kernel.typeof_pyval(value) for value in args)
        compiled = kernel.compile(argument_types)
        self.compiled = compiled
        self.types = compiled.argument_types
        self.values: list = []
        self.spans: list[tuple[int, int]] = []
        for kind, value in zip(self.types, args):
            first = len(self.values)
            compiled._prepare_args(kind, value, 0, [], self.values)
            self.spans.append((first, len(self.values)))
        self.args = list(args)  # keeps the arrays the pointers point into alive
        self.handle = compiled._codelibrary.get_cufunc().handle
        self.blocks = blocks
        self.threads = threads
        self.driver = driver
        self.pointers = (ctypes.c_void_p * len(self.values))(*[ctypes.addressof(v) for v in self.values])
        if driver.USE_NV_BINDING:
            self.stream = driver.binding.CUstream(0)
            self.parameters = ctypes.addressof(self.pointers)
            self.extra = 0
        else:
            self.stream = None
            self.parameters = self.pointers
            self.extra = None

    def rebind(self, position: int, value: Any) -> None:
        """Write the C values of a changed argument into the ones the launch passes."""
        fresh: list = []
        self.compiled._prepare_args(self.types[position], value, 0, [], fresh)
        first, end = self.spans[position]
        if len(fresh) != end - first:
            raise ValueError(f"argument {position} changed its type: {value!r}")
        for old, new in zip(self.values[first:end], fresh):
            old.value = new.value
        self.args[position] = value

    def launch(self) -> None:
        self.driver.driver.cuLaunchKernel(
            self.handle, self.blocks, 1, 1, self.threads, 1, 1, 0, self.stream, self.parameters, self.extra
        )
