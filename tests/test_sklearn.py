"""numbagrad.sklearn: the estimators in scikit-learn's interface, pipelines, searches and pickling."""

from __future__ import annotations

import os
import pickle
import pickletools
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_iris, make_classification, make_regression  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import numbagrad  # noqa: E402
from numbagrad.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FAST = dict(hidden_layer_sizes=(8,), epochs=5, learning_rate=0.02, random_state=0)


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=120, n_features=5, n_targets=2, noise=0.1, random_state=0)
    return X, y / np.abs(y).max()


def test_importing_numbagrad_does_not_import_scikit_learn():
    code = "import sys, numbagrad; print(sorted(m for m in sys.modules if m == 'sklearn' or m.startswith('sklearn.')))"
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, check=True)
    assert result.stdout.strip() == "[]"


def test_the_estimators_are_scikit_learns():
    import sklearn.base

    assert issubclass(MLPClassifier, sklearn.base.ClassifierMixin) and issubclass(MLPClassifier, sklearn.base.BaseEstimator)
    assert issubclass(MLPRegressor, sklearn.base.RegressorMixin)
    assert not hasattr(numbagrad, "sklearn") or numbagrad.sklearn.MLPClassifier is MLPClassifier


# --- classification ------------------------------------------------------------------------


def test_string_labels_come_back_and_probability_columns_follow_classes(iris):
    X, y = iris
    names = np.array(["virginica", "setosa", "versicolor"])[y]
    clf = MLPClassifier(hidden_layer_sizes=(16,), epochs=40, learning_rate=0.01, random_state=0).fit(X, names)
    assert list(clf.classes_) == ["setosa", "versicolor", "virginica"]
    predicted = clf.predict(X)
    assert set(predicted) <= set(clf.classes_)
    assert clf.score(X, names) > 0.9
    proba = clf.predict_proba(X)
    assert proba.shape == (150, 3) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], predicted)
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba), rtol=1e-9)
    assert clf.n_features_in_ == 4 and clf.n_iter_ == 40
    assert not hasattr(clf, "feature_names_in_")


def test_multiclass_decision_function_is_the_networks_logits(iris):
    X, y = iris
    clf = MLPClassifier(**FAST).fit(X, y + 3)
    logits = clf.model_.predict(X.astype(np.float32))
    decision = clf.decision_function(X)
    assert decision.shape == (150, 3)
    np.testing.assert_array_equal(decision, logits.astype(np.float64))
    softmax = np.exp(decision - decision.max(axis=1, keepdims=True))
    np.testing.assert_allclose(clf.predict_proba(X), softmax / softmax.sum(axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[decision.argmax(axis=1)])
    assert clf.classes_.dtype.kind == "i" and list(clf.classes_) == [3, 4, 5]
    assert clf.model_.layers[-1].activation == "linear"
    assert clf.model_.training.loss.get_config() == {"name": "categorical_crossentropy", "from_logits": True, "epsilon": 1e-7}


def test_two_classes_use_one_logit_as_scikit_learn_does():
    X, y = make_classification(n_samples=80, n_features=4, random_state=0)
    labels = np.where(y == 1, "yes", "no")
    clf = MLPClassifier(**FAST).fit(X, labels)
    assert clf.model_.output_dim == 1
    assert clf.model_.training.loss.name == "binary_crossentropy"
    decision = clf.decision_function(X)
    assert decision.shape == (80,)
    np.testing.assert_array_equal(clf.predict(X), np.where(decision > 0, "yes", "no"))
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-decision)), rtol=1e-12)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_one_class_is_refused():
    with pytest.raises(ValueError, match=r"MLPClassifier: y has only one class \(7\); a classifier needs at least 2 classes"):
        MLPClassifier(**FAST).fit(np.ones((5, 2)), [7] * 5)


def test_continuous_targets_are_refused_by_the_classifier():
    with pytest.raises(ValueError, match="Unknown label type"):
        MLPClassifier(**FAST).fit(np.ones((5, 2)), [0.5, 1.5, 2.5, 0.1, 0.2])


