"""The dense layer's CUDA kernels against NumPy, on shapes that cross the (shrunken) tiles."""

from __future__ import annotations

import numpy as np
import pytest
from cuda_helpers import assert_close
from numba import cuda

from numbagrad import config
from numbagrad.kernels.cuda import dense
from numbagrad.kernels.cuda.activations import cuda_activation
from numbagrad.registry import get_registry

DTYPES = [np.float64, np.float32]
#: (rows, fan_in, units): with tiles of 4 and slices of 2, 7 x 5 x 6 crosses every boundary.
SHAPES = [(1, 1, 1), (7, 5, 6), (9, 3, 2)]


def activation(name):
    spec = get_registry().lookup("activation", name).spec
    return spec, cuda_activation(spec)


def numpy_forward(name, z):
    if name == "relu":
        return np.maximum(z, 0)
    if name == "tanh":
        return np.tanh(z)
    if name == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    return z


def numpy_derivative_product(name, z, out, g):
    if name == "relu":
        return g * (z > 0)
    if name == "tanh":
        return g * (1 - out * out)
    if name == "softmax":
        return out * (g - (g * out).sum(axis=1, keepdims=True))
    return g


def data(rows, fan_in, units, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, fan_in)).astype(dtype)
    weight = (rng.standard_normal((fan_in, units)) * 0.5).astype(dtype)
    bias = rng.standard_normal(units).astype(dtype)
    return x, weight, bias


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", ["linear", "relu", "tanh", "softmax"])
@pytest.mark.parametrize("use_bias", [True, False])
def test_forward_matches_numpy(name, shape, dtype, use_bias):
    rows, fan_in, units = shape
    x, weight, bias = data(rows, fan_in, units, dtype)
    if not use_bias:
        bias = bias[:0]
    spec, device_activation = activation(name)
    z = cuda.device_array((rows, units), dtype=dtype)
    out = cuda.device_array((rows, units), dtype=dtype)
    params = cuda.to_device(spec.encode(spec.validate({})))
    dense.dense_forward(cuda.to_device(x), cuda.to_device(weight), cuda.to_device(bias), z, out, device_activation, params)
    expected_z = x.astype(np.float64) @ weight + (bias if use_bias else 0)
    assert_close(z.copy_to_host(), expected_z.astype(dtype), f"{name} z")
    assert_close(out.copy_to_host(), numpy_forward(name, z.copy_to_host().astype(np.float64)).astype(dtype), f"{name} out")


@pytest.mark.parametrize("dtype", DTYPES)
def test_forward_gathers_rows_through_the_order(dtype):
    x, weight, bias = data(11, 5, 6, dtype)
    order = np.random.default_rng(2).permutation(11).astype(np.int64)
    start, rows = 3, 7
    tiles = dense.gemm_tiles()
    spec, device_activation = activation("relu")
    kernel = dense.forward_kernel(np.dtype(dtype), tiles, device_activation.forward)
    z = cuda.device_array((rows, 6), dtype=dtype)
    out = cuda.device_array((rows, 6), dtype=dtype)
    kernel[dense.forward_grid(rows, 6, tiles), tiles.threads](
        cuda.to_device(x), cuda.to_device(order), start, cuda.to_device(weight), cuda.to_device(bias), z, out,
        cuda.to_device(np.zeros(1)),
    )
    expected = x[order[start : start + rows]].astype(np.float64) @ weight + bias
    assert_close(z.copy_to_host(), expected.astype(dtype), "gathered z")
    np.testing.assert_array_equal(out.copy_to_host(), np.maximum(z.copy_to_host(), 0))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", ["linear", "tanh", "softmax"])
@pytest.mark.parametrize("accumulate", [False, True])
def test_backward_matches_numpy(name, shape, dtype, accumulate):
    rows, fan_in, units = shape
    x, weight, bias = data(rows, fan_in, units, dtype)
    spec, device_activation = activation(name)
    params = cuda.to_device(spec.encode(spec.validate({})))
    z = (x.astype(np.float64) @ weight + bias).astype(dtype)
    out = numpy_forward(name, z.astype(np.float64)).astype(dtype)
    grad_out = np.random.default_rng(4).standard_normal((rows, units)).astype(dtype)
    previous_weight = np.full((fan_in, units), 0.5, dtype=dtype)
    previous_bias = np.full(units, -0.25, dtype=dtype)
    device_grad_out = cuda.to_device(grad_out)
    grad_weight = cuda.to_device(previous_weight)
    grad_bias = cuda.to_device(previous_bias)
    grad_x = cuda.device_array((rows, fan_in), dtype=dtype)
    dense.dense_backward(
        cuda.to_device(x), cuda.to_device(weight), cuda.to_device(z), cuda.to_device(out), device_grad_out,
        grad_weight, grad_bias, grad_x, device_activation, params, accumulate,
    )
    dz = numpy_derivative_product(name, z.astype(np.float64), out.astype(np.float64), grad_out.astype(np.float64))
    base = 1.0 if accumulate else 0.0
    assert_close(device_grad_out.copy_to_host(), dz.astype(dtype), f"{name} dz")
    assert_close(grad_weight.copy_to_host(), (x.T.astype(np.float64) @ dz + base * previous_weight).astype(dtype), f"{name} dW")
    assert_close(grad_bias.copy_to_host(), (dz.sum(axis=0) + base * previous_bias).astype(dtype), f"{name} db")
    assert_close(grad_x.copy_to_host(), (dz @ weight.T.astype(np.float64)).astype(dtype), f"{name} dX")


