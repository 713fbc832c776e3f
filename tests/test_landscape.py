"""2-D test functions against finite differences, trajectories against hand-written update
rules, what the pictures are meant to show, and every documented error."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from numbagrad import landscape, optim
from numbagrad.errors import UnknownNameError
from numbagrad.landscape import FUNCTIONS, Landscape, Minimum, trajectories

NAMES = sorted(FUNCTIONS)
BUILTIN_OPTIMIZERS = ["sgd", "momentum", "nesterov", "rmsprop", "adagrad", "adadelta", "adam", "adamw", "amsgrad", "adamax", "nadam"]


def sample_points(function: Landscape, count: int = 25, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    (x_min, x_max), (y_min, y_max) = function.window
    return np.column_stack([rng.uniform(x_min, x_max, count), rng.uniform(y_min, y_max, count)])


def numerical_gradient(function: Landscape, x: float, y: float) -> np.ndarray:
    """Central differences; the step scales with the window so that every function gets ~1e-8 accuracy."""
    h = 1e-6 * max(1.0, abs(x), abs(y))
    return np.array([
        (function.value(x + h, y) - function.value(x - h, y)) / (2 * h),
        (function.value(x, y + h) - function.value(x, y - h)) / (2 * h),
    ])


def numerical_hessian(function: Landscape, x: float, y: float) -> np.ndarray:
    h = 1e-5
    columns = []
    for dx, dy in ((h, 0.0), (0.0, h)):
        plus = np.array(function.gradient(x + dx, y + dy))
        minus = np.array(function.gradient(x - dx, y - dy))
        columns.append((plus - minus) / (2 * h))
    return np.column_stack(columns)


# --- the functions ------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_central_differences(name):
    function = FUNCTIONS[name]
    for x, y in sample_points(function):
        analytic = np.array(function.gradient(x, y))
        numerical = numerical_gradient(function, x, y)
        np.testing.assert_allclose(analytic, numerical, rtol=1e-6, atol=1e-6 * (1 + abs(function.value(x, y))))


@pytest.mark.parametrize("name", NAMES)
def test_value_and_gradient_are_vectorised_over_a_grid(name):
    function = FUNCTIONS[name]
    X, Y, Z = function.grid(resolution=7)
    assert X.shape == Y.shape == Z.shape == (7, 7)
    gx, gy = function.gradient(X, Y)
    for i, j in [(0, 0), (3, 4), (6, 6), (2, 5)]:
        assert Z[i, j] == pytest.approx(function.value(X[i, j], Y[i, j]), rel=1e-15)
        assert (gx[i, j], gy[i, j]) == pytest.approx(function.gradient(X[i, j], Y[i, j]), rel=1e-15)
    (x_min, x_max), (y_min, y_max) = function.window
    assert (X.min(), X.max(), Y.min(), Y.max()) == (x_min, x_max, y_min, y_max)


@pytest.mark.parametrize("name", NAMES)
def test_loss_and_gradient_of_a_point(name):
    function = FUNCTIONS[name]
    point = np.array(function.start)
    loss, gradient = function.loss_and_gradient(point)
    assert loss == function.value(*function.start)
    assert gradient.dtype == np.float64 and gradient.shape == (2,)
    np.testing.assert_array_equal(gradient, function.gradient(*function.start))


@pytest.mark.parametrize("name", [n for n in NAMES if FUNCTIONS[n].minima])
def test_declared_minima_are_minima_with_the_declared_values(name):
    function = FUNCTIONS[name]
    for minimum in function.minima:
        x, y = minimum.point
        assert np.hypot(*function.gradient(x, y)) < 1e-9
        assert np.linalg.eigvalsh(numerical_hessian(function, x, y)).min() > 0
        assert function.value(x, y) == pytest.approx(minimum.value, abs=1e-12)
        assert minimum.kind in ("global", "local")


@pytest.mark.parametrize("name", [n for n in NAMES if FUNCTIONS[n].minima])
def test_the_global_minimum_is_the_lowest_point_of_the_window(name):
    function = FUNCTIONS[name]
    _, _, Z = function.grid(resolution=401)
    lowest = function.global_minimum
    assert lowest.kind == "global"
    assert Z.min() >= lowest.value - 1e-9
    for minimum in function.minima:
        if minimum.kind == "local":
            assert minimum.value > lowest.value + 1.0   # clearly shallower: the picture's point


@pytest.mark.parametrize("name", [n for n in NAMES if FUNCTIONS[n].saddle_points])
def test_declared_saddle_points_are_saddles(name):
    function = FUNCTIONS[name]
    for x, y in function.saddle_points:
        assert np.hypot(*function.gradient(x, y)) < 1e-9
        eigenvalues = np.linalg.eigvalsh(numerical_hessian(function, x, y))
        assert eigenvalues.min() < 0 < eigenvalues.max()


@pytest.mark.parametrize("name", NAMES)
def test_declarations_are_consistent(name):
    function = FUNCTIONS[name]
    (x_min, x_max), (y_min, y_max) = function.window
    assert x_min < function.start[0] < x_max and y_min < function.start[1] < y_max
    assert function.steps >= 1
    assert set(function.learning_rates) == set(BUILTIN_OPTIMIZERS)
    assert all(rate > 0 for rate in function.learning_rates.values())
    assert function.lesson and function.formula and function.tex.startswith("$")
    assert name in repr(function)
    with pytest.raises(TypeError):
        function.learning_rates["sgd"] = 1.0   # shared declarations are read-only


def test_registry_and_tables_know_the_same_optimizers():
    assert set(BUILTIN_OPTIMIZERS) <= set(optim.available())


@pytest.mark.parametrize("name", NAMES)
def test_every_default_learning_rate_makes_a_picture_inside_the_window(name):
    """The documented rule: finite, inside the window for the suggested steps;
    on the saddle, which has no bottom, out of it along y."""
    function = FUNCTIONS[name]
    (x_min, x_max), (y_min, y_max) = function.window
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for trajectory in trajectories(name, BUILTIN_OPTIMIZERS):
            assert trajectory.diverged_at is None, trajectory.label
            assert trajectory.lr == function.learning_rates[trajectory.optimizer]
            x, y = trajectory.path.T
            inside = x_min <= x.min() and x.max() <= x_max and y_min <= y.min() and y.max() <= y_max
            assert inside == (name != "saddle"), trajectory.label


def test_get_available_and_nearest_minimum():
    assert landscape.available() == NAMES
    assert landscape.get("Rosenbrock") is FUNCTIONS["rosenbrock"]
    assert landscape.get("double-well") is FUNCTIONS["double_well"]
    assert landscape.get(FUNCTIONS["beale"]) is FUNCTIONS["beale"]
    himmelblau = FUNCTIONS["himmelblau"]
    minimum, distance = himmelblau.nearest_minimum((3.5, -2.0))
    assert minimum.point == pytest.approx((3.584428340330492, -1.848126526964404))
    assert distance == pytest.approx(math.hypot(0.084428340330492, 0.151873473035596))
    assert FUNCTIONS["saddle"].nearest_minimum((1.0, 1.0)) is None
    assert FUNCTIONS["saddle"].global_minimum is None


# --- trajectories: the numbers behind the pictures ------------------------------------------


def test_a_trajectory_starts_at_start_and_records_every_step():
    (trajectory,) = trajectories("booth", ["sgd"], start=(2.0, -1.0), steps=7, lr=0.01)
    assert trajectory.path.shape == (8, 2) and trajectory.losses.shape == (8,)
    np.testing.assert_array_equal(trajectory.path[0], [2.0, -1.0])
    expected = [FUNCTIONS["booth"].value(x, y) for x, y in trajectory.path]
    np.testing.assert_array_equal(trajectory.losses, expected)
    assert trajectory.steps == 7 and trajectory.final_index == 7
    np.testing.assert_array_equal(trajectory.final_point, trajectory.path[-1])
    assert trajectory.final_loss == trajectory.losses[-1]
    assert (trajectory.function, trajectory.optimizer, trajectory.label) == ("booth", "sgd", "sgd (lr=0.01)")


def test_sgd_path_is_plain_gradient_descent():
    """The kernels' path equals p <- p - lr * grad written out by hand (bit for bit in float64)."""
    function = FUNCTIONS["rosenbrock"]
    (trajectory,) = trajectories(function, ["sgd"], steps=50, lr=1e-3)
    p = np.array(function.start)
    for step in range(1, 51):
        p = p - 1e-3 * np.array(function.gradient(*p))
        np.testing.assert_array_equal(trajectory.path[step], p)


