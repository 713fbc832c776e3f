"""Optimizers over CUDA device arrays: the same trajectory as on the host, state_dict, and every error."""

from __future__ import annotations

import numpy as np
import pytest
from cuda_helpers import assert_agrees
from helpers import awkward_arrays, gradients
from numba import cuda, njit
from test_optim_rules import CASES, DTYPES

from numbagrad import optim
from numbagrad.hyperparameters import Hyperparameter
from numbagrad.optim import Optimizer, OptimizerSpec

# Each optimizer with its defaults and with its richest option set.
OPTION_SETS = [
    pytest.param(name, options, id=f"{name}-{'-'.join(f'{k}={v}' for k, v in options.items()) or 'defaults'}")
    for name, cases in CASES.items()
    for options in {0: cases[0], 1: cases[-1]}.values()
]


def to_device(arrays):
    return [cuda.to_device(a) for a in arrays]


def to_host(arrays):
    return [a.copy_to_host() for a in arrays]


def assert_same_params(device, host, simulator, what=""):
    for i, (d, h) in enumerate(zip(to_host(device), host)):
        assert_agrees(d, h, simulator, f"{what} params[{i}]")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, options", OPTION_SETS)
def test_device_optimizer_follows_the_host_optimizer(name, options, dtype, simulator):
    host = awkward_arrays(dtype)
    device = to_device(host)
    on_host = optim.get(name, host, **options)
    on_device = optim.get(name, device, **options)
    for t in range(1, 4):
        grads = gradients(host, t)
        on_device.step(to_device(grads))
        on_host.step(grads)
        assert_same_params(device, host, simulator, f"{name} step {t}")
    saved, expected = on_device.state_dict(), on_host.state_dict()
    assert saved["param_groups"] == expected["param_groups"]
    for index, entry in expected["state"].items():
        assert saved["state"][index].keys() == entry.keys()
        for key, value in entry.items():
            if isinstance(value, np.ndarray):
                assert isinstance(saved["state"][index][key], np.ndarray)
                assert_agrees(saved["state"][index][key], value, simulator, f"{name} state[{index}][{key!r}]")
            else:
                assert saved["state"][index][key] == value


def test_views_of_one_device_buffer_are_updated_in_place(simulator):
    buffer = cuda.to_device(np.linspace(-1, 1, 50, dtype=np.float32))
    views = [buffer[0:30], buffer[30:50]]
    host = [np.linspace(-1, 1, 50, dtype=np.float32)]
    on_device = optim.Adam(views, lr=0.01)
    on_host = optim.Adam(host, lr=0.01)
    for t in range(1, 3):
        grad = gradients(host, t)[0]
        on_device.step([cuda.to_device(grad[:30]), cuda.to_device(grad[30:])])
        on_host.step([grad])
    assert_agrees(buffer.copy_to_host(), host[0], simulator, "buffer")


def test_host_and_device_params_in_one_optimizer(simulator):
    host = awkward_arrays(np.float32, shapes=((5,), (3, 4))) + awkward_arrays(np.float64, shapes=((6,),))
    mixed = [cuda.to_device(host[0]), host[1].copy(), cuda.to_device(host[2])]
    reference = [a.copy() for a in host]
    on_mixed = optim.RMSprop(mixed, lr=0.01, momentum=0.9, centered=True)
    on_host = optim.RMSprop(reference, lr=0.01, momentum=0.9, centered=True)
    assert sorted(p.on_device for p in on_mixed._partitions) == [False, True, True]
    for t in range(1, 4):
        grads = gradients(reference, t)
        on_mixed.step([cuda.to_device(grads[0]), grads[1], cuda.to_device(grads[2])])
        on_host.step(grads)
    assert_agrees(mixed[0].copy_to_host(), reference[0], simulator, "device float32")
    np.testing.assert_array_equal(mixed[1], reference[1])
    assert_agrees(mixed[2].copy_to_host(), reference[2], simulator, "device float64")


@pytest.mark.parametrize("name", ["adam", "nadam", "adagrad", "sgd", "radam", "rprop", "asgd"])
def test_state_dict_round_trip_continues_identically(name):
    options = {"momentum": 0.9} if name == "sgd" else {}
    host = awkward_arrays(np.float64, seed=3)
    first = to_device(host)
    uninterrupted = optim.get(name, first, **options)
    for t in range(1, 4):
        uninterrupted.step(to_device(gradients(host, t)))
    saved = uninterrupted.state_dict()
    second = to_device(to_host(first))
    resumed = optim.get(name, second, **options)
    resumed.load_state_dict(saved)
    assert resumed.steps == 3
    for t in range(4, 7):
        grads = gradients(host, t)
        uninterrupted.step(to_device(grads))
        resumed.step(to_device(grads))
    for a, b in zip(to_host(first), to_host(second)):
        np.testing.assert_array_equal(a, b)