# --- regression ------------------------------------------------------------------------------


def test_regression_keeps_the_shape_of_y(regression):
    X, Y = regression
    for y, shape in ((Y[:, 0], (120,)), (Y[:, :1], (120, 1)), (Y, (120, 2))):
        reg = MLPRegressor(**FAST).fit(X, y)
        prediction = reg.predict(X)
        assert prediction.shape == shape and prediction.dtype == np.float64
        assert reg.n_outputs_ == (1 if y.ndim == 1 else y.shape[1])


def test_multi_output_regression_fits(regression):
    X, Y = regression
    reg = MLPRegressor(hidden_layer_sizes=(32,), epochs=60, learning_rate=0.01, random_state=0).fit(X, Y)
    assert reg.score(X, Y) > 0.95
    assert reg.model_.output_dim == 2 and reg.model_.training.loss.name == "mse"


def test_the_regression_loss_is_a_parameter(regression):
    X, Y = regression
    assert MLPRegressor(loss="mae", **FAST).fit(X, Y).model_.training.loss.name == "mae"
    huber = MLPRegressor(loss={"name": "huber", "delta": 0.5}, **FAST).fit(X, Y).model_.training.loss
    assert huber.get_config() == {"name": "huber", "delta": 0.5}


# --- parameters reach the model ---------------------------------------------------------------------


def test_compile_options_reach_the_model(iris):
    X, y = iris
    clf = MLPClassifier(
        hidden_layer_sizes=(6, 5),
        activation="logistic",
        optimizer="sgd",
        learning_rate=0.05,
        optimizer_params={"momentum": 0.9, "nesterov": True},
        schedule={"name": "cosine", "T_max": 50},
        clip_norm=1.0,
        clip_value=0.5,
        flush_subnormals=False,
        dtype="float64",
        epochs=3,
        random_state=0,
    ).fit(X, y)
    model = clf.model_
    assert [layer.units for layer in model.layers] == [6, 5, 3]
    assert [layer.activation for layer in model.layers] == ["sigmoid", "sigmoid", "linear"]
    assert model.dtype == np.float64
    config = model.training.get_config()
    assert config["optimizer"]["name"] == "sgd" and config["optimizer"]["momentum"] == 0.9 and config["optimizer"]["nesterov"] is True
    assert config["optimizer"]["lr"] == 0.05
    assert config["schedule"]["name"] == "cosine" and config["schedule"]["lr"] == 0.05
    assert (config["clip_norm"], config["clip_value"], config["flush_subnormals"]) == (1.0, 0.5, False)


def test_without_a_learning_rate_each_optimizer_keeps_its_default(iris):
    X, y = iris
    for name, lr in (("adam", 1e-3), ("adagrad", 1e-2), ("adadelta", 1.0)):
        clf = MLPClassifier(optimizer=name, hidden_layer_sizes=(4,), epochs=1, random_state=0).fit(X, y)
        assert clf.model_.training.optimizer.param_groups[0]["lr"] == lr


def test_optimizer_as_a_config_dict(iris):
    X, y = iris
    clf = MLPClassifier(optimizer={"name": "rmsprop", "lr": 0.003, "centered": True}, hidden_layer_sizes=(4,), epochs=1).fit(X, y)
    group = clf.model_.training.optimizer.param_groups[0]
    assert group["lr"] == 0.003 and group["centered"] is True


def test_no_hidden_layer_is_a_linear_model(iris):
    X, y = iris
    clf = MLPClassifier(hidden_layer_sizes=(), epochs=30, learning_rate=0.05, random_state=0).fit(X, y)
    assert [layer.units for layer in clf.model_.layers] == [3]
    assert clf.score(X, y) > 0.8


def test_same_random_state_same_network_and_different_ones_differ(iris):
    X, y = iris
    first = MLPClassifier(**FAST).fit(X, y).decision_function(X)
    np.testing.assert_array_equal(MLPClassifier(**FAST).fit(X, y).decision_function(X), first)
    other = MLPClassifier(**{**FAST, "random_state": 1}).fit(X, y).decision_function(X)
    assert not np.array_equal(other, first)
    state = np.random.RandomState(0)
    MLPClassifier(**{**FAST, "random_state": state}).fit(X, y)
    assert MLPClassifier(**{**FAST, "random_state": None}).fit(X, y).n_iter_ == 5


