"""Optimizer state on the host, and the update plan that steps it in one compiled call.

An :class:`~numbagrad.optim.Optimizer` keeps one partition per parameter
group, dtype and placement. A :class:`HostPartition` holds the state of its
arrays in one aligned block:

* element-wise optimizers: each array's ``(slots, size)`` rows, one slot per
  row;
* tensor-wise optimizers: each array's slots one after another, each of the
  shape its :class:`~numbagrad.optim.StateSlot` gives for that array (rows
  and columns for Adafactor's factored second moment), and a float64
  ``statistics`` block with one row per array for the ``reduce`` kernel.

:class:`UpdatePlan` lays the partitions of one dtype out as the int64 tables
:func:`numbagrad.kernels.cpu.update.apply_plan` reads; a step is then one
compiled call whatever the groups, arrays and kinds of kernel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numba
import numpy as np

from numbagrad import config
from numbagrad.kernels.cpu import update as columns
from numbagrad.kernels.cpu.update import NO_OUTER, apply_plan, array_address, plan_tasks
from numbagrad.memory import aligned_empty
from numbagrad.optim.spec import OptimizerSpec, StateSlot

__all__ = ["HostPartition", "UpdatePlan", "slot_layout", "slot_arrays"]


def slot_layout(slots: Sequence[StateSlot], shape: Sequence[int]) -> list[tuple[tuple[int, ...] | None, int]]:
    """For a parameter of ``shape``: each slot's shape (``None`` where it does not exist for such a
    parameter) and its offset in the parameter's state, the slots one after another."""
    layout, offset = [], 0
    for slot in slots:
        own = slot.shape_for(shape)
        layout.append((own, offset))
        offset += 0 if own is None else math.prod(own)
    return layout


def slot_arrays(flat: np.ndarray, layout: Sequence[tuple[tuple[int, ...] | None, int]]) -> list[np.ndarray | None]:
    """Views of one parameter's flat state, one per slot in its shape (``None`` where absent)."""
    return [None if shape is None else flat[offset : offset + math.prod(shape)].reshape(shape) for shape, offset in layout]


@dataclass
class HostPartition:
    """The host parameters of one group with one dtype, and their optimizer state.

    ``layouts[local]`` gives, for each slot, its shape for that array (``None``
    where the slot does not exist for it) and its offset in the array's state.
    """

    spec: OptimizerSpec
    group: int
    indices: list[int]
    arrays: list[np.ndarray]
    slots: tuple[StateSlot, ...]
    layouts: list[list[tuple[tuple[int, ...] | None, int]]]
    state_block: np.ndarray
    state_offsets: np.ndarray
    state_sizes: np.ndarray
    statistics: np.ndarray
    hyper: np.ndarray
    kernels: np.ndarray
    step: int = 0

    on_device = False

    @classmethod
    def create(cls, spec: OptimizerSpec, group: int, indices: list[int], arrays: list[np.ndarray], hyperparameters: Mapping[str, Any], hyper: np.ndarray) -> "HostPartition":
        """Allocate the state of ``arrays``, each slot at its initial value."""
        slots = spec.slots(hyperparameters)
        # (An element-wise optimizer's slots declare no shape: each has its parameter's.)
        layouts = [slot_layout(slots, array.shape) for array in arrays]
        sizes = np.array([sum(math.prod(s) for s, _ in layout if s is not None) for layout in layouts], dtype=np.int64)
        offsets = np.zeros(len(arrays), dtype=np.int64)
        offsets[1:] = np.cumsum(sizes)[:-1]
        block = aligned_empty(int(sizes.sum()), arrays[0].dtype)
        statistics = np.zeros((len(arrays), max(1, spec.statistics)))
        partition = cls(
            spec, group, indices, arrays, slots, layouts, block, offsets, sizes, statistics, hyper,
            spec.kernel_table(arrays[0].dtype),
        )
        for local in range(len(arrays)):
            for slot, values in zip(slots, partition.slot_views(local)):
                if values is not None:
                    values.fill(slot.initial_value(hyperparameters))
        return partition

    @property
    def dtype(self) -> np.dtype:
        return self.state_block.dtype

    def slot_views(self, local: int) -> list[np.ndarray | None]:
        """The state of the ``local``-th array: each slot's array in its shape (``None`` where absent)."""
        start = int(self.state_offsets[local])
        return slot_arrays(self.state_block[start : start + int(self.state_sizes[local])], self.layouts[local])

    # The same interface as CudaPartition's: copies out, checked values in.
    def read_state(self, local: int) -> list[np.ndarray | None]:
        return [None if v is None else v.copy() for v in self.slot_views(local)]

    def write_state(self, local: int, values: Sequence[np.ndarray | None]) -> None:
        for view, value in zip(self.slot_views(local), values):
            if view is not None:
                view[...] = value

    def slot_shapes(self, local: int) -> list[tuple[int, ...] | None]:
        return [shape for shape, _ in self.layouts[local]]