@pytest.mark.parametrize("name, nesterov", [("momentum", False), ("nesterov", True)])
def test_momentum_paths_follow_the_documented_rules(name, nesterov):
    """PyTorch's heavy ball: b = 0.9 b + g; p -= lr b (Nesterov: p -= lr (g + 0.9 b))."""
    function = FUNCTIONS["ravine"]
    (trajectory,) = trajectories(function, [name], steps=40)
    lr = function.learning_rates[name]
    p = np.array(function.start)
    b = None
    for step in range(1, 41):
        g = np.array(function.gradient(*p))
        b = g.copy() if b is None else 0.9 * b + g
        p = p - lr * (g + 0.9 * b if nesterov else b)
        np.testing.assert_allclose(trajectory.path[step], p, rtol=1e-14, atol=1e-15)


def test_adam_path_follows_the_documented_rule():
    function = FUNCTIONS["beale"]
    (trajectory,) = trajectories(function, ["adam"], steps=30, lr=0.05)
    p = np.array(function.start)
    m = v = np.zeros(2)
    for t in range(1, 31):
        g = np.array(function.gradient(*p))
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        p = p - 0.05 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        np.testing.assert_allclose(trajectory.path[t], p, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "name, optimizers, steps",
    [
        ("rosenbrock", ["momentum", "nesterov", "adam"], None),
        ("booth", ["momentum", "nesterov", "adam"], None),
        ("booth", ["sgd"], 1000),
        ("beale", ["momentum", "nesterov", "adam"], None),
        ("ravine", ["momentum", "nesterov", "adam"], None),
        ("himmelblau", ["sgd", "momentum", "nesterov", "adam"], None),
    ],
)
def test_well_chosen_settings_reach_the_minimum(name, optimizers, steps):
    function = FUNCTIONS[name]
    for trajectory in trajectories(name, optimizers, steps=steps):
        minimum, distance = function.nearest_minimum(trajectory.final_point)
        assert minimum.kind == "global" and distance < 1e-2, (trajectory.label, distance)
        assert trajectory.final_loss < 1e-4 * trajectory.losses[0]


