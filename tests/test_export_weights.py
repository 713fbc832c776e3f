"""safetensors weights in PyTorch's ``nn.Sequential`` layout, and the PyTorch mirror.

PyTorch is the oracle: it loads the file with ``load_state_dict`` and predicts
what ``model.predict`` does. Every malformed file is refused with
``ModelFileError`` naming the path, and leaves the model as it was.
"""

from __future__ import annotations

import json
import struct
import sys

import numpy as np
import pytest

import numbagrad as ng
from numbagrad.export import load_weights, run_export, save_weights, state_dict, tensor_shapes, torch_module

safetensors_numpy = pytest.importorskip("safetensors.numpy")

ACTIVATIONS = [
    "linear",
    "relu",
    {"name": "leaky_relu", "alpha": 0.2},
    "elu",
    {"name": "elu", "alpha": 0.35},
    "selu",
    "gelu",
    "gelu_tanh",
    "sigmoid",
    "tanh",
    "softplus",
    {"name": "softplus", "beta": 2.0, "threshold": 1.0},
    "silu",
    "softmax",
]
TOLERANCE = {"float32": 1e-6, "float64": 1e-12}


def label(activation):
    return activation if isinstance(activation, str) else "-".join(f"{k}={v}" for k, v in activation.items())


def inputs(rows, columns, dtype, seed=1):
    return (3.0 * np.random.default_rng(seed).standard_normal((rows, columns))).astype(dtype)


def network(dtype="float64", activation="tanh", seed=0):
    layers = [ng.Dense(5, activation), ng.Dense(4, "relu", use_bias=False), ng.Dense(3, "softmax")]
    model = ng.Sequential(layers, input_dim=6, dtype=dtype, seed=seed)
    weights = model.get_weights()
    # Nonzero biases, so that a bias in the wrong place shows.
    model.set_weights([w + 0.1 * np.arange(w.size).reshape(w.shape) / w.size for w in weights])
    return model


def assert_close(got, expected, dtype):
    tolerance = TOLERANCE[str(np.dtype(dtype))]
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64), rtol=tolerance, atol=tolerance)


# --- layout and round trip --------------------------------------------------------------------------------------------


def test_the_layout_is_pytorchs(tmp_path):
    model = network()
    path = model.save_weights(tmp_path / "w.safetensors")
    assert path == tmp_path / "w.safetensors"
    tensors = safetensors_numpy.load_file(str(path))
    assert list(tensor_shapes(model)) == ["0.weight", "0.bias", "2.weight", "4.weight", "4.bias"]
    assert set(tensors) == set(tensor_shapes(model))
    np.testing.assert_array_equal(tensors["0.weight"], model.layers[0].weight.T)
    np.testing.assert_array_equal(tensors["2.weight"], model.layers[1].weight.T)
    np.testing.assert_array_equal(tensors["4.bias"], model.layers[2].bias)
    assert tensors["0.weight"].shape == (5, 6) and tensors["0.weight"].dtype == np.float64
    from safetensors import safe_open

    with safe_open(str(path), framework="np") as file:
        metadata = file.metadata()
    assert metadata["format"] == "pt"
    assert json.loads(metadata["numbagrad.config"]) == model.get_config()
    assert ng.Sequential.from_config(json.loads(metadata["numbagrad.config"])).get_config() == model.get_config()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.safetensors"]  # no temporary left


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip(dtype, tmp_path):
    model = network(dtype)
    save_weights(model, tmp_path / "w.safetensors")
    other = network(dtype, seed=9)
    assert not np.array_equal(other.parameters, model.parameters)
    other.load_weights(tmp_path / "w.safetensors")
    np.testing.assert_array_equal(other.parameters, model.parameters)


@pytest.mark.parametrize("stored, model_dtype", [("float64", "float32"), ("float32", "float64")])
def test_either_float_dtype_loads_converted(stored, model_dtype, tmp_path):
    source = network(stored)
    save_weights(source, tmp_path / "w.safetensors")
    model = network(model_dtype, seed=9)
    model.load_weights(tmp_path / "w.safetensors")
    assert model.parameters.dtype == np.dtype(model_dtype)
    np.testing.assert_array_equal(model.parameters, source.parameters.astype(model_dtype))


