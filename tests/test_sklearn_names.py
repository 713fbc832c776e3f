"""scikit-learn's own parameter names on numbagrad's estimators, with scikit-learn's meaning, and alpha."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.datasets import load_iris  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from numbagrad.sklearn import MLPClassifier, MLPRegressor  # noqa: E402


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def optimizer_config(estimator):
    return estimator.model_.training.get_config()["optimizer"]


def test_code_written_for_scikit_learn_runs_unchanged(iris):
    X, y = iris
    clf = MLPClassifier(
        hidden_layer_sizes=(8,), solver="sgd", learning_rate_init=0.05, max_iter=60, alpha=1e-3, momentum=0.8,
        nesterovs_momentum=False, batch_size="auto", tol=0.0, n_iter_no_change=50, random_state=0, verbose=False,
    ).fit(X, y)
    config = optimizer_config(clf)
    assert (config["name"], config["lr"], config["momentum"], config["nesterov"]) == ("sgd", 0.05, 0.8, False)
    assert clf.n_iter_ == 60 and len(clf.loss_curve_) == 60 and clf.loss_ == clf.loss_curve_[-1]
    assert clf.score(X, y) > 0.8


def test_solver_sgd_means_scikit_learns_momentum_and_nesterov(iris):
    X, y = iris
    config = optimizer_config(MLPClassifier(hidden_layer_sizes=(4,), solver="sgd", max_iter=1).fit(X, y))
    assert (config["momentum"], config["nesterov"]) == (0.9, True)
    config = optimizer_config(MLPClassifier(hidden_layer_sizes=(4,), solver="sgd", momentum=0.0, max_iter=1).fit(X, y))
    assert (config["momentum"], config["nesterov"]) == (0.0, False)


def test_adam_hyperparameters_by_scikit_learns_names(iris):
    X, y = iris
    clf = MLPClassifier(hidden_layer_sizes=(4,), beta_1=0.8, beta_2=0.99, epsilon=1e-6, max_iter=1).fit(X, y)
    config = optimizer_config(clf)
    assert (config["name"], tuple(config["betas"]), config["eps"]) == ("adam", (0.8, 0.99), 1e-6)


def test_batch_size_auto_is_min_200_n(iris):
    X, y = iris
    clf = MLPClassifier(hidden_layer_sizes=(4,), batch_size="auto", max_iter=1, shuffle=False, random_state=0).fit(X, y)
    # 150 samples: one batch of 150, so one optimizer step per epoch.
    assert clf.model_.training.optimizer.state_dict()["state"][0]["step"] == 1


def test_alpha_is_scikit_learns_l2_on_the_weights(iris):
    X, y = iris
    alpha = 0.3
    clf = MLPClassifier(hidden_layer_sizes=(6,), alpha=alpha, max_iter=2, dtype="float64", random_state=0).fit(X, y)
    model = clf.model_
    plain = MLPClassifier(hidden_layer_sizes=(6,), max_iter=2, dtype="float64", random_state=0).fit(X, y).model_
    plain.set_weights(model.get_weights())
    loss = {"name": "categorical_crossentropy", "from_logits": True}
    value, grad = model.value_and_grad(X, y, loss)
    plain_value, plain_grad = plain.value_and_grad(X, y, loss)
    weights = model.get_weights()
    squares = sum(np.square(w).sum() for w in weights[::2])
    # scikit-learn's objective: the mean log-loss + alpha / (2 n) * sum of the squared weights.
    assert value == pytest.approx(plain_value + alpha / (2 * len(X)) * squares, rel=1e-13)
    expected = np.concatenate([(alpha / len(X) * w if i % 2 == 0 else 0 * w).ravel() for i, w in enumerate(weights)])
    np.testing.assert_allclose(grad - plain_grad, expected, atol=1e-14)
    assert all(layer.bias_regularizer is None for layer in model.layers)


def test_lbfgs_is_one_full_batch_run(iris):
    X, y = iris
    clf = MLPClassifier(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=40, tol=1e-9, dtype="float64", random_state=0).fit(X, y)
    group = clf.model_.training.optimizer.param_groups[0]
    assert (group["max_iter"], group["tolerance_grad"], group["line_search_fn"]) == (40, 1e-9, "strong_wolfe")
    assert clf.model_.epoch == 1 and 1 < clf.n_iter_ <= 40
    assert clf.loss_ == pytest.approx(clf.model_.evaluate(X, y)["loss"]) and clf.score(X, y) > 0.95


def test_tol_and_n_iter_no_change_stop_on_the_training_loss(iris):
    X, y = iris
    # A learning rate of ~0: the loss never improves by tol, so training stops after n_iter_no_change + 1 epochs.
    clf = MLPClassifier(hidden_layer_sizes=(4,), learning_rate_init=1e-12, max_iter=100, tol=1e-3, n_iter_no_change=3, random_state=0)
    assert clf.fit(X, y).n_iter_ == 5  # the first epoch sets the best loss, then 4 epochs without improvement
    with_early_stopping = MLPClassifier(
        hidden_layer_sizes=(4,), learning_rate_init=1e-12, max_iter=100, tol=1e-3, n_iter_no_change=3, early_stopping=True,
        random_state=0,
    ).fit(X, y)
    assert with_early_stopping.n_iter_ == 5


def test_invscaling_and_adaptive_schedules(iris):
    X, y = iris
    clf = MLPClassifier(
        hidden_layer_sizes=(4,), solver="sgd", learning_rate="invscaling", learning_rate_init=0.1, power_t=0.25,
        max_iter=3, random_state=0,
    ).fit(X, y)
    expected = [0.1, 0.1 / 151**0.25, 0.1 / 301**0.25]
    np.testing.assert_allclose(clf.history_.history["lr"], expected, rtol=1e-12)
    # tol=10: no epoch improves by it, so after every n_iter_no_change + 1 = 2 epochs more the rate is divided by 5.
    adaptive = MLPClassifier(
        hidden_layer_sizes=(4,), solver="sgd", learning_rate="adaptive", learning_rate_init=0.01, tol=10.0,
        n_iter_no_change=1, max_iter=7, random_state=0,
    ).fit(X, y)
    np.testing.assert_allclose(adaptive.history_.history["lr"], [0.01] * 3 + [0.002] * 2 + [0.0004] * 2, rtol=1e-12)
    # At a rate of at most 1e-6, scikit-learn stops instead of dividing it.
    stopped = MLPClassifier(
        hidden_layer_sizes=(4,), solver="sgd", learning_rate="adaptive", learning_rate_init=1e-6, tol=10.0,
        n_iter_no_change=1, max_iter=7, random_state=0,
    ).fit(X, y)
    assert stopped.n_iter_ == 3


def test_scikit_learns_schedules_apply_to_sgd_only(iris):
    X, y = iris
    clf = MLPClassifier(hidden_layer_sizes=(4,), learning_rate="invscaling", learning_rate_init=0.1, max_iter=2).fit(X, y)
    assert clf.history_.history["lr"] == [0.1, 0.1]


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(max_iter=5, epochs=3), r"max_iter=5 \(scikit-learn's name\) and epochs=3 both set the number of epochs; give one"),
        (dict(learning_rate_init=0.1, learning_rate=0.2), r"learning_rate_init=0.1 .* and learning_rate=0.2 both set the learning rate"),
        (dict(solver="adam", optimizer="sgd"), r"solver='adam' .* and optimizer='sgd' both set the optimizer"),
        (dict(tol=1e-3, min_delta=1e-2), r"tol=0.001 .* and min_delta=0.01 both set the smallest improvement"),
        (dict(n_iter_no_change=3, patience=4), r"n_iter_no_change=3 .* and patience=4 both set"),
        (dict(beta_1=0.8, optimizer_params={"betas": (0.9, 0.9)}), r"\['betas'\] set both by scikit-learn's parameters and by optimizer"),
        (dict(solver="sgd", momentum=0.5, optimizer_params={"momentum": 0.1}), r"\['momentum'\] set both"),
        (dict(learning_rate="adaptive", schedule="cosine"), r"learning_rate='adaptive' .* and schedule='cosine' both set a schedule"),
        (dict(solver="newton"), r"solver must be one of 'adam', 'sgd', 'lbfgs' \(scikit-learn's\), or None; got 'newton'"),
        (dict(learning_rate="fast"), r"learning_rate must be a number > 0 .* 'constant', 'invscaling', 'adaptive'; got 'fast'"),
        (dict(alpha=-1.0), r"alpha must be a finite number >= 0; got -1.0"),
        (dict(alpha=math.nan), r"alpha must be a finite number >= 0; got nan"),
        (dict(beta_1=1.0), r"beta_1 must be a number in \[0, 1\), or None; got 1.0"),
        (dict(epsilon=0.0), r"epsilon must be a finite number > 0, or None; got 0.0"),
        (dict(momentum=2.0), r"momentum must be a number in \[0, 1\], or None; got 2.0"),
        (dict(nesterovs_momentum="yes"), r"nesterovs_momentum"),
        (dict(power_t=-1.0), r"power_t must be a finite number >= 0, or None; got -1.0"),
        (dict(n_iter_no_change=0), r"n_iter_no_change must be an integer >= 1"),
        (dict(max_iter=0), r"max_iter must be an integer >= 1"),
        (dict(batch_size="big"), r"batch_size must be an integer >= 1"),
    ],
)
def test_each_bad_or_doubled_setting_is_refused_before_anything_changes(iris, params, message):
    X, y = iris
    for estimator in (MLPClassifier(**params), MLPRegressor(**params)):
        with pytest.raises((ValueError, TypeError), match=message):
            estimator.fit(X, y if isinstance(estimator, MLPClassifier) else X[:, 0])
        assert not hasattr(estimator, "model_")


def test_the_same_grid_search_code_runs_with_either_estimator(iris):
    from sklearn.model_selection import GridSearchCV
    from sklearn.neural_network import MLPClassifier as ScikitLearnMLP

    X, y = iris
    grid = {"alpha": [1e-4, 1e-2], "learning_rate_init": [0.01]}
    scores = {}
    for cls in (ScikitLearnMLP, MLPClassifier):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scikit-learn's ConvergenceWarning at max_iter=30
            search = GridSearchCV(cls(hidden_layer_sizes=(8,), max_iter=30, random_state=0), grid, cv=3).fit(X, y)
        scores[cls.__module__] = search.best_score_
    assert min(scores.values()) > 0.8


@pytest.mark.parametrize("kind", ["batch", "layer"])
def test_normalization_normalizes_every_hidden_layer(iris, kind):
    X, y = iris
    clf = MLPClassifier(hidden_layer_sizes=(8, 6), normalization=kind, batch_size=16, max_iter=30, random_state=0).fit(X, y)
    assert [layer.normalization is not None for layer in clf.model_.layers] == [True, True, False]
    assert clf.score(X, y) > 0.8


def test_an_unknown_normalization_is_refused(iris):
    with pytest.raises(ValueError, match="MLPRegressor: normalization must be None, 'batch' or 'layer'; got 'group'"):
        MLPRegressor(normalization="group").fit(*iris)