def test_read_only_inputs_are_accepted(iris):
    X, y = iris
    X = X.copy()
    X.setflags(write=False)
    expected = MLPClassifier(**FAST).fit(X.copy(), y).decision_function(X.copy())
    np.testing.assert_array_equal(MLPClassifier(**FAST).fit(X, y).decision_function(X), expected)


def test_feature_names_are_kept(iris):
    pandas = pytest.importorskip("pandas")
    X, y = iris
    frame = pandas.DataFrame(X, columns=["a", "b", "c", "d"])
    clf = MLPClassifier(**FAST).fit(frame, y)
    assert list(clf.feature_names_in_) == ["a", "b", "c", "d"]


# --- early stopping ---------------------------------------------------------------------------------


def test_early_stopping_stops_and_records_the_validation_loss(iris):
    X, y = iris
    clf = MLPClassifier(hidden_layer_sizes=(16,), learning_rate=0.05, epochs=500, early_stopping=True, patience=3, random_state=0)
    clf.fit(X, y)
    assert clf.n_iter_ < 500
    history = clf.history_.history
    assert len(history["val_loss"]) == len(history["loss"]) == clf.n_iter_
    assert clf.history_.epoch == list(range(clf.n_iter_))


def test_early_stopping_validation_is_stratified_and_reproducible():
    y = np.repeat([0, 1, 2], [50, 30, 20])  # sorted, as load_iris: the last rows are one class
    clf = MLPClassifier(early_stopping=True, validation_fraction=0.2, random_state=0)
    settings = clf._settings()
    targets = y.reshape(-1, 1).astype(np.float32)
    train, held = clf._split(settings, targets, seed=3)
    assert len(held) == 20 and len(train) == 80 and not set(train) & set(held)
    assert list(np.bincount(y[held])) == [10, 6, 4]
    again, _ = clf._split(settings, targets, seed=3)
    np.testing.assert_array_equal(again, train)


def test_early_stopping_needs_samples_on_both_sides():
    with pytest.raises(ValueError, match=r"validation_fraction=0\.9 of 2 samples leaves 0 for training and 2 for validation"):
        MLPRegressor(early_stopping=True, validation_fraction=0.9, **FAST).fit(np.ones((2, 3)), [1.0, 2.0])


# --- partial_fit ------------------------------------------------------------------------------------


def test_partial_fit_epochs_equal_fit_epochs(iris, regression):
    X, y = iris
    fitted = MLPClassifier(**{**FAST, "epochs": 3}).fit(X, y)
    stepped = MLPClassifier(**FAST)
    for _ in range(3):
        stepped.partial_fit(X, y, classes=[0, 1, 2])
    np.testing.assert_array_equal(stepped.model_.parameters, fitted.model_.parameters)
    assert stepped.n_iter_ == 3 and stepped.history_.history["loss"] == fitted.history_.history["loss"]

    X, Y = regression
    fitted = MLPRegressor(**{**FAST, "epochs": 2}).fit(X, Y)
    stepped = MLPRegressor(**FAST).partial_fit(X, Y).partial_fit(X, Y)
    np.testing.assert_array_equal(stepped.predict(X), fitted.predict(X))


def test_partial_fit_continues_a_fitted_estimator(iris):
    X, y = iris
    clf = MLPClassifier(**FAST).fit(X, y)
    network = clf.model_
    clf.partial_fit(X[:40], y[:40])
    assert clf.model_ is network and clf.n_iter_ == 6 and len(clf.history_.history["loss"]) == 6
    clf.partial_fit(X, y, classes=[2, 1, 0])  # the same classes again: accepted


