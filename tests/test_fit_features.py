"""fit's features: schedules, callbacks, progress, interruption, memory and every input error."""

from __future__ import annotations

import os
import signal
import tracemalloc

import numpy as np
import pytest

import numbagrad
from numbagrad import Dense, Sequential, schedules
from numbagrad.nn.placement import tensor_views
from numbagrad.train import Callback, EarlyStopping, ModelCheckpoint, ReduceLROnPlateau


def classifier(dtype=np.float64, seed=0):
    model = Sequential([Dense(8, activation="relu"), Dense(3, activation="softmax")], input_dim=4, dtype=dtype, seed=seed)
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    return model


def data(rows=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, 4))
    return X, (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5).astype(int)


class Recorder(Callback):
    def __init__(self):
        self.calls = []
        self.lrs = []

    def on_train_begin(self, logs=None):
        self.calls.append("train_begin")

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(f"epoch_begin {epoch}")

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(f"epoch_end {epoch}")
        self.lrs.append(logs["lr"])

    def on_train_end(self, logs=None):
        self.calls.append("train_end")


def test_callback_hooks_run_in_order():
    model = classifier()
    recorder = Recorder()
    model.fit(*data(), epochs=2, verbose=0, callbacks=[recorder])
    assert recorder.calls == ["train_begin", "epoch_begin 0", "epoch_end 0", "epoch_begin 1", "epoch_end 1", "train_end"]


