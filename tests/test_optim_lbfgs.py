"""L-BFGS: its solution, PyTorch's trajectory, its state, full-batch fit and every error."""

from __future__ import annotations

import math

import numpy as np
import pytest

import numbagrad
from numbagrad import Dense, Sequential, optim

RNG = np.random.default_rng(0)
A = RNG.standard_normal((40, 6))
B = RNG.standard_normal(40)


def logistic(dtype):
    """A smooth convex objective of two parameters and its closure factory."""
    a, b = A.astype(dtype), B.astype(dtype)

    def objective(w, c):
        z = a @ w + c[0] - b
        loss = np.mean(np.logaddexp(0, z)) + dtype(0.01) * np.sum(w**2)
        s = 1 / (1 + np.exp(-z)) / len(z)
        return float(loss), [(a.T @ s + dtype(0.02) * w).astype(dtype), np.array([s.sum()], dtype)]

    return objective


def start(dtype):
    return [np.linspace(-1, 1, 6).astype(dtype), np.array([0.3], dtype)]


# The line search stops refining once its bracket is 1e-9 wide (PyTorch's constant), hence its looser bound.
@pytest.mark.parametrize("line_search_fn, rtol", [(None, 1e-10), ("strong_wolfe", 1e-7)])
def test_reaches_the_least_squares_solution(line_search_fn, rtol):
    x = np.zeros(6)
    opt = optim.LBFGS([x], max_iter=200, max_eval=1000, tolerance_grad=1e-12, tolerance_change=0, line_search_fn=line_search_fn)

    def closure():
        residual = A @ x - B
        return 0.5 * residual @ residual, [A.T @ residual]

    first = opt.step(closure)
    assert first == pytest.approx(0.5 * B @ B)
    np.testing.assert_allclose(x, np.linalg.lstsq(A, B, rcond=None)[0], rtol=rtol, atol=1e-12)


def test_stops_at_once_where_the_gradient_vanishes():
    x = np.ones(3)
    opt = optim.LBFGS([x])
    assert opt.step(lambda: (0.0, [np.zeros(3)])) == 0.0
    np.testing.assert_array_equal(x, np.ones(3))
    assert opt.state_dict()["state"] == {}


OPTIONS = [{}, {"line_search_fn": "strong_wolfe"}, {"history_size": 3, "max_iter": 7, "lr": 0.5}]


@pytest.mark.parametrize("dtype, tolerance", [(np.float64, 1e-9), (np.float32, 2e-4)])
@pytest.mark.parametrize("options", OPTIONS, ids=["defaults", "strong_wolfe", "short-history"])
def test_follows_torch(options, dtype, tolerance):
    torch = pytest.importorskip("torch")
    objective = logistic(dtype)
    ours = start(dtype)
    theirs = [torch.tensor(p.copy(), requires_grad=True) for p in start(dtype)]
    opt = optim.LBFGS(ours, **options)
    reference = torch.optim.LBFGS(theirs, **options)

    def torch_closure():  # the same numbers as ours: only the optimizers differ
        loss, grads = objective(*(t.detach().numpy() for t in theirs))
        for t, g in zip(theirs, grads):
            t.grad = torch.from_numpy(g.copy())
        return torch.tensor(loss, dtype=torch.float64)

    for _ in range(3):
        opt.step(lambda: objective(*ours))
        reference.step(torch_closure)
    scale = max(np.abs(t.detach().numpy()).max() for t in theirs)
    error = max(np.abs(p - t.detach().numpy()).max() for p, t in zip(ours, theirs)) / scale
    assert error < tolerance
    assert opt.state_dict()["state"][0]["func_evals"] == reference.state[theirs[0]]["func_evals"]


@pytest.mark.parametrize("options", OPTIONS, ids=["defaults", "strong_wolfe", "short-history"])
def test_state_dict_round_trip_continues_identically(options):
    objective = logistic(np.float64)
    first = start(np.float64)
    options = {"max_iter": 4, **options}
    uninterrupted = optim.LBFGS(first, **options)
    uninterrupted.step(lambda: objective(*first))
    saved = uninterrupted.state_dict()
    second = [p.copy() for p in first]
    resumed = optim.LBFGS(second, **options)
    resumed.load_state_dict(saved)
    assert resumed.steps == 1
    for _ in range(2):
        uninterrupted.step(lambda: objective(*first))
        resumed.step(lambda: objective(*second))
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def test_found_by_name_with_pytorchs_defaults():
    opt = optim.get("lbfgs", [np.zeros(2)], max_iter=8)
    assert isinstance(opt, optim.LBFGS)
    group = opt.param_groups[0]
    assert (group["lr"], group["max_iter"], group["max_eval"], group["history_size"]) == (1.0, 8, 10, 100)
    assert (group["tolerance_grad"], group["tolerance_change"], group["line_search_fn"]) == (1e-7, 1e-9, "none")
    assert optim.available()["lbfgs"] == "numbagrad"


