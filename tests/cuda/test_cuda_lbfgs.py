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


def test_a_gpu_model_refuses_lbfgs_before_anything_moves():
    model = numbagrad.Sequential([numbagrad.Dense(2)], input_dim=3, dtype=np.float64)
    model.compile("lbfgs", "mse")
    with pytest.raises(TypeError, match=r"LBFGS trains a model on the CPU only"):
        model.to("cuda")
    assert model.device == "cpu"
