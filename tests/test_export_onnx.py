"""The ONNX export: onnxruntime runs the exported graph and gives ``model.predict``'s numbers.

Every built-in activation with its options, in float32 and float64, before and
from the opset that has ``Gelu``; layers without bias; deeper networks; models
carrying a ``numbagrad train`` run's preprocessing (raw features in, a
regression's outputs in the target's units); and every error.
"""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pytest

import numbagrad as ng
from numbagrad.datasets import Dataset
from numbagrad.export import DEFAULT_OPSET, MIN_OPSET, onnx_model, run_export, save_onnx
from numbagrad.export import to_onnx
from numbagrad.preprocessing import Preprocessing, split_rows

onnx = pytest.importorskip("onnx")

#: Every built-in activation, with non-default options where it has options.
ACTIVATIONS = [
    "linear",
    "relu",
    "leaky_relu",
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
    {"name": "softplus", "beta": 0.5, "threshold": 0.75},
    "silu",
    "swish",
    "softmax",
]
TOLERANCE = {"float32": 1e-5, "float64": 1e-10}


def label(activation):
    return activation if isinstance(activation, str) else "-".join(f"{k}={v}" for k, v in activation.items())


def inputs(rows, columns, dtype, seed=1, scale=3.0, offset=0.0):
    """Inputs wide enough that pre-activations fall on both sides of every kink and threshold."""
    return (offset + scale * np.random.default_rng(seed).standard_normal((rows, columns))).astype(dtype)


def run_graph(proto, X):
    """The graph's output for ``X``: onnxruntime's, or, for a float64 exact GELU (onnxruntime has
    no float64 Erf kernel), onnx's reference evaluator with a float64 Erf."""
    uses_erf = any(node.op_type == "Erf" for node in proto.graph.node)
    if uses_erf and X.dtype == np.float64:
        from onnx.reference import ReferenceEvaluator
        from onnx.reference.op_run import OpRun

        class Erf(OpRun):
            """onnx's reference Erf, computed in float64 (the reference rounds it through float32)."""

            op_domain = ""

            def _run(self, x):
                return (np.vectorize(math.erf, otypes=[x.dtype])(x),)

        return ReferenceEvaluator(proto, new_ops=[Erf]).run(None, {"input": X})[0]
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": X})[0]


def run_file(path, X):
    return run_graph(onnx.load(str(path)), X)


def assert_close(got, expected, dtype):
    tolerance = TOLERANCE[str(np.dtype(dtype))]
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64), rtol=tolerance, atol=tolerance)


def op_types(proto):
    return [node.op_type for node in proto.graph.node]


# --- every activation -------------------------------------------------------------------------


@pytest.mark.parametrize("opset", [17, DEFAULT_OPSET])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", ACTIVATIONS, ids=label)
def test_every_activation_matches_predict(activation, dtype, opset, tmp_path):
    model = ng.Sequential([ng.Dense(6, activation), ng.Dense(3, activation)], input_dim=4, dtype=dtype, seed=3)
    X = inputs(64, 4, dtype)
    path = save_onnx(model, tmp_path / "model.onnx", opset=opset)
    got = run_file(path, X)
    assert got.dtype == np.dtype(dtype) and got.shape == (64, 3)
    assert_close(got, model.predict(X), dtype)