# --- PyTorch as the oracle -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_pytorch_loads_the_file_into_its_sequential(dtype, tmp_path):
    torch = pytest.importorskip("torch")
    import safetensors.torch

    model = network(dtype, activation={"name": "leaky_relu", "alpha": 0.2})
    model.save_weights(tmp_path / "w.safetensors")
    nn = torch.nn
    torch_dtype = getattr(torch, dtype)
    mirror = nn.Sequential(
        nn.Linear(6, 5, dtype=torch_dtype), nn.LeakyReLU(0.2),
        nn.Linear(5, 4, bias=False, dtype=torch_dtype), nn.ReLU(),
        nn.Linear(4, 3, dtype=torch_dtype), nn.Softmax(dim=-1),
    )
    mirror.load_state_dict(safetensors.torch.load_file(str(tmp_path / "w.safetensors")))
    X = inputs(50, 6, dtype)
    with torch.no_grad():
        got = mirror(torch.from_numpy(X)).numpy()
    assert_close(got, model.predict(X), dtype)


def test_a_file_pytorch_saved_loads_into_numbagrad(tmp_path):
    torch = pytest.importorskip("torch")
    import safetensors.torch

    model = network("float64")
    mirror = torch_module(model)
    torch.manual_seed(3)
    for parameter in mirror.parameters():
        torch.nn.init.normal_(parameter)
    safetensors.torch.save_file(mirror.state_dict(), str(tmp_path / "torch.safetensors"))
    model.load_weights(tmp_path / "torch.safetensors")
    X = inputs(20, 6, "float64")
    with torch.no_grad():
        assert_close(model.predict(X), mirror(torch.from_numpy(X)).numpy(), "float64")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", ACTIVATIONS, ids=label)
def test_torch_module_equals_predict(activation, dtype):
    torch = pytest.importorskip("torch")
    model = ng.Sequential([ng.Dense(7, activation), ng.Dense(4, activation, use_bias=False), ng.Dense(3, activation)], input_dim=5, dtype=dtype)
    mirror = torch_module(model)
    assert len(mirror) == 6 and not mirror.training
    assert all(p.dtype == getattr(torch, dtype) for p in mirror.parameters())
    X = inputs(64, 5, dtype)
    with torch.no_grad():
        assert_close(mirror(torch.from_numpy(X)).numpy(), model.predict(X), dtype)


def test_torch_module_has_the_activations_options():
    torch = pytest.importorskip("torch")
    layers = [
        ng.Dense(2, {"name": "leaky_relu", "alpha": 0.3}),
        ng.Dense(2, {"name": "elu", "alpha": 0.4}),
        ng.Dense(2, "gelu_tanh"),
        ng.Dense(2, {"name": "softplus", "beta": 2.5, "threshold": 7.0}),
        ng.Dense(2, "swish"),
        ng.Dense(2),
    ]
    mirror = torch_module(ng.Sequential(layers, input_dim=2))
    nn = torch.nn
    assert isinstance(mirror[1], nn.LeakyReLU) and mirror[1].negative_slope == 0.3
    assert isinstance(mirror[3], nn.ELU) and mirror[3].alpha == 0.4
    assert isinstance(mirror[5], nn.GELU) and mirror[5].approximate == "tanh"
    assert isinstance(mirror[7], nn.Softplus) and (mirror[7].beta, mirror[7].threshold) == (2.5, 7.0)
    assert isinstance(mirror[9], nn.SiLU) and isinstance(mirror[11], nn.Identity)


def test_torch_module_leaves_torchs_random_generator_alone():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    torch_module(network())
    assert torch.equal(torch.rand(3), expected)


def test_torch_module_refuses_a_plugin_activation(fresh_registry):
    pytest.importorskip("torch")
    from numba import njit

    from numbagrad.activations import ActivationSpec, register

    @njit(cache=False)
    def square_forward(z, out, params):
        for i in range(z.shape[0]):
            for j in range(z.shape[1]):
                out[i, j] = z[i, j] * z[i, j]

    @njit(cache=False)
    def square_backward(z, out, grad_out, grad_in, params):
        for i in range(z.shape[0]):
            for j in range(z.shape[1]):
                grad_in[i, j] = 2 * z[i, j] * grad_out[i, j]

    register(ActivationSpec(name="square", forward=square_forward, backward=square_backward))
    model = ng.Sequential([ng.Dense(2, "square")], input_dim=2)
    with pytest.raises(ValueError, match=r"layer 0 \('dense_0'\) uses the activation 'square'.*PyTorch"):
        torch_module(model)


def test_torch_module_without_torch(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ModuleNotFoundError, match="torch_module needs the 'torch' package.*pip install torch"):
        torch_module(network())


# --- untrusted files: every error leaves the model unchanged ---------------------------------------------------------------


def header_and_data(path):
    raw = path.read_bytes()
    size = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8 : 8 + size]), raw[8 + size :]


def write_with_header(path, header, data):
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)


