"""A model on "cuda": placement, predict, value_and_grad, evaluate, fit, save and load, against the CPU model.

Shapes are tiny (the simulator runs every GPU thread as a Python thread) but
cross the shrunken tiles and blocks of conftest.py: 5 inputs, 6 hidden
units, 9 or 13 samples in batches of 4 (the last one shorter).
"""

from __future__ import annotations

import math
import re
import signal

import numpy as np
import pytest
from numba import cuda
from test_layers_registry import MAX_ERROR, SCALED_MAE, SOFTSIGN, Plugin

import numbagrad
from numbagrad import Dense, Sequential, activations, config
from numbagrad.activations import ActivationSpec
from numbagrad.device import is_cuda_array
from numbagrad.train import Callback, EarlyStopping

#: One epoch on the GPU equals one on the CPU to these relative tolerances.
TOLERANCE = {np.float64: 1e-10, np.float32: 1e-4}


def data(samples=13, features=5, classes=3, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((samples, features)).astype(dtype)
    labels = rng.integers(0, classes, samples)
    return X, labels


def make(device, activations=("relu", "softmax"), units=(6, 3), dtype=np.float64, **compile_options):
    layers = [Dense(u, activation=a) for u, a in zip(units, activations)]
    model = Sequential(layers, input_dim=5, dtype=dtype, seed=1, device=device)
    if compile_options:
        model.compile(**compile_options)
    return model


def assert_same_weights(gpu, cpu, dtype, what=""):
    for i, (got, want) in enumerate(zip(gpu.get_weights(), cpu.get_weights())):
        scale = max(1.0, float(np.max(np.abs(want))))
        np.testing.assert_allclose(got, want, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype] * scale, err_msg=f"{what} weights[{i}]")


def assert_same_history(gpu, cpu, dtype):
    assert gpu.history.history.keys() == cpu.history.history.keys()
    for key, values in cpu.history.history.items():
        np.testing.assert_allclose(gpu.history.history[key], values, rtol=TOLERANCE[dtype], err_msg=key)


# --- one epoch equals the CPU's ------------------------------------------------------------

