"""Every CUDA activation, loss and metric kernel against its CPU twin, on every option set of the CPU tests."""

from __future__ import annotations

import numpy as np
import pytest
import test_activations
import test_losses
import test_metrics
from cuda_helpers import assert_agrees, assert_close
from numba import cuda

from numbagrad import config
from numbagrad.kernels.cpu.calls import call_activation_backward, call_activation_forward, call_loss, call_metric
from numbagrad.kernels.cuda import activations as cuda_activations
from numbagrad.kernels.cuda import losses as cuda_losses
from numbagrad.kernels.cuda import metrics as cuda_metrics
from numbagrad.kernels.cuda.activations import cuda_activation
from numbagrad.kernels.cuda.losses import loss_kernel, loss_value
from numbagrad.kernels.cuda.update import launch_configuration
from numbagrad.registry import get_registry

#: 5 x 7 = 35 elements on 12 threads: the grid wraps around; 5 rows on 12 threads: some threads idle.
SHAPES = [(1, 1), (5, 7)]
DTYPES = [np.float64, np.float32]


def spec_of(kind, name):
    return get_registry().lookup(kind, name).spec


def launch(kernel, size, *args):
    blocks, threads = launch_configuration(size, config.CUDA_THREADS_PER_BLOCK, config.CUDA_MAX_BLOCKS)
    kernel[blocks, threads](*args)


# --- activations ---------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # NaN and inf inputs, on purpose
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, options", list(test_activations.cases()))
def test_activation_kernels_match_the_cpu(name, options, dtype, shape, simulator):
    spec = spec_of("activation", name)
    params = spec.encode(spec.validate(options))
    z = test_activations.inputs(shape, dtype)
    if z.size > 4:
        z.flat[-1], z.flat[-2] = np.nan, np.inf
    grad_out = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    table = spec.kernel_table(dtype)
    out = np.empty_like(z)
    grad_in = np.empty_like(z)
    call_activation_forward(table, z, out, params)
    call_activation_backward(table, z, out, grad_out, grad_in, params)

    forward, backward = cuda_activation(spec).kernels
    device_z, device_out, device_params = cuda.to_device(z), cuda.device_array_like(z), cuda.to_device(params)
    size = shape[0] if spec.row_wise else z.size
    launch(forward, size, device_z, device_out, device_params)
    assert_agrees(device_out.copy_to_host(), out, simulator, f"{name} {options} forward")
    device_grad = cuda.to_device(grad_out)
    launch(backward, size, device_z, device_out, device_grad, device_grad, device_params)  # in place, as allowed
    assert_agrees(device_grad.copy_to_host(), grad_in, simulator, f"{name} {options} backward")


def test_every_builtin_activation_has_cuda_twins_named_as_the_cpu_kernels():
    for name in test_activations.CASES:
        spec = spec_of("activation", name)
        activation = cuda_activation(spec)
        assert activation.row_wise == spec.row_wise
        forward, backward = activation.kernels
        assert forward.py_func.__name__ == spec.forward.py_func.__name__
        assert backward.py_func.__name__ == spec.backward.py_func.__name__
        assert getattr(cuda_activations, f"{name}_forward").py_func.__name__ == f"{name}_forward"


# --- losses --------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (13, 1)])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, options, predictions, targets", test_losses.CASES)
def test_loss_kernels_match_the_cpu(name, options, predictions, targets, dtype, shape, simulator):
    if targets in ("labels", "one_hot", "soft") and shape[1] == 1:
        shape = (shape[0], 2)  # classes need several columns
    spec = spec_of("loss", name)
    params = spec.encode(spec.validate(options))
    rng = np.random.default_rng(3)
    prediction = test_losses._predictions(predictions, shape, rng).astype(dtype)
    target = test_losses._targets(targets, shape, rng).astype(dtype)
    grad = np.empty_like(prediction)
    expected = call_loss(spec.kernel_table(dtype), prediction, target, grad, params)

    device_grad = cuda.device_array_like(prediction)
    kernel = loss_kernel(spec.cuda_row(), name)
    value = loss_value(kernel, cuda.to_device(prediction), cuda.to_device(target), device_grad, params)
    # The CPU loss kernels compile with fast-math (reciprocals, contractions):
    # the same formulas then differ in the last bit or two.
    gradient_tolerance = {np.float64: 1e-15, np.float32: 2e-7}[dtype] if simulator else None
    assert_close(device_grad.copy_to_host(), grad, f"{name} {options} gradient", tolerance=gradient_tolerance)
    assert_close(np.float64(value), np.float64(expected), f"{name} {options} loss", tolerance=1e-12 if simulator else None)


