"""Activations, losses and metrics declared by a plugin: found by name, checked, rejected when wrong."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from numbagrad import activations, losses, metrics
from numbagrad.activations import ActivationSpec
from numbagrad.errors import PluginError
from numbagrad.hookspecs import hookimpl
from numbagrad.hyperparameters import Hyperparameter
from numbagrad.losses import LossSpec
from numbagrad.metrics import MetricSpec


@njit(cache=True, error_model="numpy")
def softsign_forward(z, out, params):
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            x = z[i, j]
            out[i, j] = x / (1 + abs(x))


@njit(cache=True, error_model="numpy")
def softsign_backward(z, out, grad_out, grad_in, params):
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            d = 1 + abs(z[i, j])
            grad_in[i, j] = grad_out[i, j] / (d * d)


@njit(cache=True, error_model="numpy")
def scaled_mae_loss(prediction, target, grad, params):
    rows, columns = prediction.shape
    scale = params[0] / (rows * columns)
    total = 0.0
    for i in range(rows):
        for j in range(columns):
            d = prediction[i, j] - target[i, j]
            total += abs(d)
            grad[i, j] = scale if d > 0 else (-scale if d < 0 else 0.0)
    return total * scale


@njit(cache=True, error_model="numpy")
def max_error_update(prediction, target, totals, params):
    for i in range(prediction.shape[0]):
        for j in range(prediction.shape[1]):
            totals[0] = max(totals[0], abs(prediction[i, j] - target[i, j]))


@njit(cache=True, error_model="numpy")
def max_error_twice(prediction, target, weights, totals, params):
    """A weighted kernel that breaks its contract: unit weights give another value than update."""
    for i in range(prediction.shape[0]):
        for j in range(prediction.shape[1]):
            totals[0] = max(totals[0], 2.0 * abs(prediction[i, j] - target[i, j]))


SOFTSIGN = ActivationSpec(name="softsign", title="Softsign", forward=softsign_forward, backward=softsign_backward)
SCALED_MAE = LossSpec(
    name="scaled_mae", kernel=scaled_mae_loss, hyperparameters=(Hyperparameter("weight", 2.0, minimum=0.0),)
)
MAX_ERROR = MetricSpec(
    name="max_error", update=max_error_update, totals=1, result=lambda totals: float(totals[0]), higher_is_better=False
)


class Plugin:
    """A third-party plugin, as an object with hook implementations."""

    def __init__(self, activations=(), losses=(), metrics=()):
        self._activations, self._losses, self._metrics = list(activations), list(losses), list(metrics)

    @hookimpl
    def numbagrad_activations(self):
        return self._activations

    @hookimpl
    def numbagrad_losses(self):
        return self._losses

    @hookimpl
    def numbagrad_metrics(self):
        return self._metrics


def test_declarations_registered_in_code_are_found_by_name(fresh_registry):
    fresh_registry.register(Plugin([SOFTSIGN], [SCALED_MAE], [MAX_ERROR]))
    z = np.array([[-3.0, 0.0, 1.0]], dtype=np.float32)
    softsign = activations.get("Softsign")
    np.testing.assert_allclose(softsign.forward(z), [[-0.75, 0.0, 0.5]])
    np.testing.assert_allclose(softsign.backward(z, softsign.forward(z), np.ones_like(z)), [[1 / 16, 1.0, 0.25]])
    value, grad = losses.get("scaled_mae", weight=3.0).value_and_grad(np.array([[1.0, 2.0]]), np.array([[0.0, 4.0]]))
    assert value == pytest.approx(4.5)
    np.testing.assert_allclose(grad, [[1.5, -1.5]])
    assert metrics.get("max_error")(np.array([[1.0, 2.0]]), np.array([[0.0, 4.0]])) == 2.0
    assert activations.available()["softsign"] == "<registered in code>"
    assert "scaled_mae" in losses.available() and "max_error" in metrics.available()


def test_register_helpers_and_unregister(fresh_registry):
    name = activations.register(SOFTSIGN)
    losses.register(SCALED_MAE)
    metrics.register(MAX_ERROR)
    assert activations.get("softsign").spec is SOFTSIGN
    activations.unregister(name)
    assert "softsign" not in activations.available()
    assert "scaled_mae" in losses.available()


def test_every_primitive_runs_a_plugin_activation_and_loss(fresh_registry):
    import numbagrad.autodiff as ad

    fresh_registry.register(Plugin([SOFTSIGN], [SCALED_MAE]))
    x = ad.Tensor(np.array([[0.5, -2.0]]), requires_grad=True)
    ad.loss("scaled_mae", ad.activation("softsign", x), np.zeros((1, 2))).backward()
    np.testing.assert_allclose(x.grad, [[1 / 1.5**2, -1 / 9]])


# --- declarations that are wrong ---------------------------------------------------------


@njit(cache=True, error_model="numpy")
def two_argument_forward(z, out):
    out[0, 0] = z[0, 0]


@njit(cache=True, error_model="numpy")
def loss_returning_nothing(prediction, target, grad, params):
    grad[0, 0] = 1.0


@njit(cache=True, error_model="numpy")
def loss_returning_an_array(prediction, target, grad, params):
    return grad


@njit(cache=True, error_model="numpy")
def metric_with_wrong_types(prediction, target, totals, params):
    totals[0] = prediction


def python_forward(z, out, params):
    out[:] = z


REJECTED = [
    (
        ActivationSpec(name="bad", forward=two_argument_forward, backward=softsign_backward),
        "activation 'bad': its kernels do not fit the contract forward(z: T[:, ::1], out: T[:, ::1], params: float64[::1])",
    ),
    (
        ActivationSpec(name="bad", forward=python_forward, backward=softsign_backward),
        "activation 'bad': forward must be an @njit function; got <function python_forward",
    ),
    (
        LossSpec(name="bad", kernel=loss_returning_nothing),
        "loss 'bad': its kernel does not fit the contract loss(prediction: T[:, ::1], target: T[:, ::1], "
        "grad: T[:, ::1], params: float64[::1]) -> float64 for T = float64: TypingError: mismatch of return type: none vs float64",
    ),
    (
        LossSpec(name="bad", kernel=loss_returning_an_array),
        "loss 'bad': its kernel does not fit the contract",
    ),
    (
        MetricSpec(name="bad", update=metric_with_wrong_types, totals=1, result=float),
        "metric 'bad': its update kernel does not fit the contract update(prediction: T[:, ::1], target: T[:, ::1], "
        "totals: float64[::1], params: float64[::1]) for T = float64",
    ),
    (
        MetricSpec(name="bad", update=max_error_update, weighted_update=max_error_update, totals=1, result=float),
        "metric 'bad': its weighted_update kernel does not fit the contract weighted_update(prediction: T[:, ::1], "
        "target: T[:, ::1], weights: float64[::1], totals: float64[::1], params: float64[::1]) for T = float64",
    ),
    (
        MetricSpec(name="bad", update=max_error_update, weighted_update=max_error_twice, totals=1, result=lambda t: float(t[0])),
        "metric 'bad': weighted_update with every weight 1 gives 1.5, update gives 0.75: they must agree",
    ),
    (
        MetricSpec(name="bad", update=max_error_update, weighted_update=lambda *a: None, totals=1, result=float),
        "metric 'bad': weighted_update must be an @njit function or None; got <function <lambda>",
    ),
    (
        MetricSpec(name="bad", update=max_error_update, totals=1, result=lambda totals: "high"),
        "metric 'bad': result(totals) must return a number; got 'high'",
    ),
    (
        MetricSpec(name="bad", update=max_error_update, totals=1, result=lambda totals: float(totals[0]), merge="max"),
        "metric 'bad': merge must be None or a function of two totals; got 'max'",
    ),
    (
        MetricSpec(name="bad", update=max_error_update, totals=1, result=lambda totals: float(totals[0]), merge=lambda a, b: np.r_[a, b]),
        "metric 'bad': merge(first, second) must return totals of shape (1,); got shape (2,)",
    ),
    (
        MetricSpec(name="bad", update=max_error_update, totals=1, result=lambda totals: float(totals[0]), merge=lambda a: a),
        "metric 'bad': merge(first, second) failed: TypeError:",
    ),
    (
        MetricSpec(name="bad", update=max_error_update, totals=0, result=float),
        "metric 'bad': totals must give an integer >= 1; got 0 for 1 columns",
    ),
    (
        LossSpec(name="bad", kernel=scaled_mae_loss, target="integers"),
        "loss 'bad': target must be one of real, nonnegative, probability, binary, sign, labels; got 'integers'",
    ),
    (
        LossSpec(name="bad", kernel=scaled_mae_loss, fused_activation="sigmoid"),
        "loss 'bad': a loss with a fused_activation must declare a bool hyperparameter 'from_logits'",
    ),
    (
        LossSpec(name="bad", kernel=scaled_mae_loss, hyperparameters=(Hyperparameter("weight", -1.0, minimum=0.0),)),
        "loss 'bad': a declared default is invalid: bad: weight must be a finite number >= 0; got -1.0",
    ),
    (
        ActivationSpec(name="bad", forward=softsign_forward, backward=softsign_backward, presets={"worse": {"alpha": 1}}),
        "activation 'bad': preset 'worse' is invalid: bad takes no hyperparameters; got 'alpha'",
    ),
    (
        ActivationSpec(name="bad", forward=softsign_forward, backward=softsign_backward, row_wise="yes"),
        "activation 'bad': row_wise must be True or False; got 'yes'",
    ),
]


@pytest.mark.parametrize("spec, message", REJECTED, ids=[m.split(":")[1].strip()[:40] for _, m in REJECTED])
def test_wrong_declarations_are_rejected_with_a_clear_error(fresh_registry, spec, message):
    kind = {ActivationSpec: "activations", LossSpec: "losses", MetricSpec: "metrics"}[type(spec)]
    with pytest.raises(PluginError) as raised:
        fresh_registry.register(Plugin(**{kind: [spec]}))
    assert "is invalid: " in str(raised.value) and message in str(raised.value)
    assert "bad" not in fresh_registry.available(kind[:-2] if kind == "losses" else kind[:-1])


def test_a_plugin_cannot_silently_replace_a_builtin(fresh_registry):
    relu = ActivationSpec(name="relu", forward=softsign_forward, backward=softsign_backward)
    with pytest.raises(PluginError, match=r"the activation name 'relu' is already provided by numbagrad \(built-in\); declare override=True to replace it"):
        fresh_registry.register(Plugin([relu]))
    assert activations.get("relu").title == "ReLU"
    fresh_registry.reset()
    replacement = ActivationSpec(name="relu", forward=softsign_forward, backward=softsign_backward, override=True)
    fresh_registry.register(Plugin([replacement]))
    assert activations.get("relu").spec is replacement


def test_builtins_pass_the_plugin_checks():
    from numbagrad.activations.builtin import BUILTIN_ACTIVATIONS
    from numbagrad.losses.builtin import BUILTIN_LOSSES
    from numbagrad.metrics.builtin import BUILTIN_METRICS

    for package, specs in ((activations, BUILTIN_ACTIVATIONS), (losses, BUILTIN_LOSSES), (metrics, BUILTIN_METRICS)):
        for spec in specs:
            spec.check_declaration()
            package.check_kernels(spec)