def tensors_of(model, **changes):
    tensors = state_dict(model)
    tensors.update(changes)
    return {k: v for k, v in tensors.items() if v is not None}


@pytest.fixture
def model():
    return network("float32")


def refused(model, path, message):
    before = model.parameters.copy()
    with pytest.raises(ng.ModelFileError, match=message) as caught:
        model.load_weights(path)
    assert str(path) in str(caught.value)
    np.testing.assert_array_equal(model.parameters, before)


def test_wrong_shape(model, tmp_path):
    path = tmp_path / "w.safetensors"
    safetensors_numpy.save_file(tensors_of(model, **{"0.weight": np.zeros((6, 5), np.float32)}), str(path))
    refused(model, path, r"tensor '0.weight' has shape \(6, 5\); the model needs \(5, 6\)")


def test_missing_tensor(model, tmp_path):
    path = tmp_path / "w.safetensors"
    safetensors_numpy.save_file(tensors_of(model, **{"4.bias": None}), str(path))
    refused(model, path, r"missing \['4.bias'\]")


def test_extra_tensor(model, tmp_path):
    path = tmp_path / "w.safetensors"
    safetensors_numpy.save_file(tensors_of(model, **{"2.bias": np.zeros(4, np.float32)}), str(path))
    refused(model, path, r"unexpected \['2.bias'\]")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values(model, tmp_path, bad):
    weight = state_dict(model)["2.weight"].copy()
    weight[1, 2] = bad
    path = tmp_path / "w.safetensors"
    safetensors_numpy.save_file(tensors_of(model, **{"2.weight": weight}), str(path))
    refused(model, path, "tensor '2.weight' holds NaN or infinity")


def test_float64_values_beyond_float32(model, tmp_path):
    tensors = {k: v.astype(np.float64) for k, v in state_dict(model).items()}
    tensors["0.bias"][0] = 1e300
    path = tmp_path / "w.safetensors"
    safetensors_numpy.save_file(tensors, str(path))
    refused(model, path, "beyond the range of the model's float32")


@pytest.mark.parametrize("dtype, name", [(np.int32, "I32"), (np.int64, "I64"), (np.float16, "F16")])
def test_other_dtypes(model, tmp_path, dtype, name):
    tensors = state_dict(model)
    tensors["0.bias"] = tensors["0.bias"].astype(dtype)
    path = tmp_path / "w.safetensors"
    safetensors_numpy.save_file(tensors, str(path))
    refused(model, path, f"tensor '0.bias' has dtype {name}; load_weights reads F32 or F64")


def test_truncated_file(model, tmp_path):
    path = tmp_path / "w.safetensors"
    save_weights(model, path)
    path.write_bytes(path.read_bytes()[:-7])
    refused(model, path, "not a readable safetensors file")


def test_a_header_declaring_more_than_the_file_holds(model, tmp_path):
    path = tmp_path / "w.safetensors"
    save_weights(model, path)
    header, data = header_and_data(path)
    header["0.weight"]["data_offsets"][1] += 4_000_000
    write_with_header(path, header, data)
    refused(model, path, "not a readable safetensors file")
    path.write_bytes(struct.pack("<Q", 2**40) + b"{}")
    refused(model, path, "not a readable safetensors file")


def test_corrupted_bytes(model, tmp_path):
    path = tmp_path / "w.safetensors"
    save_weights(model, path)
    raw = bytearray(path.read_bytes())
    raw[9:20] = b"\xff" * 11  # inside the JSON header
    path.write_bytes(bytes(raw))
    refused(model, path, "not a readable safetensors file")


@pytest.mark.parametrize("content", [b"", b"hello", b"PK\x03\x04 a zip file, say", b"\x00" * 64])
def test_not_a_safetensors_file(model, tmp_path, content):
    path = tmp_path / "w.safetensors"
    path.write_bytes(content)
    refused(model, path, "not a readable safetensors file")


def test_bad_paths(model, tmp_path):
    with pytest.raises(FileNotFoundError, match="no file"):
        model.load_weights(tmp_path / "missing.safetensors")
    with pytest.raises(IsADirectoryError, match="is a directory"):
        model.load_weights(tmp_path)
    with pytest.raises(TypeError, match="path must be a str or os.PathLike"):
        model.load_weights(None)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        model.save_weights(tmp_path / "missing" / "w.safetensors")
    with pytest.raises(IsADirectoryError, match="is a directory"):
        model.save_weights(tmp_path)
    with pytest.raises(ValueError, match="path is empty"):
        save_weights(model, "")
    with pytest.raises(TypeError, match="model must be a numbagrad.Sequential; got str"):
        load_weights("model", tmp_path / "w.safetensors")
    assert list(tmp_path.iterdir()) == []