def test_partial_fit_after_early_stopping_keeps_history_aligned(iris):
    X, y = iris
    clf = MLPClassifier(**{**FAST, "early_stopping": True}).fit(X, y)
    clf.partial_fit(X, y)
    history = clf.history_.history
    assert len(history["loss"]) == len(history["val_loss"]) == 6
    assert np.isnan(history["val_loss"][-1]) and not np.isnan(history["val_loss"][0])


def test_partial_fit_needs_classes_first():
    with pytest.raises(ValueError, match=r"MLPClassifier: partial_fit needs classes= on its first call"):
        MLPClassifier(**FAST).partial_fit(np.ones((4, 2)), [0, 1, 0, 1])


def test_partial_fit_refuses_other_classes_and_unknown_labels(iris):
    X, y = iris
    clf = MLPClassifier(**FAST).partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match=r"MLPClassifier: partial_fit: classes \[0, 1, 2, 3\] differ from classes_ \[0, 1, 2\] of the first call"):
        clf.partial_fit(X, y, classes=[0, 1, 2, 3])
    with pytest.raises(ValueError, match=r"MLPClassifier: y holds labels \[5\] that are not among classes \[0, 1, 2\]"):
        clf.partial_fit(X[:3], [0, 5, 1])
    assert clf.n_iter_ == 1
    with pytest.raises(ValueError, match=r"y holds labels \[2\] that are not among classes \[0, 1\]"):
        MLPClassifier(**FAST).partial_fit(X, y, classes=[0, 1])


def test_partial_fit_refuses_another_number_of_features_or_targets(regression):
    X, Y = regression
    reg = MLPRegressor(**FAST).partial_fit(X, Y)
    with pytest.raises(ValueError, match="X has 4 features, but MLPRegressor is expecting 5 features"):
        reg.partial_fit(X[:, :4], Y)
    with pytest.raises(ValueError, match=r"MLPRegressor: partial_fit: y has 1 targets; the network was built for 2"):
        reg.partial_fit(X, Y[:, 0])
    assert reg.n_iter_ == 1


# --- scikit-learn's machinery --------------------------------------------------------------------------


def test_get_params_set_params_and_clone(iris):
    X, y = iris
    schedule = numbagrad.schedules.get("step", step_size=10)
    clf = MLPClassifier(hidden_layer_sizes=[8, 4], optimizer_params={"betas": (0.8, 0.9)}, schedule=schedule, epochs=2, random_state=0)
    params = clf.get_params(deep=True)
    assert params["hidden_layer_sizes"] == [8, 4] and params["schedule"] is schedule
    assert params["learning_rate"] is None and params["batch_size"] == 32 and params["epochs"] == 2
    assert "loss" not in params and MLPRegressor().get_params()["loss"] == "mse"
    clf.set_params(learning_rate=0.01, activation="tanh")
    clf.fit(X, y)
    copy = clone(clf)
    assert not hasattr(copy, "model_")
    assert copy.get_params()["learning_rate"] == 0.01 and copy.get_params()["optimizer_params"] == {"betas": (0.8, 0.9)}
    np.testing.assert_array_equal(copy.fit(X, y).predict_proba(X), clf.predict_proba(X))


def test_fitted_estimators_pickle_as_plain_data(iris, regression):
    X, y = iris
    clf = MLPClassifier(**{**FAST, "schedule": {"name": "exponential", "gamma": 0.99}}).fit(X, np.array(["a", "b", "c"])[y])
    data = pickle.dumps(clf)
    listing = []
    pickletools.dis(data, out=_Lines(listing))
    assert not any(re.search(r"'numba(\.|')", line) for line in listing), "the pickle refers to Numba objects"
    restored = pickle.loads(data)
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(restored.classes_, clf.classes_)
    assert restored.history_.history == clf.history_.history and restored.n_iter_ == clf.n_iter_
    assert restored.model_.training.get_config() == clf.model_.training.get_config()
    # Training goes on from the same optimizer state and shuffling.
    clf.partial_fit(X, np.array(["a", "b", "c"])[y])
    restored.partial_fit(X, np.array(["a", "b", "c"])[y])
    np.testing.assert_array_equal(restored.model_.parameters, clf.model_.parameters)

    X, Y = regression
    reg = MLPRegressor(**FAST).fit(X, Y[:, 0])
    again = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(again.predict(X), reg.predict(X))
    assert again.predict(X).shape == (120,)
    assert pickle.loads(pickle.dumps(MLPRegressor(epochs=3))).get_params() == MLPRegressor(epochs=3).get_params()
    plan = numbagrad.schedules.warmup(numbagrad.schedules.get("cosine", T_max=100), warmup_steps=10)
    assert pickle.loads(pickle.dumps(MLPRegressor(schedule=plan))).schedule.get_config() == plan.get_config()