def test_the_inputs_cross_every_threshold():
    """The test data reaches both branches of each piecewise activation (softplus's threshold too)."""
    model = ng.Sequential([ng.Dense(6, {"name": "softplus", "beta": 2.0, "threshold": 1.0})], input_dim=4, seed=3)
    z = inputs(64, 4, np.float32) @ model.layers[0].weight
    assert (2.0 * z > 1.0).mean() > 0.1 and (z < 0).mean() > 0.1


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_deep_network_mixing_activations_and_bias(dtype):
    layers = [
        ng.Dense(16, "relu"),
        ng.Dense(12, "gelu_tanh", use_bias=False),
        ng.Dense(10, {"name": "elu", "alpha": 0.7}),
        ng.Dense(8, {"name": "softplus", "beta": 3.0, "threshold": 2.0}, use_bias=False),
        ng.Dense(6, "selu"),
        ng.Dense(5, "silu"),
        ng.Dense(4, "softmax"),
    ]
    model = ng.Sequential(layers, input_dim=9, dtype=dtype, seed=5)
    model.initialize(11)
    X = inputs(200, 9, dtype, seed=4)
    assert_close(run_graph(onnx_model(model), X), model.predict(X), dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_trained_biases_are_exported(dtype):
    """Initial biases are zeros: nonzero ones prove the Add nodes carry the right vector."""
    model = ng.Sequential([ng.Dense(5, "tanh"), ng.Dense(2)], input_dim=3, dtype=dtype)
    weights = model.get_weights()
    model.set_weights([w + np.linspace(-1, 1, w.size).reshape(w.shape) for w in weights])
    X = inputs(20, 3, dtype)
    assert_close(run_graph(onnx_model(model), X), model.predict(X), dtype)


# --- the graph's structure ---------------------------------------------------------------------------------


def test_a_dense_layer_is_matmul_then_add_and_no_add_without_bias():
    model = ng.Sequential([ng.Dense(4, "relu"), ng.Dense(2, use_bias=False)], input_dim=3)
    proto = onnx_model(model)
    assert op_types(proto) == ["MatMul", "Add", "Relu", "MatMul"]
    assert [i.name for i in proto.graph.input] == ["input"] and [o.name for o in proto.graph.output] == ["output"]
    shape = proto.graph.input[0].type.tensor_type.shape.dim
    assert shape[0].dim_param == "N" and shape[1].dim_value == 3
    weights = {t.name: onnx.numpy_helper.to_array(t) for t in proto.graph.initializer}
    np.testing.assert_array_equal(weights["dense_0/W"], model.layers[0].weight)
    np.testing.assert_array_equal(weights["dense_1/W"], model.layers[1].weight)
    assert "dense_1/b" not in weights


@pytest.mark.parametrize(
    "dtype, opset, expected",
    [("float32", 20, "Gelu"), ("float32", 21, "Gelu"), ("float32", 19, "Erf"), ("float64", 20, "Erf"), ("float64", 17, "Erf")],
)
def test_gelu_uses_the_onnx_operator_where_it_keeps_the_precision(dtype, opset, expected):
    model = ng.Sequential([ng.Dense(2, "gelu")], input_dim=2, dtype=dtype)
    assert expected in op_types(onnx_model(model, opset=opset))


@pytest.mark.parametrize("dtype, expected", [("float32", "LeakyRelu"), ("float64", "Where")])
def test_float_attributes_only_in_float32_graphs(dtype, expected):
    """ONNX attributes are 32-bit floats: a float64 graph writes alpha as a float64 tensor."""
    model = ng.Sequential([ng.Dense(2, {"name": "leaky_relu", "alpha": 0.1})], input_dim=2, dtype=dtype)
    proto = onnx_model(model)
    assert expected in op_types(proto)
    if dtype == "float64":
        constants = [onnx.numpy_helper.to_array(t) for t in proto.graph.initializer if t.name.startswith("constant/")]
        assert any(c.dtype == np.float64 and c == 0.1 for c in constants)


def test_the_model_is_valid_and_describes_itself():
    model = ng.Sequential([ng.Dense(3, "relu", name="hidden"), ng.Dense(2, "softmax", name="hidden")], input_dim=2)
    proto = onnx_model(model, opset=MIN_OPSET)
    onnx.checker.check_model(proto, full_check=True)
    assert proto.opset_import[0].version == MIN_OPSET and proto.producer_name == "numbagrad"
    props = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(props["numbagrad.config"]) == model.get_config()
    assert props["numbagrad.version"] == ng.__version__
    # Repeated layer names get positional scopes, so every name stays unique.
    assert {t.name for t in proto.graph.initializer} >= {"layers.0/W", "layers.1/W"}


def test_the_method_and_the_function_write_the_same_bytes(tmp_path):
    model = ng.Sequential([ng.Dense(3, "tanh"), ng.Dense(1)], input_dim=2)
    returned = model.export_onnx(tmp_path / "a.onnx")
    save_onnx(model, tmp_path / "b.onnx")
    assert returned == tmp_path / "a.onnx"
    assert (tmp_path / "a.onnx").read_bytes() == (tmp_path / "b.onnx").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.onnx", "b.onnx"]  # no temporary left


# --- preprocessing -------------------------------------------------------------------------------------------


def classification_model(dtype, standardize=True):
    """A model as `numbagrad train` leaves it: the preprocessing fitted on the training rows."""
    rng = np.random.default_rng(0)
    X = np.column_stack([50 + 10 * rng.standard_normal(90), -3 + 0.01 * rng.standard_normal(90), rng.standard_normal(90)])
    y = np.array(["setosa", "versicolor", "virginica"])[rng.integers(0, 3, 90)]
    dataset = Dataset("flowers", X, y, ["length", "width", "depth"], "species").with_task("classification")
    training, _ = split_rows(dataset.samples, 0.2, 0, dataset.y)
    model = ng.Sequential([ng.Dense(8, "relu"), ng.Dense(3, "softmax")], input_dim=3, dtype=dtype, seed=2)
    model.preprocessing = Preprocessing.fit(dataset, training, standardize)
    return model, X


def regression_model(dtype, outputs=2, standardize=True):
    rng = np.random.default_rng(1)
    X = np.column_stack([1000 + 200 * rng.standard_normal(80), rng.standard_normal(80), 5 + rng.standard_normal(80)])
    y = np.column_stack([300 + 40 * X[:, 1], -7 + 0.5 * X[:, 2]])[:, :outputs]
    dataset = Dataset("houses", X, y if outputs > 1 else y[:, 0], ["area", "age", "rooms"], "price")
    dataset = dataset.with_task("regression")
    training, _ = split_rows(dataset.samples, 0.25, 0)
    model = ng.Sequential([ng.Dense(8, "tanh"), ng.Dense(outputs)], input_dim=3, dtype=dtype, seed=4)
    model.preprocessing = Preprocessing.fit(dataset, training, standardize)
    return model, X


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_classification_takes_raw_features_and_names_the_classes(dtype):
    model, X = classification_model(dtype)
    proto = onnx_model(model)
    assert op_types(proto)[:2] == ["Sub", "Div"]
    assert_close(run_graph(proto, X.astype(dtype)), model.predict(X), dtype)
    props = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(props["numbagrad.class_names"]) == ["setosa", "versicolor", "virginica"]
    assert json.loads(props["numbagrad.feature_names"]) == ["length", "width", "depth"]
    assert props["numbagrad.target_name"] == "species" and props["numbagrad.task"] == "classification"
    assert Preprocessing.from_dict(json.loads(props["numbagrad.preprocessing"])).to_dict() == model.preprocessing.to_dict()


@pytest.mark.parametrize("outputs", [1, 2])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_regression_gives_predictions_in_the_targets_units(dtype, outputs):
    model, X = regression_model(dtype, outputs)
    proto = onnx_model(model)
    assert op_types(proto)[-2:] == ["Mul", "Add"]
    expected = model.predict(X)
    assert np.abs(expected).max() > 100  # in the target's units, not standardized ones
    assert_close(run_graph(proto, X.astype(dtype)), expected, dtype)
    props = {p.key: p.value for p in proto.metadata_props}
    assert props["numbagrad.task"] == "regression" and props["numbagrad.target_name"] == "price"
    assert "numbagrad.class_names" not in props


@pytest.mark.parametrize("make", [classification_model, regression_model])
def test_a_run_without_standardization_has_no_scaling_nodes(make):
    model, X = make("float64", standardize=False)
    proto = onnx_model(model)
    assert not {"Sub", "Div"} & set(op_types(proto)[:2])
    assert_close(run_graph(proto, X), model.predict(X), "float64")


def test_a_trained_run_file_exports_from_the_command(tmp_path):
    """The path `numbagrad train` takes: the model file with its preprocessing record, then export."""
    model, X = regression_model("float64")
    path = tmp_path / "model.ngm"
    model.save(path)
    loaded = ng.load_model(path)
    assert loaded.preprocessing is not None
    written = run_export(tmp_path, "onnx")
    assert written == tmp_path / "model.onnx"
    assert_close(run_file(written, X), loaded.predict(X), "float64")
    assert_close(run_file(run_export(path, "onnx", tmp_path / "other.onnx"), X), model.predict(X), "float64")


# --- errors ---------------------------------------------------------------------------------------------------


@pytest.fixture
def model():
    return ng.Sequential([ng.Dense(3, "relu"), ng.Dense(2)], input_dim=2)


def test_bad_paths(model, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_onnx(model, tmp_path / "missing" / "model.onnx")
    with pytest.raises(IsADirectoryError, match="is a directory"):
        save_onnx(model, tmp_path)
    with pytest.raises(TypeError, match="path must be a str or os.PathLike"):
        save_onnx(model, 3)
    with pytest.raises(TypeError, match=r"got b'model.onnx' \(bytes\)"):
        save_onnx(model, b"model.onnx")
    with pytest.raises(ValueError, match="path is empty"):
        save_onnx(model, "")
    assert list(tmp_path.iterdir()) == []


def test_not_a_model(tmp_path):
    with pytest.raises(TypeError, match="model must be a numbagrad.Sequential; got list"):
        save_onnx([1, 2], tmp_path / "m.onnx")


@pytest.mark.parametrize(
    "opset, error, message",
    [
        (MIN_OPSET - 1, ValueError, "opset must be from 13 to"),
        (10_000, ValueError, "got 10000"),
        ("20", TypeError, "opset must be an integer"),
        (20.0, TypeError, "got 20.0"),
        (True, TypeError, "got True"),
    ],
)
def test_bad_opset(model, tmp_path, opset, error, message):
    with pytest.raises(error, match=message):
        save_onnx(model, tmp_path / "m.onnx", opset=opset)
    assert list(tmp_path.iterdir()) == []


def test_missing_onnx_says_which_extra_to_install(model, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ModuleNotFoundError, match=r'save_onnx needs the .onnx. package.*pip install "numbagrad\[onnx\]"'):
        save_onnx(model, tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == []


def test_a_plugin_activation_is_refused_by_layer_and_name(fresh_registry, tmp_path):
    from numba import njit

    from numbagrad.activations import ActivationSpec, register

    @njit(cache=False)
    def softsign_forward(z, out, params):
        for i in range(z.shape[0]):
            for j in range(z.shape[1]):
                out[i, j] = z[i, j] / (1 + abs(z[i, j]))

    @njit(cache=False)
    def softsign_backward(z, out, grad_out, grad_in, params):
        for i in range(z.shape[0]):
            for j in range(z.shape[1]):
                d = 1 + abs(z[i, j])
                grad_in[i, j] = grad_out[i, j] / (d * d)

    register(ActivationSpec(name="softsign", forward=softsign_forward, backward=softsign_backward))
    model = ng.Sequential([ng.Dense(3, "relu"), ng.Dense(2, "softsign", name="head")], input_dim=2)
    target = tmp_path / "m.onnx"
    target.write_bytes(b"previous")
    with pytest.raises(ValueError, match=r"layer 1 \('head'\) uses the activation 'softsign'.*cannot express"):
        save_onnx(model, target)
    assert target.read_bytes() == b"previous"  # the old file is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda p: setattr(p, "feature_names", ["a", "b"]), "feature_names names 2 features; the model has 3 inputs"),
        (lambda p: setattr(p, "std", np.array([1.0, 0.0, 1.0])), "std must hold positive finite numbers"),
        (lambda p: setattr(p, "mean", np.array([1.0, np.nan, 1.0])), "mean must hold finite numbers"),
        (lambda p: setattr(p, "mean", np.array([1.0, 1e300, 1.0])), "which float32 cannot represent"),
        (lambda p: setattr(p, "std", np.array([1.0, 1e-300, 1.0])), "which float32 cannot represent"),
        (lambda p: setattr(p, "std", None), "mean and .std go together"),
        (lambda p: setattr(p, "mean", np.ones(4)), r"mean has shape \(4,\); the model needs \(3,\)"),
        (lambda p: setattr(p, "classes", ["a", "b"]), "classes must list 3 classes"),
        (lambda p: setattr(p, "task", "ranking"), "task must be 'classification' or 'regression'"),
        (lambda p: setattr(p, "target_mean", np.zeros(3)), "classification with a target standardization"),
    ],
)
def test_a_preprocessing_the_graph_cannot_express(change, message, tmp_path):
    model, _ = classification_model("float32")
    change(model.preprocessing)
    with pytest.raises(ValueError, match=message):
        save_onnx(model, tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == []


def test_a_regression_target_scale_of_the_wrong_length(tmp_path):
    model, _ = regression_model("float64", outputs=2)
    model.preprocessing.target_std = np.ones(3)
    with pytest.raises(ValueError, match=r"target_std has shape \(3,\); the model needs \(2,\)"):
        save_onnx(model, tmp_path / "m.onnx")


def test_preprocessing_of_the_wrong_type(model, tmp_path):
    model.preprocessing = {"mean": [0.0, 0.0]}
    with pytest.raises(TypeError, match="model.preprocessing must be a numbagrad.preprocessing.Preprocessing or None; got dict"):
        save_onnx(model, tmp_path / "m.onnx")


def test_weights_beyond_what_one_onnx_file_holds(model, tmp_path, monkeypatch):
    monkeypatch.setattr(to_onnx, "MAX_ONNX_BYTES", 10)
    with pytest.raises(ValueError, match="an ONNX file holds at most 10"):
        save_onnx(model, tmp_path / "m.onnx")


# --- the command ---------------------------------------------------------------------------------------------


def test_export_command_errors(model, tmp_path):
    path = tmp_path / "model.ngm"
    model.save(path)
    with pytest.raises(ValueError, match="--format must be one of onnx, safetensors; got 'tflite'"):
        run_export(path, "tflite")
    with pytest.raises(ValueError, match="is the model file itself"):
        run_export(path, "onnx", path)
    with pytest.raises(FileNotFoundError, match="no file"):
        run_export(tmp_path / "nothing.ngm", "onnx")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="is a folder without model.ngm"):
        run_export(tmp_path / "empty", "onnx")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        run_export(path, "onnx", tmp_path / "missing" / "m.onnx")
    (tmp_path / "junk.ngm").write_bytes(b"not a zip")
    with pytest.raises(ng.ModelFileError, match="not a numbagrad model file"):
        run_export(tmp_path / "junk.ngm", "onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "junk.ngm", "model.ngm"]


def test_the_export_pages_example_runs(tmp_path, monkeypatch):
    """docs/export.md's example (a code-block the plain docs test leaves out, since it needs onnxruntime and torch)."""
    import re
    from pathlib import Path

    pytest.importorskip("onnxruntime")
    pytest.importorskip("torch")
    pytest.importorskip("safetensors")
    text = (Path(__file__).resolve().parents[1] / "docs" / "export.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```\{code-block\} python\n(.*?)^```", text, re.S | re.M)
    assert blocks
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, "docs/export.md", "exec"), {})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx", "model.safetensors"]


