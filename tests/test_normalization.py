"""Batch and layer normalization: forward and backward passes against a NumPy reference (and against
PyTorch's BatchNorm1d and LayerNorm when it is installed), gradients against finite differences,
training inside the compiled epoch, inference with the running averages, files, and every error."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import numbagrad as ng
from numbagrad.nn import Activation, BatchNormalization, Dense, Dropout, LayerNormalization
from numbagrad.nn.placement import tensor_views

EPSILON = 1e-5


def _reference_norm(h, gamma, beta, kind, epsilon=EPSILON):
    """``(γ x̂ + β, x̂, 1 / sqrt(var + ε))``: batch normalization over the rows, layer normalization over the columns."""
    axis = 0 if kind == "batch" else 1
    mean = h.mean(axis=axis, keepdims=True)
    variance = ((h - mean) ** 2).mean(axis=axis, keepdims=True)
    inverse = 1 / np.sqrt(variance + epsilon)
    hat = (h - mean) * inverse
    return gamma * hat + beta, hat, inverse


def _reference_norm_backward(dz, hat, inverse, gamma, kind):
    """``(dL/dh, dL/dγ, dL/dβ)`` from dL/dz."""
    axis = 0 if kind == "batch" else 1
    g = dz * gamma
    dh = inverse * (g - g.mean(axis=axis, keepdims=True) - hat * (g * hat).mean(axis=axis, keepdims=True))
    return dh, (dz * hat).sum(axis=0), dz.sum(axis=0)


def _model(kind, seed=3, last_normalized=False, use_bias=True):
    layers = [Dense(7, use_bias=use_bias), BatchNormalization() if kind == "batch" else LayerNormalization(), Activation("tanh")]
    layers += [Dense(3, normalization=kind if last_normalized else None)]
    model = ng.Sequential(layers, input_dim=5, dtype=np.float64, seed=seed)
    rng = np.random.default_rng(seed)
    for layer in model.layers:  # away from the identity the layers start as
        if layer.gamma is not None:
            layer.gamma[...] = rng.uniform(0.5, 1.5, layer.units)
            layer.beta[...] = rng.normal(size=layer.units)
    return model


def _reference_value_and_grad(model, X, y, kind):
    """MSE of the model (Dense-norm-tanh, Dense[-norm]) in NumPy and its gradient in ``tensor_views`` order."""
    first, second = model.layers
    b1 = first.bias if first.bias is not None else 0.0
    h1 = X @ first.weight + b1
    z1, hat1, inv1 = _reference_norm(h1, first.gamma, first.beta, kind)
    a1 = np.tanh(z1)
    h2 = a1 @ second.weight + second.bias
    z2, hat2, inv2 = (h2, None, None) if second.gamma is None else _reference_norm(h2, second.gamma, second.beta, kind)
    loss = ((z2 - y) ** 2).mean()
    dz2 = 2 * (z2 - y) / z2.size
    grads2 = []
    if second.gamma is not None:
        dh2, dgamma2, dbeta2 = _reference_norm_backward(dz2, hat2, inv2, second.gamma, kind)
        grads2 = [dgamma2, dbeta2]
    else:
        dh2 = dz2
    da1 = dh2 @ second.weight.T
    dz1 = da1 * (1 - a1 * a1)
    dh1, dgamma1, dbeta1 = _reference_norm_backward(dz1, hat1, inv1, first.gamma, kind)
    grads = [X.T @ dh1] + ([dh1.sum(axis=0)] if first.bias is not None else []) + [dgamma1, dbeta1]
    grads += [a1.T @ dh2, dh2.sum(axis=0)] + grads2
    return loss, grads


@pytest.mark.parametrize("kind", ["batch", "layer"])
@pytest.mark.parametrize("last_normalized", [False, True])
@pytest.mark.parametrize("use_bias", [True, False])
def test_value_and_grad_equal_numpy(kind, last_normalized, use_bias):
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(11, 5)) * 3 + 1, rng.normal(size=(11, 3))
    model = _model(kind, last_normalized=last_normalized, use_bias=use_bias)
    value, gradient = model.value_and_grad(X, y, "mse")
    expected_value, expected = _reference_value_and_grad(model, X, y, kind)
    assert value == pytest.approx(expected_value, rel=1e-13)
    views = [v for _, v in tensor_views(model, gradient)]
    assert len(views) == len(expected)
    for got, want in zip(views, expected):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("kind", ["batch", "layer"])
def test_gradient_equals_finite_differences(kind):
    """The gradient of a training pass against central differences, float64 (a batch
    normalization's output depends on its batch's moments only, not its running averages)."""
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(9, 5)), rng.normal(size=(9, 3))
    model = _model(kind, last_normalized=True)
    _, gradient = model.value_and_grad(X, y, "mse")
    trained = np.concatenate([v.ravel() for _, v in tensor_views(model, gradient)])
    positions = np.concatenate([np.arange(v.size) + (v.ctypes.data - model.parameters.ctypes.data) // 8
                                for _, v in tensor_views(model, model.parameters)])
    numeric = np.empty(positions.size)
    for k, p in enumerate(positions):
        saved = model.parameters[p]
        model.parameters[p] = saved + 1e-6
        up = model.value_and_grad(X, y, "mse")[0]
        model.parameters[p] = saved - 1e-6
        down = model.value_and_grad(X, y, "mse")[0]
        model.parameters[p] = saved
        numeric[k] = (up - down) / 2e-6
    np.testing.assert_allclose(trained, numeric, rtol=1e-6, atol=1e-8)


def test_batch_norm_running_averages_and_inference():
    """Training passes move the running averages by PyTorch's rule (unbiased batch variance);
    predict normalizes by them."""
    rng = np.random.default_rng(3)
    model = _model("batch")
    layer = model.layers[0]
    np.testing.assert_array_equal(layer.running_mean, 0.0)
    np.testing.assert_array_equal(layer.running_var, 1.0)
    mean, var = np.zeros(7), np.ones(7)
    for step in range(3):
        X, y = rng.normal(size=(6 + step, 5)) + step, rng.normal(size=(6 + step, 3))
        h = X @ layer.weight + layer.bias
        model.value_and_grad(X, y, "mse")
        mean = 0.9 * mean + 0.1 * h.mean(axis=0)
        var = 0.9 * var + 0.1 * h.var(axis=0, ddof=1)
        np.testing.assert_allclose(layer.running_mean, mean, rtol=1e-13)
        np.testing.assert_allclose(layer.running_var, var, rtol=1e-13)
    X = rng.normal(size=(4, 5))
    h = X @ layer.weight + layer.bias
    a = np.tanh((h - mean) / np.sqrt(var + EPSILON) * layer.gamma + layer.beta)
    second = model.layers[1]
    np.testing.assert_allclose(model.predict(X), a @ second.weight + second.bias, rtol=1e-12)
    # Inference changes nothing, and a row alone gives what it gives among others.
    before = model.parameters.copy()
    np.testing.assert_allclose(model.predict(X[2:3]), model.predict(X)[2:3], rtol=1e-14)
    np.testing.assert_array_equal(model.parameters, before)


def test_layer_norm_is_the_same_in_training_and_inference():
    rng = np.random.default_rng(4)
    model = _model("layer", last_normalized=True)
    X = rng.normal(size=(8, 5))
    first, second = model.layers
    a = np.tanh(_reference_norm(X @ first.weight + first.bias, first.gamma, first.beta, "layer")[0])
    expected = _reference_norm(a @ second.weight + second.bias, second.gamma, second.beta, "layer")[0]
    np.testing.assert_allclose(model.predict(X), expected, rtol=1e-12, atol=1e-14)


def test_a_one_row_batch_normalizes_to_beta_and_keeps_the_running_averages():
    model = _model("batch")
    layer = model.layers[0]
    before = model.parameters.copy()
    value, gradient = model.value_and_grad(np.ones((1, 5)), np.zeros((1, 3)), "mse")
    np.testing.assert_array_equal(layer.running_mean, before[int(model.norm_table[0, 3]):][:7])
    second = model.layers[1]
    expected = np.tanh(layer.beta) @ second.weight + second.bias
    assert value == pytest.approx(float((expected**2).mean()), rel=1e-12)
    # x̂ = 0 for every unit: W and b get no gradient through the normalization.
    np.testing.assert_array_equal(tensor_views(model, gradient)[0][1], 0.0)


def _train_reference(model, X, y, epochs, batch_size, kind, lr=0.1, momentum=0.9):
    """SGD with momentum (PyTorch's form) on the NumPy reference, batches in order, updating a
    copy of the model's trained tensors and batch normalization's running averages."""
    tensors = [v.copy() for _, v in tensor_views(model, model.parameters)]
    velocity = [np.zeros_like(t) for t in tensors]
    clone = ng.Sequential.from_config(model.get_config())
    mean, var = np.zeros(7), np.ones(7)
    for _ in range(epochs):
        for start in range(0, X.shape[0], batch_size):
            for (_, view), t in zip(tensor_views(clone, clone.parameters), tensors):
                view[...] = t
            xb, yb = X[start : start + batch_size], y[start : start + batch_size]
            _, grads = _reference_value_and_grad(clone, xb, yb, kind)
            h = xb @ clone.layers[0].weight + clone.layers[0].bias
            mean, var = 0.9 * mean + 0.1 * h.mean(axis=0), 0.9 * var + 0.1 * h.var(axis=0, ddof=1)
            for t, v, g in zip(tensors, velocity, grads):
                v *= momentum
                v += g
                t -= lr * v
    return tensors, mean, var


@pytest.mark.parametrize("kind", ["batch", "layer"])
def test_fit_trains_in_the_compiled_epoch_as_the_reference(kind):
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(40, 5)), rng.normal(size=(40, 3))
    model = _model(kind, last_normalized=True)
    expected, mean, var = _train_reference(model, X, y, 3, 16, kind)
    model.compile(optimizer={"name": "sgd", "lr": 0.1, "momentum": 0.9}, loss="mse")
    model.fit(X, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    for (_, got), want in zip(tensor_views(model, model.parameters), expected):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    if kind == "batch":
        np.testing.assert_allclose(model.layers[0].running_mean, mean, rtol=1e-10)
        np.testing.assert_allclose(model.layers[0].running_var, var, rtol=1e-10)


def test_normalization_with_dropout_float32_and_softmax_trains_reproducibly():
    rng = np.random.default_rng(6)
    X, y = rng.normal(size=(64, 5)).astype(np.float32), rng.integers(0, 3, 64)

    def run():
        model = ng.Sequential(
            [Dense(16), BatchNormalization(momentum=0.2), Activation("relu"), Dropout(0.3), Dense(8, "relu", normalization="layer"),
             Dense(3, "softmax")], input_dim=5, seed=2,
        ).compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        history = model.fit(X, y, batch_size=16, epochs=4, seed=1, verbose=0)
        return model, history

    first, history = run()
    second, _ = run()
    np.testing.assert_array_equal(first.parameters, second.parameters)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert np.isfinite(first.predict(X)).all()


def test_optimizers_see_the_scales_and_shifts_as_biases_and_never_the_running_averages():
    model = _model("batch")
    roles = [(role, view.shape) for role, view in tensor_views(model, model.parameters)]
    assert roles == [("weights", (5, 7)), ("biases", (7,)), ("biases", (7,)), ("biases", (7,)), ("weights", (7, 3)), ("biases", (3,))]
    assert model.count_params() == model.count_trainable_params() + 14
    model.compile(optimizer={"weights": {"name": "sgd", "lr": 0.1}, "biases": {"name": "sgd", "lr": 0.0}}, loss="mse")
    rng = np.random.default_rng(7)
    gamma = model.layers[0].gamma.copy()
    model.fit(rng.normal(size=(20, 5)), rng.normal(size=(20, 3)), batch_size=10, verbose=0)
    np.testing.assert_array_equal(model.layers[0].gamma, gamma)
    assert not np.allclose(model.layers[0].running_mean, 0.0)


def test_weights_files_and_pickles_round_trip(tmp_path):
    rng = np.random.default_rng(8)
    X, y = rng.normal(size=(30, 5)), rng.normal(size=(30, 3))
    model = _model("batch").compile(optimizer="adam", loss="mse")
    model.fit(X, y, batch_size=8, epochs=2, verbose=0)
    shapes = [w.shape for w in model.get_weights()]
    assert shapes == [(5, 7), (7,), (7,), (7,), (7,), (7,), (7, 3), (3,)]
    path = tmp_path / "model.npz"
    model.save(path)
    for copy in (ng.load_model(path), pickle.loads(pickle.dumps(model))):
        np.testing.assert_array_equal(copy.parameters, model.parameters)
        np.testing.assert_array_equal(copy.predict(X), model.predict(X))
        assert isinstance(copy.layers[0].normalization, BatchNormalization)
    other = _model("batch", seed=9)
    other.set_weights(model.get_weights())
    np.testing.assert_array_equal(other.predict(X), model.predict(X))
    weights = model.get_weights()
    weights[5] = -weights[5]
    with pytest.raises(ValueError, match=r"weights\[5\] is a running variance"):
        other.set_weights(weights)


def test_summary_shows_the_normalizations():
    text = _model("batch").summary(print_fn=None)
    assert "dense_0_batch_norm" in text and "batch norm" in text
    assert "Trainable params: 80" in text and "Non-trainable params: 14" in text
    assert "dense_0_layer_norm" in _model("layer").summary(print_fn=None)


def test_folding_and_config():
    model = ng.Sequential([Dense(4), LayerNormalization(epsilon=1e-3), Activation("relu"), Dense(2)], input_dim=3)
    first = model.layers[0]
    assert first.activation == "relu" and isinstance(first.normalization, LayerNormalization)
    assert first.get_config()["normalization"] == {"name": "layer", "epsilon": 1e-3}
    again = ng.Sequential.from_config(model.get_config())
    assert again.layers[0].normalization.epsilon == 1e-3
    assert repr(BatchNormalization(momentum=0.01)) == "BatchNormalization(momentum=0.01, epsilon=1e-05)"
    assert Dense(3, normalization={"name": "batch", "momentum": 0.3}).normalization.momentum == 0.3


@pytest.mark.parametrize(
    "layers, match",
    [
        ([Dense(4, "relu"), BatchNormalization(), Dense(2)], r"activation 'relu'.*Dense\(units\), BatchNormalization\(\), Activation\('relu'\)"),
        ([BatchNormalization(), Dense(2)], "before any Dense layer"),
        ([Dense(4), BatchNormalization(), LayerNormalization(), Dense(2)], "second normalization"),
        ([Dense(4, "relu"), Activation("tanh"), Dense(2)], "has activation 'relu' already"),
        ([Dense(4), Dropout(0.5), BatchNormalization(), Dense(2)], r"layers\[1\] is a Dropout that is not between two Dense layers"),
        ([Dense(4), Dropout(0.5), BatchNormalization()], r"layers\[1\] is a Dropout that is not between two Dense layers"),
        ([Dense(4), Dropout(0.5), Activation("relu"), Dense(2)], "is a Dropout that is not between two Dense layers"),
        ([Dense(4, dropout=0.5), BatchNormalization(), Dense(2)], r"layers\[1\] is a BatchNormalization after a Dropout"),
    ],
)
def test_misplaced_layers_are_refused(layers, match):
    with pytest.raises(ValueError, match=match):
        ng.Sequential(layers, input_dim=3)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: BatchNormalization(momentum=0.0), r"momentum must be a number in \(0, 1\].*got 0.0"),
        (lambda: BatchNormalization(momentum=1.5), "momentum"),
        (lambda: BatchNormalization(momentum=True), "momentum"),
        (lambda: BatchNormalization(epsilon=0), "epsilon must be a finite number > 0; got 0"),
        (lambda: LayerNormalization(epsilon=float("nan")), "epsilon"),
        (lambda: Dense(3, normalization="group"), "normalization must be one of 'batch', 'layer'; got 'group'"),
        (lambda: Dense(3, normalization={"name": "batch", "beta": 1}), "normalization 'batch'"),
        (lambda: Activation("nope"), "nope"),
    ],
)
def test_bad_settings_are_refused(make, match):
    with pytest.raises((ValueError, TypeError, ng.UnknownNameError), match=match):
        make()


def test_dense_refuses_a_normalization_of_another_type():
    with pytest.raises(TypeError, match="normalization must be None, 'batch', 'layer'"):
        Dense(3, normalization=1)


def test_fit_refuses_batches_of_one_row_with_batch_normalization():
    model = _model("batch").compile(loss="mse")
    before = model.parameters.copy()
    with pytest.raises(ValueError, match=r"batch_size=1 with batch normalization \(layer 'dense_0'\)"):
        model.fit(np.ones((4, 5)), np.ones((4, 3)), batch_size=1, verbose=0)
    np.testing.assert_array_equal(model.parameters, before)
    _model("layer").compile(loss="mse").fit(np.ones((4, 5)), np.ones((4, 3)), batch_size=1, verbose=0)


@pytest.mark.parametrize("kind", ["batch", "layer"])
def test_equal_to_pytorch(kind):
    """Forward, backward, and three epochs of SGD with momentum against ``torch.nn.Sequential(Linear,
    BatchNorm1d or LayerNorm, Tanh, Linear)`` in float64 (``numbagrad.export.torch_module`` builds it)."""
    torch = pytest.importorskip("torch")
    from numbagrad.export import torch_module

    rng = np.random.default_rng(10)
    X, y = rng.normal(size=(40, 5)) * 2, rng.normal(size=(40, 3))
    model = _model(kind, last_normalized=True)
    module = torch_module(model).train()
    value, gradient = model.value_and_grad(X[:16], y[:16], "mse")
    loss = torch.nn.functional.mse_loss(module(torch.from_numpy(X[:16])), torch.from_numpy(y[:16]))
    loss.backward()
    assert value == pytest.approx(loss.item(), rel=1e-12)
    for (_, got), parameter in zip(tensor_views(model, gradient), module.parameters()):
        want = parameter.grad.numpy()
        np.testing.assert_allclose(got, want.T if want.ndim == 2 else want, rtol=1e-10, atol=1e-14)
    # Three epochs from the same start (the pass above moved the running averages of both).
    optimizer = torch.optim.SGD(module.parameters(), lr=0.1, momentum=0.9)
    model.compile(optimizer={"name": "sgd", "lr": 0.1, "momentum": 0.9}, loss="mse")
    model.fit(X, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    for _ in range(3):
        for start in range(0, 40, 16):
            optimizer.zero_grad()
            torch.nn.functional.mse_loss(module(torch.from_numpy(X[start : start + 16])), torch.from_numpy(y[start : start + 16])).backward()
            optimizer.step()
    state = {k: v for k, v in torch_module(model).state_dict().items()}
    for name, tensor in module.state_dict().items():
        if not name.endswith("num_batches_tracked"):
            np.testing.assert_allclose(state[name].numpy(), tensor.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(model.predict(X), module.eval()(torch.from_numpy(X)).detach().numpy(), rtol=1e-10, atol=1e-12)


def test_hostile_model_files_are_refused(tmp_path):
    """A normalization's settings out of range, an unknown kind, or a negative running variance in a
    model file: ModelFileError naming the field, before any model exists."""
    import json
    import zipfile

    model = _model("batch").compile(loss="mse")
    path = tmp_path / "model.npz"
    model.save(path)

    def rewrite(change, target):
        with zipfile.ZipFile(path) as source, zipfile.ZipFile(target, "w") as out:
            for item in source.infolist():
                data = source.read(item.filename)
                data = change(item.filename, data)
                out.writestr(item, data)
        return target

    def manifest(edit):
        def change(name, data):
            if name.endswith(".json"):
                meta = json.loads(data)
                edit(meta["model"]["layers"][0]["normalization"])
                return json.dumps(meta).encode()
            return data
        return change

    cases = [
        (lambda n: n.update(momentum=2.0), r"normalization.momentum must be a number in \(0, 1\]"),
        (lambda n: n.update(epsilon=-1.0), r"normalization.epsilon must be a finite number > 0"),
        (lambda n: n.update(name="group"), r"normalization.name must be one of 'batch', 'layer'"),
        (lambda n: n.update(extra=1), "unknown field 'extra'"),
    ]
    for k, (edit, match) in enumerate(cases):
        with pytest.raises(ng.ModelFileError, match=match):
            ng.load_model(rewrite(manifest(edit), tmp_path / f"bad{k}.npz"))

    def negative_variance(name, data):
        if name == "parameters.npy":
            import io

            array = np.load(io.BytesIO(data))
            start = int(model.norm_table[0, 3]) + 7
            array[start] = -1.0
            buffer = io.BytesIO()
            np.save(buffer, array)
            return buffer.getvalue()
        return data

    with pytest.raises(ng.ModelFileError, match="layer 'dense_0' has a negative running variance"):
        ng.load_model(rewrite(negative_variance, tmp_path / "negative.npz"))


@pytest.mark.parametrize("kind", ["batch", "layer"])
def test_autodiff_primitives_equal_the_reference_and_finite_differences(kind):
    import numbagrad.autodiff as ad

    rng = np.random.default_rng(11)
    x_data, gamma_data, beta_data = rng.normal(size=(6, 4)) * 2, rng.uniform(0.5, 1.5, 4), rng.normal(size=4)
    weights = rng.normal(size=(6, 4))
    function = ad.batch_norm if kind == "batch" else ad.layer_norm

    def objective(x, gamma, beta):
        return (function(x, gamma, beta) * weights).sum()

    x, gamma, beta = (ad.Tensor(a, requires_grad=True) for a in (x_data, gamma_data, beta_data))
    out = function(x, gamma, beta)
    expected, hat, inverse = _reference_norm(x_data, gamma_data, beta_data, kind)
    np.testing.assert_allclose(out.data, expected, rtol=1e-13, atol=1e-14)
    objective(x, gamma, beta).backward()
    dx, dgamma, dbeta = _reference_norm_backward(weights, hat, inverse, gamma_data, kind)
    for got, want in ((x.grad, dx), (gamma.grad, dgamma), (beta.grad, dbeta)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13)
    arrays = [x_data, gamma_data, beta_data]
    for k, analytic in enumerate((x.grad, gamma.grad, beta.grad)):
        numeric = np.zeros_like(arrays[k])
        for index in np.ndindex(arrays[k].shape):
            up, down = [a.copy() for a in arrays], [a.copy() for a in arrays]
            up[k][index] += 1e-6
            down[k][index] -= 1e-6
            numeric[index] = (objective(*up).data - objective(*down).data) / 2e-6
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda ad: ad.batch_norm(np.ones(3), np.ones(3), np.zeros(3)), r"batch_norm: x must be a non-empty matrix \(rows, units\); got shape \(3,\)"),
        (lambda ad: ad.layer_norm(np.ones((2, 3)), np.ones(2), np.zeros(3)), r"layer_norm: gamma has shape \(2,\); expected \(3,\)"),
        (lambda ad: ad.layer_norm(np.ones((2, 3)), np.ones(3), np.zeros(3), epsilon=0), "layer_norm: epsilon must be a finite number > 0"),
    ],
)
def test_autodiff_primitives_check_their_arguments(call, match):
    import numbagrad.autodiff as ad

    with pytest.raises(ValueError, match=match):
        call(ad)


def test_data_parallel_batch_normalization_is_refused_and_layer_normalization_allowed():
    from types import SimpleNamespace

    from numbagrad.train.loop import _check_batch_norm

    ranks = SimpleNamespace(size=2)
    with pytest.raises(ValueError, match=r"batch normalization \(layer 'dense_0'\) in data-parallel training on 2 ranks"):
        _check_batch_norm(_model("batch"), 32, ranks)
    _check_batch_norm(_model("layer"), 32, ranks)
    _check_batch_norm(_model("batch"), 32, None)


@pytest.mark.parametrize("kind", ["batch", "layer"])
def test_a_chunked_fit_equals_the_array_fit(kind):
    """Chunk by chunk, the running averages and the weights carry over as in one array fit."""
    from numbagrad.train import ArrayChunks

    rng = np.random.default_rng(12)
    X, y = rng.normal(size=(40, 5)), rng.normal(size=(40, 3))
    whole, chunked = (_model(kind).compile(optimizer="adam", loss="mse") for _ in range(2))
    whole.fit(X, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    chunked.fit(ArrayChunks(X, y, rows=16), batch_size=8, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(chunked.parameters, whole.parameters, rtol=1e-12, atol=1e-14)