class _Lines:
    """A file-like object collecting what pickletools.dis writes."""

    def __init__(self, lines):
        self.lines = lines

    def write(self, text):
        self.lines.append(text)


def test_pipeline_and_cross_validation(iris):
    X, y = load_iris(return_X_y=True)
    pipeline = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(16,), epochs=30, learning_rate=0.01, random_state=0))
    scores = cross_val_score(pipeline, X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.8


def test_grid_search_over_optimizers_and_learning_rates_in_worker_processes():
    X, y = make_classification(n_samples=120, n_features=6, n_informative=4, random_state=0)
    grid = {
        "mlpclassifier__optimizer": ["sgd", "adam"],
        "mlpclassifier__learning_rate": [0.001, 0.03],
    }
    pipeline = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(8,), epochs=10, random_state=0))
    search = GridSearchCV(pipeline, grid, cv=2, n_jobs=-1, error_score="raise").fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert set(search.best_params_) == set(grid)
    assert search.best_estimator_[-1].n_iter_ == 10
    # A search in this process chooses the same, from the same scores.
    serial = GridSearchCV(pipeline, grid, cv=2, n_jobs=None, error_score="raise").fit(X, y)
    np.testing.assert_array_equal(serial.cv_results_["mean_test_score"], search.cv_results_["mean_test_score"])


# --- errors ---------------------------------------------------------------------------------------------

