"""Every registered loss against its NumPy reference and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from reference.losses import LOSSES
from scipy.special import softmax

from numbagrad import losses
from numbagrad.registry import BUILTIN_SOURCE, get_registry


def _predictions(kind, shape, rng):
    if kind == "real":
        return rng.standard_normal(shape) * 2
    if kind == "logits":
        return rng.standard_normal(shape) * 3
    if kind == "positive":
        return rng.uniform(0.05, 3.0, shape)
    if kind == "probability":
        return rng.uniform(0.02, 0.98, shape)
    if kind == "simplex":
        return softmax(rng.standard_normal(shape), axis=1)
    raise AssertionError(kind)


def _targets(kind, shape, rng):
    rows, columns = shape
    if kind == "real":
        return rng.standard_normal(shape) * 2
    if kind == "nonnegative":
        return np.where(rng.random(shape) < 0.2, 0.0, rng.uniform(0.0, 4.0, shape))
    if kind == "probability":
        return rng.random(shape)
    if kind == "binary":
        return rng.integers(0, 2, shape).astype(float)
    if kind == "sign":
        return rng.choice([-1.0, 1.0], shape)
    if kind == "labels":
        return rng.integers(0, columns, (rows, 1)).astype(float)
    if kind == "one_hot":
        return np.eye(columns)[rng.integers(0, columns, rows)]
    if kind == "soft":
        return softmax(rng.standard_normal(shape), axis=1)
    raise AssertionError(kind)


# One table drives the tests: (name, hyperparameters, kind of predictions,
# kind of targets). A built-in missing here fails test_every_builtin_is_in_the_table.
CASES = [
    ("mae", {}, "real", "real"),
    ("mse", {}, "real", "real"),
    ("huber", {}, "real", "real"),
    ("huber", {"delta": 0.3}, "real", "real"),
    ("log_cosh", {}, "real", "real"),
    ("msle", {}, "positive", "nonnegative"),
    ("msle", {"epsilon": 0.5}, "positive", "nonnegative"),
    ("binary_crossentropy", {}, "probability", "probability"),
    ("binary_crossentropy", {}, "probability", "binary"),
    ("binary_crossentropy", {"from_logits": True}, "logits", "probability"),
    ("binary_crossentropy", {"from_logits": True}, "logits", "binary"),
    ("categorical_crossentropy", {"from_logits": True}, "logits", "labels"),
    ("categorical_crossentropy", {"from_logits": True}, "logits", "one_hot"),
    ("categorical_crossentropy", {"from_logits": True}, "logits", "soft"),
    ("categorical_crossentropy", {}, "simplex", "labels"),
    ("categorical_crossentropy", {}, "simplex", "one_hot"),
    ("categorical_crossentropy", {}, "simplex", "soft"),
    ("categorical_crossentropy", {}, "positive", "labels"),  # rows are normalized first, as Keras does
    ("categorical_crossentropy", {"epsilon": 0.05}, "simplex", "soft"),  # clipping active
    ("kl_divergence", {}, "simplex", "soft"),
    ("kl_divergence", {"epsilon": 0.05}, "simplex", "soft"),
    ("poisson", {}, "positive", "nonnegative"),
    ("poisson", {"epsilon": 1e-8}, "positive", "nonnegative"),
    ("hinge", {}, "real", "sign"),
    ("hinge", {}, "real", "binary"),
]

SHAPES = [(rows, columns) for rows in (1, 7, 33) for columns in (1, 3, 65)]
DTYPES = [np.float64, np.float32]
TOLERANCE = {np.float64: dict(rtol=1e-10, atol=1e-14), np.float32: dict(rtol=2e-5, atol=1e-7)}


def cases():
    for name, options, predictions, targets in CASES:
        label = "-".join(f"{k}={v}" for k, v in options.items()) or "defaults"
        yield pytest.param(name, options, predictions, targets, id=f"{name}-{label}-{predictions}-{targets}")


def batch(predictions, targets, shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return _predictions(predictions, shape, rng).astype(dtype), _targets(targets, shape, rng).astype(dtype)


def reference(name, options, p, y):
    values = get_registry().lookup("loss", name).spec.validate(options)
    return LOSSES[name](p.astype(np.float64), y.astype(np.float64), **values)


def test_every_builtin_is_in_the_table():
    builtins = {get_registry().lookup("loss", name).spec.name for name, source in losses.available().items()
                if source == BUILTIN_SOURCE}
    assert builtins == {case[0] for case in CASES} == set(LOSSES)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, options, predictions, targets", list(cases()))
def test_value_and_gradient_match_reference(name, options, predictions, targets, dtype):
    loss = losses.get(name, **options)
    for shape in SHAPES:
        p, y = batch(predictions, targets, shape, dtype)
        value, grad = loss.value_and_grad(p, y)
        assert isinstance(value, float) and grad.dtype == dtype and grad.shape == shape
        expected_value, expected_grad = reference(name, options, p, y)
        np.testing.assert_allclose(value, expected_value, **TOLERANCE[dtype], err_msg=str(shape))
        # Gradients are rounded once to float32; compare them at the gradient's own scale.
        scale = np.abs(expected_grad).max()
        tolerance = TOLERANCE[dtype]
        np.testing.assert_allclose(
            grad, expected_grad, rtol=tolerance["rtol"], atol=tolerance["atol"] * max(scale, 1.0), err_msg=str(shape)
        )


@pytest.mark.parametrize("name, options, predictions, targets", list(cases()))
def test_gradient_matches_finite_differences(name, options, predictions, targets):
    loss = losses.get(name, **options)
    p, y = batch(predictions, targets, (4, 3), np.float64, seed=1)
    _, grad = loss.value_and_grad(p, y)
    h = 1e-6
    numeric = np.empty_like(p)
    for index in np.ndindex(p.shape):
        up, down = p.copy(), p.copy()
        up[index] += h
        down[index] -= h
        numeric[index] = (loss(up, y) - loss(down, y)) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name, options, predictions, targets", list(cases()))
def test_loss_of_rows_is_the_mean_of_each_row_loss(name, options, predictions, targets):
    """The reduction: a batch's loss is the mean of its rows' losses, whatever the batch size."""
    loss = losses.get(name, **options)
    p, y = batch(predictions, targets, (6, 3), np.float64, seed=2)
    rows = [loss(p[i : i + 1], y[i : i + 1]) for i in range(6)]
    assert loss(p, y) == pytest.approx(np.mean(rows), rel=1e-12)


def test_labels_and_one_hot_rows_give_the_same_loss():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 5, (9, 1))
    one_hot = np.eye(5)[labels[:, 0]]
    for options, p in (({"from_logits": True}, rng.standard_normal((9, 5))), ({}, softmax(rng.standard_normal((9, 5)), axis=1))):
        loss = losses.get("categorical_crossentropy", **options)
        value, grad = loss.value_and_grad(p, labels)
        value_one_hot, grad_one_hot = loss.value_and_grad(p, one_hot)
        assert value == pytest.approx(value_one_hot, rel=1e-14)
        np.testing.assert_allclose(grad, grad_one_hot, rtol=1e-14, atol=1e-17)
    assert losses.get("sparse_categorical_crossentropy").spec is loss.spec


def test_logits_form_equals_the_probability_form_after_the_activation():
    """What a trainer's fusion relies on: loss(from_logits) of z == loss of f(z), away from clipping."""
    rng = np.random.default_rng(4)
    z = rng.standard_normal((8, 4))
    y = rng.integers(0, 4, (8, 1))
    fused = losses.get("categorical_crossentropy", from_logits=True)(z, y)
    assert fused == pytest.approx(losses.get("categorical_crossentropy")(softmax(z, axis=1), y), rel=1e-10)
    y_binary = rng.integers(0, 2, (8, 4))
    fused = losses.get("binary_crossentropy", from_logits=True)(z, y_binary)
    assert fused == pytest.approx(losses.get("binary_crossentropy")(1 / (1 + np.exp(-z)), y_binary), rel=1e-10)
    assert losses.get("categorical_crossentropy").fuses("softmax")
    assert losses.get("binary_crossentropy").fuses("Sigmoid")
    assert not losses.get("binary_crossentropy", from_logits=True).fuses("sigmoid")
    assert not losses.get("categorical_crossentropy").fuses("sigmoid")
    assert not losses.get("mse").fuses("linear")


