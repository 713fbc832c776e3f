"""Every CUDA update kernel against its CPU twin, for every option set of the CPU rule tests."""

from __future__ import annotations

import numpy as np
import pytest
from cuda_helpers import assert_agrees
from numba import cuda
from test_optim_rules import CASES, DTYPES, PARAMETRIZED

from numbagrad import config, optim
from numbagrad.optim.partition import HostPartition, UpdatePlan
from numbagrad.kernels.cuda.state import fill_rows
from numbagrad.kernels.cuda.update import launch_configuration, launch_update

STEPS = 3
#: 37 elements on 3 blocks of 4 threads: block boundaries crossed, the grid wrapped around three times.
SIZE = 37


def _gradient(size, step, dtype):
    return (np.cos(np.arange(size) * 0.7 + step) * 0.1 + (0.05 if step % 2 else -0.02)).astype(dtype)


def run_twins(name, options, dtype, size=SIZE, steps=STEPS, simulator=True):
    """Step the CPU kernel and the CUDA kernel side by side; compare after every step."""
    spec = optim.get(name).spec
    values = spec.validate(options)
    slots = spec.slots(values)
    rng = np.random.default_rng(7)
    param = rng.standard_normal(size).astype(dtype)
    state = np.array([[slot.initial_value(values)] * size for slot in slots], dtype=dtype).reshape(len(slots), size)
    cpu_hyper = spec.encode(values, [s.initial_value(values) for s in spec.scalars])
    host_hyper = cpu_hyper.copy()
    device_param, device_state = cuda.to_device(param), cuda.to_device(state)
    kernel = spec.cuda_kernel()
    partition = HostPartition.create(spec, 0, [0], [param], values, cpu_hyper)
    plan = UpdatePlan([partition], parallel_threshold=1 << 40)
    for step in range(1, steps + 1):
        grad = _gradient(size, step, dtype)
        partition.step = step
        plan.set_grads([grad])
        plan.run(threads=1)
        state = np.array(partition.read_state(0)).reshape(len(slots), size)
        if spec.prepare is not None:
            spec.prepare(host_hyper, step)
        launch_update(
            kernel, device_param, cuda.to_device(grad), device_state, cuda.to_device(host_hyper), step,
            config.CUDA_THREADS_PER_BLOCK, config.CUDA_MAX_BLOCKS,
        )
        label = f"{name} {options} {np.dtype(dtype)} step {step}"
        assert_agrees(device_param.copy_to_host(), param, simulator, f"{label}: param")
        for k, slot in enumerate(slots):
            assert_agrees(device_state.copy_to_host()[k], state[k], simulator, f"{label}: {slot.name}")
    np.testing.assert_array_equal(host_hyper, cpu_hyper)


def test_every_builtin_has_a_cuda_kernel_generated_from_its_rule():
    for name in CASES:
        spec = optim.get(name).spec
        assert spec.generated and spec.has_cuda_kernel, name
        kernel = spec.cuda_kernel()
        assert kernel.py_func.__module__ == f"_numbagrad_generated_{spec.name}_cuda", name
        assert kernel.py_func.__globals__["COEFFICIENTS"] is spec.coefficients  # the simulator runs them as Python


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, options", PARAMETRIZED)
def test_cuda_kernel_matches_cpu_kernel(name, options, dtype, simulator):
    run_twins(name, options, dtype, simulator=simulator)


@pytest.mark.parametrize("name", sorted(CASES))
def test_one_element_and_one_block(name, simulator):
    run_twins(name, {}, np.float64, size=1, steps=2, simulator=simulator)


def test_launch_configuration_caps_blocks_and_covers_small_arrays():
    assert launch_configuration(1, 256, 4096) == (1, 256)
    assert launch_configuration(257, 256, 4096) == (2, 256)
    assert launch_configuration(10**8, 256, 4096) == (4096, 256)
    assert launch_configuration(37, 4, 3) == (3, 4)


def test_empty_arrays_launch_nothing():
    empty = cuda.to_device(np.zeros(0, np.float32))
    state = cuda.to_device(np.zeros((2, 0), np.float32))

    class NeverLaunched:
        def __getitem__(self, configuration):
            raise AssertionError("an empty array must not be launched")

    launch_update(NeverLaunched(), empty, empty, state, cuda.to_device(np.zeros(9)), 1, 4, 3)


@pytest.mark.parametrize("dtype", DTYPES)
def test_fill_rows_sets_each_row(dtype):
    state = cuda.device_array((3, 37), dtype=dtype)
    blocks, threads = launch_configuration(37, config.CUDA_THREADS_PER_BLOCK, config.CUDA_MAX_BLOCKS)
    fill_rows[blocks, threads](state, cuda.to_device(np.array([0.0, 0.5, 0.1])))
    expected = np.repeat(np.array([0.0, 0.5, 0.1], dtype=dtype)[:, None], 37, axis=1)
    np.testing.assert_array_equal(state.copy_to_host(), expected)