def test_host_state_dict_loads_into_a_device_optimizer(simulator):
    host = awkward_arrays(np.float32, seed=4)
    on_host = optim.NAdam(host)
    for t in range(1, 3):
        on_host.step(gradients(host, t))
    device = to_device(host)
    on_device = optim.NAdam(device)
    on_device.load_state_dict(on_host.state_dict())
    grads = gradients(host, 3)
    on_host.step(grads)
    on_device.step(to_device(grads))
    assert_same_params(device, host, simulator)
    assert on_device.state_dict()["state"][0]["mu_product"] == on_host.state_dict()["state"][0]["mu_product"]


def test_hyperparameter_changes_reach_the_device(simulator):
    host = awkward_arrays(np.float64, seed=5)
    device = to_device(host)
    on_host = optim.SGD(host, lr=0.1, momentum=0.9, nesterov=True)
    on_device = optim.SGD(device, lr=0.1, momentum=0.9, nesterov=True)
    for t in range(1, 5):
        for opt in (on_host, on_device):
            opt.param_groups[0]["lr"] = 0.1 / t
        grads = gradients(host, t)
        on_host.step(grads)
        on_device.step(to_device(grads))
    assert_same_params(device, host, simulator)


def test_tensor_like_params_with_device_data_read_their_grad(simulator):
    class Holder:
        def __init__(self, data):
            self.data = data
            self.grad = None
            self.requires_grad = True

    holder = Holder(cuda.to_device(np.ones(3)))
    opt = optim.SGD([holder], lr=0.5)
    holder.grad = cuda.to_device(np.full(3, 2.0))
    opt.step()
    np.testing.assert_array_equal(holder.data.copy_to_host(), np.zeros(3))


# --- errors ----------------------------------------------------------------------


def _stepped():
    host = [np.ones(3), np.ones((2, 2), np.float32)]
    params = to_device(host)
    opt = optim.Adam(params, lr=0.1)
    opt.step(to_device(host))
    return params, opt


@pytest.mark.parametrize(
    "make_grads, error, message",
    [
        (lambda: [np.ones(3), cuda.to_device(np.ones((2, 2), np.float32))], TypeError,
         "Adam.step(): grads[0] must be a CUDA device array, like params[0]; got a NumPy array on the host"),
        (lambda: [cuda.to_device(np.ones(3)), [[1.0, 1.0], [1.0, 1.0]]], TypeError, "grads[1] must be a CUDA device array, like params[1]; got list"),
        (lambda: to_device([np.ones(3), np.ones(4, np.float32)]), ValueError, "grads[1] has shape (4,); params[1] has shape (2, 2)"),
        (lambda: to_device([np.ones(3), np.ones((2, 2))]), TypeError, "grads[1] has dtype float64; params[1] has dtype float32"),
        (lambda: [cuda.to_device(np.ones((3, 2)))[:, 0], cuda.to_device(np.ones((2, 2), np.float32))], ValueError,
         "grads[0] is a CUDA device array that is not C-contiguous"),
        (lambda: to_device([np.ones(3)]), ValueError, "got 1 gradient arrays for 2 parameters"),
    ],
)
def test_bad_device_grads_change_nothing(make_grads, error, message):
    params, opt = _stepped()
    before_params = to_host(params)
    before = opt.state_dict()
    with pytest.raises(error) as raised:
        opt.step(make_grads())
    assert message in str(raised.value)
    for p, q in zip(to_host(params), before_params):
        np.testing.assert_array_equal(p, q)
    after = opt.state_dict()
    assert after["state"][0]["step"] == 1
    for index in before["state"]:
        for key in ("exp_avg", "exp_avg_sq"):
            np.testing.assert_array_equal(after["state"][index][key], before["state"][index][key])


def test_device_grad_for_a_host_param_is_refused():
    opt = optim.SGD([np.ones(3)])
    with pytest.raises(TypeError, match=r"grads\[0\] must be a NumPy array; got"):
        opt.step([cuda.to_device(np.ones(3))])


@pytest.mark.parametrize(
    "make_params, error, message",
    [
        (lambda: cuda.to_device(np.zeros(3)), TypeError, "params must be a list of arrays or of parameter-group dicts; got a single"),
        (lambda: [cuda.to_device(np.zeros(3, np.int64))], TypeError, "params[0] has dtype int64; only float32 and float64"),
        (lambda: [cuda.to_device(np.zeros((4, 4)))[:, 1]], ValueError, "params[0] is a CUDA device array that is not C-contiguous"),
    ],
)
def test_bad_device_params(make_params, error, message):
    with pytest.raises(error) as raised:
        optim.SGD(make_params())
    assert message in str(raised.value)