def test_plain_sgd_crawls_along_rosenbrocks_valley_where_momentum_arrives():
    sgd, momentum = trajectories("rosenbrock", ["sgd", "momentum"])
    assert sgd.lr == momentum.lr
    assert FUNCTIONS["rosenbrock"].nearest_minimum(sgd.final_point)[1] > 0.3
    assert FUNCTIONS["rosenbrock"].nearest_minimum(momentum.final_point)[1] < 1e-3


def test_on_the_ravine_momentum_overshoots_and_nesterov_overshoots_less():
    """The minimum is at x = 0 and every ball starts at x = -9: how far past 0 it goes along
    the valley, and how far it swings across it (|y|) once the first fall is over."""
    sgd, momentum, nesterov = trajectories("ravine", ["sgd", "momentum", "nesterov"])
    past = {t.optimizer: t.path[:, 0].max() for t in (sgd, momentum, nesterov)}
    assert past["sgd"] <= 0.0                          # no velocity, no overshoot
    assert past["momentum"] > 2.5                      # rolls more than 2.5 past the minimum
    assert 0.0 < past["nesterov"] < past["momentum"] - 0.5
    swing = {t.optimizer: np.abs(t.path[5:, 1]).max() for t in (sgd, momentum, nesterov)}
    assert swing["momentum"] > 1.0                     # still crossing the valley floor by a full unit
    assert swing["nesterov"] < swing["momentum"] / 3   # the look-ahead damps the zigzag
    wide = {t.optimizer: int(np.sum(np.abs(t.path[5:, 1]) > 0.25)) for t in (sgd, momentum, nesterov)}
    assert wide["sgd"] == 0 and wide["nesterov"] <= 2 and wide["momentum"] >= 20   # steps spent far off the floor
    # ...and both still end at the minimum, closer than plain descent.
    assert max(momentum.final_loss, nesterov.final_loss) < sgd.final_loss


