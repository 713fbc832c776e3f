"""A GPU model's forward, loss and backward passes over batches, as prepared kernel launches.

:class:`DeviceNetwork` is the CUDA counterpart of the tables and workspace of
:mod:`numbagrad.kernels.cpu.network`: for a model on the GPU and a batch
capacity it allocates the workspace once (each layer's ``z`` and output, two
gradient buffers, the batch's targets), chooses each kernel (which
activation each dense kernel applies in its epilogue, what the loss kernel
fuses) and builds :class:`~numbagrad.kernels.cuda.launch.Launch` objects
for a given number of rows, so that a batch costs a handful of launches and
no allocation:

* one forward launch per layer (bias and element-wise activation fused; a
  row-wise activation such as a hidden softmax adds a launch);
* one loss launch (targets gathered, the last activation's derivative or,
  for metrics after a fused loss, the activation itself, fused);
* one backward launch per layer (weight and bias gradients, the input
  gradient through the previous layer's activation derivative, clipping by
  value and the partial sums of squares, fused).

In training (``draws`` given, see :mod:`numbagrad.kernels.cuda.dropout`), a
layer with dropout adds a launch after its forward ones (its output masked
in place: the next layer reads the dropped output), and its activation's
derivative leaves the next layer's backward kernel for a launch of its own
that masks dL/d(output), recomputes the output before dropout into a
scratch buffer and applies the derivative with it. A model without dropout
launches exactly the kernels above; so does everything outside training.

A normalized layer (see :mod:`numbagrad.kernels.cuda.normalization`) runs its
dense kernel without the activation, then the normalization (per column or
per row; batch normalization by its running averages outside training), then
the activation's own kernel; backward, a launch (two for layer
normalization) turns dL/dz into dL/dh, writing dL/dγ and dL/dβ, before the
layer's dense backward kernel.

Used by ``predict``, ``value_and_grad``, ``evaluate`` and ``fit`` of a model
on the GPU (:mod:`numbagrad.nn.placement`, :mod:`numbagrad.train.cuda_loop`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from numbagrad import config
from numbagrad.device import require_cuda
from numbagrad.kernels.cuda.dense import empty_array

__all__ = ["DeviceNetwork", "launch_all"]


@dataclass
class _Normalization:
    """A layer's normalization on the GPU: its kind, settings, parameter and gradient views, and workspace."""

    batch: bool
    epsilon: float
    momentum: float
    gamma: Any
    beta: Any
    grad_gamma: Any
    grad_beta: Any
    running: Any  # [running_mean, running_var] (batch normalization) or an empty array
    normalized: Any  # x̂, capacity * units
    moments: Any  # 1 / sqrt(var + eps) per column or row; the inference's factors per column


@dataclass
class _Layer:
    fan_in: int
    units: int
    weight: Any
    bias: Any
    grad_weight: Any
    grad_bias: Any
    activation: Any  # CudaActivation
    params: Any  # float64 device row
    norm: Any = None  # _Normalization


def launch_all(launches: Sequence[Any], **values: Any) -> None:
    """Call every launch, passing each the values of the variables it declares."""
    for launch in launches:
        launch(**{name: value for name, value in values.items() if name in launch.variables})