# --- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options, error, message",
    [
        ({"max_iter": 0}, ValueError, "LBFGS: max_iter must be an integer >= 1; got 0"),
        ({"max_eval": 0}, ValueError, "LBFGS: max_eval must be an integer >= 1; got 0"),
        ({"history_size": 2.5}, TypeError, "LBFGS: history_size must be an integer >= 1; got 2.5"),
        ({"tolerance_grad": -1.0}, ValueError, "LBFGS: tolerance_grad must be a finite number >= 0; got -1.0"),
        ({"line_search_fn": "armijo"}, ValueError, "LBFGS: line_search_fn must be one of 'none', 'strong_wolfe'; got 'armijo'"),
        ({"lr": math.nan}, ValueError, "LBFGS: lr must be a finite number >= 0; got nan"),
    ],
)
def test_bad_hyperparameters(options, error, message):
    with pytest.raises(error) as raised:
        optim.LBFGS([np.zeros(2)], **options)
    assert message in str(raised.value)


def test_bad_parameters():
    with pytest.raises(ValueError, match="LBFGS works on all its parameters as one vector: give one group; got 2"):
        optim.LBFGS([{"params": [np.zeros(2)]}, {"params": [np.zeros(3)]}])
    with pytest.raises(TypeError, match=r"LBFGS: every parameter must have one dtype; got \['float32', 'float64'\]"):
        optim.LBFGS([np.zeros(2), np.zeros(2, np.float32)])


def test_bad_closures_change_nothing():
    x = np.ones(3)
    opt = optim.LBFGS([x])
    with pytest.raises(TypeError, match=r"LBFGS.step\(\) takes a closure returning \(loss, grads\); got list"):
        opt.step([np.ones(3)])
    with pytest.raises(TypeError, match=r"closure\(\) must return \(loss, grads\); got float"):
        opt.step(lambda: 1.0)
    with pytest.raises(ValueError, match=r"grads\[0\] has shape \(2,\); params\[0\] has shape \(3,\)"):
        opt.step(lambda: (1.0, [np.ones(2)]))
    np.testing.assert_array_equal(x, np.ones(3))
    assert opt.steps == 0


def test_load_state_dict_refuses_corrupt_state_and_keeps_its_own():
    objective = logistic(np.float64)
    params = start(np.float64)
    opt = optim.LBFGS(params)
    opt.step(lambda: objective(*params))
    good = opt.state_dict()
    cases = [
        (lambda e: e.pop("old_dirs"), "state[0] has no ['old_dirs']"),
        (lambda e: e.update(d=np.zeros(3)), "state[0]['d'] must be finite numbers of shape (7,)"),
        (lambda e: e.update(prev_flat_grad=np.full(7, np.nan)), "state[0]['prev_flat_grad'] must be finite numbers"),
        (lambda e: e.update(t=math.inf), "state[0]['t'] must be a finite number; got inf"),
        (lambda e: e.update(step=-1), "state[0]['step'] must be an integer in [0, 2**63); got -1"),
        (lambda e: e.update(ro=np.ones(200), old_dirs=np.zeros((200, 7)), old_stps=np.zeros((200, 7))), "200 curvature pairs exceed history_size 100"),
    ]
    for corrupt, message in cases:
        broken = {**good, "state": {0: dict(good["state"][0])}}
        corrupt(broken["state"][0])
        with pytest.raises(ValueError) as raised:
            opt.load_state_dict(broken)
        assert message in str(raised.value)
    after = opt.state_dict()["state"][0]
    for key, value in good["state"][0].items():
        np.testing.assert_array_equal(after[key], value)


# --- fit ----------------------------------------------------------------------------------


def _data():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((120, 5))
    return X, (X[:, 0] - X[:, 2] > 0).astype(int)


def test_full_batch_fit_steps_once_per_epoch_as_a_hand_written_loop():
    X, y = _data()
    model = Sequential([Dense(6, activation="tanh"), Dense(2, activation="softmax")], input_dim=5, dtype=np.float64, seed=3)
    twin = Sequential([Dense(6, activation="tanh"), Dense(2, activation="softmax")], input_dim=5, dtype=np.float64, seed=3)
    model.compile({"name": "lbfgs", "line_search_fn": "strong_wolfe"}, "categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(X, y, batch_size=len(X), epochs=4, shuffle=False, verbose=0)

    opt = optim.LBFGS([twin.parameters], line_search_fn="strong_wolfe")
    losses = [opt.step(lambda: twin.value_and_grad(X, y, "categorical_crossentropy")) for _ in range(4)]
    np.testing.assert_array_equal(model.parameters, twin.parameters)
    np.testing.assert_allclose(history.history["loss"], losses, rtol=1e-12)
    assert history.history["loss"][-1] < 1e-3 and history.history["accuracy"][-1] == 1.0


def test_a_saved_lbfgs_model_resumes_exactly(tmp_path):
    X, y = _data()
    model = Sequential([Dense(4, activation="relu"), Dense(2, activation="softmax")], input_dim=5, dtype=np.float64, seed=0)
    model.compile({"name": "lbfgs", "history_size": 5, "max_iter": 5}, "categorical_crossentropy")
    model.fit(X, y, batch_size=len(X), epochs=2, verbose=0)
    model.save(tmp_path / "m.ngm")
    loaded = numbagrad.load_model(tmp_path / "m.ngm")
    model.fit(X, y, batch_size=len(X), epochs=2, verbose=0)
    loaded.fit(X, y, batch_size=len(X), epochs=2, verbose=0)
    np.testing.assert_array_equal(model.parameters, loaded.parameters)


def test_compile_refuses_clipping_with_lbfgs():
    model = Sequential([Dense(2)], input_dim=3)
    with pytest.raises(ValueError, match="compile: LBFGS computes its own steps from the gradient .* clip_norm and clip_value cannot apply"):
        model.compile("lbfgs", "mse", clip_norm=1.0)
