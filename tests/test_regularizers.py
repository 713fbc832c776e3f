"""Weight regularizers: the penalty and its gradient against NumPy and finite differences, fit and
evaluate with them, save/load, and each error."""

from __future__ import annotations

import numpy as np
import pytest

import numbagrad
from numbagrad.errors import UnknownNameError
from numbagrad.nn import Dense, Sequential, regularizers

LOSS = "sparse_categorical_crossentropy"


def data(rows=37, features=5, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(rows, features)), rng.integers(0, classes, rows)


def network(penalized=True, dtype="float64", per_sample=False, **compile_options):
    kernel = {"name": "l1_l2", "l1": 0.003, "l2": 0.02, "per_sample": per_sample} if penalized else None
    bias = {"name": "l1", "l1": 0.05, "per_sample": per_sample} if penalized else None
    last = {"name": "l2", "l2": 0.1, "per_sample": per_sample} if penalized else None
    model = Sequential(
        [Dense(7, "tanh", kernel_regularizer=kernel, bias_regularizer=bias), Dense(3, "softmax", kernel_regularizer=last)],
        input_dim=5, dtype=dtype, seed=3,
    )
    model.compile({"name": "sgd", "lr": 0.1}, LOSS, **compile_options)
    return model


def penalty(weights, rows=1, per_sample=False):
    """The NumPy formula: the three regularizers of ``network``, on its weights [W0, b0, W1, b1]."""
    w0, b0, w1, _ = (np.asarray(w, dtype=np.float64) for w in weights)
    total = 0.003 * np.abs(w0).sum() + 0.02 * np.square(w0).sum() + 0.05 * np.abs(b0).sum() + 0.1 * np.square(w1).sum()
    return total / rows if per_sample else total


def penalty_gradient(weights, rows=1, per_sample=False):
    w0, b0, w1, b1 = (np.asarray(w, dtype=np.float64) for w in weights)
    parts = [0.003 * np.sign(w0) + 0.04 * w0, 0.05 * np.sign(b0), 0.2 * w1, np.zeros_like(b1)]
    flat = np.concatenate([p.ravel() for p in parts])
    return flat / rows if per_sample else flat


@pytest.mark.parametrize("per_sample", [False, True])
def test_value_and_grad_add_the_penalty_and_its_gradient(per_sample):
    X, y = data()
    plain, penalized = network(False), network(True, per_sample=per_sample)
    value, grad = plain.value_and_grad(X, y, LOSS)
    regularized_value, regularized_grad = penalized.value_and_grad(X, y, LOSS)
    weights = penalized.get_weights()
    assert regularized_value == pytest.approx(value + penalty(weights, len(X), per_sample), rel=1e-14)
    np.testing.assert_allclose(regularized_grad, grad + penalty_gradient(weights, len(X), per_sample), rtol=1e-13, atol=1e-16)