class DeviceNetwork:
    """The passes of a GPU model over batches of at most ``capacity`` rows.

    Args:
        model: a :class:`~numbagrad.nn.Sequential` on the GPU.
        capacity: the most rows of a batch.
        target_columns: columns of the targets (0 when there is no loss).
        loss: a :class:`~numbagrad.nn.model.LossChoice`, or None (prediction only).
        metrics: :class:`~numbagrad.train.setup.MetricChoice` objects whose
            kernels run on each batch's outputs.
    """

    def __init__(self, model: Any, capacity: int, target_columns: int, loss: Any = None, metrics: Sequence[Any] = ()):
        from numbagrad.kernels.cuda.activations import cuda_activation
        from numbagrad.kernels.cuda.dense import backward_grid, gemm_tiles

        cuda = require_cuda("a model on the GPU")
        self.cuda = cuda
        self.dtype = np.dtype(model.dtype)
        self.capacity = int(capacity)
        self.target_columns = int(target_columns)
        self.loss = loss
        self.metrics = list(metrics)
        self.tiles = gemm_tiles()
        self.device_activation_params = cuda.to_device(np.ascontiguousarray(model.activation_params))
        self.layers: list[_Layer] = []
        for l, layer in enumerate(model.layers):
            fan_in, units = int(model.layer_table[l, 0]), int(model.layer_table[l, 1])
            grad_weight, grad_bias = _parameter_views(model.gradients, model.layer_table[l], self.dtype)
            self.layers.append(
                _Layer(
                    fan_in, units, layer.weight, layer.bias if layer.bias is not None else empty_array(self.dtype),
                    grad_weight, grad_bias, cuda_activation(layer.activation_spec), self.device_activation_params[l],
                    self._normalization(model, l, units),
                )
            )
        widest = max([model.input_dim] + [layer.units for layer in self.layers])
        self.z = [cuda.device_array(self.capacity * layer.units, dtype=self.dtype) for layer in self.layers]
        self.out = [cuda.device_array(self.capacity * layer.units, dtype=self.dtype) for layer in self.layers]
        self.gradient_buffers = [cuda.device_array(self.capacity * widest, dtype=self.dtype) for _ in range(2)]
        self.target = cuda.device_array(max(1, self.capacity * self.target_columns), dtype=self.dtype)
        self.fused = bool(loss is not None and loss.fused)
        if loss is not None:
            self.loss_params = cuda.to_device(np.ascontiguousarray(loss.params, dtype=np.float64))
            self.loss_partials = cuda.device_array(max(1, int(config.CUDA_MAX_BLOCKS)), dtype=np.float64)
            self.loss_counter = cuda.to_device(np.zeros(1, dtype=np.int32))
        if self.metrics:
            self.metric_kernels = [m.spec.cuda_kernel() for m in self.metrics]
            width = max(1, max(len(m.params) for m in self.metrics))
            params = np.zeros((len(self.metrics), width))
            for row, metric in zip(params, self.metrics):
                row[: len(metric.params)] = metric.params
            self.metric_params = cuda.to_device(params)
        # Where each layer's weight-gradient blocks put their partial sums of
        # squares in the one array of partials.
        self.partial_offsets = []
        offset = 0
        for layer in self.layers:
            blocks, _ = backward_grid(1, layer.fan_in, layer.units, layer.bias.size > 0, False, self.tiles)
            self.partial_offsets.append(offset)
            offset += blocks
        self.partial_count = offset
        self.partials = cuda.device_array(max(1, offset), dtype=np.float64)
        self.dropout = np.asarray(model.dropout_table, dtype=np.float64)
        self._scratch = None
        self.penalties = np.asarray(model.penalty_table)
        self.parameters, self.gradients = model.parameters, model.gradients
        if self.penalties.shape[0]:
            self.penalty_sums = cuda.device_array(2 * self.penalties.shape[0], dtype=np.float64)
            self.penalty_partials = cuda.device_array((2, max(1, int(config.CUDA_MAX_BLOCKS))), dtype=np.float64)
            self.penalty_counters = cuda.to_device(np.zeros(2, dtype=np.int32))
            factors = np.ravel([(l1, l2) for _, _, l1, l2, _ in self.penalties])
            per_sample = np.repeat([float(row[4] != 0.0) for row in self.penalties], 2)
            self.penalty_factors = cuda.to_device(np.ascontiguousarray(factors, dtype=np.float64))
            self.penalty_per_sample = cuda.to_device(np.ascontiguousarray(per_sample, dtype=np.float64))

    def _normalization(self, model: Any, l: int, units: int) -> "_Normalization | None":
        kind, gamma, beta, statistics, epsilon, momentum = model.norm_table[l]
        if kind == 0:
            return None
        gamma, beta, statistics = int(gamma), int(beta), int(statistics)
        batch = statistics >= 0
        return _Normalization(
            batch, float(epsilon), float(momentum),
            model.parameters[gamma : gamma + units], model.parameters[beta : beta + units],
            model.gradients[gamma : gamma + units], model.gradients[beta : beta + units],
            model.parameters[statistics : statistics + 2 * units] if batch else empty_array(self.dtype),
            self.cuda.device_array((self.capacity, units), dtype=self.dtype),
            self.cuda.device_array(max(self.capacity, units), dtype=self.dtype),
        )

    @property
    def normalized(self) -> bool:
        """Whether a layer has a normalization (its scale's and shift's gradients are outside the
        dense kernels' partial sums of squares)."""
        return any(layer.norm is not None for layer in self.layers)

    # --- views of the workspace for a number of rows ----------------------------------------

    def z_view(self, l: int, rows: int):
        return self.z[l][: rows * self.layers[l].units].reshape(rows, self.layers[l].units)

    def out_view(self, l: int, rows: int):
        return self.out[l][: rows * self.layers[l].units].reshape(rows, self.layers[l].units)

    def gradient_view(self, which: int, rows: int, columns: int):
        return self.gradient_buffers[which][: rows * columns].reshape(rows, columns)

    def scratch_view(self, rows: int, columns: int):
        """The scratch matrix where the backward pass recomputes a layer's output before dropout
        (allocated on first use: only a training pass through dropout needs it)."""
        if self._scratch is None:
            widest = max(layer.units for layer, rate in zip(self.layers, self.dropout) if rate > 0.0)
            self._scratch = self.cuda.device_array(self.capacity * widest, dtype=self.dtype)
        return self._scratch[: rows * columns].reshape(rows, columns)

    def target_view(self, rows: int):
        return self.target[: rows * self.target_columns].reshape(rows, self.target_columns)

    def prediction_view(self, rows: int, final_activation: bool):
        """The last layer's output, or its ``z`` when the loss takes the pre-activation values."""
        last = len(self.layers) - 1
        return self.out_view(last, rows) if final_activation else self.z_view(last, rows)

    def _grid(self, size: int) -> int:
        from numbagrad.kernels.cuda.update import launch_configuration

        return launch_configuration(size, config.CUDA_THREADS_PER_BLOCK, config.CUDA_MAX_BLOCKS)[0]

    # --- launches -----------------------------------------------------------------------------

    def _dropout(self, l: int, draws: Any) -> float:
        """Layer ``l``'s dropout rate in a pass with ``draws`` (0 outside training: ``draws`` None)."""
        return float(self.dropout[l]) if draws is not None else 0.0

    def _mask_launch(self, values: Any, l: int, draws: Any) -> Any:
        """``values *= mask / (1 - rate)`` with layer ``l``'s masks of the batch ``draws[index]`` (variable ``index``)."""
        from numbagrad.kernels.cuda.dropout import dropout_mask
        from numbagrad.kernels.cuda.launch import Launch

        rate = float(self.dropout[l])
        args = [values, rate, self.dtype.type(1.0 / (1.0 - rate)), draws, 0, l]
        return Launch(dropout_mask, self._grid(values.size), config.CUDA_THREADS_PER_BLOCK, args, {"index": 4})

    def forward_launches(self, rows: int, x: Any, order: Any, final_activation: bool, draws: Any = None, training: bool = False) -> list:
        """The forward pass of ``rows`` rows of ``x`` (row ``r`` is ``x[order[start + r]]``, or
        ``x[start + r]`` with an empty ``order``); variable ``start``. The last layer's activation
        is applied when ``final_activation``. With ``draws`` (training: the int64 table of
        :mod:`numbagrad.kernels.cuda.dropout`, variable ``index``), each layer's dropout. In
        ``training`` (implied by ``draws``) batch normalization normalizes by the batch."""
        training = training or draws is not None
        from numbagrad.kernels.cuda.dense import forward_grid, forward_kernel
        from numbagrad.kernels.cuda.launch import Launch

        launches = []
        inputs, source_order = x, order
        count = len(self.layers)
        for l, layer in enumerate(self.layers):
            apply = final_activation or l < count - 1
            activation = layer.activation
            fused = activation.forward if apply and not activation.row_wise and layer.norm is None else None
            kernel = forward_kernel(self.dtype, self.tiles, fused)
            z, out = self.z_view(l, rows), self.out_view(l, rows)
            args = [inputs, source_order, 0, layer.weight, layer.bias, z, out, layer.params]
            launches.append(
                Launch(kernel, forward_grid(rows, layer.units, self.tiles), self.tiles.threads, args, {"start": 2} if l == 0 else {})
            )
            if layer.norm is not None:
                launches.append(self._normalize_launch(layer, rows, training))
            if apply and (activation.row_wise or layer.norm is not None):
                grid = self._grid(rows if activation.row_wise else z.size)
                launches.append(Launch(activation.kernels[0], grid, config.CUDA_THREADS_PER_BLOCK, [z, out, layer.params]))
            if self._dropout(l, draws) > 0.0:
                launches.append(self._mask_launch(out, l, draws))
            inputs, source_order = out, empty_array(np.int64)
        return launches

    def _normalize_launch(self, layer: _Layer, rows: int, training: bool) -> Any:
        """Layer ``layer``'s ``z`` normalized in place (see :mod:`numbagrad.kernels.cuda.normalization`)."""
        from numbagrad.kernels.cuda import normalization as kernels
        from numbagrad.kernels.cuda.launch import Launch

        norm = layer.norm
        z = self.z_view(self.layers.index(layer), rows)
        normalized = norm.normalized[:rows]
        threads = config.CUDA_THREADS_PER_BLOCK
        if norm.batch and training:
            args = [z, normalized, norm.moments, norm.gamma, norm.beta, norm.running, norm.momentum, norm.epsilon]
            return Launch(kernels.batch_norm_forward, self._grid(layer.units), threads, args)
        if norm.batch:
            args = [z, norm.moments, norm.gamma, norm.beta, norm.running, norm.epsilon]
            return Launch(kernels.batch_norm_inference, self._grid(layer.units), threads, args)
        args = [z, normalized, norm.moments, norm.gamma, norm.beta, norm.epsilon, training]
        return Launch(kernels.layer_norm_forward, self._grid(rows), threads, args)

    def _normalize_backward_launches(self, layer: _Layer, rows: int, grad: Any) -> list:
        """dL/dz of ``layer`` in ``grad`` to dL/dh, with dL/dγ and dL/dβ, from its last training pass."""
        from numbagrad.kernels.cuda import normalization as kernels
        from numbagrad.kernels.cuda.launch import Launch

        norm = layer.norm
        normalized = norm.normalized[:rows]
        threads = config.CUDA_THREADS_PER_BLOCK
        if norm.batch:
            args = [grad, normalized, norm.moments, norm.gamma, norm.grad_gamma, norm.grad_beta]
            return [Launch(kernels.batch_norm_backward, self._grid(layer.units), threads, args)]
        return [
            Launch(kernels.layer_norm_scale_gradients, self._grid(layer.units), threads, [grad, normalized, norm.grad_gamma, norm.grad_beta]),
            Launch(kernels.layer_norm_backward, self._grid(rows), threads, [grad, normalized, norm.moments, norm.gamma]),
        ]

    def loss_launch(self, rows: int, Y: Any, order: Any, losses: Any, weights: Any = None, weight_sums: Any = None) -> Any:
        """The loss of the last forward pass into ``losses[index]``, its gradient into gradient buffer 0;
        targets gathered from ``Y`` like the inputs (variables ``start``, ``index``). With ``weights``
        (float64, a weight per row of ``Y``, gathered like it) and ``weight_sums`` (float64, the sum of
        batch ``index``'s weights), the weighted mean of the rows' losses (see
        :func:`numbagrad.kernels.cuda.training.batch_loss_kernel`)."""
        from numbagrad.kernels.cuda.launch import Launch
        from numbagrad.kernels.cuda.training import batch_loss_kernel

        last = self.layers[-1]
        activation = last.activation
        backward = None if self.fused else activation.backward
        output = activation.forward if self.fused and self.metrics else None
        weighted = weights is not None
        kernel = batch_loss_kernel(self.loss.spec.cuda_row(), backward, activation.row_wise, output, activation.row_wise, weighted)
        unused = empty_array(np.float64)
        args = [
            self.prediction_view(rows, not self.fused), Y, order, 0, self.target_view(rows),
            self.gradient_view(0, rows, last.units), self.loss_params,
            self.z_view(len(self.layers) - 1, rows), self.out_view(len(self.layers) - 1, rows), last.params,
            self.loss_partials, self.loss_counter, losses, 0,
            weights if weighted else unused, weight_sums if weighted else unused,
        ]
        return Launch(kernel, self._grid(rows), config.CUDA_THREADS_PER_BLOCK, args, {"start": 3, "index": 13})

    def backward_launches(self, rows: int, x: Any, order: Any, clip_value: float, partials: bool, draws: Any = None) -> list:
        """The backward pass from dL/dz of the last layer in gradient buffer 0 (variable ``start``):
        every weight's and bias's gradient, clamped to ``clip_value`` when > 0, with the partial sums
        of their squares in :attr:`partials` when ``partials``. With ``draws`` (variable ``index``),
        through each layer's dropout, as in :meth:`forward_launches`."""
        from numbagrad.kernels.cuda.dense import backward_grid, backward_kernel
        from numbagrad.kernels.cuda.launch import Launch

        launches = []
        current, spare = 0, 1
        empty_matrix = empty_array(self.dtype).reshape(0, 0)
        no_partials = empty_array(np.float64)
        for l in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[l]
            previous = self.layers[l - 1] if l > 0 else None
            dropped = previous is not None and self._dropout(l - 1, draws) > 0.0
            # Through dropout, the derivative needs dL/d(output) masked first: not fused then.
            fused = previous.activation.backward if previous is not None and not previous.activation.row_wise and not dropped else None
            kernel = backward_kernel(self.dtype, self.tiles, fused)
            weight_blocks, input_blocks = backward_grid(rows, layer.fan_in, layer.units, layer.bias.size > 0, l > 0, self.tiles)
            if layer.norm is not None:
                launches += self._normalize_backward_launches(layer, rows, self.gradient_view(current, rows, layer.units))
            inputs = x if l == 0 else self.out_view(l - 1, rows)
            grad_x = self.gradient_view(spare, rows, layer.fan_in if l > 0 else 0)
            args = [
                inputs, order if l == 0 else empty_array(np.int64), 0, layer.weight,
                self.gradient_view(current, rows, layer.units), layer.grad_weight, layer.grad_bias, grad_x,
                self.z_view(l - 1, rows) if previous is not None else empty_matrix,
                self.out_view(l - 1, rows) if previous is not None else empty_matrix,
                previous.params if previous is not None else layer.params,
                float(clip_value), False, weight_blocks,
                self.partials if partials else no_partials, self.partial_offsets[l],
            ]
            launches.append(Launch(kernel, weight_blocks + input_blocks, self.tiles.threads, args, {"start": 2} if l == 0 else {}))
            if dropped:
                launches += self._dropout_backward_launches(rows, l - 1, grad_x, draws)
            elif previous is not None and previous.activation.row_wise:
                launches.append(
                    Launch(
                        previous.activation.kernels[1], self._grid(rows), config.CUDA_THREADS_PER_BLOCK,
                        [self.z_view(l - 1, rows), self.out_view(l - 1, rows), grad_x, grad_x, previous.params],
                    )
                )
            current, spare = spare, current
        return launches

    def _dropout_backward_launches(self, rows: int, l: int, grad: Any, draws: Any) -> list:
        """dL/d(layer ``l``'s output after dropout) in ``grad`` to dL/dz of layer ``l``: masked, then the
        activation's derivative at the output before dropout, recomputed into the scratch matrix
        (sigmoid's and tanh's derivatives read the output). One launch for an element-wise
        activation; the mask, the forward and the backward row kernels for a row-wise one."""
        from numbagrad.kernels.cuda.dropout import dropout_backward_kernel
        from numbagrad.kernels.cuda.launch import Launch

        layer = self.layers[l]
        activation = layer.activation
        z, out = self.z_view(l, rows), self.scratch_view(rows, layer.units)
        threads = config.CUDA_THREADS_PER_BLOCK
        if activation.row_wise:
            return [
                self._mask_launch(grad, l, draws),
                Launch(activation.kernels[0], self._grid(rows), threads, [z, out, layer.params]),
                Launch(activation.kernels[1], self._grid(rows), threads, [z, out, grad, grad, layer.params]),
            ]
        rate = float(self.dropout[l])
        kernel = dropout_backward_kernel(activation.forward, activation.backward)
        args = [z, out, grad, layer.params, rate, self.dtype.type(1.0 / (1.0 - rate)), draws, 0, l]
        return [Launch(kernel, self._grid(z.size), threads, args, {"index": 7})]

    def penalty_launches(self, scales: Any, losses: Any, norms: Any, clip_value: float) -> list:
        """With weight regularizers, after :meth:`backward_launches` without clamping or partial sums:
        each penalized segment's gradient added, the penalties added to ``losses[index]``, the gradient
        clamped to ``clip_value`` when > 0 and its norm in ``norms[index]`` (variable ``index``). A
        ``per_sample`` penalty is scaled by ``scales[index]`` (float64 on the device: 1 over batch
        ``index``'s rows, or its sum of sample weights; 0 for none), written by the caller.
        The twin of :func:`numbagrad.kernels.cpu.network.penalize` and ``clip_gradients``."""
        from numbagrad.kernels.cuda.launch import Launch
        from numbagrad.kernels.cuda.training import add_penalties, clamped_squares, penalize, square_root
        from numbagrad.kernels.cuda.update import launch_configuration

        threads = config.CUDA_THREADS_PER_BLOCK
        launches = []
        for s, (start, stop, l1, l2, per_sample) in enumerate(self.penalties):
            start, stop = int(start), int(stop)
            blocks, _ = launch_configuration(stop - start, threads, config.CUDA_MAX_BLOCKS)
            args = [
                self.parameters[start:stop], self.gradients[start:stop], float(l1), float(l2), bool(per_sample), scales,
                self.penalty_partials, self.penalty_counters, self.penalty_sums, 2 * s, 0,
            ]
            launches.append(Launch(penalize, blocks, threads, args, {"index": 10}))
        args = [self.penalty_sums, self.penalty_factors, self.penalty_per_sample, scales, losses, 0]
        launches.append(Launch(add_penalties, 1, 1, args, {"index": 5}))
        blocks, _ = launch_configuration(self.gradients.size, threads, config.CUDA_MAX_BLOCKS)
        args = [self.gradients, float(clip_value), self.penalty_partials[0], self.penalty_counters[0:1], norms, 0]
        launches.append(Launch(clamped_squares, blocks, threads, args, {"index": 5}))
        launches.append(Launch(square_root, 1, 1, [norms, 0], {"index": 1}))
        return launches

    def _metric_totals(self, totals: Any) -> list:
        """Each metric's own totals in the device array ``totals`` (a row per metric, as wide as the
        widest needs): the first ``totals`` of its row, or the whole row where it keeps its rows."""
        return [totals[m] if metric.row_totals else totals[m, : metric.totals] for m, metric in enumerate(self.metrics)]

    def metric_launches(self, rows: int, totals: Any) -> list:
        """Every metric's kernel on the last forward pass's outputs and targets, into ``totals[m]`` (one block each)."""
        from numbagrad.kernels.cuda.launch import Launch

        out = self.out_view(len(self.layers) - 1, rows)
        target = self.target_view(rows)
        return [
            Launch(kernel, 1, config.CUDA_THREADS_PER_BLOCK, [out, target, own, self.metric_params[m]])
            for m, (kernel, own) in enumerate(zip(self.metric_kernels, self._metric_totals(totals)))
        ]


def _parameter_views(flat: Any, row: Any, dtype: np.dtype) -> tuple[Any, Any]:
    """The weight (fan_in, units) and bias (units,) views of a layer in a flat device buffer."""
    fan_in, units, weight_offset, bias_offset = (int(v) for v in row)
    weight = flat[weight_offset : weight_offset + fan_in * units].reshape(fan_in, units)
    bias = flat[bias_offset : bias_offset + units] if bias_offset >= 0 else empty_array(dtype)
    return weight, bias

