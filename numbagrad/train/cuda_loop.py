"""``fit`` and ``evaluate`` for a model on the GPU.

The same training as :mod:`numbagrad.train.loop` (the same batches in the
same order from the same random generator, schedules, clipping, callbacks,
history, metrics, progress, Ctrl-C between segments, the stop on a
non-finite loss), with every batch computed by CUDA kernels on buffers
allocated once per ``fit``:

* the training set goes to the GPU once, when it fits in
  :data:`numbagrad.config.CUDA_RESIDENT_DATA_BYTES` (by default half the
  free memory); the dense kernels then read each batch's rows straight from
  it through the epoch's shuffled order. A larger set goes over one segment
  of batches at a time, gathered in that order on the host;
* per batch, Python launches: one dense kernel per layer forward, one loss
  kernel, one dense kernel per layer backward, the gradient norm, the
  clipping by norm (when asked), the optimizer's update kernel and the
  metrics' kernels (when asked); see :mod:`numbagrad.nn.cuda_network`. A
  compiled loop cannot launch CUDA kernels, so this loop is Python, but it
  neither allocates nor waits for the GPU between batches;
* the learning rate of every batch of a segment, and the optimizer's
  scalar state (NAdam's ``mu_product``), are computed on the host before
  the segment and copied in one transfer; each update reads its own row.
  So are the coordinates of each batch's dropout masks (``[key, step,
  first_row]``, see :mod:`numbagrad.kernels.cuda.dropout`), for a model
  with dropout: the same masks as the CPU loop's, on every evaluation of an
  L-BFGS step, and with each rank's rows at their places in the batch.

Non-finite losses: the host reads the losses and gradient norms of a
segment once, at its end, instead of after every batch (which would make
every batch wait for the GPU). To keep the guarantee that a model keeps the
weights of its last finite step, each segment starts from a copy of the
parameters, the optimizer's state and the metrics' totals, taken on the
GPU; when a batch's loss or gradient norm is not finite, the segment is
rolled back to that copy and its batches before the bad one are replayed.
The kernels are deterministic (fixed orders of summation), so the replay
gives the same bits. The cost: the copy per segment (a device-to-device
copy of the parameters and state, a fraction of a percent of a segment) and
the memory of one more set of parameters and optimizer state.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from numbagrad import config
from numbagrad.device import require_cuda
from numbagrad.kernels.cpu.training import NON_FINITE_GRADIENT, NON_FINITE_LOSS, NON_FINITE_UPDATE
from numbagrad.kernels.cuda.dense import empty_array
from numbagrad.nn.cuda_network import DeviceNetwork, launch_all
from numbagrad.nn.placement import host_parameters
from numbagrad.nn.regularizers import penalty_value
from numbagrad.train.history import History

__all__ = ["fit", "evaluate_arrays", "new_trainer", "new_validator"]


def _rows_of(batch: int, batch_size: int, samples: int) -> int:
    return max(0, min(batch_size, samples - batch * batch_size))


def _resident_budget(cuda: Any) -> int:
    """Bytes of training data that may live on the GPU for a whole ``fit``."""
    if config.CUDA_RESIDENT_DATA_BYTES > 0:
        return int(config.CUDA_RESIDENT_DATA_BYTES)
    try:
        free, _ = cuda.current_context().get_memory_info()
    except Exception:  # memory that cannot be asked about: assume the data fits
        return 1 << 62
    # The simulator reports infinitely much: its "device" memory is the host's.
    return int(free) // 2 if math.isfinite(free) else 1 << 62


def _sequential_sum(values: np.ndarray) -> float:
    """The sum of ``values`` in index order, as the CPU loops add a batch's weights (NumPy's
    ``sum`` adds in pairs)."""
    return float(np.cumsum(values)[-1]) if values.size else 0.0


class _HostMetrics:
    """A GPU model's metrics with sample weights, taken on the host from the batches' predictions:
    the metrics' CUDA kernels take no weights, and a row of weight ``w`` must add ``w`` times its own
    totals (the CPU loop's :func:`~numbagrad.kernels.cpu.training.weighted_metric_rows`, in its order)."""

    def __init__(self, setup: Any, rows: int):
        self.setup, self.rows = setup, rows
        self.totals = setup.new_totals(rows)

    def reset(self) -> None:
        self.totals = self.setup.new_totals(self.rows)

    def add(self, prediction: np.ndarray, targets: np.ndarray, weights: np.ndarray) -> None:
        from numbagrad.kernels.cpu.training import weighted_metric_rows

        if prediction.shape[0]:
            setup = self.setup
            weighted_metric_rows(setup.metric_tables, setup.metric_params, self.totals, prediction, targets, weights)


class _Evaluator:
    """The loss and metrics of a GPU model on fixed data, batch by batch, each row counted by its
    sample weight when ``weights`` are given.

    The data goes to the GPU once when it fits in the budget of
    :data:`numbagrad.config.CUDA_RESIDENT_DATA_BYTES` (a validation set
    then stays there for the whole ``fit``), one batch at a time otherwise.
    """

    def __init__(self, model: Any, inputs: np.ndarray, targets: np.ndarray, batch_size: int, weights: np.ndarray | None = None):
        cuda = require_cuda("evaluate on a model on the GPU")
        setup = model.training
        self.model = model
        self.inputs, self.targets, self.weights = inputs, targets, weights
        self.samples = inputs.shape[0]
        self.batch_size = int(batch_size)
        self.network = DeviceNetwork(model, self.batch_size, targets.shape[1], setup.loss, setup.metrics)
        self.resident = inputs.nbytes + targets.nbytes <= _resident_budget(cuda)
        rows = self.samples if self.resident else self.batch_size
        self.device_inputs = cuda.to_device(inputs) if self.resident else cuda.device_array((rows, inputs.shape[1]), inputs.dtype)
        self.device_targets = cuda.to_device(targets) if self.resident else cuda.device_array((rows, targets.shape[1]), targets.dtype)
        self.batches = -(-self.samples // self.batch_size)
        self.losses = cuda.device_array(self.batches, dtype=np.float64)
        self.totals = cuda.device_array(setup.new_totals(self.samples).shape, dtype=np.float64)
        # Each batch's count: its rows, or the sum of its weights (in order, as the CPU adds them).
        self.counts = np.array([_rows_of(b, self.batch_size, self.samples) for b in range(self.batches)], dtype=np.float64)
        device_weights = weight_sums = None
        self.host_metrics = None
        if weights is not None:
            self.counts = np.array([_sequential_sum(weights[b * self.batch_size : (b + 1) * self.batch_size]) for b in range(self.batches)])
            device_weights = cuda.to_device(weights) if self.resident else cuda.device_array(rows, dtype=np.float64)
            weight_sums = cuda.to_device(self.counts)
            self.device_weights = device_weights
            self.host_metrics = _HostMetrics(setup, self.samples) if setup.metrics else None
        order = empty_array(np.int64)
        self.launches = {}
        for rows in {self.batch_size, _rows_of(self.batches - 1, self.batch_size, self.samples)}:
            network = self.network
            self.launches[rows] = (
                network.forward_launches(rows, self.device_inputs, order, final_activation=not network.fused)
                + [network.loss_launch(rows, self.device_targets, order, self.losses, device_weights, weight_sums)]
                + (network.metric_launches(rows, self.totals) if network.metrics and self.host_metrics is None else [])
            )

    def __call__(self) -> dict[str, float]:
        setup = self.model.training
        self.totals.copy_to_device(np.zeros(self.totals.shape))
        if self.host_metrics is not None:
            self.host_metrics.reset()
        last = len(self.model.layers) - 1
        for batch in range(self.batches):
            rows = _rows_of(batch, self.batch_size, self.samples)
            start = batch * self.batch_size
            stop = start + rows
            device_start = start
            if not self.resident:
                self.device_inputs[:rows].copy_to_device(self.inputs[start:stop])
                self.device_targets[:rows].copy_to_device(self.targets[start:stop])
                if self.weights is not None:
                    self.device_weights[:rows].copy_to_device(self.weights[start:stop])
                device_start = 0
            launch_all(self.launches[rows], start=device_start, index=batch)
            if self.host_metrics is not None:
                prediction = self.network.out_view(last, rows).copy_to_host()
                self.host_metrics.add(prediction, self.targets[start:stop], self.weights[start:stop])
        losses = self.losses.copy_to_host()
        penalties = self.model.penalty_table
        if penalties.shape[0]:  # the same for every batch but for per-sample scaling: computed once here
            weights = host_parameters(self.model)
            losses = losses + [penalty_value(weights, penalties, count) if count > 0 else 0.0 for count in self.counts]
        # Each batch weighted by its rows (or weights), summed in batch order, as the CPU loop does.
        total = counted = 0.0
        for loss, count in zip(losses, self.counts):
            if count > 0:
                total += loss * count
            counted += count
        totals = self.host_totals()
        return {"loss": float(total / counted) if counted > 0 else math.nan, **setup.metric_values(totals)}

    def host_totals(self) -> np.ndarray:
        """The metrics' totals of the last call."""
        return self.host_metrics.totals if self.host_metrics is not None else self.totals.copy_to_host()

    @property
    def count(self) -> float:
        """The rows evaluated, or the sum of their weights."""
        return float(self.counts.sum()) if self.weights is not None else float(self.samples)


def evaluate_arrays(model: Any, inputs: np.ndarray, targets: np.ndarray, batch_size: int, weights: np.ndarray | None = None) -> dict[str, float]:
    """``{"loss": ..., <metric>: ...}`` of a GPU model on checked host arrays (rows weighted by ``weights``)."""
    return _Evaluator(model, inputs, targets, batch_size, weights)()


class _Trainer:
    """The device buffers and launches of one ``fit`` of a GPU model."""

    #: Why the last ``run`` stopped early: 0, or one of the NON_FINITE_* codes.
    problem = 0

    def __init__(
        self, model: Any, inputs: np.ndarray, targets: np.ndarray, batch_size: int, batches: int, parallel: Any = None,
        weights: np.ndarray | None = None,
    ):
        cuda = require_cuda("fit on a model on the GPU")
        self.cuda = cuda
        self.model = model
        #: Data parallel (:class:`numbagrad.train.data_parallel.DataParallel`): each batch's gradient is
        #: summed over the ranks through the host between the backward pass and the clipping.
        self.parallel = parallel
        # The whole gradient's norm (norm_launches): data parallel, or with normalizations.
        self.norm_partials = cuda.device_array(max(1, int(config.CUDA_MAX_BLOCKS)), dtype=np.float64)
        self.norm_counter = cuda.to_device(np.zeros(1, dtype=np.int32))
        setup = model.training
        self.setup = setup
        self.samples = inputs.shape[0]
        self.batch_size = batch_size
        self.capacity = min(batch_size, self.samples)
        self.network = DeviceNetwork(model, self.capacity, targets.shape[1], setup.loss, setup.metrics)
        self.inputs, self.targets = inputs, targets
        #: The rows' sample weights (float64 on the host), or None.
        self.weights = weights
        row_bytes = inputs.itemsize * (inputs.shape[1] + targets.shape[1]) + (8 if weights is not None else 0)
        budget = _resident_budget(cuda)
        self.resident = self.samples * row_bytes <= budget
        if self.resident:
            self.device_inputs = cuda.to_device(inputs)
            self.device_targets = cuda.to_device(targets)
            self.device_weights = cuda.to_device(weights) if weights is not None else None
            self.order = cuda.device_array(self.samples, dtype=np.int64)
            self.segment_limit = batches
        else:
            # Whole batches of the epoch's order, gathered on the host, one segment at a time.
            self.segment_limit = max(1, min(batches, budget // max(1, row_bytes * batch_size)))
            staged = self.segment_limit * batch_size
            self.device_inputs = cuda.device_array((staged, inputs.shape[1]), dtype=inputs.dtype)
            self.device_targets = cuda.device_array((staged, targets.shape[1]), dtype=targets.dtype)
            self.device_weights = cuda.device_array(staged, dtype=np.float64) if weights is not None else None
            self.order = empty_array(np.int64)
        self.losses = cuda.device_array(batches, dtype=np.float64)
        self.norms = cuda.device_array(batches, dtype=np.float64)
        # Per batch of a segment: the sum of its weights (this process's rows), and the scale of the
        # per-sample penalties (1 over its rows or that sum); written before the segment's launches.
        self.weight_sums = cuda.device_array(batches, dtype=np.float64) if weights is not None else None
        self.penalty_scales = cuda.device_array(batches, dtype=np.float64)
        self.host_metrics = _HostMetrics(setup, inputs.shape[0]) if weights is not None and setup.metrics else None
        self.segment_predictions = None
        if self.host_metrics is not None:  # each batch's outputs, read once per segment
            rows = self.segment_limit * self.capacity
            self.segment_predictions = cuda.device_array((rows, model.output_dim), dtype=model.dtype)
        #: Row k: ``[key, step, first_row]`` of the dropout masks of the segment's k-th batch (None without dropout).
        self.draws = cuda.device_array((batches, 3), dtype=np.int64) if model.has_dropout else None
        self.dropout_key = 0
        # After each batch's update, a row per checked array (the weights, then each optimizer state
        # array): 0 when every value is finite (see finite_check); allocated with the launches.
        self.checks = None
        self.check_partials = cuda.device_array(max(1, int(config.CUDA_MAX_BLOCKS)), dtype=np.float64)
        self.check_counter = cuda.to_device(np.zeros(1, dtype=np.int32))
        self._check = None
        self.totals = cuda.device_array(setup.new_totals(inputs.shape[0]).shape, dtype=np.float64)
        self.saved_totals = cuda.device_array_like(self.totals)
        self.saved_parameters = cuda.device_array_like(model.parameters)
        self.saved_states: list = []
        self.hyper_rows: dict[tuple[int, int], Any] = {}
        self.device_hypers: list = []
        self.host_order = None
        self._launches: dict[int, list] = {}
        self._update = None

    # --- the launches of one batch ---------------------------------------------------------

    def launches(self, rows: int) -> list:
        """Forward, loss, backward, norm and clipping of a batch of ``rows`` rows (built once per row count)."""
        cached = self._launches.get(rows)
        if cached is not None:
            return cached
        from numbagrad.kernels.cuda.launch import Launch
        from numbagrad.kernels.cuda.training import gradient_norm, scale_gradients
        from numbagrad.kernels.cuda.update import launch_configuration

        network, setup = self.network, self.setup
        draws = self.draws
        launches = network.forward_launches(rows, self.device_inputs, self.order, final_activation=not network.fused, draws=draws, training=True)
        launches.append(network.loss_launch(rows, self.device_targets, self.order, self.losses, self.device_weights, self.weight_sums))
        threads = config.CUDA_THREADS_PER_BLOCK
        if self.parallel is not None:  # this rank's gradient only: the rest after the all-reduce
            launches += network.backward_launches(rows, self.device_inputs, self.order, 0.0, partials=False, draws=draws)
            self._launches[rows] = launches
            return launches
        if network.penalties.shape[0] or network.normalized:
            # The norm over the whole gradient: the dense kernels' partial sums miss the penalties' and
            # the normalizations' shares.
            launches += network.backward_launches(rows, self.device_inputs, self.order, 0.0, partials=False, draws=draws)
            launches += self.norm_launches()
        else:
            launches += network.backward_launches(rows, self.device_inputs, self.order, setup.clip_value, partials=True, draws=draws)
            launches.append(Launch(gradient_norm, 1, threads, [network.partials, network.partial_count, self.norms, 0], {"index": 3}))
        if setup.clip_norm > 0:
            gradients = self.model.gradients
            blocks, _ = launch_configuration(gradients.size, threads, config.CUDA_MAX_BLOCKS)
            launches.append(Launch(scale_gradients, blocks, threads, [gradients, self.norms, 0, setup.clip_norm], {"index": 2}))
        self._launches[rows] = launches
        return launches

    def reduced_launches(self) -> list:
        """Data parallel, after the all-reduce of a batch (all ranks together): the regularizers'
        penalties, the clamping to ``clip_value``, the gradient's norm and the clipping by norm, as
        :meth:`launches` does in one process."""
        key = "reduced"
        cached = self._launches.get(key)
        if cached is not None:
            return cached
        from numbagrad.kernels.cuda.launch import Launch
        from numbagrad.kernels.cuda.training import scale_gradients
        from numbagrad.kernels.cuda.update import launch_configuration

        setup, gradients = self.setup, self.model.gradients
        threads = config.CUDA_THREADS_PER_BLOCK
        blocks, _ = launch_configuration(gradients.size, threads, config.CUDA_MAX_BLOCKS)
        launches = self.norm_launches()
        if setup.clip_norm > 0:
            launches.append(Launch(scale_gradients, blocks, threads, [gradients, self.norms, 0, setup.clip_norm], {"index": 2}))
        self._launches[key] = launches
        return launches

    def norm_launches(self) -> list:
        """The regularizers' penalties (when any), the clamping to ``clip_value`` and the norm of the whole
        gradient buffer into ``norms[index]``."""
        from numbagrad.kernels.cuda.launch import Launch
        from numbagrad.kernels.cuda.training import clamped_squares, square_root
        from numbagrad.kernels.cuda.update import launch_configuration

        network, setup, gradients = self.network, self.setup, self.model.gradients
        if network.penalties.shape[0]:
            return network.penalty_launches(self.penalty_scales, self.losses, self.norms, setup.clip_value)
        threads = config.CUDA_THREADS_PER_BLOCK
        blocks, _ = launch_configuration(gradients.size, threads, config.CUDA_MAX_BLOCKS)
        args = [gradients, float(setup.clip_value), self.norm_partials, self.norm_counter, self.norms, 0]
        return [Launch(clamped_squares, blocks, threads, args, {"index": 5}), Launch(square_root, 1, 1, [self.norms, 0], {"index": 1})]

    def _gradient(self, batch: int, k: int) -> int:
        """Forward, loss, backward and clipping of batch ``batch`` (the ``k``-th of the segment);
        data parallel, this rank's part of its rows, summed over the ranks. Returns the rows this
        process computed (its metrics' rows)."""
        rows = _rows_of(batch, self.batch_size, self.samples)
        start = batch * self.batch_size if self.resident else k * self.batch_size
        if self.parallel is None:
            launch_all(self.launches(rows), start=start, index=k)
            return rows
        first, last = self.parallel.part(rows)
        if last > first:
            launch_all(self.launches(last - first), start=start + first, index=k)
        total = self._all_reduce(k, last - first, float(last - first) if self.weights is None else self._counts[k])
        if self.network.penalties.shape[0]:
            self.penalty_scales[k : k + 1].copy_to_device(np.array([1.0 / total if total > 0 else 0.0]))
        launch_all(self.reduced_launches(), index=k)
        return last - first

    def _all_reduce(self, k: int, rows: int, count: float) -> float:
        """Sum batch ``k``'s gradient and loss over the ranks, through the host
        (:meth:`~numbagrad.train.data_parallel.DataParallel.sum_gradient`), this process's ``rows``
        counting ``count`` (the rows, or the sum of their weights); returns the batch's count over
        all ranks."""
        gradients = self.model.gradients
        if rows > 0:
            own, value = gradients.copy_to_host(), float(self.losses[k : k + 1].copy_to_host()[0])
        else:
            own, value = np.zeros(gradients.size), 0.0
        summed, loss, total = self.parallel.sum_gradient(own, value, count if rows > 0 else 0.0)
        gradients.copy_to_device(summed.astype(gradients.dtype))
        self.losses[k : k + 1].copy_to_device(np.array([loss]))
        return float(total)

    def update_steps(self, parts: list) -> list:
        """For each partition of the model's optimizers, ``step(k, step)``: its kernels for batch ``k`` of a
        segment (reading that batch's row of hyperparameters) at optimizer step ``step``."""
        partitions = [p for _, p in parts]
        if self._update is not None and len(self._update[0]) == len(partitions) and all(a is b for a, b in zip(self._update[0], partitions)):
            return self._update[1]
        from numbagrad.kernels.cuda.launch import Launch
        from numbagrad.kernels.cuda.update import launch_configuration
        from numbagrad.train.loop import gradient_arrays

        grads = iter(gradient_arrays(self.model, parts))
        steps = []
        for p, partition in enumerate(partitions):
            own = [next(grads) for _ in partition.indices]
            if partition.spec.tensorwise:
                steps.append(lambda k, step, partition=partition, own=own, p=p: partition.launch(own, self._hyper_row(p, k), step))
                continue
            launches = []
            for param, grad, state in zip(partition.flat, own, partition.states):
                if param.size == 0:
                    continue
                blocks, threads = launch_configuration(param.size, config.CUDA_THREADS_PER_BLOCK, config.CUDA_MAX_BLOCKS)
                args = [param, grad.reshape(param.size), state, partition.device_hyper, 1]
                launches.append(Launch(partition.kernel, blocks, threads, args, {"hyper": 3, "step": 4}))

            def step_all(k, step, launches=launches, p=p):
                for launch in launches:
                    launch(hyper=self._hyper_row(p, k), step=step)

            steps.append(step_all)
        self.saved_states = [[self.cuda.device_array_like(state) for state in partition.states] for partition in partitions]
        self._update = (partitions, steps)
        return steps

    def _save_states(self, parts: list, restore: bool) -> None:
        for (_, partition), saved in zip(parts, self.saved_states):
            for state, copy in zip(partition.states, saved):
                if state.size:
                    (state.copy_to_device(copy) if restore else copy.copy_to_device(state))

    def metric_launches(self, rows: int) -> list:
        key = -rows
        if key not in self._launches:
            self._launches[key] = self.network.metric_launches(rows, self.totals) if self.network.metrics else []
        return self._launches[key]

    # --- epochs and segments ------------------------------------------------------------------

    def __enter__(self) -> "_Trainer":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        return None

    def begin_epoch(self, order: np.ndarray, dropout_key: int = 0) -> None:
        """A new epoch (or chunk) in ``order``, its dropout masks drawn with ``dropout_key``."""
        self.host_order = order
        self.dropout_key = dropout_key
        if self.resident:
            self.order.copy_to_device(order)
        self.totals.copy_to_device(np.zeros(self.totals.shape))
        if self.host_metrics is not None:
            self.host_metrics.reset()

    def host_totals(self) -> np.ndarray:
        return self.host_metrics.totals if self.host_metrics is not None else self.totals.copy_to_host()

    def _hyper_tables(self, parts: list, rates: np.ndarray, count: int) -> list[np.ndarray]:
        """For each partition, each batch's row of hyperparameters: the learning rate set, then the
        optimizer's ``prepare`` advanced one step, as the CPU loop does batch by batch; one transfer each."""
        from numbagrad.train.loop import _lr_index

        tables = []
        if len(self.device_hypers) != len(parts):
            self.device_hypers, self.hyper_rows = [None] * len(parts), {}
        for p, (optimizer, partition) in enumerate(parts):
            lr_index = _lr_index(optimizer)
            table = np.empty((count, partition.hyper.size))
            current = partition.hyper.copy()
            for k in range(count):
                if lr_index >= 0:
                    current[lr_index] = rates[k, p]
                if partition.prepare is not None:
                    partition.prepare(current, partition.step + 1 + k)
                table[k] = current
            device = self.device_hypers[p]
            if device is None or device.shape[1] != table.shape[1]:
                device = self.device_hypers[p] = self.cuda.device_array((self.segment_limit, table.shape[1]), dtype=np.float64)
                self.hyper_rows = {}
            device[:count].copy_to_device(table)
            tables.append(table)
        return tables

    def _hyper_row(self, p: int, k: int) -> Any:
        row = self.hyper_rows.get((p, k))
        if row is None:
            row = self.hyper_rows[(p, k)] = self.device_hypers[p][k]
        return row

    def _write_draws(self, first: int, stop: int) -> None:
        """Row ``k`` of :attr:`draws`: ``[key, first + k, first_row]``, the coordinates of the dropout masks
        of batch ``first + k`` (its index in the piece, as on the CPU), ``first_row`` the place in the
        batch of this rank's first row in data-parallel training (0 otherwise); one transfer."""
        if self.draws is None:
            return
        count = stop - first
        table = np.empty((count, 3), dtype=np.int64)
        table[:, 0] = self.dropout_key
        table[:, 1] = np.arange(first, stop)
        table[:, 2] = 0
        if self.parallel is not None:
            for k in range(count):
                table[k, 2] = self.parallel.part(_rows_of(first + k, self.batch_size, self.samples))[0]
        self.draws[:count].copy_to_device(table)

    def _stage(self, first: int, stop: int) -> None:
        """Copy the rows of batches ``first`` to ``stop`` (in the epoch's order) to the GPU's staging buffers."""
        rows = self.host_order[first * self.batch_size : min(self.samples, stop * self.batch_size)]
        self.device_inputs[: rows.size].copy_to_device(np.ascontiguousarray(self.inputs[rows]))
        self.device_targets[: rows.size].copy_to_device(np.ascontiguousarray(self.targets[rows]))
        if self.weights is not None:
            self.device_weights[: rows.size].copy_to_device(np.ascontiguousarray(self.weights[rows]))

    def _own_rows(self, batch: int) -> np.ndarray:
        """The rows of the training set in batch ``batch`` that this process computes (data parallel:
        its part), in the epoch's order."""
        rows = _rows_of(batch, self.batch_size, self.samples)
        first, last = self.parallel.part(rows) if self.parallel is not None else (0, rows)
        start = batch * self.batch_size
        return self.host_order[start + first : start + last]

    def _write_counts(self, first: int, stop: int) -> None:
        """Each batch's count for this process, ``first <= b < stop``: its rows, or the sum of their
        weights (in order, as the CPU adds them) into :attr:`weight_sums`; and, in one process, the
        per-sample penalties' scale ``1 / count`` (data parallel: after each batch's all-reduce).
        Nothing to do without weights or penalties: the segment's batches are not walked then."""
        penalties = self.network.penalties.shape[0] > 0 and self.parallel is None
        if self.weights is None and not penalties:
            return
        count = stop - first
        counts = np.empty(count)
        for k in range(count):
            own = self._own_rows(first + k)
            counts[k] = own.size if self.weights is None else _sequential_sum(self.weights[own])
        self._counts = counts
        if self.weight_sums is not None:
            self.weight_sums[:count].copy_to_device(counts)
        if penalties:
            self.penalty_scales[:count].copy_to_device(np.divide(1.0, counts, out=np.zeros(count), where=counts > 0))

    def _add_host_metrics(self, first: int, completed: int) -> None:
        """The weighted metrics of the segment's first ``completed`` batches, from their outputs."""
        if self.host_metrics is None or completed == 0:
            return
        capacity = self.capacity
        outputs = self.segment_predictions[: completed * capacity].copy_to_host()
        rows = [self._own_rows(first + k) for k in range(completed)]
        prediction = np.concatenate([outputs[k * capacity : k * capacity + own.size] for k, own in enumerate(rows)])
        order = np.concatenate(rows)
        self.host_metrics.add(prediction, np.ascontiguousarray(self.targets[order]), np.ascontiguousarray(self.weights[order]))

    def check_launches(self, parts: list) -> list:
        """:func:`finite_check` over the parameters and over every optimizer state array (variable
        ``index``), each into its own row of ``checks``: an update that overflows the state counts
        as one that overflows the weights."""
        if self._check is None:
            from numbagrad.kernels.cuda.launch import Launch
            from numbagrad.kernels.cuda.training import finite_check
            from numbagrad.kernels.cuda.update import launch_configuration

            arrays = [self.model.parameters]
            arrays += [state.reshape(state.size) for _, partition in parts for state in partition.states if state.size]
            self.checks = self.cuda.device_array((len(arrays), self.losses.size), dtype=np.float64)
            self._check = []
            for row, values in enumerate(arrays):
                blocks, threads = launch_configuration(values.size, config.CUDA_THREADS_PER_BLOCK, config.CUDA_MAX_BLOCKS)
                args = [values, self.check_partials, self.check_counter, self.checks[row], 0]
                self._check.append(Launch(finite_check, blocks, threads, args, {"index": 4}))
        return self._check

    def _batch(self, parts: list, updates: list, first: int, k: int) -> None:
        rows = self._gradient(first + k, k)
        for (_, partition), update in zip(parts, updates):
            update(k, partition.step + 1 + k)
        for check in self.check_launches(parts):
            check(index=k)
        if rows > 0:
            if self.host_metrics is not None:  # weighted: the outputs kept for the host
                at = k * self.capacity
                self.segment_predictions[at : at + rows].copy_to_device(self.network.out_view(len(self.model.layers) - 1, rows))
            else:
                launch_all(self.metric_launches(rows))

    def run(self, parts: list, first: int, stop: int, rates: np.ndarray, losses: np.ndarray) -> int:
        """Train on batches ``first <= b < stop``; returns how many completed (fewer when one was not finite).

        ``losses[k]`` receives batch ``first + k``'s loss (and the bad batch's
        loss, or infinity for a non-finite gradient). Each partition's
        ``hyper`` is left as after the last completed batch; the caller
        advances their ``step``.
        """
        count = stop - first
        tables = self._hyper_tables(parts, rates, count)
        self._write_draws(first, stop)
        self._write_counts(first, stop)
        updates = self.update_steps(parts)
        if not self.resident:
            self._stage(first, stop)
        self.saved_parameters.copy_to_device(self.model.parameters)
        self._save_states(parts, restore=False)
        self.saved_totals.copy_to_device(self.totals)
        for k in range(count):
            self._batch(parts, updates, first, k)
        batch_losses = self.losses[:count].copy_to_host()
        norms = self.norms[:count].copy_to_host()
        checks = self.checks.copy_to_host()[:, :count]
        finite = np.isfinite(batch_losses) & np.isfinite(norms) & (checks == 0.0).all(axis=0)
        completed = count if finite.all() else int(np.argmin(finite))
        if completed < count:
            # Back to the segment's start, then the finite batches again: the same bits.
            self.model.parameters.copy_to_device(self.saved_parameters)
            self._save_states(parts, restore=True)
            self.totals.copy_to_device(self.saved_totals)
            for k in range(completed):
                self._batch(parts, updates, first, k)
            bad = batch_losses[completed]
            losses[completed] = bad
            if not math.isfinite(bad):
                self.problem = NON_FINITE_LOSS
            else:
                self.problem = NON_FINITE_GRADIENT if not math.isfinite(norms[completed]) else NON_FINITE_UPDATE
        losses[:completed] = batch_losses[:completed]
        self._add_host_metrics(first, completed)
        if completed:
            for (_, partition), table in zip(parts, tables):
                partition.hyper[:] = table[completed - 1]
        return completed


class _ClosureTrainer(_Trainer):
    """Steps an optimizer that evaluates the objective itself (L-BFGS) on a GPU model: one
    ``step(closure)`` per batch, the closure the batch's forward and backward passes on the GPU
    (it reads the loss back: the line search needs it). As on the CPU, a batch's loss is the one
    at the weights its step started from, and an epoch's metrics are those of the training rows
    at its end."""

    _measured: np.ndarray | None = None

    def begin_epoch(self, order: np.ndarray, dropout_key: int = 0) -> None:
        super().begin_epoch(order, dropout_key)
        self._measured = None

    def run(self, parts: list, first: int, stop: int, rates: np.ndarray, losses: np.ndarray) -> int:
        from numbagrad.train.loop import _lr_index, gradient_arrays

        model, optimizer = self.model, self.setup.optimizer
        grads = gradient_arrays(model, parts)
        if not self.resident:
            self._stage(first, stop)
        # Every evaluation of a step's closure reads the same row: the same masks.
        self._write_draws(first, stop)
        self._write_counts(first, stop)
        for k in range(stop - first):

            def closure(k=k):
                self._gradient(first + k, k)
                return float(self.losses[k : k + 1].copy_to_host()[0]), grads

            parts[0][1].hyper[_lr_index(optimizer)] = rates[k, 0]
            optimizer.param_groups[0]["lr"] = float(rates[k, 0])
            self.saved_parameters.copy_to_device(model.parameters)
            state = optimizer.snapshot()
            losses[k] = optimizer.step(closure)
            if not (math.isfinite(losses[k]) and np.isfinite(model.parameters.copy_to_host()).all() and optimizer.state_is_finite()):
                model.parameters.copy_to_device(self.saved_parameters)  # the weights and state of the last finite step
                optimizer.restore(state)
                self.problem = NON_FINITE_LOSS if not math.isfinite(losses[k]) else NON_FINITE_UPDATE
                return k
        self._measured = None
        return stop - first

    def host_totals(self) -> np.ndarray:
        if self._measured is None:
            inputs, targets, weights = self.inputs, self.targets, self.weights
            if self.parallel is not None:  # each rank counts its slice of the rows (all of its own when sharded)
                first, last = self.parallel.part(inputs.shape[0])
                inputs, targets = inputs[first:last], targets[first:last]
                weights = None if weights is None else weights[first:last]
            totals = self.setup.new_totals(inputs.shape[0])
            if self.setup.metrics and inputs.shape[0] > 0:
                evaluator = _Evaluator(self.model, inputs, targets, min(self.capacity, inputs.shape[0]), weights)
                evaluator()
                totals = evaluator.host_totals()
            self._measured = totals
        return self._measured


def fit(
    model: Any,
    inputs: np.ndarray,
    targets: np.ndarray,
    validation: tuple[np.ndarray, np.ndarray] | None,
    batch_size: int,
    epochs: int,
    shuffle: bool,
    seed: int | None,
    callbacks: Sequence[Any],
    verbose: int,
    drop_last: bool,
    batches: int,
    parallel: Any = None,
    weights: np.ndarray | None = None,
) -> History:
    """The epochs of :func:`numbagrad.train.loop.fit` for a model on the GPU, on checked arguments
    (data parallel with ``parallel``, a :class:`numbagrad.train.data_parallel.DataParallel`; the rows
    weighted by ``weights``; ``validation`` may carry its own as a third array)."""
    from numbagrad.train.loop import run_epochs

    trainer = new_trainer(model, inputs, targets, batch_size, batches, parallel, weights)
    validate = None if validation is None else new_validator(model, validation, batch_size, parallel)
    return run_epochs(
        model, trainer, validate, inputs.shape[0], batches, batch_size, epochs, shuffle, seed, callbacks, verbose, drop_last,
        weights, parallel,
    )


def new_trainer(
    model: Any, inputs: np.ndarray, targets: np.ndarray, batch_size: int, batches: int, parallel: Any = None,
    weights: np.ndarray | None = None,
) -> _Trainer:
    """The trainer of a GPU model on checked host arrays of ``batches`` batches (the whole training
    set, or one chunk of a chunked fit: each chunk gets its own, with buffers of its size), the rows
    weighted by ``weights`` when given."""
    trainer_class = _ClosureTrainer if model.training.optimizer.spec.closure else _Trainer
    return trainer_class(model, inputs, targets, batch_size, batches, parallel, weights)


def new_validator(model: Any, validation: tuple, batch_size: int, parallel: Any = None):
    """The validation of a GPU model's ``fit`` on checked host arrays ``(X, y)`` or ``(X, y, weights)``
    (``weights`` None or float64): ``validator()`` gives the logs."""
    rows = max(batch_size, 256)
    if parallel is None:
        weights = validation[2] if len(validation) > 2 else None
        return _Evaluator(model, validation[0], validation[1], min(rows, validation[0].shape[0]), weights)

    def evaluation(inputs, targets, weights):
        evaluator = _Evaluator(model, inputs, targets, min(rows, inputs.shape[0]), weights)

        def evaluate():
            loss = evaluator()["loss"]
            return loss, evaluator.count, evaluator.host_totals()

        return evaluate

    return parallel.validation(evaluation, validation, model.training)
