"""load_state_dict against generated corruptions: every mutation of a valid state dict either loads
(finite values, each slot within its range, and the optimizer then steps) or raises TypeError or
ValueError naming load_state_dict, and a refused state dict changes nothing."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from numbagrad import optim

#: Optimizers whose state covers each kind: slots with a minimum, a `when` slot, a scalar, shaped
#: (tensor-wise) slots, and the closure optimizer's own state.
CASES = [
    ("adam", {"amsgrad": True}),
    ("nadam", {}),
    ("rmsprop", {"momentum": 0.9, "centered": True}),
    ("rprop", {}),
    ("asgd", {}),
    ("adafactor", {}),
    ("lbfgs", {}),
]

HOSTILE = [
    None, True, -1, 0, 2**70, -(2**70), 1.5, float("nan"), float("inf"), -1e300, "x", "", b"\x00", [], [1, 2],
    {}, {"a": 1}, (0.9,), object(), 1j, np.array(["a"]), np.array([1, 2], dtype=object), np.zeros((0,)),
    np.zeros((2, 2, 2)), np.full(3, -1.0), np.full(3, np.nan), np.array(1e400 * 0), np.int64(-5), np.float32("inf"),
]


def _bound(name, options):
    rng = np.random.default_rng(0)
    params = [rng.standard_normal((3, 2)), rng.standard_normal(2)]
    opt = optim.get(name, params, **options)
    if opt.spec.closure:
        target = [np.ones((3, 2)), np.ones(2)]

        def closure():
            grads = [p - t for p, t in zip(params, target)]
            return 0.5 * sum(float((g * g).sum()) for g in grads), grads

        for _ in range(3):
            opt.step(closure)
        return opt, lambda: opt.step(closure)
    for _ in range(3):
        opt.step([p * 0.1 + 0.01 for p in params])
    return opt, lambda: opt.step([p * 0.1 + 0.01 for p in params])


def _places(value, path=()):
    """Every position in a state dict: dict entries, list items, array elements."""
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _places(item, path + (key,))
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _places(item, path + (i,))
    elif isinstance(value, np.ndarray) and value.size:
        yield path + ("element",)


def _mutated(state, path, rng):
    state = copy.deepcopy(state)
    if not path:
        return HOSTILE[rng.integers(len(HOSTILE))]
    parent = state
    for key in path[:-2] if path[-1] == "element" else path[:-1]:
        parent = parent[key]
    last = path[-2] if path[-1] == "element" else path[-1]
    if path[-1] == "element":  # one number of an array: NaN, inf, negative, huge
        array = np.array(parent[last], dtype=np.float64)
        array.flat[rng.integers(array.size)] = rng.choice([np.nan, np.inf, -1.0, -1e-30, 1e300])
        parent[last] = array
        return state
    if isinstance(parent, tuple):
        parent = list(parent)
    choice = rng.integers(len(HOSTILE) + 2)
    if choice == len(HOSTILE) and isinstance(parent, dict):
        del parent[last]
    elif choice == len(HOSTILE) + 1 and isinstance(parent, dict):
        parent["unexpected"] = parent[last]
    else:
        value = HOSTILE[choice % len(HOSTILE)]
        try:
            parent[last] = value
        except TypeError:  # a tuple inside: replace the whole tuple
            return _mutated(state, path[:-1], rng)
    return state


def _same(a, b):
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b, equal_nan=True)
    return a == b or (a != a and b != b)


@pytest.mark.parametrize("name, options", CASES, ids=[name for name, _ in CASES])
def test_generated_corruptions_load_cleanly_or_change_nothing(name, options):
    rng = np.random.default_rng(1234)
    opt, step = _bound(name, options)
    good = opt.state_dict()
    weights = [p.copy() for p in opt.params]
    places = list(_places(good))
    outcomes = {"refused": 0, "loaded": 0}
    for trial in range(400):
        path = places[rng.integers(len(places))]
        broken = _mutated(good, path, rng)
        before = opt.state_dict()
        try:
            opt.load_state_dict(broken)
        except (TypeError, ValueError) as error:
            assert "load_state_dict" in str(error), f"{path}: {error}"
            assert _same(opt.state_dict(), before), f"{path}: a refused state dict changed the optimizer"
            outcomes["refused"] += 1
            continue
        # Accepted: every value is finite and within its slot's range, and the optimizer steps. (A step
        # may still overflow: valid values can be extreme, lr=2**70, and centered RMSprop's
        # square_avg >= grad_avg**2 ties two slots together, which no per-slot check sees.)
        outcomes["loaded"] += 1
        for entry in opt.state_dict()["state"].values():
            for key, value in entry.items():
                assert np.isfinite(np.asarray(value, dtype=np.float64)).all(), f"{path}: loaded {key}={value!r}"
        with np.errstate(all="ignore"):
            step()
        for param, start in zip(opt.params, weights):
            param[...] = start
        opt.load_state_dict(good)
    assert outcomes["refused"] > 100, outcomes
