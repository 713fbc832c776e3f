"""The tensor-wise optimizers' CUDA twins (Adafactor, Muon) against their CPU kernels, and a model trained by role."""

from __future__ import annotations

import numpy as np
import pytest
from numba import cuda

import numbagrad
from numbagrad import config, optim

#: Sums and matrix products in another order than the CPU's (and, on a GPU, fused multiply-adds).
TOLERANCE = {np.float32: 2e-5, np.float64: 1e-11}


@pytest.fixture(autouse=True)
def small_launches(monkeypatch):
    monkeypatch.setattr(config, "CUDA_THREADS_PER_BLOCK", 8)
    monkeypatch.setattr(config, "CUDA_MAX_BLOCKS", 3)


CASES = [
    ("adafactor", [(5, 7), (7,), (2, 3, 4)], {}),
    ("adafactor", [(6, 4), (3,)], {"lr": 0.05, "weight_decay": 0.1, "eps": (1e-20, 1e-3), "d": 2.0, "maximize": True, "beta2_decay": -0.5}),
    # Few and small products: the simulator runs each thread of a 16 x 16 tile as Python.
    ("muon", [(3, 5), (6, 2)], {"ns_steps": 2}),
    ("muon", [(4, 4), (2, 5)], {"nesterov": False, "adjust_lr_fn": "match_rms_adamw", "ns_steps": 1, "weight_decay": 0.0, "matrix_layout": "in_out"}),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, shapes, options", CASES, ids=lambda v: str(v)[:40])
def test_cuda_twin_follows_the_cpu_kernel(name, shapes, options, dtype):
    rng = np.random.default_rng(0)
    host = [rng.standard_normal(s).astype(dtype) for s in shapes]
    device = [cuda.to_device(h) for h in host]
    on_host = optim.get(name, host, **options)
    on_device = optim.get(name, device, **options)
    for _ in range(2):
        grads = [rng.standard_normal(s).astype(dtype) for s in shapes]
        on_host.step(grads)
        on_device.step([cuda.to_device(g) for g in grads])
    tolerance = TOLERANCE[dtype]
    for h, d in zip(host, device):
        np.testing.assert_allclose(d.copy_to_host(), h, rtol=tolerance, atol=tolerance)
    host_state, device_state = on_host.state_dict()["state"], on_device.state_dict()["state"]
    for index, entry in host_state.items():
        for key, value in entry.items():
            np.testing.assert_allclose(device_state[index][key], value, rtol=tolerance, atol=tolerance, err_msg=key)


def test_a_model_on_the_gpu_trains_its_weights_with_muon_and_its_biases_with_adafactor():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 6)).astype(np.float64)
    y = (X[:, 0] > 0).astype(int)

    def build(device):
        model = numbagrad.Sequential([numbagrad.Dense(3, activation="tanh"), numbagrad.Dense(2, activation="softmax")], input_dim=6, dtype=np.float64, device=device)
        model.compile(optimizer={"weights": {"name": "muon", "lr": 0.02, "ns_steps": 1}, "biases": "adafactor"}, loss="sparse_categorical_crossentropy")
        return model

    on_host, on_device = build("cpu"), build("cuda")
    on_host.fit(X, y, epochs=1, batch_size=8, verbose=0, seed=1)
    on_device.fit(X, y, epochs=1, batch_size=8, verbose=0, seed=1)
    np.testing.assert_allclose(on_device.parameters.copy_to_host(), on_host.parameters, rtol=1e-10, atol=1e-12)


def test_an_update_that_overflows_on_the_gpu_is_rolled_back_as_on_the_cpu():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)

    def run(device):
        model = numbagrad.Sequential([numbagrad.Dense(3, activation="tanh"), numbagrad.Dense(2, activation="softmax")], input_dim=4, device=device)
        model.compile({"name": "sgd", "lr": 1e-3}, "sparse_categorical_crossentropy", schedule={"name": "exponential", "gamma": 1e6})
        with pytest.raises(numbagrad.NonFiniteLossError, match="the optimizer's update at epoch 1"):
            model.fit(X, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
        parameters = model.parameters if device == "cpu" else model.parameters.copy_to_host()
        return parameters, len(model.epoch_losses)

    (on_host, done_host), (on_device, done_device) = run("cpu"), run("cuda")
    assert done_device == done_host
    assert np.isfinite(on_device).all()
    # float32 with learning rates growing a millionfold per step: rounding apart by the last step.
    np.testing.assert_allclose(on_device, on_host, rtol=1e-3)


def test_optimizer_state_that_overflows_on_the_gpu_counts_as_an_overflow():
    """Adam's second moment overflows in float32 (g**2 > 3.4e38) while the weights stay finite: the
    GPU loop rolls the step back and raises, as the CPU loop does."""
    rng = np.random.default_rng(0)
    X = (rng.standard_normal((32, 4)) * 1e25).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)

    def run(device):
        model = numbagrad.Sequential([numbagrad.Dense(3), numbagrad.Dense(2, activation="softmax")], input_dim=4, device=device)
        model.compile({"name": "adam", "lr": 1e-3}, "sparse_categorical_crossentropy")
        with pytest.raises(numbagrad.NonFiniteLossError):
            model.fit(X, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
        parameters = model.parameters if device == "cpu" else model.parameters.copy_to_host()
        states = [v for entry in model.training.optimizer.state_dict()["state"].values() for k, v in entry.items() if k != "step"]
        return parameters, states

    host, host_states = run("cpu")
    device, device_states = run("cuda")
    assert np.isfinite(device).all() and all(np.isfinite(s).all() for s in device_states)
    np.testing.assert_allclose(device, host, rtol=1e-5)