def test_on_the_double_well_plain_descent_stops_in_the_shallow_valley_and_momentum_rolls_over():
    function = FUNCTIONS["double_well"]
    ends = {t.optimizer: function.nearest_minimum(t.final_point) for t in trajectories(function, ["sgd", "momentum", "nesterov"])}
    assert ends["sgd"][0].kind == "local" and ends["sgd"][1] < 1e-3
    assert ends["momentum"][0].kind == "global" and ends["momentum"][1] < 1e-3
    assert ends["nesterov"][0].kind == "global" and ends["nesterov"][1] < 1e-3


def test_on_the_saddle_every_ball_escapes_downhill_along_y():
    for trajectory in trajectories("saddle", ["sgd", "momentum", "nesterov", "adam"]):
        assert abs(trajectory.final_point[1]) > 2.0                 # left the window along y
        assert trajectory.final_loss < trajectory.losses[0]
    sgd, adam = trajectories("saddle", ["sgd", "adam"])
    # Plain descent first slides to the saddle (the gradient vanishes there); Adam's
    # per-coordinate scaling moves along y from the first step.
    assert np.hypot(*sgd.path.T).min() < 0.2
    assert np.hypot(*adam.path.T).min() > 1.0


def test_divergence_stops_the_path_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (trajectory,) = trajectories("rosenbrock", ["sgd"], lr=0.05, steps=500)
    assert trajectory.diverged_at is not None and 1 <= trajectory.diverged_at <= 500
    assert np.isnan(trajectory.path[trajectory.diverged_at:]).all()
    assert np.isnan(trajectory.losses[trajectory.diverged_at:]).all()
    assert trajectory.final_index == trajectory.diverged_at - 1
    assert np.isfinite(trajectory.final_point).all() and math.isfinite(trajectory.final_loss)


def test_lr_overrides_every_default_and_hyperparameters_go_where_they_are_declared():
    sgd, adam = trajectories("ravine", ["sgd", "adam"], steps=3, lr=0.01, momentum=0.5)
    assert (sgd.lr, adam.lr) == (0.01, 0.01)
    assert dict(sgd.hyperparameters) == {"momentum": 0.5} and dict(adam.hyperparameters) == {}
    assert sgd.label == "sgd (lr=0.01, momentum=0.5)"
    (plain,) = trajectories("ravine", ["sgd"], steps=3, lr=0.01)
    assert not np.array_equal(plain.path, sgd.path)          # momentum=0.5 reached SGD
    (betas,) = trajectories("ravine", ["adam"], steps=3, betas=(0.5, 0.9))
    assert betas.label == "adam (lr=0.2, betas=(0.5, 0.9))"


def test_optimizers_may_be_one_name_and_names_are_case_insensitive():
    (trajectory,) = trajectories("booth", "Momentum", steps=2)
    assert trajectory.optimizer == "momentum" and trajectory.lr == FUNCTIONS["booth"].learning_rates["momentum"]


def test_a_landscape_declared_by_a_user_runs_like_a_built_in():
    bowl = Landscape(
        name="bowl", title="A bowl", formula="x^2 + y^2", tex="$x^2 + y^2$",
        value=lambda x, y: x * x + y * y, gradient=lambda x, y: (2 * x, 2 * y),
        window=((-2.0, 2.0), (-2.0, 2.0)), start=(1.5, -1.0), steps=100,
        learning_rates={"sgd": 0.1}, minima=(Minimum((0.0, 0.0), 0.0),),
    )
    sgd, adam = trajectories(bowl, ["sgd", "adam"])
    assert sgd.lr == 0.1 and adam.lr == optim.get("adam").defaults["lr"]   # not listed: the optimizer's own default
    assert bowl.nearest_minimum(sgd.final_point)[1] < 1e-9


def test_each_trajectory_gets_its_own_copy_of_the_start():
    start = np.array([1.0, 1.0])
    first, second = trajectories("booth", ["sgd", "sgd"], start=start, steps=5)
    np.testing.assert_array_equal(start, [1.0, 1.0])
    np.testing.assert_array_equal(first.path, second.path)


# --- errors ------------------------------------------------------------------------


