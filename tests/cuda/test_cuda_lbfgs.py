"""L-BFGS on CUDA device arrays: the same steps as on host arrays; a GPU model refuses it clearly."""

from __future__ import annotations

import numpy as np
import pytest
from numba import cuda

import numbagrad
from numbagrad import optim


def problem(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((30, 6)), rng.standard_normal(30)


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_device_arrays_take_the_host_steps(line_search_fn):
    A, b = problem()
    host = [np.zeros((2, 3))]
    device = [cuda.to_device(np.zeros((2, 3)))]

    def closure_for(params, on_device):
        def closure():
            x = (params[0].copy_to_host() if on_device else params[0]).reshape(-1)
            residual = A @ x - b
            grad = (A.T @ residual).reshape(2, 3)
            return 0.5 * residual @ residual, [cuda.to_device(grad) if on_device else grad]

        return closure

    on_host = optim.LBFGS(host, lr=1.0, max_iter=10, line_search_fn=line_search_fn)
    on_device = optim.LBFGS(device, lr=1.0, max_iter=10, line_search_fn=line_search_fn)
    for _ in range(2):
        assert on_device.step(closure_for(device, True)) == on_host.step(closure_for(host, False))
    np.testing.assert_array_equal(device[0].copy_to_host(), host[0])
    saved = on_device.state_dict()["state"][0]
    np.testing.assert_array_equal(saved["d"], on_host.state_dict()["state"][0]["d"])


def test_host_and_device_arrays_together_are_refused():
    with pytest.raises(TypeError, match="give host arrays only or CUDA device arrays only; got both"):
        optim.LBFGS([np.zeros(2), cuda.to_device(np.zeros(2))])


def test_a_gpu_model_trains_with_lbfgs_as_the_cpu_model_does():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((24, 3))
    y = X @ np.array([[1.0, -1.0], [0.5, 0.0], [0.0, 2.0]])

    def build(device):
        model = numbagrad.Sequential([numbagrad.Dense(2)], input_dim=3, dtype=np.float64, device=device)
        model.compile({"name": "lbfgs", "max_iter": 5, "line_search_fn": "strong_wolfe"}, "mse", metrics=["mae"])
        return model

    on_host, on_device = build("cpu"), build("cuda")
    history_host = on_host.fit(X, y, batch_size=24, epochs=2, verbose=0)
    history_device = on_device.fit(X, y, batch_size=24, epochs=2, verbose=0)
    np.testing.assert_allclose(on_device.parameters.copy_to_host(), on_host.parameters, rtol=1e-10, atol=1e-12)
    for key in ("loss", "mae"):
        np.testing.assert_allclose(history_device.history[key], history_host.history[key], rtol=1e-10)
    assert on_device.training.optimizer.steps == on_host.training.optimizer.steps == 2
