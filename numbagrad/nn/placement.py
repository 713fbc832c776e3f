"""Where a model lives: on the host (``"cpu"``) or on a CUDA GPU (``"cuda"``).

``Sequential(..., device="cuda")`` and ``model.to("cuda")`` move a model's
one parameter buffer, its gradient buffer and, when it is compiled, its
optimizers' state to the GPU, where they stay across steps and epochs;
``model.to("cpu")`` brings them back. On the GPU:

* ``model.parameters`` and ``model.gradients`` are CUDA device arrays and
  each layer's ``weight`` and ``bias`` are views into the first, as on the
  host; ``get_weights()`` returns host copies and ``set_weights()`` copies to
  the GPU;
* ``predict``, ``value_and_grad``, ``evaluate`` and ``fit`` run the CUDA
  kernels (:mod:`numbagrad.nn.cuda_network`, :mod:`numbagrad.train.cuda_loop`);
  ``value_and_grad`` returns the gradient as a device array, ready for an
  optimizer over ``[model.parameters]``;
* ``save`` writes host copies, so the file is the same as a CPU model's and
  loads anywhere.

Every activation, the loss, the metrics and the optimizer must have CUDA
code (their declarations' ``cuda_*`` fields); asking for ``"cuda"`` with one
that has none raises before anything moves, naming it and the distribution
that provides it. So does asking without a usable GPU, saying what is
missing. Nothing here imports ``numba.cuda`` until a model goes to the GPU.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from numbagrad.device import require_cuda
from numbagrad.kernels.cpu.normalization import BATCH

__all__ = [
    "DEVICES",
    "check_device",
    "check_cuda_support",
    "move",
    "host_parameters",
    "get_weights",
    "set_weights",
    "initialize",
    "predict",
    "value_and_grad",
    "tensor_views",
    "weight_views",
]

#: The places a model can live.
DEVICES = ("cpu", "cuda")


def check_device(device: Any, owner: str) -> str:
    """``device`` as ``"cpu"`` or ``"cuda"`` (case and surrounding spaces ignored).

    Raises:
        ValueError: anything else, naming ``owner``'s argument and the value.
    """
    if isinstance(device, str) and device.strip().lower() in DEVICES:
        return device.strip().lower()
    raise ValueError(f"{owner}: device must be 'cpu' or 'cuda'; got {device!r}")


def _missing(kind: str, spec: Any, field: str, where: str) -> TypeError:
    from numbagrad.registry import get_registry

    return TypeError(
        f"{where}: {kind} {spec.name!r} (provided by {get_registry().provider(kind, spec)}) has no CUDA code "
        f"(its declaration's {field} is None); keep the model on the CPU, or use a {kind} that declares {field}"
    )


def check_cuda_support(model: Any, setup: Any, where: str) -> None:
    """Raise ``TypeError`` naming the first activation, loss, metric or optimizer without CUDA code.

    ``setup`` is the model's :class:`~numbagrad.train.setup.TrainingSetup`
    (or None); every declared import path is imported here, so that a broken
    one fails now rather than in the first ``fit``.
    """
    for layer in model.layers:
        spec = layer.activation_spec
        forward, backward = spec.cuda_functions()
        if forward is None or backward is None:
            raise _missing("activation", spec, "cuda_forward", where)
    if setup is None:
        return
    if setup.loss.spec.cuda_row() is None:
        raise _missing("loss", setup.loss.spec, "cuda_kernel", where)
    for metric in setup.metrics:
        if metric.spec.cuda_kernel() is None:
            raise _missing("metric", metric.spec, "cuda_update", where)
    for optimizer in setup.optimizers.values():
        spec = optimizer.spec
        if spec.closure:
            continue  # it runs no kernels: its closure is the model's own forward and backward passes
        if spec.cuda_kernel() is None:
            raise _missing("optimizer", spec, "cuda_update", where)


def weight_views(model: Any, buffer: Any) -> list[tuple[str, Any]]:
    """``(role, view)`` of every array ``get_weights`` returns, views into ``buffer`` (the model's
    parameters, its gradients, host or device), in that order: per layer ``("weights", W)``,
    ``("biases", b)``, and for a normalized layer ``("biases", γ)``, ``("biases", β)`` (vectors, as
    the biases: an optimizer by role gives them the biases' settings), then for batch normalization
    ``("running_mean", ...)`` and ``("running_var", ...)``, which no optimizer is bound to."""
    views = []
    for (fan_in, units, weight_offset, bias_offset), norm in zip(model.layer_table, model.norm_table):
        fan_in, units, weight_offset, bias_offset = int(fan_in), int(units), int(weight_offset), int(bias_offset)
        views.append(("weights", buffer[weight_offset : weight_offset + fan_in * units].reshape(fan_in, units)))
        if bias_offset >= 0:
            views.append(("biases", buffer[bias_offset : bias_offset + units]))
        if norm[0] != 0:
            gamma, beta, statistics = int(norm[1]), int(norm[2]), int(norm[3])
            views += [("biases", buffer[gamma : gamma + units]), ("biases", buffer[beta : beta + units])]
            if statistics >= 0:
                views += [("running_mean", buffer[statistics : statistics + units])]
                views += [("running_var", buffer[statistics + units : statistics + 2 * units])]
    return views


def tensor_views(model: Any, buffer: Any) -> list[tuple[str, Any]]:
    """``(role, view)`` of every trained tensor in ``buffer``, in ``get_weights`` order: ``("weights",
    W1), ("biases", b1), ...`` (:func:`weight_views` without the running averages)."""
    return [(role, view) for role, view in weight_views(model, buffer) if role in ("weights", "biases")]


def attach(model: Any, parameters: Any, gradients: Any) -> None:
    """Make ``parameters`` and ``gradients`` (host or device) the model's buffers, with the layers' views into them."""
    model.parameters = parameters
    model.gradients = gradients
    views = iter(weight_views(model, parameters))
    for layer in model.layers:
        layer.weight = next(views)[1]
        layer.bias = next(views)[1] if layer.use_bias else None
        layer.gamma = layer.beta = layer.running_mean = layer.running_var = None
        if layer.normalization is not None:
            layer.gamma, layer.beta = next(views)[1], next(views)[1]
            if layer.normalization.kind == BATCH:  # its running averages
                layer.running_mean, layer.running_var = next(views)[1], next(views)[1]


def move(model: Any, device: Any) -> None:
    """Move ``model`` (its buffers and its optimizer's state) to ``device``; nothing changes if it raises."""
    device = check_device(device, "Sequential.to")
    if device == model.device:
        return
    setup = model.training
    if device == "cuda":
        cuda = require_cuda("Sequential.to('cuda'): the model's parameters go to the GPU")
        check_cuda_support(model, setup, "Sequential.to('cuda')")
        parameters = cuda.to_device(model.parameters)
        gradients = cuda.to_device(model.gradients)
    else:
        from numbagrad.memory import aligned_empty

        parameters = aligned_empty(model.parameters.size, model.dtype)
        gradients = aligned_empty(model.gradients.size, model.dtype)
        model.parameters.copy_to_host(parameters)
        model.gradients.copy_to_host(gradients)
    optimizers = None
    if setup is not None:
        optimizers = setup.rebound_optimizers(tensor_views(model, parameters))
    attach(model, parameters, gradients)
    model.device = device
    model._device_networks = {}
    if setup is not None:
        setup.optimizers = optimizers


def host_parameters(model: Any) -> np.ndarray:
    """The flat parameter buffer on the host: the buffer itself for a CPU model, a copy for a GPU model."""
    return model.parameters if model.device == "cpu" else model.parameters.copy_to_host()


def get_weights(model: Any) -> list[np.ndarray]:
    """Host copies of [W1, b1, W2, b2, ...] of a GPU model (see :func:`weight_views`)."""
    return [view.copy() for _, view in weight_views(model, host_parameters(model))]


def set_weights(model: Any, arrays: Sequence[np.ndarray]) -> None:
    """Copy checked host arrays [W1, b1, ...] into a GPU model's parameters (one transfer)."""
    host = host_parameters(model)
    for (_, view), array in zip(weight_views(model, host), arrays):
        view[...] = array
    model.parameters.copy_to_device(host)


def initialize(model: Any, rng: np.random.Generator) -> None:
    """Draw a GPU model's weights and biases on the host, as a CPU model draws them, and copy them over."""
    arrays = []
    for layer in model.layers:
        arrays.append(layer.kernel_initializer(tuple(layer.weight.shape), rng))
        if layer.bias is not None:
            arrays.append(layer.bias_initializer(tuple(layer.bias.shape), rng))
    set_weights(model, arrays)


def _network(model: Any, capacity: int, target_columns: int, loss: Any = None):
    """A cached :class:`~numbagrad.nn.cuda_network.DeviceNetwork` for these shapes and this loss."""
    from numbagrad.nn.cuda_network import DeviceNetwork

    key = (capacity, target_columns, None if loss is None else (loss.name, loss.fused, loss.params.tobytes()))
    cache = model.__dict__.setdefault("_device_networks", {})
    network = cache.get(key)
    if network is None:
        if len(cache) > 4:
            cache.clear()
        network = cache[key] = DeviceNetwork(model, capacity, target_columns, loss)
    return network


def predict(model: Any, X: np.ndarray, batch_size: int) -> np.ndarray:
    """A GPU model's outputs for the checked host inputs ``X``, ``batch_size`` rows at a time
    (each batch copied to the GPU and its outputs back, so ``X`` may be larger than the GPU's memory)."""
    from numbagrad.kernels.cuda.dense import empty_array
    from numbagrad.nn.cuda_network import launch_all

    cuda = require_cuda("predict on a model on the GPU")
    capacity = min(int(batch_size), X.shape[0])
    network = _network(model, capacity, 0)
    staging = cuda.device_array((capacity, X.shape[1]), dtype=X.dtype)
    out = np.empty((X.shape[0], model.output_dim), dtype=model.dtype)
    order = empty_array(np.int64)
    launches = {}
    for start in range(0, X.shape[0], capacity):
        rows = min(capacity, X.shape[0] - start)
        if rows not in launches:
            launches[rows] = network.forward_launches(rows, staging, order, final_activation=True)
        staging[:rows].copy_to_device(X[start : start + rows])
        launch_all(launches[rows], start=0)
        network.out_view(len(model.layers) - 1, rows).copy_to_host(out[start : start + rows])
    return out


def value_and_grad(model: Any, X: np.ndarray, Y: np.ndarray, choice: Any) -> tuple[float, Any]:
    """The loss of one batch and its gradient (a device array) for a GPU model, from checked host arrays."""
    from numbagrad.kernels.cuda.dense import empty_array
    from numbagrad.nn.cuda_network import launch_all

    cuda = require_cuda("value_and_grad on a model on the GPU")
    if choice.spec.cuda_row() is None:
        raise _missing("loss", choice.spec, "cuda_kernel", "value_and_grad")
    rows = X.shape[0]
    network = _network(model, rows, Y.shape[1], choice)
    device_x, device_y = cuda.to_device(X), cuda.to_device(Y)
    order = empty_array(np.int64)
    losses = cuda.device_array(1, dtype=np.float64)
    launch_all(network.forward_launches(rows, device_x, order, final_activation=not choice.fused, training=True), start=0)
    launch_all([network.loss_launch(rows, device_y, order, losses)], start=0, index=0)
    launch_all(network.backward_launches(rows, device_x, order, 0.0, partials=False), start=0)
    if model.penalty_table.shape[0]:
        scales = cuda.to_device(np.array([1.0 / rows]))
        launch_all(network.penalty_launches(scales, losses, cuda.device_array(1, dtype=np.float64), 0.0), index=0)
    gradient = cuda.device_array_like(model.gradients)
    gradient.copy_to_device(model.gradients)
    return float(losses.copy_to_host()[0]), gradient