def test_a_run_that_encoded_text_columns_takes_the_encoded_inputs(tmp_path):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from numbagrad.columns import ColumnEncoding
    from numbagrad.preprocessing import Preprocessing

    table = np.array([["1", "red"], ["", "green"], ["3", "red"], ["5", "green"]], dtype=object)
    encoding = ColumnEncoding.fit(table, ["n", "colour"], np.arange(4))
    X = encoding.transform(table)
    model = ng.Sequential([ng.Dense(2, "softmax")], input_dim=3, dtype=np.float64)
    model.preprocessing = Preprocessing(encoding.feature_names, "classification", "y", mean=X.mean(0), std=X.std(0),
                                        classes=[0, 1], class_names=["a", "b"], encoding=encoding)
    path = model.export_onnx(tmp_path / "m.onnx")
    proto = onnx.load(path)
    assert "one-hot" in proto.graph.doc_string
    props = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(props["numbagrad.feature_names"]) == ["n", "colour=green", "colour=red"]
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {"input": X})
    np.testing.assert_allclose(out, model.predict(table), rtol=1e-10)


# --- normalization ------------------------------------------------------------------------------


def _normalized(kind, dtype):
    """A trained network with a normalized hidden layer (the running averages moved away from 0 and 1)."""
    model = ng.Sequential(
        [ng.Dense(8, normalization=kind), ng.Activation("relu"), ng.Dense(6, "tanh", normalization=kind), ng.Dense(3, "softmax")],
        input_dim=4, dtype=dtype, seed=2,
    ).compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    X = inputs(64, 4, dtype, seed=6)
    model.fit(X, np.arange(64) % 3, batch_size=16, epochs=3, verbose=0)
    return model, X


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", ["batch", "layer"])
def test_normalized_layers_match_predict(kind, dtype):
    model, X = _normalized(kind, dtype)
    proto = onnx_model(model, opset=17)
    expected = {"batch": ["Sub", "Mul", "Add"], "layer": ["LayerNormalization"]}[kind]
    assert op_types(proto)[2:2 + len(expected)] == expected
    assert_close(run_graph(proto, X), model.predict(X), dtype)


def test_layer_normalization_needs_opset_17():
    model, _ = _normalized("layer", "float32")
    with pytest.raises(ValueError, match=r"layer 'dense_0' has layer normalization, which ONNX has from opset 17.*got opset=16"):
        onnx_model(model, opset=16)
    onnx_model(_normalized("batch", "float32")[0], opset=MIN_OPSET)  # batch normalization is plain arithmetic