BAD_PARAMETERS = [
    ("hidden_layer_sizes", "8", TypeError, "hidden_layer_sizes must be a tuple of integers >= 1"),
    ("hidden_layer_sizes", (8, 0), ValueError, r"hidden_layer_sizes must be a tuple of integers >= 1 .*; got \(8, 0\)"),
    ("hidden_layer_sizes", (8.5,), ValueError, "hidden_layer_sizes must be a tuple of integers"),
    ("hidden_layer_sizes", None, TypeError, "hidden_layer_sizes must be a tuple of integers"),
    ("activation", "relux", ValueError, r"activation='relux' is not allowed: unknown activation 'relux'\. Did you mean 'relu'"),
    ("activation", {"alpha": 0.2}, ValueError, r"activation=\{'alpha': 0\.2\} has no 'name'"),
    ("activation", {"name": "leaky_relu", "alpha": "x"}, TypeError, r"activation=.* is not allowed: .*alpha"),
    ("activation", 3, TypeError, "activation must be a registered name"),
    ("optimizer", "adamm", ValueError, r"optimizer='adamm' is not allowed: unknown optimizer 'adamm'"),
    ("optimizer", {"lr": 0.1}, ValueError, r"optimizer=\{'lr': 0\.1\} has no 'name'"),
    ("optimizer", {"name": "adam", "momentum": 0.9}, TypeError, r"optimizer=.* is not allowed: Adam: unknown hyperparameter 'momentum'"),
    ("optimizer", 3, TypeError, "optimizer must be a registered name"),
    ("optimizer_params", {"momentum": 0.9}, TypeError, r"optimizer_params=\{'momentum': 0\.9\} is not allowed: Adam: unknown hyperparameter 'momentum'"),
    ("optimizer_params", {"eps": -1.0}, ValueError, r"optimizer_params=\{'eps': -1\.0\} is not allowed: Adam: eps must be"),
    ("optimizer_params", [("eps", 1e-8)], TypeError, "optimizer_params must be a dict of hyperparameters"),
    ("optimizer_params", {"name": "sgd"}, ValueError, r"optimizer_params=\{'name': 'sgd'\} holds a 'name'"),
    ("learning_rate", -0.1, ValueError, r"learning_rate must be a finite number > 0, or None \(the optimizer's default\); got -0\.1"),
    ("learning_rate", "fast", ValueError, "learning_rate must be a number > 0 .*scikit-learn.s schedules"),
    ("learning_rate", float("nan"), ValueError, "learning_rate must be a finite number > 0"),
    ("schedule", "cosinee", ValueError, r"schedule='cosinee' is not allowed: unknown schedule 'cosinee'"),
    ("schedule", "cosine", TypeError, r"schedule='cosine' is not allowed: .*missing required hyperparameter 'T_max'"),
    ("schedule", 0.5, TypeError, "schedule must be None, a registered name"),
    ("batch_size", 0, ValueError, "batch_size must be an integer >= 1; got 0"),
    ("batch_size", 8.0, ValueError, "batch_size must be an integer >= 1; got 8.0"),
    ("epochs", 0, ValueError, "epochs must be an integer >= 1; got 0"),
    ("shuffle", "yes", TypeError, "shuffle must be True or False; got 'yes'"),
    ("early_stopping", 1, TypeError, "early_stopping must be True or False; got 1"),
    ("validation_fraction", 1.0, ValueError, r"validation_fraction must be a number in \(0, 1\); got 1\.0"),
    ("validation_fraction", 0, ValueError, r"validation_fraction must be a number in \(0, 1\); got 0"),
    ("patience", -1, ValueError, "patience must be an integer >= 0; got -1"),
    ("min_delta", -1e-3, ValueError, "min_delta must be a finite number >= 0; got -0.001"),
    ("clip_norm", 0, ValueError, r"clip_norm must be a finite number > 0, or None; got 0"),
    ("clip_value", "x", ValueError, r"clip_value must be a finite number > 0, or None; got 'x'"),
    ("flush_subnormals", None, TypeError, "flush_subnormals must be True or False; got None"),
    ("random_state", "seed", ValueError, r"random_state must be None, an integer in \[0, 2\*\*32\) or a numpy\.random\.RandomState; got 'seed'"),
    ("random_state", -1, ValueError, "random_state must be None, an integer"),
    ("dtype", "float16", ValueError, "dtype must be 'float32' or 'float64'; got 'float16'"),
    ("dtype", "int32", ValueError, "dtype must be 'float32' or 'float64'; got 'int32'"),
    ("dtype", "double-ish", TypeError, "dtype must be 'float32' or 'float64'; got 'double-ish'"),
    ("dtype", None, TypeError, "dtype must be 'float32' or 'float64'; got None"),
    ("device", "tpu", ValueError, "device must be one of 'cpu', 'cuda'; got 'tpu'"),
    ("verbose", 3, ValueError, r"verbose must be 0 \(silent\), 1 \(a progress bar per epoch\) or 2 \(one line per epoch\); got 3"),
    ("verbose", "loud", ValueError, "verbose must be 0"),
]


