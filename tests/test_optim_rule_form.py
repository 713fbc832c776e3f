"""Optimizers declared as a rule plus coefficients: generated kernels, their contract and its errors."""

from __future__ import annotations

import json
import math
import textwrap
from typing import NamedTuple

import numpy as np
import pytest
from helpers import awkward_arrays, gradients
from test_caching import _run

from numbagrad import optim
from numbagrad.errors import PluginError
from numbagrad.hyperparameters import Hyperparameter
from numbagrad.kernels import elementwise
from numbagrad.optim import OptimizerSpec, StateSlot

# --- a plugin-style optimizer: heavy-ball momentum with an optional running maximum ---


def _shrink(x, factor):  # a plain helper: compiled for each target with the rule
    return x * factor


class _Coefficients(NamedTuple):
    lr: float
    momentum: float
    track_max: bool


def _coefficients(param, step, lr, momentum, track_max):
    T = param.dtype.type
    return _Coefficients(T(lr), T(momentum), track_max)


def _rule(p, grad, velocity, peak, c):
    velocity = _shrink(velocity, c.momentum) + grad
    if c.track_max and abs(velocity) > peak:
        peak = abs(velocity)
    return p - c.lr * velocity, velocity, peak


def _spec(name="heavy_ball", **changes):
    fields = dict(
        name=name,
        coefficients=_coefficients,
        rule=_rule,
        hyperparameters=(
            Hyperparameter("lr", 0.1, minimum=0.0),
            Hyperparameter("momentum", 0.9, minimum=0.0, maximum=1.0),
            Hyperparameter("track_max", False, kind="bool"),
        ),
        state=("velocity", StateSlot("peak", when="track_max")),
    )
    fields.update(changes)
    return OptimizerSpec(**fields)


def _reference(params, options, steps):
    lr, momentum, track_max = options.get("lr", 0.1), options.get("momentum", 0.9), options.get("track_max", False)
    velocity = [np.zeros_like(p) for p in params]
    peak = [np.zeros_like(p) for p in params]
    for t in range(1, steps + 1):
        for p, v, m, g in zip(params, velocity, peak, gradients(params, t)):
            T = p.dtype.type
            v[...] = v * T(momentum) + g
            if track_max:
                np.maximum(m, np.abs(v), out=m)
            p[...] = p - T(lr) * v
    return velocity, peak


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", [{}, {"track_max": True, "lr": 0.05, "momentum": 0.5}])
def test_a_generated_kernel_follows_its_rule_and_keeps_only_the_slots_its_options_use(fresh_registry, options, dtype, tiny_chunks):
    optim.register(_spec())
    params = awkward_arrays(dtype, seed=5)
    expected = [p.copy() for p in params]
    opt = optim.get("heavy_ball", params, **options)
    for t in range(1, 9):
        opt.step(gradients(params, t))
    velocity, peak = _reference(expected, options, 8)
    for got, want in zip(params, expected):
        np.testing.assert_array_equal(got, want)
    state = opt.state_dict()["state"]
    for i in range(len(params)):
        np.testing.assert_array_equal(state[i]["velocity"], velocity[i])
        if options.get("track_max"):
            np.testing.assert_array_equal(state[i]["peak"], peak[i])
        else:
            assert "peak" not in state[i]


def test_the_generated_module_is_cached_by_the_sources_of_the_rule_and_its_helpers():
    spec = _spec()
    digest = elementwise.source_digest(spec)
    assert digest == elementwise.source_digest(_spec())

    namespace = {}
    exec(textwrap.dedent("""
        def _shrink(x, factor):
            return x * factor * 1
    """), namespace)
    changed_helper = OptimizerSpec(**{**_spec().__dict__, "rule": type(_rule)(_rule.__code__, {**_rule.__globals__, "_shrink": namespace["_shrink"]})})
    assert elementwise.source_digest(changed_helper) is None  # a helper typed at a prompt: no disk cache

    source = elementwise.cpu_source(spec, digest)
    assert f"# source digest: {digest}" in source
    assert "COEFFICIENTS(param, step, hyper[0], hyper[1], hyper[2] != 0.0)" in source
    assert "present1 = hyper[2] != 0.0" in source


