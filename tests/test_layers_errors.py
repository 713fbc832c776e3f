"""Every documented error of activations, losses, metrics and targets: type, message, nothing changed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from numbagrad import activations, losses, metrics
from numbagrad.errors import UnknownNameError
from numbagrad.targets import check_targets

PACKAGES = {"activation": activations, "loss": losses, "metric": metrics}


@pytest.mark.parametrize(
    "kind, name, message",
    [
        ("activation", "rellu", r"unknown activation 'rellu'\. Did you mean 'relu'.*Available activations: elu, gelu, "),
        ("loss", "hubber", r"unknown loss 'hubber'\. Did you mean 'huber'.*Available losses: binary_crossentropy, "),
        ("metric", "acuracy", r"unknown metric 'acuracy'\. Did you mean 'accuracy'.*Available metrics: acc, accuracy, "),
    ],
)
def test_unknown_name_lists_available_and_suggests(kind, name, message):
    with pytest.raises(UnknownNameError, match=message):
        PACKAGES[kind].get(name)


@pytest.mark.parametrize("kind", list(PACKAGES))
def test_name_must_be_a_string(kind):
    with pytest.raises(TypeError, match=f"{kind} name must be a string; got 3"):
        PACKAGES[kind].get(3)


BAD_HYPERPARAMETERS = [
    ("activation", "leaky_relu", {"alpha": math.nan}, ValueError, "LeakyReLU: alpha must be a finite number; got nan"),
    ("activation", "elu", {"alpha": "1"}, TypeError, "ELU: alpha must be a finite number; got '1' of type str"),
    ("activation", "softplus", {"beta": 0}, ValueError, "Softplus: beta must be a finite number > 0; got 0"),
    ("activation", "softplus", {"threshold": math.inf}, ValueError, "Softplus: threshold must be a finite number; got inf"),
    ("activation", "gelu", {"approximate": "tanh"}, TypeError, "GELU: approximate must be True or False; got 'tanh'"),
    ("activation", "relu", {"alpha": 0.1}, TypeError, "ReLU takes no hyperparameters; got 'alpha'"),
    ("loss", "huber", {"delta": 0}, ValueError, "Huber: delta must be a finite number > 0; got 0"),
    ("loss", "huber", {"delt": 1.0}, TypeError, "Huber: unknown hyperparameter 'delt' (did you mean 'delta'?); allowed: delta"),
    ("loss", "categorical_crossentropy", {"epsilon": 0.5}, ValueError,
     "CategoricalCrossentropy: epsilon must be a finite number in (0, 0.5); got 0.5"),
    ("loss", "binary_crossentropy", {"from_logits": 1}, TypeError, "BinaryCrossentropy: from_logits must be True or False; got 1"),
    ("loss", "poisson", {"epsilon": -1e-7}, ValueError, "Poisson: epsilon must be a finite number > 0; got -1e-07"),
    ("loss", "mse", {"delta": 1.0}, TypeError, "MeanSquaredError takes no hyperparameters; got 'delta'"),
    ("metric", "top_k_accuracy", {"k": 0}, ValueError, "TopKCategoricalAccuracy: k must be an integer >= 1; got 0"),
    ("metric", "top_k_accuracy", {"k": 2.5}, TypeError, "TopKCategoricalAccuracy: k must be an integer >= 1; got 2.5"),
    ("metric", "binary_accuracy", {"threshold": math.inf}, ValueError, "BinaryAccuracy: threshold must be a finite number; got inf"),
]


@pytest.mark.parametrize("kind, name, options, error, message", BAD_HYPERPARAMETERS)
def test_bad_hyperparameter_names_argument_value_and_range(kind, name, options, error, message):
    with pytest.raises(error) as raised:
        PACKAGES[kind].get(name, **options)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    "cls, spec_type",
    [(activations.Activation, "ActivationSpec"), (losses.Loss, "LossSpec"), (metrics.Metric, "MetricSpec")],
)
def test_a_bound_object_needs_its_kind_of_declaration(cls, spec_type):
    with pytest.raises(TypeError, match=f"{cls.__name__}: spec must be a {spec_type}; got str"):
        cls("relu")
    with pytest.raises(TypeError, match=f"{cls.__name__}: spec must be a {spec_type}; got"):
        cls(losses.get("mse").spec if cls is not losses.Loss else activations.get("relu").spec)


def test_a_bound_object_takes_no_further_hyperparameters():
    with pytest.raises(TypeError, match=r"hyperparameters \['alpha'\] given with an Activation object"):
        activations.get(activations.get("elu"), alpha=2.0)
    loss = losses.get("mse")
    assert losses.get(loss) is loss


# --- targets ---------------------------------------------------------------------------

BAD_TARGETS = [
    ("labels", (3, 4), [0, 4, 1], ValueError,
     "y[1] = 4 is not a class label: labels must be integers in [0, 4) for a prediction with 4 columns"),
    ("labels", (3, 4), [[0], [-1], [1]], ValueError, "y[1, 0] = -1 is not a class label: labels must be integers in [0, 4)"),
    ("labels", (3, 4), [0.0, 1.5, 2.0], ValueError, "y[1] = 1.5 is not a class label"),
    ("labels", (2, 3), [[0, 2, 0], [1, 0, 0]], ValueError, "y[0, 1] = 2; class probabilities (one-hot rows) must be in [0, 1]"),
    ("labels", (3, 4), np.zeros((3, 2)), ValueError,
     "y has shape (3, 2); expected (3, 4), the prediction's shape; or (3,) or (3, 1), one integer class label per row"),
    ("probability", (2, 2), [[0.5, 1.5], [0, 0]], ValueError, "y[0, 1] = 1.5; targets must be probabilities in [0, 1]"),
    ("probability", (2, 2), [[0.5, 0.5], [-0.1, 0]], ValueError, "y[1, 0] = -0.1; targets must be probabilities in [0, 1]"),
    ("binary", (2, 1), [0, 2], ValueError, "y[1] = 2; targets must be 0 or 1"),
    ("sign", (1, 1), [[0.5]], ValueError, "y[0, 0] = 0.5; targets must be -1 or 1 (or 0 or 1)"),
    ("sign", (3, 1), [-1, 0, 1], ValueError, "y holds both -1 and 0; use -1 and 1, or 0 and 1"),
    ("nonnegative", (1, 2), [[1, -2]], ValueError, "y[0, 1] = -2; targets must be finite numbers >= 0"),
    ("real", (2, 1), [1.0, math.nan], ValueError, "y[1] is nan; targets must be finite"),
    ("real", (1, 2), [[math.inf, 0.0]], ValueError, "y[0, 0] is inf; targets must be finite"),
    ("labels", (2, 3), [0.0, -math.inf], ValueError, "y[1] is -inf; targets must be finite"),
    ("real", (3, 2), np.zeros((2, 2)), ValueError, "y has 2 rows; the prediction has 3"),
    ("real", (3, 2), np.zeros((3, 3)), ValueError, "y has shape (3, 3); expected (3, 2), the prediction's shape"),
    ("real", (3, 1), np.zeros((3, 2)), ValueError, "y has shape (3, 2); expected (3, 1), the prediction's shape, or (3,)"),
    ("real", (2, 2), np.zeros((2, 2, 1)), ValueError, "y must be a vector or a matrix (one row per sample); got shape (2, 2, 1)"),
    ("real", (1, 1), 5.0, ValueError, "y must be a vector or a matrix (one row per sample); got shape ()"),
    ("real", (1, 1), [["a"]], TypeError, "y must be an array of numbers; got an array of dtype <U1"),
    ("real", (1, 1), [[None]], TypeError, "y must be an array of numbers; got an array of dtype object"),
    ("real", (2, 1), [[1.0], [1.0, 2.0]], TypeError, "y must be an array of numbers; got list"),
]


def test_targets_too_large_for_the_model_dtype_are_refused():
    # Finite in float64, infinite once cast to float32: refused, never trained on as inf.
    with pytest.raises(ValueError) as raised:
        check_targets([[1.0], [1e39]], (2, 1), "real", "Owner", dtype=np.float32)
    assert str(raised.value) == (
        "Owner: y[1, 0] = 1e+39 is beyond the range of float32 (largest 3.403e+38); scale the targets, or use a float64 model"
    )
    assert check_targets([[1.0], [1e39]], (2, 1), "real", "Owner", dtype=np.float64)[1, 0] == 1e39


@pytest.mark.parametrize("kind, shape, y, error, message", BAD_TARGETS)
def test_bad_targets_name_y_the_entry_and_what_is_allowed(kind, shape, y, error, message):
    with pytest.raises(error) as raised:
        check_targets(y, shape, kind, "Owner")
    assert str(raised.value).startswith(f"Owner: {message}")


@pytest.mark.parametrize(
    "kind, shape, y",
    [
        ("labels", (3, 4), [0, 3, 1]),
        ("labels", (3, 4), np.eye(4)[:3]),
        ("labels", (2, 1), [[0.0], [1.0]]),
        ("binary", (2, 2), np.array([[True, False], [False, True]])),
        ("sign", (3, 1), [-1, 1, 1]),
        ("sign", (3, 1), [0, 1, 0]),
        ("probability", (1, 3), [[0.0, 0.5, 1.0]]),
        ("nonnegative", (2, 1), np.array([0, 7], dtype=np.uint8)),
    ],
)
def test_good_targets_come_back_as_matrices(kind, shape, y):
    matrix = check_targets(y, shape, kind, "Owner", dtype=np.float32)
    assert matrix.ndim == 2 and matrix.shape[0] == shape[0] and matrix.dtype == np.float32
    assert matrix.flags.c_contiguous


def test_losses_and_metrics_check_targets_before_running():
    with pytest.raises(ValueError, match=r"^CategoricalCrossentropy: target\[1\] = 5 is not a class label"):
        losses.get("categorical_crossentropy")(np.full((2, 3), 1 / 3), [0, 5])
    with pytest.raises(ValueError, match=r"^BinaryCrossentropy: y\[0, 0\] = 2; targets must be probabilities"):
        losses.get("binary_crossentropy").check_targets([[2.0]], (1, 1))
    with pytest.raises(ValueError, match=r"^Hinge: target\[0, 0\] = 0.5; targets must be -1 or 1"):
        losses.get("hinge")(np.zeros((1, 1)), [[0.5]])
    with pytest.raises(ValueError, match=r"^BinaryAccuracy: target\[1\] = 3; targets must be 0 or 1"):
        metrics.get("binary_accuracy")(np.zeros(2), [0, 3])


@pytest.mark.parametrize(
    "prediction, error, message",
    [
        (np.zeros((1, 1, 1)), ValueError, "MeanSquaredError: prediction must be a vector or a matrix (rows, columns); got shape (1, 1, 1)"),
        (np.zeros((0, 3)), ValueError, "MeanSquaredError: prediction is empty (shape (0, 3)); a loss needs at least one value"),
        (np.array([["a"]]), TypeError, "MeanSquaredError: prediction must be an array of numbers (float32, float64, integers or booleans); got an array of dtype <U1"),
        (np.zeros((1, 1), dtype=np.complex128), TypeError, "got an array of dtype complex128"),
    ],
)
def test_bad_predictions(prediction, error, message):
    with pytest.raises(error) as raised:
        losses.get("mse")(prediction, np.zeros((1, 1)))
    assert message in str(raised.value)


# --- arrays handed to kernels -----------------------------------------------------------

Z = np.zeros((2, 3))


@pytest.mark.parametrize(
    "arguments, error, message",
    [
        (([[0.0]],), TypeError, "ReLU.forward(): z must be a NumPy array; got list"),
        ((np.zeros((2, 3), dtype=np.int64),), TypeError, "ReLU.forward(): z has dtype int64; expected float32 or float64"),
        ((np.zeros(3),), ValueError, "ReLU.forward(): z must be a matrix (rows, columns); got shape (3,)"),
        ((np.zeros((3, 2)).T,), ValueError, "ReLU.forward(): z is not C-contiguous; pass np.ascontiguousarray(z)"),
        ((Z, np.zeros((2, 3), dtype=np.float32)), TypeError, "ReLU.forward(): out has dtype float32; z has dtype float64"),
        ((Z, np.zeros((2, 2))), ValueError, "ReLU.forward(): out has shape (2, 2); z has shape (2, 3)"),
    ],
)
def test_bad_forward_arrays(arguments, error, message):
    with pytest.raises(error) as raised:
        activations.get("relu").forward(*arguments)
    assert str(raised.value) == message


def test_read_only_output_is_refused_and_left_unchanged():
    out = np.full((2, 3), 7.0)
    out.flags.writeable = False
    with pytest.raises(ValueError, match=r"ReLU.forward\(\): out is read-only; it is written in place"):
        activations.get("relu").forward(-np.ones((2, 3)), out)
    np.testing.assert_array_equal(out, 7.0)


def test_bad_backward_arrays_change_nothing():
    relu = activations.get("relu")
    z = np.ones((2, 3))
    grad_in = np.full((2, 3), 7.0)
    with pytest.raises(ValueError, match=r"ReLU.backward\(\): grad_out has shape \(3, 2\); z has shape \(2, 3\)"):
        relu.backward(z, z, np.ones((3, 2)), grad_in)
    with pytest.raises(TypeError, match=r"ReLU.backward\(\): out has dtype float32; z has dtype float64"):
        relu.backward(z, z.astype(np.float32), z, grad_in)
    np.testing.assert_array_equal(grad_in, 7.0)


# --- metrics: errors leave the running totals as they were ---------------------------------


def test_metric_errors_leave_the_totals_unchanged():
    accuracy = metrics.get("accuracy")
    accuracy.update(np.array([[0.9, 0.1], [0.2, 0.8]]), np.array([0, 0]))
    before = accuracy.totals.copy()
    with pytest.raises(ValueError, match=r"Accuracy: target\[0\] = 2 is not a class label"):
        accuracy.update(np.array([[0.9, 0.1]]), np.array([2]))
    with pytest.raises(ValueError, match=r"Accuracy.update\(\): prediction has 3 columns; earlier batches had 2 \(call reset\(\) to start over\)"):
        accuracy.update(np.full((1, 3), 1 / 3), np.array([0]))
    np.testing.assert_array_equal(accuracy.totals, before)
    assert accuracy.result() == 0.5