EPOCH_CASES = [
    pytest.param(
        np.float64, ("relu", "softmax"), (6, 3), "classes",
        dict(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy", "roc_auc"]),
        id="relu-softmax-crossentropy-adam-float64",
    ),
    pytest.param(
        np.float32, ("tanh", "sigmoid"), (6, 1), "binary",
        dict(optimizer={"name": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True}, loss="binary_crossentropy", clip_norm=0.5,
             metrics=["binary_accuracy", "roc_auc"]),
        id="tanh-sigmoid-bce-nesterov-clip_norm-float32",
    ),
    pytest.param(
        np.float64, ("elu", "linear"), (6, 2), "real",
        dict(optimizer="nadam", loss="huber", clip_value=0.05, metrics=["mae", "r2"], schedule={"name": "cosine", "T_max": 5}),
        id="elu-linear-huber-nadam-clip_value-schedule-float64",
    ),
    pytest.param(
        np.float64, ("softmax", "sigmoid"), (6, 2), "real",
        dict(optimizer="rmsprop", loss="mse"),
        id="hidden-softmax-sigmoid-mse-rmsprop-float64",
    ),
]


def targets_for(kind, labels, outputs):
    if kind == "classes":
        return labels
    if kind == "binary":
        return (labels > 0).astype(float).reshape(-1, 1)
    return np.random.default_rng(5).standard_normal((labels.shape[0], outputs))


@pytest.mark.parametrize("dtype, activations, units, targets, options", EPOCH_CASES)
def test_one_epoch_on_cuda_equals_the_cpu(dtype, activations, units, targets, options):
    X, labels = data(dtype=dtype)
    y = targets_for(targets, labels, units[-1])
    models = {device: make(device, activations, units, dtype, **options) for device in ("cpu", "cuda")}
    for model in models.values():
        model.fit(X, y, batch_size=4, epochs=1, verbose=0)
    assert is_cuda_array(models["cuda"].parameters)
    assert_same_weights(models["cuda"], models["cpu"], dtype)
    assert_same_history(models["cuda"], models["cpu"], dtype)
    assert models["cuda"].training.optimizer.steps == models["cpu"].training.optimizer.steps == 4


def test_validation_evaluate_predict_and_value_and_grad_equal_the_cpu():
    X, labels = data()
    options = dict(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy", "roc_auc", "f1_macro"])
    cpu, gpu = make("cpu", **options), make("cuda", **options)
    for model in (cpu, gpu):
        model.fit(X, labels, batch_size=4, epochs=1, validation_split=0.3, verbose=0)
    assert_same_history(gpu, cpu, np.float64)
    assert set(gpu.history.history) == {
        "loss", "accuracy", "roc_auc", "f1_macro", "val_loss", "val_accuracy", "val_roc_auc", "val_f1_macro", "lr"
    }
    evaluated = gpu.evaluate(X, labels, batch_size=5)
    expected = cpu.evaluate(X, labels, batch_size=5)
    assert evaluated["loss"] == pytest.approx(expected["loss"], rel=1e-12)
    assert evaluated["accuracy"] == expected["accuracy"]
    assert evaluated["roc_auc"] == pytest.approx(expected["roc_auc"], rel=1e-12)
    assert evaluated["f1_macro"] == expected["f1_macro"]
    np.testing.assert_allclose(gpu.predict(X, batch_size=5), cpu.predict(X, batch_size=5), rtol=1e-12)
    value, gradient = gpu.value_and_grad(X[:7], labels[:7], "categorical_crossentropy")
    expected_value, expected_gradient = cpu.value_and_grad(X[:7], labels[:7], "categorical_crossentropy")
    assert is_cuda_array(gradient)
    assert value == pytest.approx(expected_value, rel=1e-12)
    np.testing.assert_allclose(gradient.copy_to_host(), expected_gradient, rtol=1e-10, atol=1e-14)


def test_a_cpu_model_moved_to_cuda_continues_as_on_the_cpu():
    X, labels = data()
    options = dict(optimizer={"name": "sgd", "lr": 0.05, "momentum": 0.9}, loss="categorical_crossentropy")
    stay, move = make("cpu", **options), make("cpu", **options)
    stay.fit(X, labels, batch_size=4, epochs=2, verbose=0)
    move.fit(X, labels, batch_size=4, epochs=1, verbose=0)
    state = move.training.optimizer.state_dict()
    assert move.to("cuda") is move
    assert move.device == "cuda" and is_cuda_array(move.layers[0].weight)
    np.testing.assert_array_equal(move.training.optimizer.state_dict()["state"][0]["momentum_buffer"], state["state"][0]["momentum_buffer"])
    move.fit(X, labels, batch_size=4, epochs=1, verbose=0)
    assert_same_weights(move, stay, np.float64)
    move.to("cpu")
    assert isinstance(move.parameters, np.ndarray) and move.layers[1].bias.base is not None
    assert_same_weights(move, stay, np.float64)
    assert move.training.optimizer.steps == 8


def test_weights_go_in_and_out_as_host_arrays():
    gpu, cpu = make("cuda"), make("cpu")
    weights = gpu.get_weights()
    assert all(isinstance(w, np.ndarray) for w in weights)
    for got, want in zip(weights, cpu.get_weights()):
        np.testing.assert_array_equal(got, want)  # drawn on the host from the same seed
    new = [np.full_like(w, i) for i, w in enumerate(weights)]
    gpu.set_weights(new)
    for got, want in zip(gpu.get_weights(), new):
        np.testing.assert_array_equal(got, want)
    gpu.initialize()
    for got, want in zip(gpu.get_weights(), cpu.get_weights()):
        np.testing.assert_array_equal(got, want)


# --- non-finite losses, interrupts, data that does not fit --------------------------------


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning", "ignore:invalid value encountered:RuntimeWarning")
def test_a_non_finite_loss_stops_with_the_last_finite_weights_as_on_the_cpu():
    X, labels = data(dtype=np.float32)
    y = np.random.default_rng(0).standard_normal((X.shape[0], 3))
    options = dict(optimizer={"name": "sgd", "lr": 1e30}, loss="mse")
    models = {device: make(device, ("relu", "linear"), (6, 3), np.float32, **options) for device in ("cpu", "cuda")}
    messages = {}
    for device, model in models.items():
        with pytest.raises(numbagrad.NonFiniteLossError) as raised:
            model.fit(X, y, batch_size=4, epochs=3, verbose=0)
        # Which non-finite value (inf or NaN) depends on the order of the sums that overflowed.
        messages[device] = re.sub(r"became (inf|-inf|nan)", "became <non-finite>", str(raised.value))
    assert messages["cuda"] == messages["cpu"]
    gpu, cpu = models["cuda"], models["cpu"]
    assert np.isfinite(gpu.parameters.copy_to_host()).all()
    assert gpu.training.optimizer.steps == cpu.training.optimizer.steps
    np.testing.assert_allclose(gpu.epoch_losses, cpu.epoch_losses, rtol=1e-4)
    assert_same_weights(gpu, cpu, np.float32)


def test_data_that_does_not_fit_goes_over_in_segments_with_the_same_result(monkeypatch):
    X, labels = data()
    options = dict(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy", "roc_auc"])
    resident, streamed = make("cuda", **options), make("cuda", **options)
    resident.fit(X, labels, batch_size=4, epochs=1, verbose=0)
    # Room for one batch of 4 rows of 5 inputs and 1 target at a time.
    monkeypatch.setattr(config, "CUDA_RESIDENT_DATA_BYTES", 4 * 6 * 8)
    streamed.fit(X, labels, batch_size=4, epochs=1, verbose=0)
    np.testing.assert_array_equal(streamed.parameters.copy_to_host(), resident.parameters.copy_to_host())
    assert streamed.history.history == resident.history.history
    assert streamed.evaluate(X, labels, batch_size=5) == resident.evaluate(X, labels, batch_size=5)


def test_early_stopping_restores_the_best_weights_of_a_gpu_model():
    X, labels = data(samples=8)
    model = make("cuda", optimizer={"name": "sgd", "lr": 5.0}, loss="categorical_crossentropy")
    best = {}

    class Keep(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if logs["loss"] < best.get("loss", np.inf):
                best.update(loss=logs["loss"], weights=self.model.get_weights())

    stopper = EarlyStopping(monitor="loss", patience=0, restore_best_weights=True)
    model.fit(X, labels, batch_size=8, epochs=4, verbose=0, callbacks=[Keep(), stopper])
    for got, want in zip(model.get_weights(), best["weights"]):
        np.testing.assert_array_equal(got, want)


def test_ctrl_c_stops_between_segments_with_consistent_counters():
    X, labels = data(samples=8)

    class Interrupt(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                signal.raise_signal(signal.SIGINT)

    model = make("cuda", optimizer="adam", loss="categorical_crossentropy")
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, labels, batch_size=4, epochs=3, verbose=0, callbacks=[Interrupt()])
    assert model.epoch == 1 and model.training.optimizer.steps == 2


# --- saving and loading ------------------------------------------------------------------


def test_a_model_saved_on_the_gpu_loads_on_the_cpu_and_continues(tmp_path):
    X, labels = data()
    options = dict(optimizer="nadam", loss="categorical_crossentropy", metrics=["accuracy"])
    gpu = make("cuda", **options)
    gpu.fit(X, labels, batch_size=4, epochs=1, verbose=0)
    gpu.save(tmp_path / "model.ngm")
    loaded = numbagrad.load_model(tmp_path / "model.ngm")
    assert loaded.device == "cpu"
    for got, want in zip(loaded.get_weights(), gpu.get_weights()):
        np.testing.assert_array_equal(got, want)
    saved_state = gpu.training.optimizer.state_dict()["state"][0]
    loaded_state = loaded.training.optimizer.state_dict()["state"][0]
    assert loaded_state.keys() == saved_state.keys()
    for key, value in saved_state.items():
        np.testing.assert_array_equal(loaded_state[key], value)
    on_gpu = numbagrad.load_model(tmp_path / "model.ngm", device="cuda")
    assert on_gpu.device == "cuda" and on_gpu.epoch == 1
    loaded.fit(X, labels, batch_size=4, epochs=1, verbose=0)
    on_gpu.fit(X, labels, batch_size=4, epochs=1, verbose=0)
    assert_same_weights(on_gpu, loaded, np.float64)


# --- plugins and errors ------------------------------------------------------------------


@cuda.jit(device=True)
def softsign_forward(z, params, i, j):
    x = z[i, j]
    return x / (1 + abs(x))


@cuda.jit(device=True)
def softsign_backward(z, out, grad_out, params, i, j):
    d = 1 + abs(z[i, j])
    return grad_out[i, j] / (d * d)


def test_a_plugin_activation_with_cuda_functions_trains_on_the_gpu(fresh_registry):
    spec = ActivationSpec(
        name="softsign", forward=SOFTSIGN.forward, backward=SOFTSIGN.backward,
        cuda_forward=softsign_forward, cuda_backward=softsign_backward,
    )
    activations.register(spec)
    X, labels = data()
    options = dict(optimizer="adam", loss="categorical_crossentropy")
    cpu = make("cpu", ("softsign", "softmax"), **options)
    gpu = make("cuda", ("softsign", "softmax"), **options)
    for model in (cpu, gpu):
        model.fit(X, labels, batch_size=4, epochs=1, verbose=0)
    assert_same_weights(gpu, cpu, np.float64)


def test_an_activation_without_cuda_code_is_named_and_nothing_moves(fresh_registry):
    fresh_registry.register(Plugin([SOFTSIGN]))
    model = make("cpu", ("softsign", "linear"))
    with pytest.raises(TypeError, match=r"Sequential.to\('cuda'\): activation 'softsign' \(provided by a plugin registered in code\) has no CUDA code \(its declaration's cuda_forward is None\)"):
        model.to("cuda")
    assert model.device == "cpu" and isinstance(model.parameters, np.ndarray)
    with pytest.raises(TypeError, match="activation 'softsign'"):
        Sequential([Dense(2, activation="softsign")], input_dim=3, device="cuda")


def test_a_loss_or_metric_without_cuda_code_is_named_and_the_compile_options_stay(fresh_registry):
    fresh_registry.register(Plugin([], [SCALED_MAE], [MAX_ERROR]))
    model = make("cuda", ("relu", "linear"), optimizer="adam", loss="mse")
    before = model.training
    with pytest.raises(TypeError, match=r"compile: loss 'scaled_mae' \(provided by a plugin registered in code\) has no CUDA code \(its declaration's cuda_kernel is None\)"):
        model.compile("adam", "scaled_mae")
    with pytest.raises(TypeError, match=r"compile: metric 'max_error' .* has no CUDA code \(its declaration's cuda_update is None\)"):
        model.compile("adam", "mse", metrics=["max_error"])
    assert model.training is before
    with pytest.raises(TypeError, match=r"value_and_grad: loss 'scaled_mae' .* has no CUDA code"):
        model.value_and_grad(np.ones((2, 5)), np.ones((2, 3)), "scaled_mae")
    cpu = make("cpu", ("relu", "linear"), optimizer="adam", loss="scaled_mae")
    with pytest.raises(TypeError, match="loss 'scaled_mae'"):
        cpu.to("cuda")
    assert cpu.device == "cpu"


@pytest.mark.parametrize("device", ["gpu", "CUDA:0", 0, None])
def test_an_unknown_device_is_refused(device):
    with pytest.raises(ValueError, match=r"Sequential: device must be 'cpu' or 'cuda'; got"):
        Sequential([Dense(2)], input_dim=3, device=device)
    model = make("cpu")
    with pytest.raises(ValueError, match=r"Sequential.to: device must be 'cpu' or 'cuda'"):
        model.to(device)
    assert model.device == "cpu"


def test_moving_to_where_the_model_is_changes_nothing():
    model = make("cuda", optimizer="adam", loss="categorical_crossentropy")
    parameters, optimizer = model.parameters, model.training.optimizer
    model.to(" Cuda ")
    assert model.parameters is parameters and model.training.optimizer is optimizer
    assert math.isclose(float(np.sum(model.get_weights()[0])), float(np.sum(make("cpu").get_weights()[0])))