def test_a_rule_without_readable_source_still_compiles(fresh_registry):
    namespace = {"NamedTuple": NamedTuple}
    exec(textwrap.dedent("""
        def coefficients(param, step, lr):
            return (param.dtype.type(lr),)

        def rule(p, grad, c):
            return p - c[0] * grad
    """), namespace)
    optim.register(OptimizerSpec(
        name="prompt_sgd", coefficients=namespace["coefficients"], rule=namespace["rule"],
        hyperparameters=(Hyperparameter("lr", 0.5, minimum=0.0),),
    ))
    params = [np.ones(5)]
    optim.get("prompt_sgd", params).step([np.full(5, 2.0)])
    np.testing.assert_array_equal(params[0], np.zeros(5))


def test_a_second_process_loads_the_generated_kernel_from_the_cache(tmp_path):
    code = textwrap.dedent(
        """
        import json, numpy as np
        import numbagrad
        from numbagrad.optim.radam import RADAM_SPEC
        numbagrad.optim.RAdam([np.ones(9, np.float32)]).step([np.ones(9, np.float32)])
        kernel = RADAM_SPEC.update_kernel()
        print(json.dumps([sum(kernel.stats.cache_hits.values()), sum(kernel.stats.cache_misses.values())]))
        """
    )
    first = json.loads(_run(code, tmp_path))
    second = json.loads(_run(code, tmp_path))
    assert first[1] > 0 and second == [first[1], 0], (first, second)


# --- the declaration's errors ---------------------------------------------------------


def _wrong_arity(p, grad, c):
    return p


def _coefficients_missing(param, step, lr):
    return (lr,)


def _coefficients_star(param, step, **hyperparameters):
    return (1.0,)


@pytest.mark.parametrize(
    "changes, error, message",
    [
        ({"rule": _wrong_arity}, TypeError, "rule('p', 'grad', 'c') must take 5 arguments: (p, grad, velocity, peak, c)"),
        ({"coefficients": _coefficients_missing}, TypeError, "must take param, step and every hyperparameter and scalar by name (lr, momentum, track_max), in any order, as plain parameters; missing ['momentum', 'track_max']"),
        ({"coefficients": _coefficients_star}, TypeError, "as plain parameters"),
        ({"rule": None}, TypeError, "rule must be a plain Python function"),
        ({"rule": np.sign}, TypeError, "rule must be a plain Python function"),
        ({"update": _rule}, TypeError, "give either coefficients and rule (numbagrad generates the kernels) or update and cuda_update"),
        ({"cuda_update": "numbagrad.kernels.cuda.state:fill_rows"}, TypeError, "not both"),
        ({"state": lambda values: ("velocity", "peak")}, TypeError, "with a rule, state must be a sequence of slots"),
        ({"state": ("velocity", StateSlot("peak", when="trackmax"))}, ValueError, "state slot 'peak' has when='trackmax', which must name a bool, float or int hyperparameter of the optimizer (lr, momentum, track_max)"),
    ],
)
def test_a_malformed_rule_declaration_is_refused_before_registering(fresh_registry, changes, error, message):
    spec = _spec(**changes)
    with pytest.raises(PluginError) as raised:
        optim.register(spec)
    assert message in str(raised.value)
    assert isinstance(raised.value.__cause__, error) or message in str(raised.value)
    assert "heavy_ball" not in optim.available()


def test_a_rule_that_does_not_compile_is_refused_naming_the_optimizer(fresh_registry):
    def broken_rule(p, grad, velocity, peak, c):
        return p - c.no_such_field * grad, velocity, peak

    with pytest.raises(PluginError, match="optimizer 'heavy_ball': rule raised AttributeError: .*no_such_field.* when numbagrad called it in Python"):
        optim.register(_spec(rule=broken_rule))


def test_when_names_a_pair_hyperparameter_is_refused(fresh_registry):
    spec = _spec(
        hyperparameters=(Hyperparameter("lr", 0.1, minimum=0.0), Hyperparameter("momentum", 0.9), Hyperparameter("track_max", (0.0, 1.0), kind="pair")),
        state=("velocity", StateSlot("peak", when="track_max")),
    )
    with pytest.raises(PluginError, match="when='track_max', which must name a bool, float or int hyperparameter"):
        optim.register(spec)


def test_helpers_from_numpy_are_left_to_numba():
    def rule(p, grad, c):
        return p - c[0] * np.sign(grad) * math.sqrt(4.0)

    assert elementwise._called_functions(rule) == {}
