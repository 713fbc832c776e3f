"""Optimizer state on a CUDA GPU, for parameters that are CUDA device arrays.

:class:`~numbagrad.optim.Optimizer` keeps one partition per parameter group,
dtype and placement. Host partitions step through the CPU drivers; a
:class:`CudaPartition` keeps its state in device memory, allocated once, and
steps by launching the optimizer's ``cuda_update`` kernel once per array:

1. the optimizer's ``prepare`` (a CPU kernel) advances the scalar state in
   the host ``hyper`` vector (NAdam's ``mu_product``);
2. ``hyper`` is copied to the device when it changed (a schedule's new
   ``lr``, NAdam's every step): a few float64s, on the default stream, so it
   is ordered after the previous step's kernels, which still read the old
   copy;
3. one launch per array over its flat buffer (one in all for a model whose
   parameters are views of one buffer).

Nothing here runs before a CUDA device array is given to an optimizer;
``numba.cuda`` is imported then. All parameters on the GPU of one optimizer
must live on one device, with their gradients.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from numbagrad import config
from numbagrad.device import is_cuda_array, require_cuda
from numbagrad.kernels.signatures import FLOAT_DTYPES
from numbagrad.optim.partition import slot_arrays, slot_layout
from numbagrad.optim.spec import OptimizerSpec, StateSlot

__all__ = ["CudaPartition", "as_device_array", "device_id", "memory_span", "check_param", "check_devices", "check_grad"]


def as_device_array(value: Any):
    """A Numba device array for ``value``: itself, or a zero-copy view of a ``__cuda_array_interface__`` exporter."""
    if getattr(value, "__cuda_ndarray__", False):
        return value
    cuda = require_cuda(f"a {type(value).__name__} in CUDA device memory was given")
    if not hasattr(cuda, "as_cuda_array"):
        raise TypeError(
            f"Numba's CUDA simulator cannot wrap a {type(value).__name__} (a __cuda_array_interface__ exporter); "
            "give it numba.cuda device arrays"
        )
    return cuda.as_cuda_array(value)


def device_id(array: Any) -> int:
    """The ordinal of the GPU holding ``array`` (0 under the simulator, which has one)."""
    context = getattr(getattr(array, "gpu_data", None), "context", None)
    device = getattr(context, "device", None)
    return int(getattr(device, "id", 0) or 0)


def memory_span(array: Any) -> tuple[tuple[str, int], int, int]:
    """``((space, device), first byte, end)`` of a device array, to find parameters that overlap."""
    interface = getattr(array, "__cuda_array_interface__", None)
    # The simulator's arrays wrap NumPy arrays and export the host interface.
    start = interface["data"][0] if interface is not None else array.__array_interface__["data"][0]
    return ("cuda", device_id(array)), start, start + array.size * array.dtype.itemsize


def check_param(title: str, spec: OptimizerSpec, value: Any, index: int) -> None:
    """Check that ``value``, a CUDA array, can be optimized by ``spec`` here; raises naming ``params[index]``."""
    require_cuda(f"{title}: params[{index}] is a CUDA device array")
    if not spec.has_cuda_kernel and not spec.closure:  # a closure optimizer has no kernels to run
        from numbagrad.registry import get_registry

        provider = get_registry().provider("optimizer", spec)
        raise TypeError(
            f"{title}: params[{index}] is a CUDA device array, but optimizer {spec.name!r} (provided by {provider}) "
            "has no CUDA kernel (its declaration's cuda_update is None); give it NumPy arrays on the host, "
            "or use an optimizer that declares a cuda_update"
        )
    spec.cuda_kernel()  # a declared path that does not import fails here, before anything changes
    array = as_device_array(value)
    if array.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{title}: params[{index}] has dtype {array.dtype}; only float32 and float64 arrays can be optimized")
    if not array.is_c_contiguous():
        raise ValueError(
            f"{title}: params[{index}] is a CUDA device array that is not C-contiguous; the optimizer updates "
            "arrays in place, so pass the array itself rather than a strided view"
        )
    interface = getattr(value, "__cuda_array_interface__", None)
    if interface is not None and interface["data"][1]:
        raise ValueError(f"{title}: params[{index}] is a read-only CUDA array; the optimizer updates arrays in place")


def check_devices(title: str, arrays: Sequence[Any]) -> None:
    """All CUDA parameters of one optimizer must share a GPU."""
    devices = [(i, device_id(a)) for i, a in enumerate(arrays) if is_cuda_array(a)]
    for i, device in devices[1:]:
        if device != devices[0][1]:
            raise ValueError(
                f"{title}: params[{devices[0][0]}] is on CUDA device {devices[0][1]} and params[{i}] on device {device}; "
                "one optimizer steps the parameters of one GPU (create one optimizer per device)"
            )


def check_grad(title: str, index: int, grad: Any, param: Any):
    """``grad`` as a flat-able device array matching the device array ``param``; raises naming ``grads[index]``."""
    if not is_cuda_array(grad):
        where = "a NumPy array on the host" if isinstance(grad, np.ndarray) else type(grad).__name__
        raise TypeError(
            f"{title}.step(): grads[{index}] must be a CUDA device array, like params[{index}]; got {where} "
            "(copy it with numba.cuda.to_device)"
        )
    grad = as_device_array(grad)
    if tuple(grad.shape) != tuple(param.shape):
        raise ValueError(f"{title}.step(): grads[{index}] has shape {tuple(grad.shape)}; params[{index}] has shape {tuple(param.shape)}")
    if grad.dtype != param.dtype:
        raise TypeError(f"{title}.step(): grads[{index}] has dtype {grad.dtype}; params[{index}] has dtype {param.dtype}")
    if not grad.is_c_contiguous():
        raise ValueError(f"{title}.step(): grads[{index}] is a CUDA device array that is not C-contiguous")
    if device_id(grad) != device_id(param):
        raise ValueError(
            f"{title}.step(): grads[{index}] is on CUDA device {device_id(grad)}; params[{index}] is on device {device_id(param)}"
        )
    return grad


@dataclass
class CudaPartition:
    """The CUDA parameters of one group with one dtype, and their state in device memory.

    Element-wise optimizers keep each array's state as a ``(slots, size)``
    device array; tensor-wise ones keep each array's slots one after another
    in one flat device array, each of its declared shape, and a device
    ``statistics`` block with a row per array.
    """

    spec: OptimizerSpec
    group: int
    indices: list[int]
    arrays: list[Any]
    slots: tuple[StateSlot, ...]
    hyper: np.ndarray
    kernel: Any
    prepare: Any
    # (n,) views of the parameters and their state, on the device.
    flat: list[Any] = field(default_factory=list)
    states: list[Any] = field(default_factory=list)
    layouts: list[list[tuple[tuple[int, ...] | None, int]]] = field(default_factory=list)
    statistics: Any = None
    step: int = 0
    device_hyper: Any = None
    # The hyper vector last copied to the device.
    uploaded: np.ndarray | None = None

    on_device = True

    @classmethod
    def create(cls, spec: OptimizerSpec, group: int, indices: list[int], arrays: list[Any], hyperparameters, hyper: np.ndarray) -> "CudaPartition":
        """Allocate the state of ``arrays`` on their GPU, filled with each slot's initial value."""
        cuda = require_cuda(f"{spec.title}: CUDA parameters")
        from numbagrad.kernels.cuda.state import fill_rows
        from numbagrad.kernels.cuda.update import launch_configuration

        slots = spec.slots(hyperparameters)
        partition = cls(spec, group, indices, arrays, slots, hyper, spec.cuda_kernel(), spec.prepare)
        initial = [s.initial_value(hyperparameters) for s in slots]
        rows = cuda.to_device(np.array(initial, dtype=np.float64))
        for array in arrays:
            partition.flat.append(array.reshape(array.size))
            layout = slot_layout(slots, array.shape)
            partition.layouts.append(layout)
            if spec.tensorwise:
                values = np.empty(sum(math.prod(shape) for shape, _ in layout if shape is not None), dtype=array.dtype)
                for view, value in zip(slot_arrays(values, layout), initial):
                    if view is not None:
                        view.fill(value)
                state = cuda.to_device(values)
            else:
                state = cuda.device_array((len(slots), array.size), dtype=array.dtype)
                if len(slots) and array.size:
                    blocks, threads = launch_configuration(array.size, config.CUDA_THREADS_PER_BLOCK, config.CUDA_MAX_BLOCKS)
                    fill_rows[blocks, threads](state, rows)
            partition.states.append(state)
        if spec.tensorwise:
            partition.statistics = cuda.to_device(np.zeros((len(arrays), max(1, spec.statistics))))
        partition.device_hyper = cuda.to_device(hyper)
        partition.uploaded = hyper.copy()
        return partition

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.arrays[0].dtype)

    def slot_shapes(self, local: int) -> list[tuple[int, ...] | None]:
        return [shape for shape, _ in self.layouts[local]]

    def read_state(self, local: int) -> list[np.ndarray | None]:
        """Host copies of the state of the ``local``-th array, one per slot in its shape (``None`` where absent)."""
        flat = self.states[local].copy_to_host().reshape(-1)
        return [None if view is None else view.copy() for view in slot_arrays(flat, self.layouts[local])]

    def write_state(self, local: int, values: Sequence[np.ndarray | None]) -> None:
        """Copy host ``values`` (one per slot, in its shape) into the state of the ``local``-th array."""
        flat = self.states[local].copy_to_host().reshape(-1)
        for view, value in zip(slot_arrays(flat, self.layouts[local]), values):
            if view is not None:
                view[...] = value
        if flat.size:
            self.states[local].copy_to_device(flat.reshape(self.states[local].shape))

    def upload_hyper(self) -> None:
        """Run ``prepare`` for this step on the host, and copy ``hyper`` to the device when it changed."""
        if self.prepare is not None:
            self.prepare(self.hyper, self.step)
        if not np.array_equal(self.hyper, self.uploaded, equal_nan=True):
            self.device_hyper.copy_to_device(self.hyper)
            self.uploaded = self.hyper.copy()

    def run(self, grads: Sequence[Any]) -> None:
        """One step (``self.step`` already counts it) from the checked device gradients of ``indices``."""
        self.upload_hyper()
        self.launch(grads, self.device_hyper, self.step)

    def launch(self, grads: Sequence[Any], device_hyper: Any, step: int) -> None:
        """The kernels of one step with the device ``hyper`` vector given (the fit loop passes each batch's row)."""
        from numbagrad.kernels.cuda.update import launch_update

        flat_grads = [grad if len(grad.shape) == 1 else grad.reshape(param.size) for param, grad in zip(self.flat, grads)]
        if self.spec.tensorwise:
            shapes = [tuple(int(n) for n in a.shape) for a in self.arrays]
            if self.spec.has_reduce:
                reduce = self.spec.cuda_reduce_kernel()
                for t, (param, grad, state) in enumerate(zip(self.flat, flat_grads, self.states)):
                    reduce(param, grad, state, device_hyper, step, shapes[t], self.statistics, t, self.hyper)
            for t, (param, grad, state) in enumerate(zip(self.flat, flat_grads, self.states)):
                self.kernel(param, grad, state, device_hyper, step, shapes[t], self.statistics, t, self.hyper)
            return
        threads, blocks = config.CUDA_THREADS_PER_BLOCK, config.CUDA_MAX_BLOCKS
        for param, grad, state in zip(self.flat, flat_grads, self.states):
            launch_update(self.kernel, param, grad, state, device_hyper, step, threads, blocks)