def test_the_gradient_matches_finite_differences():
    X, y = data(rows=12)
    model = network()
    _, grad = model.value_and_grad(X, y, LOSS)
    rng = np.random.default_rng(1)
    for i in rng.choice(model.parameters.size, 12, replace=False):
        saved = model.parameters[i]
        if abs(saved) < 1e-4:  # |w| is not differentiable at 0
            continue
        step = 1e-6
        model.parameters[i] = saved + step
        up = model.value_and_grad(X, y, LOSS)[0]
        model.parameters[i] = saved - step
        down = model.value_and_grad(X, y, LOSS)[0]
        model.parameters[i] = saved
        assert grad[i] == pytest.approx((up - down) / (2 * step), rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("per_sample", [False, True])
@pytest.mark.parametrize("clip", [{}, {"clip_value": 0.05}, {"clip_norm": 0.2}])
def test_fit_steps_on_the_penalized_gradient_and_reports_the_penalized_loss(per_sample, clip):
    """Every batch, the last one shorter: SGD on value_and_grad's gradient (clipped after the penalty
    is added, as torch's clip_grad_*_ after backward of the whole loss), the loss reported per batch."""
    X, y = data()
    model, reference = network(per_sample=per_sample, **clip), network(per_sample=per_sample)
    history = model.fit(X, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    losses = []
    for _ in range(2):
        total = 0.0
        for start in range(0, len(X), 16):
            value, grad = reference.value_and_grad(X[start : start + 16], y[start : start + 16], LOSS)
            if "clip_value" in clip:
                grad = np.clip(grad, -clip["clip_value"], clip["clip_value"])
            if "clip_norm" in clip:
                grad = grad * min(1.0, clip["clip_norm"] / (np.linalg.norm(grad) + 1e-6))
            reference.parameters[...] -= 0.1 * grad
            total += value * len(X[start : start + 16])
        losses.append(total / len(X))
    np.testing.assert_allclose(model.parameters, reference.parameters, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(history.history["loss"], losses, rtol=1e-12)


def test_evaluate_reports_the_penalty_per_batch():
    X, y = data()
    model, plain = network(per_sample=True), network(False)
    weights = model.get_weights()
    batches = [(0, 16), (16, 32), (32, 37)]
    expected = sum(
        (plain.evaluate(X[a:b], y[a:b])["loss"] + penalty(weights, b - a, per_sample=True)) * (b - a) for a, b in batches
    ) / len(X)
    assert model.evaluate(X, y, batch_size=16)["loss"] == pytest.approx(expected, rel=1e-13)


def test_float32_trains_and_regularization_shrinks_the_weights():
    X, y = data(rows=200)
    model = network(dtype="float32")
    plain = network(False, dtype="float32")
    model.fit(X, y, epochs=20, batch_size=32, verbose=0)
    plain.fit(X, y, epochs=20, batch_size=32, verbose=0)
    assert np.abs(model.layers[0].weight).sum() < 0.8 * np.abs(plain.layers[0].weight).sum()


def test_save_load_keeps_the_regularizers(tmp_path):
    X, y = data()
    model = network()
    model.fit(X, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.ngm")
    loaded = numbagrad.load_model(tmp_path / "m.ngm")
    assert loaded.layers[0].kernel_regularizer == model.layers[0].kernel_regularizer
    assert loaded.layers[0].bias_regularizer.l1 == 0.05
    np.testing.assert_array_equal(loaded.penalty_table, model.penalty_table)
    assert loaded.evaluate(X, y)["loss"] == model.evaluate(X, y)["loss"]


def test_a_model_without_regularizers_writes_no_regularizer_fields():
    config = network(False).get_config()
    assert all("kernel_regularizer" not in layer and "bias_regularizer" not in layer for layer in config["layers"])


def test_the_names_and_keras_defaults():
    assert regularizers.available() == ["l1", "l1_l2", "l2"]
    assert (regularizers.get("l1").l1, regularizers.get("l1").l2) == (0.01, 0.0)
    assert (regularizers.get("l2").l1, regularizers.get("l2").l2) == (0.0, 0.01)
    assert (regularizers.get("L1_L2").l1, regularizers.get("l1_l2").l2) == (0.01, 0.01)
    assert regularizers.get({"name": "l2", "l2": 1e-4}).l2 == 1e-4
    assert regularizers.get(None) is None
    reg = regularizers.get("l1_l2", l1=0.5, l2=0.25)
    assert reg([1.0, -2.0]) == pytest.approx(0.5 * 3 + 0.25 * 5)
    assert regularizers.get(reg) is reg and regularizers.get(reg.get_config()) == reg


@pytest.mark.parametrize(
    "value, error, message",
    [
        ("l3", UnknownNameError, r"unknown regularizer 'l3'\. Did you mean .*Available regularizers: l1, l1_l2, l2"),
        ({"name": "l2", "l2": -1}, ValueError, r"l2 must be a finite number >= 0; got -1"),
        ({"name": "l2", "l2": float("nan")}, ValueError, r"l2 must be a finite number >= 0; got nan"),
        ({"name": "l2", "l1": 0.1}, TypeError, r"unknown hyperparameter 'l1' .*; allowed: l2, per_sample"),
        ({"l2": 0.1}, ValueError, r"has no 'name'"),
        (0.01, TypeError, r"regularizer must be a name .* got 0.01"),
    ],
)
def test_bad_regularizers_are_refused_naming_the_argument(value, error, message):
    with pytest.raises(error, match=r"Dense: kernel_regularizer: .*" + message):
        Dense(3, kernel_regularizer=value)


def test_a_bias_regularizer_needs_a_bias():
    with pytest.raises(ValueError, match="bias_regularizer needs use_bias=True"):
        Dense(3, use_bias=False, bias_regularizer="l2")


def test_fit_equals_torch_with_the_penalty_in_the_loss():
    torch = pytest.importorskip("torch")
    X, y = data()
    model = network()
    W = [torch.tensor(w, requires_grad=True) for w in model.get_weights()]

    def loss(Xb, yb):
        out = torch.tanh(Xb @ W[0] + W[1]) @ W[2] + W[3]
        return (
            torch.nn.functional.cross_entropy(out, yb) + 0.003 * W[0].abs().sum() + 0.02 * (W[0] ** 2).sum()
            + 0.05 * W[1].abs().sum() + 0.1 * (W[2] ** 2).sum()
        )

    history = model.fit(X, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    optimizer = torch.optim.SGD(W, lr=0.1)
    Xt, yt = torch.tensor(X), torch.tensor(y)
    for _ in range(2):
        for start in range(0, len(X), 16):
            optimizer.zero_grad()
            value = loss(Xt[start : start + 16], yt[start : start + 16])
            value.backward()
            optimizer.step()
    for ours, theirs in zip(model.get_weights(), W):
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-12, atol=1e-15)
    assert model.evaluate(X, y)["loss"] == pytest.approx(loss(Xt, yt).item(), rel=1e-13)
    assert np.isfinite(history.history["loss"]).all()


def test_summary_shows_the_regularizers_only_when_there_are_some():
    text = network().summary(print_fn=None)
    assert "Regularizer" in text and "W: l1_l2(l1=0.003, l2=0.02); b: l1(l1=0.05)" in text and "W: l2(l2=0.1)" in text
    assert "Regularizer" not in network(False).summary(print_fn=None)


@pytest.mark.parametrize("dtype, element", [(np.float32, "float"), (np.float64, "double")])
def test_the_penalty_loops_are_vectorized(dtype, element):
    """A fused loop, or an index Numba cannot prove non-negative, made the penalty 7x slower (a
    tenth of a batch-32 step of the 784-256-10 network); the generated code must use vector
    arithmetic on the weights. (Compiled afresh with the kernel's options: cached code cannot be
    inspected.)"""
    import re

    from numba import njit

    from numbagrad.kernels.cpu.jit import FASTMATH
    from numbagrad.kernels.cpu.network import penalty_sums

    fresh = njit(fastmath=FASTMATH, error_model="numpy", nogil=True)(penalty_sums.py_func)
    weights = np.linspace(-1, 1, 64).astype(dtype)
    fresh(weights, np.zeros_like(weights), 0, 64, 0.01, 0.01, True)
    code = fresh.inspect_llvm(fresh.signatures[0])
    assert len(re.findall(rf"<\d+ x {element}>", code)) > 10, "no vector arithmetic in penalty_sums"


def test_the_autodiff_penalty_is_the_compiled_loops_penalty():
    import numbagrad.autodiff as ad

    X, y = data(rows=9)
    model = network()
    W0, b0, W1, b1 = (ad.Tensor(w, requires_grad=True) for w in model.get_weights())

    def objective(W0, b0, W1, b1):
        hidden = ad.dense(X, W0, b0, activation="tanh")
        out = ad.dense(hidden, W1, b1, activation="softmax")
        return (
            ad.loss("sparse_categorical_crossentropy", out, y)
            + ad.penalty({"name": "l1_l2", "l1": 0.003, "l2": 0.02}, W0)
            + ad.penalty("l1", b0) * 5.0
            + ad.penalty({"name": "l2", "l2": 0.1}, W1)
        )

    value, grads = ad.value_and_grad(objective, argnums=(0, 1, 2, 3))(W0, b0, W1, b1)
    expected_value, expected_grad = model.value_and_grad(X, y, LOSS)
    assert value == pytest.approx(expected_value, rel=1e-13)
    np.testing.assert_allclose(np.concatenate([g.ravel() for g in grads]), expected_grad, rtol=1e-12, atol=1e-15)
    with pytest.raises(TypeError, match="penalty: give at least one weight tensor"):
        ad.penalty("l2")
    with pytest.raises(ValueError, match="unknown regularizer 'l5'"):
        ad.penalty("l5", W0)