@pytest.mark.parametrize("dtype", DTYPES)
def test_backward_fuses_the_previous_derivative_clipping_and_the_squares(dtype):
    rows, fan_in, units = 7, 5, 6
    x, weight, _ = data(rows, fan_in, units, dtype)
    dz = (np.random.default_rng(5).standard_normal((rows, units)) * 3).astype(dtype)
    previous_z = np.random.default_rng(6).standard_normal((rows, fan_in)).astype(dtype)
    previous_out = np.tanh(previous_z.astype(np.float64)).astype(dtype)
    order = np.random.default_rng(7).permutation(12).astype(np.int64)
    source = np.zeros((12, fan_in), dtype=dtype)
    source[order[2 : 2 + rows]] = x  # the batch's rows, reached through the order
    tiles = dense.gemm_tiles()
    spec, tanh = activation("tanh")
    kernel = dense.backward_kernel(np.dtype(dtype), tiles, tanh.backward)
    weight_blocks, input_blocks = dense.backward_grid(rows, fan_in, units, True, True, tiles)
    grad_weight = cuda.device_array((fan_in, units), dtype=dtype)
    grad_bias = cuda.device_array(units, dtype=dtype)
    grad_x = cuda.device_array((rows, fan_in), dtype=dtype)
    partials = cuda.to_device(np.full(2 + weight_blocks, -1.0))
    clip = 2.0
    kernel[weight_blocks + input_blocks, tiles.threads](
        cuda.to_device(source), cuda.to_device(order), 2, cuda.to_device(weight), cuda.to_device(dz),
        grad_weight, grad_bias, grad_x, cuda.to_device(previous_z), cuda.to_device(previous_out),
        cuda.to_device(np.zeros(1)), clip, False, weight_blocks, partials, 2,
    )
    dz64 = dz.astype(np.float64)
    expected_weight = np.clip(x.T.astype(np.float64) @ dz64, -clip, clip).astype(dtype)
    expected_bias = np.clip(dz64.sum(axis=0), -clip, clip).astype(dtype)
    assert_close(grad_weight.copy_to_host(), expected_weight, "clipped dW")
    assert_close(grad_bias.copy_to_host(), expected_bias, "clipped db")
    expected_x = (dz64 @ weight.T) * (1 - previous_out.astype(np.float64) ** 2)
    assert_close(grad_x.copy_to_host(), expected_x.astype(dtype), "dX through tanh'", tolerance=1e-4 if dtype == np.float32 else None)
    got = partials.copy_to_host()
    assert list(got[:2]) == [-1.0, -1.0]  # before partial_offset: untouched
    squares = np.sum(grad_weight.copy_to_host().astype(np.float64) ** 2) + np.sum(grad_bias.copy_to_host().astype(np.float64) ** 2)
    assert got[2:].sum() == pytest.approx(squares, rel=1e-6 if dtype == np.float32 else 1e-12)


def test_first_layer_backward_leaves_no_input_gradient():
    x, weight, bias = data(7, 5, 6, np.float64)
    grad_weight = cuda.device_array((5, 6))
    grad_bias = cuda.device_array(0)
    grad_out = np.ones((7, 6))
    dense.dense_backward(
        cuda.to_device(x), cuda.to_device(weight), cuda.to_device(np.ones((7, 6))), cuda.to_device(np.ones((7, 6))),
        cuda.to_device(grad_out), grad_weight, grad_bias, cuda.device_array((7, 0)), None, cuda.to_device(np.zeros(1)), False,
    )
    assert_close(grad_weight.copy_to_host(), x.T @ grad_out, "dW without bias or dX")


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"CUDA_GEMM_TILE": 6, "CUDA_GEMM_THREAD_TILE": 4}, "CUDA_GEMM_THREAD_TILE=4 must divide CUDA_GEMM_TILE=6"),
        ({"CUDA_GEMM_TILE": 128, "CUDA_GEMM_THREAD_TILE": 2}, "blocks of 4096 threads; CUDA allows at most 1024"),
        ({"CUDA_GEMM_TILE": 64, "CUDA_GEMM_TILE_K": 64, "CUDA_GEMM_THREAD_TILE": 4}, "bytes of shared memory"),
    ],
)
def test_tile_settings_are_checked(monkeypatch, settings, message):
    for name, value in settings.items():
        monkeypatch.setattr(config, name, value)
    with pytest.raises(ValueError, match=message):
        dense.gemm_tiles()