# Gradients where the loss has a kink: documented in the kernels.
KINKS = [
    ("mae", {}, 1.5, 1.5, 0.0),  # sign(0) = 0, as torch.nn.L1Loss
    ("huber", {"delta": 1.0}, 2.0, 1.0, 1.0),  # |d| == delta: delta sign(d)
    ("huber", {"delta": 1.0}, 0.0, 1.0, -1.0),
    ("hinge", {}, 1.0, 1.0, 0.0),  # margin 0: like relu, 0
    ("hinge", {}, -1.0, 0.0, 0.0),  # target 0 is -1
    ("msle", {"epsilon": 0.5}, 0.2, 1.0, 0.0),  # below the clamp: flat
]


@pytest.mark.parametrize("name, options, prediction, target, gradient", KINKS)
def test_gradient_at_kinks(name, options, prediction, target, gradient):
    _, grad = losses.get(name, **options).value_and_grad(np.array([[prediction]]), np.array([[target]]))
    assert grad[0, 0] == gradient


@pytest.mark.parametrize("dtype", DTYPES)
def test_stable_for_extreme_values(dtype):
    """Values a naive formula would overflow or turn into NaN."""
    z = np.array([[1000.0, -1000.0, 50.0]], dtype=dtype)
    value, grad = losses.get("binary_crossentropy", from_logits=True).value_and_grad(z, np.array([[0.0, 1.0, 1.0]]))
    assert value == pytest.approx((1000 + 1000 + np.log1p(np.exp(-50.0))) / 3, rel=1e-12)
    np.testing.assert_allclose(grad, [[1 / 3, -1 / 3, -np.exp(-50.0) / 3]], rtol=1e-6)
    # A confident, correct prediction keeps its tiny loss and gradient.
    value, grad = losses.get("binary_crossentropy", from_logits=True).value_and_grad(z[:, 2:], np.ones((1, 1)))
    assert value == pytest.approx(np.exp(-50.0), rel=1e-12)
    value, grad = losses.get("categorical_crossentropy", from_logits=True).value_and_grad(
        np.array([[50.0, 0.0]], dtype=dtype), np.array([0])
    )
    assert value == pytest.approx(np.exp(-50.0), rel=1e-12)
    np.testing.assert_allclose(grad, [[-np.exp(-50.0), np.exp(-50.0)]], rtol=1e-6)
    value, grad = losses.get("categorical_crossentropy", from_logits=True).value_and_grad(z, np.array([1]))
    assert value == pytest.approx(2000.0, rel=1e-12)
    np.testing.assert_allclose(grad, [[1.0, -1.0, 0.0]], atol=1e-12)
    value, grad = losses.get("log_cosh").value_and_grad(z, np.zeros((1, 3), dtype=dtype))
    assert value == pytest.approx((1000 + 1000 + 50 - 3 * np.log(2)) / 3, rel=1e-12)
    p = np.array([[0.0, 1.0]], dtype=dtype)
    value, grad = losses.get("binary_crossentropy").value_and_grad(p, np.array([[1.0, 0.0]]))
    assert value == 100.0  # each log clamped to -100, as torch.nn.BCELoss
    assert np.all(np.isfinite(grad))


def test_out_of_range_labels_reaching_the_kernel_give_nan_not_a_crash():
    from numbagrad.kernels.cpu.calls import call_loss

    loss = losses.get("categorical_crossentropy", from_logits=True)
    p = np.zeros((2, 3))
    grad = np.zeros_like(p)
    for label in (3.0, -1.0, 0.5, np.nan):
        value = call_loss(loss.kernel_table(p.dtype), p, np.array([[0.0], [label]]), grad, loss.params)
        assert np.isnan(value) and np.isnan(grad[1]).all() and np.isfinite(grad[0]).all()


def test_vector_predictions_are_one_column():
    value, grad = losses.get("mse").value_and_grad(np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 3.0]))
    assert value == pytest.approx(4 / 3) and grad.shape == (3,)
    assert losses.get("categorical_crossentropy", from_logits=True)(np.array([[0.0, 0.0]]), [1]) == pytest.approx(np.log(2))


def test_kernel_table_holds_two_addresses():
    table = losses.get("mse").spec.kernel_table(np.float32)
    assert table.dtype == np.int64 and table.shape == (2,) and np.all(table > 0)
    losses.check_kernels(losses.get("hinge").spec)