def test_missing_safetensors_says_which_extra_to_install(model, tmp_path, monkeypatch):
    path = tmp_path / "w.safetensors"
    save_weights(model, path)
    for name in [n for n in sys.modules if n == "safetensors" or n.startswith("safetensors.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "safetensors", None)
    with pytest.raises(ModuleNotFoundError, match=r'pip install "numbagrad\[safetensors\]"'):
        save_weights(model, tmp_path / "other.safetensors")
    with pytest.raises(ModuleNotFoundError, match=r"load_weights needs the 'safetensors' package"):
        model.load_weights(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.safetensors"]


# --- the command and a run's preprocessing ------------------------------------------------------------------------------


def test_export_command_writes_weights_with_the_runs_preprocessing(tmp_path):
    from safetensors import safe_open

    from numbagrad.datasets import Dataset
    from numbagrad.preprocessing import Preprocessing, split_rows

    rng = np.random.default_rng(0)
    X = 10 + 2 * rng.standard_normal((40, 6))
    dataset = Dataset("data", X, rng.integers(0, 3, 40), [f"f{i}" for i in range(6)], "kind").with_task("classification")
    model = network("float64")
    model.preprocessing = Preprocessing.fit(dataset, split_rows(40, 0.25, 0, dataset.y)[0], True)
    model.save(tmp_path / "model.ngm")
    written = run_export(tmp_path / "model.ngm", "safetensors")
    assert written == tmp_path / "model.safetensors"
    with safe_open(str(written), framework="np") as file:
        record = Preprocessing.from_dict(json.loads(file.metadata()["numbagrad.preprocessing"]))
    assert record.to_dict() == model.preprocessing.to_dict()
    other = network("float64", seed=5)
    other.load_weights(written)
    np.testing.assert_array_equal(other.parameters, model.parameters)


# --- normalization ---------------------------------------------------------------------------------


def _normalized(dtype="float64", seed=1):
    model = ng.Sequential(
        [ng.Dense(6, normalization="batch"), ng.Activation("relu"), ng.Dense(4, "tanh", normalization="layer"), ng.Dense(2)],
        input_dim=5, dtype=dtype, seed=seed,
    ).compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(seed)
    model.fit(rng.normal(size=(40, 5)), rng.normal(size=(40, 2)), batch_size=8, verbose=0)
    return model


def test_normalized_layers_take_pytorchs_module_places(tmp_path):
    model = _normalized()
    assert list(tensor_shapes(model)) == [
        "0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked",
        "3.weight", "3.bias", "4.weight", "4.bias", "6.weight", "6.bias",
    ]
    path = save_weights(model, tmp_path / "w.safetensors")
    tensors = safetensors_numpy.load_file(str(path))
    np.testing.assert_array_equal(tensors["1.running_var"], model.layers[0].running_var)
    np.testing.assert_array_equal(tensors["4.weight"], model.layers[1].gamma)
    assert tensors["1.num_batches_tracked"].dtype == np.int64 and tensors["1.num_batches_tracked"].shape == ()
    other = _normalized(seed=5)
    other.load_weights(path)
    np.testing.assert_array_equal(other.parameters, model.parameters)


def test_a_batch_counter_that_is_not_an_integer_scalar_is_refused(tmp_path):
    model = _normalized()
    tensors = state_dict(model)
    tensors["1.num_batches_tracked"] = np.zeros(2)
    safetensors_numpy.save_file(tensors, str(tmp_path / "w.safetensors"))
    with pytest.raises(ng.ModelFileError, match="'1.num_batches_tracked' is F64 of shape \\(2,\\); a batch counter is an integer scalar"):
        model.load_weights(tmp_path / "w.safetensors")


def test_torch_module_of_a_normalized_model_equals_predict_and_loads_the_file(tmp_path):
    torch = pytest.importorskip("torch")
    model = _normalized()
    module = torch_module(model)
    assert [type(m).__name__ for m in module] == ["Linear", "BatchNorm1d", "ReLU", "Linear", "LayerNorm", "Tanh", "Linear", "Identity"]
    X = np.random.default_rng(3).normal(size=(10, 5))
    np.testing.assert_allclose(module(torch.from_numpy(X)).detach().numpy(), model.predict(X), rtol=1e-12, atol=1e-14)
    from safetensors.torch import load_file

    module.load_state_dict(load_file(str(save_weights(model, tmp_path / "w.safetensors"))))