def test_a_loss_sums_rows_from_many_blocks_the_same_way_each_time():
    spec = spec_of("loss", "mse")
    rng = np.random.default_rng(0)
    prediction = cuda.to_device(rng.standard_normal((37, 2)))
    target = cuda.to_device(rng.standard_normal((37, 2)))
    grad = cuda.device_array((37, 2))
    kernel = loss_kernel(spec.cuda_row(), "mse")
    values = {loss_value(kernel, prediction, target, grad, np.zeros(0)) for _ in range(3)}
    assert len(values) == 1


def test_every_builtin_loss_has_a_cuda_twin_named_as_the_cpu_kernel():
    for name in {case[0] for case in test_losses.CASES}:
        spec = spec_of("loss", name)
        assert spec.cuda_row() is not None
        assert getattr(cuda_losses, f"{name}_loss").py_func.__name__ == spec.kernel.py_func.__name__


# --- metrics -------------------------------------------------------------------------


def kernel_cases():
    """test_metrics's cases, one per distinct kernel, options and data (precision, recall and f1 with
    their averages share one kernel; they differ in ``result`` only)."""
    seen = set()
    for case in test_metrics.cases():
        name, options, predictions, targets, _ = case.values
        key = (spec_of("metric", name).update, repr(options), predictions, targets)
        if key not in seen:
            seen.add(key)
            yield case


@pytest.mark.parametrize("rows", [1, 9])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, options, predictions, targets, columns", list(kernel_cases()))
def test_metric_kernels_match_the_cpu(name, options, predictions, targets, columns, dtype, rows, simulator):
    spec = spec_of("metric", name)
    params = spec.encode(spec.validate(options))
    kernel = spec.cuda_kernel()
    assert kernel.py_func.__name__ == spec.update.py_func.__name__
    for width in columns[:2]:
        rng = np.random.default_rng(width)
        batches = [test_metrics._data(predictions, targets, (rows, width), rng) for _ in range(2)]
        totals = np.zeros(spec.total_count(width, rows=2 * rows))  # ROC AUC keeps both batches' rows
        device_totals = cuda.to_device(totals)
        device_params = cuda.to_device(params)
        for p, y in batches:  # two batches: the kernels add to running totals
            p, y = p.astype(dtype), y.astype(dtype)
            call_metric(spec.kernel_table(dtype), p, y, totals, params)
            kernel[1, config.CUDA_THREADS_PER_BLOCK](cuda.to_device(p), cuda.to_device(y), device_totals, device_params)
        got = device_totals.copy_to_host()
        assert_close(got, totals, f"{name} {options} {width} columns", tolerance=1e-12)
        assert spec.result(got) == pytest.approx(spec.result(totals), rel=1e-12, nan_ok=True)


def test_metric_kernels_are_correct_on_several_blocks():
    spec = spec_of("metric", "categorical_accuracy")
    rng = np.random.default_rng(0)
    p, y = test_metrics._data("scores", "labels", (11, 3), rng)
    totals = np.zeros(2)
    call_metric(spec.kernel_table(np.float64), p, y, totals, np.zeros(0))
    device_totals = cuda.to_device(np.zeros(2))
    cuda_metrics.categorical_accuracy_update[3, 2](cuda.to_device(p), cuda.to_device(y), device_totals, cuda.to_device(np.zeros(1)))
    np.testing.assert_array_equal(device_totals.copy_to_host(), totals)