def test_unknown_function_lists_the_known_ones_and_suggests():
    with pytest.raises(UnknownNameError, match=r"unknown function 'rosenbrok'\. Did you mean 'rosenbrock'\? Known functions: beale, booth, double_well"):
        trajectories("rosenbrok", ["sgd"])
    with pytest.raises(UnknownNameError, match=r"unknown function 'zzz'\. Known functions: beale"):
        landscape.get("zzz")


def test_function_of_the_wrong_type():
    with pytest.raises(TypeError, match=r"function must be a name \(beale, .*\) or a Landscape; got int"):
        trajectories(3, ["sgd"])


def test_unknown_optimizer_is_the_registrys_error():
    with pytest.raises(UnknownNameError, match=r"unknown optimizer 'adan'\. Did you mean 'adam'"):
        trajectories("rosenbrock", ["sgd", "adan"])


@pytest.mark.parametrize(
    "optimizers, error, message",
    [
        ([], ValueError, "optimizers is empty; give at least one name"),
        (["sgd", 3], TypeError, "optimizers[1] must be an optimizer name; got 3"),
        (5, TypeError, "optimizers must be a name or a list of names; got int"),
    ],
)
def test_bad_optimizer_lists(optimizers, error, message):
    with pytest.raises(error) as raised:
        trajectories("rosenbrock", optimizers)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    "steps, error",
    [(0, ValueError), (-3, ValueError), (1.5, TypeError), (True, TypeError), ("10", TypeError)],
)
def test_steps_must_be_a_positive_integer(steps, error):
    with pytest.raises(error, match=rf"steps must be a positive integer; got {steps!r}"):
        trajectories("rosenbrock", ["sgd"], steps=steps)


@pytest.mark.parametrize(
    "start, error",
    [
        ((1.0,), ValueError),
        ((1.0, 2.0, 3.0), ValueError),
        ((math.nan, 0.0), ValueError),
        ((0.0, math.inf), ValueError),
        (np.zeros((2, 1)), ValueError),
        (("1", "2"), TypeError),
        ((True, 0.0), TypeError),
        ("12", TypeError),
        (5.0, TypeError),
        ({"x": 1.0, "y": 2.0}, TypeError),
    ],
)
def test_start_must_be_two_finite_numbers(start, error):
    with pytest.raises(error) as raised:
        trajectories("rosenbrock", ["sgd"], start=start)
    assert str(raised.value) == f"start must be two finite numbers (x, y); got {start!r}"


def test_start_accepts_arrays_and_numpy_numbers():
    (trajectory,) = trajectories("booth", ["sgd"], start=np.array([1, 2]), steps=1)
    np.testing.assert_array_equal(trajectory.path[0], [1.0, 2.0])
    (trajectory,) = trajectories("booth", ["sgd"], start=(np.float32(0.5), np.int64(3)), steps=1)
    np.testing.assert_array_equal(trajectory.path[0], [0.5, 3.0])


def test_a_hyperparameter_no_optimizer_has_is_named_with_a_suggestion():
    with pytest.raises(TypeError, match=r"no optimizer among sgd, adam has a hyperparameter 'beta' \(did you mean 'betas'\?\); they have: amsgrad, betas"):
        trajectories("rosenbrock", ["sgd", "adam"], beta=(0.9, 0.99))


def test_a_bad_value_is_the_optimizers_error_and_nothing_runs():
    calls = []
    counted = Landscape(
        name="counted", title="Counted", formula="x^2 + y^2", tex="$x^2 + y^2$",
        value=lambda x, y: x * x + y * y, gradient=lambda x, y: calls.append((x, y)) or (2 * x, 2 * y),
        window=((-1.0, 1.0), (-1.0, 1.0)), start=(0.5, 0.5), steps=10, learning_rates={},
    )
    with pytest.raises(ValueError, match=r"SGD: lr must be a finite number >= 0; got -1"):
        trajectories(counted, ["sgd", "adam"], lr=-1)
    # Adam accepts the call; SGD, created second, refuses momentum=-0.5 before Adam takes a step.
    with pytest.raises(ValueError, match=r"SGD: momentum must be a finite number >= 0; got -0.5"):
        trajectories(counted, ["adam", "sgd"], momentum=-0.5)
    assert calls == []