@pytest.mark.parametrize("per", ["step", "epoch"])
def test_schedule_sets_each_batch_learning_rate(per):
    X, y = data(rows=40)
    schedule = schedules.get("exponential", gamma=0.5, per=per)
    model = Sequential([Dense(3, activation="softmax")], input_dim=4, dtype=np.float64)
    model.compile({"name": "sgd", "lr": 0.2}, "categorical_crossentropy", schedule=schedule)
    seen = []

    class Watch(Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(logs["lr"])

    reference = Sequential([Dense(3, activation="softmax")], input_dim=4, dtype=np.float64)
    reference.compile({"name": "sgd", "lr": 0.2}, "categorical_crossentropy")
    model.fit(X, y, batch_size=10, epochs=3, verbose=0, callbacks=[Watch()])
    # Replay with the learning rates set by hand between batches.
    rng = np.random.default_rng(reference.seed)
    opt = reference.training.optimizer
    step = 0
    for epoch in range(3):
        order = rng.permutation(40)
        for start in range(0, 40, 10):
            rate = 0.2 * 0.5 ** (step if per == "step" else epoch)
            opt.param_groups[0]["lr"] = rate
            rows = order[start : start + 10]
            _, grad = reference.value_and_grad(X[rows], y[rows], "categorical_crossentropy")
            opt.step([view for _, view in tensor_views(reference, grad)])
            step += 1
    np.testing.assert_allclose(model.parameters, reference.parameters, rtol=1e-12)
    expected = [0.2 * 0.5 ** (4 * (e + 1) - 1) for e in range(3)] if per == "step" else [0.2 * 0.5**e for e in range(3)]
    np.testing.assert_allclose(seen, expected)
    assert model.training.optimizer.param_groups[0]["lr"] == pytest.approx(expected[-1])


def test_schedule_without_lr_starts_from_the_optimizer_learning_rate():
    model = classifier()
    model.compile({"name": "adam", "lr": 0.01}, "categorical_crossentropy", schedule={"name": "cosine", "T_max": 100})
    assert model.training.schedule(0) == pytest.approx(0.01)


@pytest.mark.parametrize("per, length", [("step", 3 * 4), ("epoch", 3)])
def test_a_schedule_compiled_without_its_length_gets_the_fits(per, length):
    X, y = data(rows=40)
    model = Sequential([Dense(3, activation="softmax")], input_dim=4, dtype=np.float64)
    model.compile({"name": "sgd", "lr": 0.2}, "categorical_crossentropy", schedule={"name": "cosine", "per": per})
    assert model.training.schedule is None and model.training.get_config()["schedule"] == {"name": "cosine", "per": per}
    seen = []

    class Watch(Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(logs["lr"])

    model.fit(X, y, batch_size=10, epochs=3, verbose=0, callbacks=[Watch()])
    expected = schedules.get("cosine", lr=0.2, T_max=length, per=per)
    assert model.training.schedule.get_config() == expected.get_config()
    last = [4 * (e + 1) - 1 for e in range(3)] if per == "step" else [0, 1, 2]
    np.testing.assert_allclose(seen, [expected(t) for t in last])
    model.fit(X, y, batch_size=10, epochs=2, verbose=0)  # a second fit spans both
    assert model.training.schedule.get_config()["T_max"] == (5 * 4 if per == "step" else 5)


def test_a_schedule_name_alone_needs_an_optimizer_with_a_learning_rate(fresh_registry):
    model = classifier()
    model.compile("adam", "categorical_crossentropy", schedule="one_cycle")
    assert model.training.schedule_config == "one_cycle"
    model.fit(*data(), epochs=1, verbose=0)
    assert model.training.schedule.get_config()["total_steps"] >= 1


def test_early_stopping_restores_the_best_weights():
    X, y = data()
    model = classifier()
    model.compile({"name": "sgd", "lr": 0.5}, "categorical_crossentropy")
    best = {}

    class Keep(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if logs["val_loss"] < best.get("loss", np.inf):
                best.update(loss=logs["val_loss"], weights=self.model.parameters.copy(), epoch=epoch)

    stopper = EarlyStopping(monitor="val_loss", patience=1, restore_best_weights=True)
    history = model.fit(X, y, epochs=60, validation_split=0.3, verbose=0, callbacks=[Keep(), stopper])
    assert len(history.epoch) < 60 and stopper.stopped_epoch == history.epoch[-1]
    assert stopper.best_epoch == best["epoch"]
    np.testing.assert_array_equal(model.parameters, best["weights"])


def test_model_checkpoint_saves_best_only(tmp_path):
    X, y = data()
    model = classifier()
    checkpoint = ModelCheckpoint(tmp_path / "best-{epoch:02d}.ngm", monitor="val_loss", save_best_only=True)
    history = model.fit(X, y, epochs=4, validation_split=0.25, verbose=0, callbacks=[checkpoint])
    losses = history.history["val_loss"]
    improving = [e for e in range(4) if losses[e] == min(losses[: e + 1])]
    assert [os.path.basename(p) for p in checkpoint.saved] == [f"best-{e + 1:02d}.ngm" for e in improving]
    restored = numbagrad.load_model(checkpoint.saved[-1])
    assert restored.epoch == improving[-1] + 1


def test_reduce_lr_on_plateau_multiplies_the_learning_rate():
    X, y = data()
    model = classifier()
    model.compile({"name": "sgd", "lr": 1e-9}, "categorical_crossentropy")
    reducer = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=1.0)
    history = model.fit(X, y, epochs=3, verbose=0, callbacks=[reducer])
    # The first epoch sets the best value; each later one fails to improve by min_delta
    # and, with patience 0, lowers the rate used from the next epoch on (as Keras).
    assert history.history["lr"] == pytest.approx([1e-9, 1e-9, 5e-10])


def test_reduce_lr_on_plateau_refuses_a_schedule():
    model = classifier()
    model.compile("adam", "categorical_crossentropy", schedule={"name": "cosine", "T_max": 100})
    with pytest.raises(ValueError, match="ReduceLROnPlateau cannot be combined with a learning-rate schedule"):
        model.fit(*data(), epochs=1, verbose=0, callbacks=[ReduceLROnPlateau()])


def test_monitoring_a_missing_value_says_what_exists():
    with pytest.raises(KeyError, match=r"monitor='val_loss' is not among this epoch's values \['accuracy', 'loss', 'lr'\]"):
        classifier().fit(*data(), epochs=1, verbose=0, callbacks=[EarlyStopping()])


def test_keyboard_interrupt_keeps_completed_steps_and_history():
    X, y = data(rows=64)
    model = classifier()

    class Interrupt(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y, batch_size=8, epochs=5, verbose=0, callbacks=[Interrupt()])
    assert model.epoch == 2 and len(model.history.epoch) == 2
    steps = model.training.optimizer.state_dict()["state"][0]["step"]
    assert steps == 16
    # The weights are those of step 16: training the rest continues exactly.
    twin = classifier()
    twin.fit(X, y, batch_size=8, epochs=2, verbose=0)
    np.testing.assert_array_equal(model.parameters, twin.parameters)


def test_verbose_two_prints_one_line_per_epoch(capsys):
    classifier().fit(*data(), epochs=2, verbose=2)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("Epoch")]
    assert len(lines) == 2 and "loss:" in lines[0] and "accuracy:" in lines[0]


def test_verbose_zero_is_silent(capsys):
    classifier().fit(*data(), epochs=2, verbose=0)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_history_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    history = classifier().fit(*data(), epochs=3, validation_split=0.2, verbose=0)
    path = tmp_path / "curves.png"
    history.plot(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_drop_last_skips_the_short_batch():
    X, y = data(rows=50)
    model = classifier()
    model.fit(X, y, batch_size=16, epochs=1, verbose=0, drop_last=True)
    assert model.training.optimizer.state_dict()["state"][0]["step"] == 3


def test_fit_does_not_copy_the_data_per_batch():
    """Peak memory of fit: a small multiple of one batch on top of the data and model."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20000, 50)).astype(np.float32)
    y = rng.integers(0, 3, 20000)
    model = Sequential([Dense(16, activation="relu"), Dense(3, activation="softmax")], input_dim=50)
    model.compile("adam", "categorical_crossentropy")
    model.fit(X[:64], y[:64], epochs=1, verbose=0)  # compile outside the measurement
    tracemalloc.start()
    model.fit(X, y, batch_size=32, epochs=1, verbose=0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    data_bytes = X.nbytes + y.nbytes
    # y becomes a float32 column (80 kB) and the epoch's order is 160 kB: well under 0.2 x the data.
    assert peak < 0.2 * data_bytes, peak


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "arguments, error, message",
    [
        ({"batch_size": 0}, ValueError, "fit: batch_size must be an integer >= 1; got 0"),
        ({"batch_size": 2.5}, ValueError, "fit: batch_size must be an integer >= 1; got 2.5"),
        ({"epochs": -1}, ValueError, "fit: epochs must be an integer >= 0; got -1"),
        ({"validation_split": 1.0}, ValueError, "fit: validation_split must be a number in [0, 1); got 1.0"),
        ({"validation_split": -0.1}, ValueError, "validation_split must be a number in [0, 1); got -0.1"),
        ({"validation_split": 0.001}, ValueError, "leaves 60 for training and 0 for validation"),
        ({"shuffle": "yes"}, TypeError, "fit: shuffle must be True or False; got 'yes'"),
        ({"verbose": 3}, ValueError, "fit: verbose must be 0, 1 or 2; got 3"),
        ({"seed": -5}, ValueError, "fit: seed must be an integer >= 0; got -5"),
        ({"callbacks": [print]}, TypeError, "fit: callbacks[0] must be a numbagrad.train.Callback"),
        ({"validation_data": np.zeros(3)}, TypeError, "validation_data must be a pair (X_val, y_val)"),
        ({"validation_data": (np.zeros((2, 4)), np.zeros(2)), "validation_split": 0.2}, ValueError, "give validation_data or validation_split, not both"),
        ({"batch_size": 100, "drop_last": True}, ValueError, "drop_last=True with batch_size=100 leaves no batch of 60 samples"),
    ],
)
def test_bad_fit_arguments_change_nothing(arguments, error, message):
    model = classifier()
    before = model.parameters.copy()
    with pytest.raises(error) as raised:
        model.fit(*data(), **{"verbose": 0, **arguments})
    assert message in str(raised.value)
    np.testing.assert_array_equal(model.parameters, before)
    assert model.epoch == 0


@pytest.mark.parametrize(
    "X, y, error, message",
    [
        (np.zeros((5, 4)), np.zeros(4), ValueError, "y has 4 rows; the prediction has 5"),
        (np.zeros((5, 3)), np.zeros(5), ValueError, "X has 3 columns; the model expects input_dim=4"),
        (np.zeros((0, 4)), np.zeros(0), ValueError, "X is empty"),
        (np.full((5, 4), np.nan), np.zeros(5), ValueError, "X contains nan at row 0, column 0"),
        (np.zeros((5, 4)), np.array([0, 1, 2, 3, 0]), ValueError, "= 3 is not a class label"),
        (np.zeros((5, 4)), np.array([0, 1, np.inf, 0, 0]), ValueError, "targets must be finite"),
    ],
)
def test_bad_data_is_refused_before_training(X, y, error, message):
    model = classifier()
    before = model.parameters.copy()
    with pytest.raises(error) as raised:
        model.fit(X, y, verbose=0)
    assert message in str(raised.value)
    np.testing.assert_array_equal(model.parameters, before)


@pytest.mark.parametrize(
    "options, error, message",
    [
        ({"optimizer": "adamm"}, numbagrad.UnknownNameError, "unknown optimizer 'adamm'. Did you mean 'adam'"),
        ({"loss": "crossentropy"}, numbagrad.UnknownNameError, "unknown loss 'crossentropy'"),
        ({"metrics": ["acuracy"]}, numbagrad.UnknownNameError, "unknown metric 'acuracy'. Did you mean 'accuracy'"),
        ({"metrics": "accuracy"}, TypeError, "compile: metrics must be a list of names or config dicts"),
        ({"metrics": ["accuracy", "accuracy"]}, ValueError, "metric 'accuracy' is given twice"),
        ({"schedule": "cosinus"}, numbagrad.UnknownNameError, "unknown schedule 'cosinus'"),
        ({"clip_norm": -1.0}, ValueError, "compile: clip_norm must be a finite number > 0 or None; got -1.0"),
        ({"clip_value": float("nan")}, ValueError, "compile: clip_value must be a finite number > 0 or None; got nan"),
        ({"optimizer": {"name": "sgd", "lr": -1}}, ValueError, "lr must be a finite number >= 0; got -1"),
        ({"optimizer": 3}, TypeError, "compile: optimizer must be a name, a config dict or an unbound numbagrad.optim optimizer"),
        ({"flush_subnormals": 1}, TypeError, "compile: flush_subnormals must be True or False; got 1"),
    ],
)
def test_bad_compile_options(options, error, message):
    model = Sequential([Dense(3, activation="softmax")], input_dim=4)
    with pytest.raises(error) as raised:
        model.compile(**{"optimizer": "adam", "loss": "categorical_crossentropy", **options})
    assert message in str(raised.value)
    assert model.training is None


def test_fit_and_evaluate_need_compile():
    model = Sequential([Dense(3)], input_dim=4)
    with pytest.raises(RuntimeError, match=r"fit: the model is not compiled; call model.compile\(optimizer=..., loss=...\) first"):
        model.fit(*data(), verbose=0)
    with pytest.raises(RuntimeError, match="evaluate: the model is not compiled"):
        model.evaluate(*data())


def test_an_optimizer_bound_elsewhere_is_refused():
    model = Sequential([Dense(3)], input_dim=4)
    with pytest.raises(ValueError, match="the optimizer already optimizes other arrays"):
        model.compile(numbagrad.optim.Adam([np.zeros(3)]), "mse")
