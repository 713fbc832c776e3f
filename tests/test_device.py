"""numbagrad.device: what is missing when CUDA is asked for, and nothing imported before that."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from numbagrad import config, device, optim
from numbagrad.device import CudaStatus, is_cuda_array, require_cuda
from numbagrad.errors import CudaUnavailableError
from numbagrad.optim import OptimizerSpec


class FakeDeviceArray:
    """Looks like a CUDA array to numbagrad, without any CUDA."""

    def __init__(self, shape=(3,)):
        self.__cuda_array_interface__ = {"shape": shape, "typestr": "<f8", "data": (0, False), "version": 3}


@pytest.fixture
def status(monkeypatch):
    """Replace what cuda_status finds with a chosen CudaStatus."""

    def use(found: CudaStatus):
        monkeypatch.setattr(device, "cuda_status", lambda: found)

    return use


def test_importing_numbagrad_does_not_import_numba_cuda():
    code = "import sys, numbagrad, numbagrad.device, numbagrad.optim; print('numba.cuda' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_is_cuda_array_needs_no_cuda():
    assert not is_cuda_array(np.zeros(3))
    assert not is_cuda_array([1.0])
    assert is_cuda_array(FakeDeviceArray())

    class RaisingProperty:  # as PyTorch's CPU tensors do
        @property
        def __cuda_array_interface__(self):
            raise RuntimeError("not a CUDA tensor")

    assert not is_cuda_array(RaisingProperty())


@pytest.mark.parametrize(
    "found, message",
    [
        (CudaStatus(False, False, "numba-cuda is not installed (import numba.cuda failed: x); install it with: pip install 'numbagrad[cuda]'"),
         "Adam: params[0] is a CUDA device array, but CUDA cannot be used here: numba-cuda is not installed"),
        (CudaStatus(False, False, "no usable CUDA driver or GPU: CUDA driver library cannot be found."),
         "but CUDA cannot be used here: no usable CUDA driver or GPU: CUDA driver library cannot be found."),
    ],
)
def test_require_cuda_says_what_is_missing(status, found, message):
    status(found)
    with pytest.raises(CudaUnavailableError) as raised:
        require_cuda("Adam: params[0] is a CUDA device array")
    assert message in str(raised.value)
    assert issubclass(CudaUnavailableError, RuntimeError)


def test_require_cuda_refuses_the_simulator_when_a_gpu_is_needed(status):
    status(CudaStatus(True, True, device="CUDA simulator"))
    with pytest.raises(CudaUnavailableError, match="NUMBA_ENABLE_CUDASIM=1 makes numba.cuda Numba's CUDA simulator"):
        require_cuda("the GPU benchmarks", allow_simulator=False)
    assert device.cuda_available(allow_simulator=True) and not device.cuda_available()
    assert not CudaStatus(True, True).gpu and CudaStatus(True, False).gpu


def test_missing_numba_cuda_names_the_extra(monkeypatch):
    monkeypatch.setattr(device, "simulator_enabled", lambda: False)
    monkeypatch.setitem(sys.modules, "numba.cuda", None)
    device.cuda_status.cache_clear()
    try:
        found = device.cuda_status()
    finally:
        device.cuda_status.cache_clear()
    assert not found.usable
    assert "numba-cuda is not installed" in found.reason and "pip install 'numbagrad[cuda]'" in found.reason


def test_cuda_status_here_is_consistent():
    found = device.cuda_status()
    assert found.usable == bool(found.device) and found.usable != bool(found.reason)
    assert device.cuda_available() == found.gpu


def test_device_params_without_cuda_fail_before_binding(status):
    status(CudaStatus(False, False, "no usable CUDA driver or GPU: no driver"))
    opt = optim.Adam()
    with pytest.raises(CudaUnavailableError, match=r"Adam: params\[1\] is a CUDA device array, but CUDA cannot be used here: no usable"):
        opt.bind([np.zeros(2), FakeDeviceArray()])
    assert not opt.bound


@pytest.mark.parametrize(
    "value, message",
    [("adam_update", "cuda_update must be 'package.module:kernel'"), ("a.b:c d", "cuda_update must be 'package.module:kernel'"),
     (3, "cuda_update must be a @cuda.jit kernel, its import path or None")],
)
def test_bad_cuda_update_declarations(value, message):
    spec = optim.get("adam").spec
    bad = OptimizerSpec(name="bad", update=spec.update_kernel(), hyperparameters=spec.hyperparameters, state=spec.state, cuda_update=value)
    with pytest.raises(TypeError, match=message):
        bad.check_declaration()


def test_cuda_kernel_import_errors_name_the_optimizer():
    spec = optim.get("adam").spec
    bad = OptimizerSpec(name="bad", update=spec.update_kernel(), hyperparameters=spec.hyperparameters, cuda_update="numbagrad.no_such_module:kernel")
    bad.check_declaration()  # well-formed; importing it is what fails
    with pytest.raises(TypeError, match=r"optimizer 'bad': cuda_update 'numbagrad.no_such_module:kernel' cannot be imported: ModuleNotFoundError"):
        bad.cuda_kernel()
    assert OptimizerSpec(name="host_only", update=spec.update_kernel(), hyperparameters=()).cuda_kernel() is None


@pytest.mark.parametrize(
    "raw, message",
    [("abc", "NUMBAGRAD_CUDA_THREADS_PER_BLOCK must be an integer in [1, 1024]; got 'abc'"),
     ("2048", "NUMBAGRAD_CUDA_THREADS_PER_BLOCK must be an integer in [1, 1024]; got 2048"),
     ("0", "NUMBAGRAD_CUDA_THREADS_PER_BLOCK must be an integer in [1, 1024]; got 0")],
)
def test_launch_tunables_from_the_environment_are_checked(monkeypatch, raw, message):
    monkeypatch.setenv("NUMBAGRAD_CUDA_THREADS_PER_BLOCK", raw)
    with pytest.raises(ValueError) as raised:
        config._int_from_environment("CUDA_THREADS_PER_BLOCK", 256, 1, 1024)
    assert message in str(raised.value)
    monkeypatch.setenv("NUMBAGRAD_CUDA_THREADS_PER_BLOCK", "128")
    assert config._int_from_environment("CUDA_THREADS_PER_BLOCK", 256, 1, 1024) == 128


def test_a_model_asked_onto_cuda_without_cuda_says_what_is_missing(status, tmp_path):
    import numbagrad
    from numbagrad import Dense, Sequential

    status(CudaStatus(False, False, "no usable CUDA driver or GPU: no driver"))
    expected = r"Sequential.to\('cuda'\): the model's parameters go to the GPU, but CUDA cannot be used here: no usable CUDA driver"
    with pytest.raises(CudaUnavailableError, match=expected):
        Sequential([Dense(2)], input_dim=3, device="cuda")
    model = Sequential([Dense(2)], input_dim=3).compile("adam", "mse")
    parameters, optimizer = model.parameters, model.training.optimizer
    with pytest.raises(CudaUnavailableError, match=expected):
        model.to("cuda")
    assert model.device == "cpu" and model.parameters is parameters and model.training.optimizer is optimizer
    model.save(tmp_path / "model.ngm")
    with pytest.raises(CudaUnavailableError, match=expected):
        numbagrad.load_model(tmp_path / "model.ngm", device="cuda")
    with pytest.raises(ValueError, match=r"load_model: device must be 'cpu' or 'cuda'; got 'tpu'"):
        numbagrad.load_model(tmp_path / "model.ngm", device="tpu")
    assert numbagrad.load_model(tmp_path / "model.ngm").device == "cpu"


def _declarations(**cuda):
    from numbagrad.activations import ActivationSpec
    from numbagrad.losses import LossSpec
    from numbagrad.metrics import MetricSpec
    from numbagrad.registry import get_registry

    relu = get_registry().lookup("activation", "relu").spec
    mse = get_registry().lookup("loss", "mse").spec
    accuracy = get_registry().lookup("metric", "accuracy").spec
    return {
        "activation": lambda value: ActivationSpec(name="bad", forward=relu.forward, backward=relu.backward, cuda_forward=value, cuda_backward=value),
        "loss": lambda value: LossSpec(name="bad", kernel=mse.kernel, cuda_kernel=value),
        "metric": lambda value: MetricSpec(name="bad", update=accuracy.update, totals=2, result=accuracy.result, cuda_update=value),
    }


@pytest.mark.parametrize("kind", ["activation", "loss", "metric"])
@pytest.mark.parametrize(
    "value, message",
    [("module_without_colon", "must be 'package.module:name'; got 'module_without_colon'"),
     ("a.b:c d", "must be 'package.module:name'"),
     (3, "must be a CUDA function, its import path 'package.module:name' or None; got 3")],
)
def test_bad_cuda_fields_of_layer_declarations(kind, value, message):
    with pytest.raises(TypeError, match=rf"{kind} 'bad': cuda_\w+ {message}"):
        _declarations()[kind](value).check_declaration()


def test_cuda_paths_that_do_not_import_name_the_declaration():
    make = _declarations()
    path = "numbagrad.no_such_module:function"
    with pytest.raises(TypeError, match=rf"activation 'bad': cuda_forward '{path}' cannot be imported: ModuleNotFoundError"):
        make["activation"](path).cuda_functions()
    with pytest.raises(TypeError, match=rf"loss 'bad': cuda_kernel '{path}' cannot be imported"):
        make["loss"](path).cuda_row()
    with pytest.raises(TypeError, match=rf"metric 'bad': cuda_update '{path}' cannot be imported"):
        make["metric"](path).cuda_kernel()


def test_an_activation_declares_both_cuda_functions_or_neither():
    from numbagrad.activations import ActivationSpec
    from numbagrad.registry import get_registry

    relu = get_registry().lookup("activation", "relu").spec
    half = ActivationSpec(name="half", forward=relu.forward, backward=relu.backward, cuda_forward=relu.cuda_forward)
    with pytest.raises(TypeError, match="activation 'half': declare both cuda_forward and cuda_backward, or neither"):
        half.check_declaration()