def test_device_params_sharing_memory_are_refused():
    buffer = cuda.to_device(np.zeros(10))
    with pytest.raises(ValueError, match=r"params\[0\] and params\[1\] share memory"):
        optim.SGD([buffer[:6], buffer[4:]])
    optim.SGD([buffer[:5], buffer[5:]])


def _sign_sgd_spec(**extra):
    @njit(error_model="numpy", cache=False)
    def sign_sgd_update(param, grad, state, hyper, step, start, stop):
        lr = param.dtype.type(hyper[0])
        p = param[start:stop]
        g = grad[start:stop]
        for i in range(p.size):
            p[i] -= lr * np.sign(g[i])

    return OptimizerSpec(name="sign_sgd", update=sign_sgd_update, hyperparameters=(Hyperparameter("lr", 1e-3, minimum=0.0),), **extra)


def test_optimizer_without_cuda_kernel_names_itself_and_its_provider(fresh_registry):
    spec = _sign_sgd_spec()
    optim.register(spec)
    params = [np.ones(2), cuda.to_device(np.ones(3))]
    with pytest.raises(TypeError) as raised:
        optim.get("sign_sgd", params)
    message = str(raised.value)
    assert "params[1] is a CUDA device array, but optimizer 'sign_sgd' (provided by a plugin registered in code)" in message
    assert "has no CUDA kernel (its declaration's cuda_update is None)" in message
    optim.get("sign_sgd", [np.ones(2)]).step([np.ones(2)])  # the host path still works


def test_unregistered_declaration_without_cuda_kernel(fresh_registry):
    with pytest.raises(TypeError, match=r"optimizer 'sign_sgd' \(provided by a declaration that is not registered\)"):
        Optimizer.from_spec(_sign_sgd_spec(), [cuda.to_device(np.ones(3))])


def test_cuda_kernel_path_that_does_not_import_is_reported_at_bind(fresh_registry):
    spec = _sign_sgd_spec(cuda_update="numbagrad.kernels.cuda.state:no_such_kernel")
    opt = Optimizer.from_spec(spec)
    with pytest.raises(TypeError, match=r"optimizer 'sign_sgd': cuda_update 'numbagrad.kernels.cuda.state:no_such_kernel' cannot be imported"):
        opt.bind([cuda.to_device(np.ones(3))])
    assert not opt.bound


def test_simulator_refuses_foreign_cuda_array_interface(simulator):
    if not simulator:
        pytest.skip("the simulator's limitation only")

    class Exporter:
        __cuda_array_interface__ = {"shape": (3,), "typestr": "<f8", "data": (0, False), "version": 3}

    with pytest.raises(TypeError, match="Numba's CUDA simulator cannot wrap a Exporter"):
        optim.SGD([Exporter()])


# --- a real GPU only ------------------------------------------------------------------


@pytest.mark.gpu
def test_cuda_array_interface_exporters_are_optimized_in_place():
    device = cuda.to_device(np.ones(1000, np.float32))

    class Exporter:
        def __init__(self, array, readonly=False):
            self.array = array
            interface = dict(array.__cuda_array_interface__)
            interface["data"] = (interface["data"][0], readonly)
            self.__cuda_array_interface__ = interface

    opt = optim.SGD([Exporter(device)], lr=0.5)
    opt.step([Exporter(cuda.to_device(np.full(1000, 2.0, np.float32)))])
    np.testing.assert_array_equal(device.copy_to_host(), np.zeros(1000, np.float32))
    with pytest.raises(ValueError, match=r"params\[0\] is a read-only CUDA array"):
        optim.SGD([Exporter(cuda.to_device(np.ones(3)), readonly=True)])


@pytest.mark.gpu
@pytest.mark.parametrize("name", sorted(CASES))
def test_million_parameters_with_the_default_launch_configuration(name):
    from numbagrad import config

    assert config.CUDA_THREADS_PER_BLOCK >= 32
    host = [np.linspace(-1, 1, 1_000_003, dtype=np.float32)]
    device = to_device(host)
    on_host, on_device = optim.get(name, host), optim.get(name, device)
    for t in range(1, 4):
        grads = gradients(host, t)
        on_host.step(grads)
        on_device.step(to_device(grads))
    assert_agrees(device[0].copy_to_host(), host[0], False, name)