@pytest.mark.parametrize("estimator", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("name, value, error, message", BAD_PARAMETERS, ids=[f"{p[0]}={p[1]!r}" for p in BAD_PARAMETERS])
def test_bad_parameters_are_named_and_change_nothing(estimator, name, value, error, message):
    model = estimator(**{**FAST, name: value})
    with pytest.raises(error, match=f"{estimator.__name__}: {message}"):
        model.fit(np.ones((6, 2)), [0, 1, 0, 1, 0, 1])
    assert not [key for key in vars(model) if key.endswith("_")]
    with pytest.raises(error, match=message):
        model.partial_fit(np.ones((6, 2)), [0, 1, 0, 1, 0, 1], **({"classes": [0, 1]} if estimator is MLPClassifier else {}))


@pytest.mark.parametrize("estimator", [MLPClassifier, MLPRegressor])
@pytest.mark.skipif(__import__("numbagrad.device", fromlist=["cuda_available"]).cuda_available(allow_simulator=True),
                    reason="CUDA works here (tests/cuda trains on it)")
def test_device_cuda_without_cuda_says_what_is_missing_and_fits_nothing(estimator):
    from numbagrad.errors import CudaUnavailableError

    model = estimator(**{**FAST, "device": "cuda"})
    with pytest.raises(CudaUnavailableError, match=f"{estimator.__name__}: device='cuda', but CUDA cannot be used here: "):
        model.fit(np.ones((6, 2)), [0, 1, 0, 1, 0, 1])
    assert not [key for key in vars(model) if key.endswith("_")]


def test_parameters_that_set_the_learning_rate_twice():
    with pytest.raises(ValueError, match=r"MLPClassifier: learning_rate=0\.1 and lr=0\.01 in optimizer or optimizer_params both set the learning rate"):
        MLPClassifier(learning_rate=0.1, optimizer_params={"lr": 0.01}).fit(np.ones((4, 2)), [0, 1, 0, 1])
    with pytest.raises(ValueError, match=r"\['momentum'\] given both in optimizer=.* and in optimizer_params="):
        MLPClassifier(optimizer={"name": "sgd", "momentum": 0.5}, optimizer_params={"momentum": 0.9}).fit(np.ones((4, 2)), [0, 1, 0, 1])


@pytest.mark.parametrize(
    "loss, error, message",
    [
        ("msee", ValueError, r"loss='msee' is not allowed: unknown loss 'msee'\. Did you mean 'mse'"),
        ({"delta": 1.0}, ValueError, r"loss=\{'delta': 1\.0\} has no 'name'"),
        ({"name": "huber", "delta": -1}, ValueError, r"loss=.* is not allowed: .*delta must be a finite number > 0; got -1"),
        (None, TypeError, "loss must be a registered name such as 'mse'"),
    ],
)
def test_bad_regression_losses(loss, error, message):
    with pytest.raises(error, match=f"MLPRegressor: {message}"):
        MLPRegressor(loss=loss, **FAST).fit(np.ones((4, 2)), [0.0, 1.0, 0.0, 1.0])


def test_targets_beyond_the_networks_dtype_say_so():
    """Finite in float64, infinite once cast to the network's float32: the message says which."""
    X = np.linspace(-1, 1, 8).reshape(-1, 1)
    with pytest.raises(ValueError, match=r"MLPRegressor: y holds 1e\+39, beyond what the network's dtype float32 holds \(up to 3.4e\+38\); rescale"):
        MLPRegressor(**FAST).fit(X, np.full(8, 1e39))
    assert MLPRegressor(dtype="float64", **FAST).fit(X, np.full(8, 1e39)).predict(X).shape == (8,)


def test_a_failed_refit_leaves_the_fitted_estimator_as_it_was(iris):
    X, y = iris
    clf = MLPClassifier(**FAST).fit(X, y)
    network, before = clf.model_, clf.predict_proba(X)
    with pytest.raises(ValueError, match="one class"):
        clf.fit(np.ones((4, 7)), [1, 1, 1, 1])
    assert clf.model_ is network and clf.n_features_in_ == 4
    np.testing.assert_array_equal(clf.predict_proba(X), before)


def test_a_diverging_fit_raises_and_leaves_the_estimator_unfitted():
    X = np.linspace(-1, 1, 40).reshape(-1, 1)
    reg = MLPRegressor(optimizer="sgd", learning_rate=1e12, hidden_layer_sizes=(4,), epochs=20, random_state=0)
    with pytest.raises(numbagrad.NonFiniteLossError):
        reg.fit(X, 1e3 * X[:, 0])
    assert not hasattr(reg, "model_") and not hasattr(reg, "n_features_in_")


def test_predicting_before_fitting_or_with_other_features(iris):
    X, y = iris
    with pytest.raises(NotFittedError):
        MLPClassifier().predict(X)
    with pytest.raises(NotFittedError):
        MLPRegressor().predict(X)
    clf = MLPClassifier(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier is expecting 4 features"):
        clf.predict_proba(X[:, :3])