class UpdatePlan:
    """The tables that step a set of host partitions of one dtype in one :func:`apply_plan` call.

    The plan reads each partition's ``hyper`` and state through their
    addresses: partitions keep those arrays (they change values in place,
    never the array). Gradients are given per step (:meth:`set_grads`); the
    tables are rewritten only when the gradient arrays change.
    """

    def __init__(self, partitions: Sequence[HostPartition], chunk_size: int | None = None, parallel_threshold: int | None = None):
        chunk_size = config.CHUNK_SIZE if chunk_size is None else chunk_size
        threshold = config.PARALLEL_THRESHOLD if parallel_threshold is None else parallel_threshold
        self.partitions = list(partitions)
        self.like = np.empty(0, dtype=self.partitions[0].dtype)
        count = sum(len(p.arrays) for p in self.partitions)
        tensors = np.zeros((count, columns.TENSOR_COLUMNS), dtype=np.int64)
        table = np.zeros((len(self.partitions), columns.PARTITION_COLUMNS), dtype=np.int64)
        tasks = []
        row = task_count = 0
        for p, partition in enumerate(self.partitions):
            first = row
            for local, array in enumerate(partition.arrays):
                if array.ndim > columns.MAX_DIMENSIONS:
                    raise ValueError(f"parameter of shape {array.shape}: at most {columns.MAX_DIMENSIONS} dimensions")
                tensors[row, columns.PARAM] = array.__array_interface__["data"][0]
                tensors[row, columns.SIZE] = array.size
                tensors[row, columns.STATE] = partition.state_block.__array_interface__["data"][0] + int(partition.state_offsets[local]) * partition.dtype.itemsize
                tensors[row, columns.STATE_SIZE] = partition.state_sizes[local]
                tensors[row, columns.NDIM] = array.ndim
                tensors[row, columns.SHAPE : columns.SHAPE + array.ndim] = array.shape
                row += 1
            kernels = partition.kernels
            plan = table[p]
            plan[: len(kernels)] = kernels
            plan[columns.HYPER] = partition.hyper.__array_interface__["data"][0]
            plan[columns.HYPER_SIZE] = partition.hyper.size
            layout = partition.spec.layout()
            plan[columns.LR] = layout.index("lr") if "lr" in layout else -1
            if partition.spec.tensorwise:
                plan[columns.FORM] = 2 if partition.spec.reduce is not None or partition.spec.generated else 1
                plan[columns.FIRST], plan[columns.END] = first, row
                plan[columns.STATISTICS] = partition.statistics.__array_interface__["data"][0]
                plan[columns.STATISTICS_ROWS], plan[columns.STATISTICS_WIDTH] = partition.statistics.shape
                plan[columns.PARALLEL] = len(partition.arrays) > 1 and sum(a.size for a in partition.arrays) >= threshold
            else:
                sizes = [a.size for a in partition.arrays]
                own, parallel = plan_tasks(sizes, chunk_size, threshold)
                own[:, 0] += first
                tasks.append(own)
                plan[columns.FIRST], plan[columns.END] = task_count, task_count + len(own)
                plan[columns.PARALLEL] = parallel
                plan[columns.SLOTS] = len(partition.slots)
                task_count += len(own)
        self.table = table
        self.tensors = tensors
        self.tasks = np.concatenate(tasks) if tasks else np.zeros((0, 3), dtype=np.int64)
        self._grads: list | None = None
        self.no_rates = np.zeros(0)

    @property
    def lr_indices(self) -> np.ndarray:
        return self.table[:, columns.LR]

    def set_grads(self, grads: Sequence[np.ndarray]) -> None:
        """The gradient of each array, in the plan's order (partitions one after another)."""
        last = self._grads
        if last is None or any(g is not h for g, h in zip(grads, last)):
            self.tensors[:, columns.GRAD] = np.fromiter(map(array_address, grads), dtype=np.int64, count=len(grads))
            self._grads = list(grads)

    def sync_steps(self) -> None:
        """Copy each partition's step count into the table (before a call)."""
        for p, partition in enumerate(self.partitions):
            self.table[p, columns.STEP] = partition.step

    def run(self, rates: np.ndarray | None = None, threads: int | None = None) -> None:
        """One step of every partition (their ``step`` counters already count it)."""
        for p, partition in enumerate(self.partitions):
            self.table[p, columns.STEP] = partition.step - 1
        apply_plan(
            self.like, self.table, self.tensors, self.tasks, self.no_rates if rates is None else rates, 0,
            numba.get_num_threads() if threads is None else threads, False, NO_OUTER,
        )
