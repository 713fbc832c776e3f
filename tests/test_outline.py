"""Outlined kernels: compiled functions called from compiled code through their own code
(numbagrad.kernels.cpu.outline), in one process and from Numba's cache in the next."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from numba import njit, types

from numbagrad.kernels.cpu.outline import OUT_OF_LINE, outlined, prepare

# With Numba < 0.63 an outlined call is linked in, as a plain call is (numbagrad.kernels.cpu.outline).
out_of_line = pytest.mark.skipif(not OUT_OF_LINE, reason="this Numba links outlined callees in")


@njit
def _scaled_sum(values, scale):
    if scale < 0.0:
        raise ValueError("scale must be >= 0")
    total = 0.0
    for i in range(values.size):
        values[i] *= scale
        total += values[i]
    return total


scaled_sum = outlined(_scaled_sum)


@njit
def _twice(values, scale):
    return scaled_sum(values, 2.0) + scaled_sum(values, scale)


@njit
def _on_demand_total(values):
    return values.sum(), values.size


on_demand_total = outlined(_on_demand_total, returns=types.Tuple((types.float64, types.int64)))


@njit
def _maybe_total(values, use):
    if use:
        return on_demand_total(values)[0]
    return -1.0


@njit
def _misdeclared(values):
    return values.sum()


misdeclared = outlined(_misdeclared, returns=types.int64)


@njit
def _call_misdeclared(values, use):
    return misdeclared(values) if use else 0


def test_outlined_call_computes_as_the_kernel_and_compiles_it_once_for_literal_and_variable_arguments():
    values = np.arange(4.0)
    # 2 * (0+1+2+3) = 12, then the doubled values times 3: 36.
    assert _twice(values, 3.0) == 48.0
    np.testing.assert_array_equal(values, np.arange(4.0) * 6)
    # The literal 2.0 and the float64 variable reach one compilation.
    assert _scaled_sum.signatures == [(types.float64[::1], types.float64)]


@out_of_line
def test_caller_declares_the_callee_instead_of_compiling_it_in():
    _twice(np.ones(3), 1.0)
    signature = _twice.signatures[0]
    code = _twice.inspect_llvm(signature)
    callee = _scaled_sum.overloads[_scaled_sum.signatures[0]].fndesc.llvm_func_name
    assert "numbagrad.outlined._scaled_sum." in code
    assert f"define i32 @{callee}" not in code and f'define i32 @"{callee}"' not in code
    assert "declare" in code


def test_an_exception_in_the_callee_reaches_the_caller():
    with pytest.raises(ValueError, match="scale must be >= 0"):
        _twice(np.ones(2), -1.0)


@out_of_line
def test_on_demand_kernel_is_compiled_only_by_prepare():
    values = np.arange(5.0)
    assert _maybe_total(values, False) == -1.0
    assert _on_demand_total.signatures == []
    with pytest.raises(RuntimeError, match=r"_on_demand_total was called before numbagrad\.kernels\.cpu\.outline\.prepare compiled it"):
        _maybe_total(values, True)
    prepare(_on_demand_total)
    assert _maybe_total(values, True) == 10.0
    assert len(_on_demand_total.signatures) == 1


def test_prepare_refuses_a_kernel_that_is_not_on_demand_and_a_wrong_return_type():
    with pytest.raises(TypeError, match="not an on-demand kernel"):
        prepare(_scaled_sum)
    message = r"_misdeclared returns float64, not the int64 its outlined\(\) declares"
    if not OUT_OF_LINE:  # compiled with its caller, and refused there
        with pytest.raises(Exception, match=message):
            _call_misdeclared(np.ones(2), False)
        return
    assert _call_misdeclared(np.ones(2), False) == 0
    with pytest.raises(TypeError, match=message):
        prepare(_misdeclared)


def test_outlined_needs_the_kernel_at_the_top_level_of_its_module():
    @njit
    def local(x):
        return x

    with pytest.raises(ValueError, match="must be the kernel itself, at the top level of its module"):
        outlined(local)


MODULE = textwrap.dedent(
    """
    from numba import njit, types
    from numbagrad.kernels.cpu.outline import outlined

    @njit(cache=True)
    def add(a, b, s):
        for i in range(a.size):
            a[i] += b[i] * s
        return a.sum()

    @njit(cache=True)
    def mean(a):
        return a.mean()

    _add = outlined(add)
    _mean = outlined(mean, returns=types.float64)

    @njit(cache=True)
    def caller(a, b, with_mean):
        total = _add(a, b, 2.0) + _add(a, b, 1)
        return total + (_mean(a) if with_mean else 0.0)
    """
)

RUN = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import outlined_module as m
    from numbagrad.kernels.cpu.outline import prepare
    a, b = np.ones(4), np.arange(4.0)
    first = m.caller(a, b, False)
    prepare(m.mean)
    second = m.caller(np.ones(4), b, True)
    print(json.dumps([first, second, sum(m.caller.stats.cache_hits.values()), sum(m.caller.stats.cache_misses.values())]))
    """
)


def test_a_caller_loaded_from_the_cache_calls_its_callees(tmp_path):
    (tmp_path / "outlined_module.py").write_text(MODULE)
    environment = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=str(tmp_path), NUMBAGRAD_DISABLE_PLUGIN_AUTOLOAD="1")
    runs = []
    for _ in range(2):
        result = subprocess.run([sys.executable, "-c", RUN], capture_output=True, text=True, env=environment, timeout=600, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        runs.append(json.loads(result.stdout.strip().splitlines()[-1]))
    # a = 1 + 2b = [1, 3, 5, 7] (16), then a + b = [1, 4, 7, 10] (22); with the mean 5.5.
    assert runs[0] == [38.0, 43.5, 0, 1]
    assert runs[1] == [38.0, 43.5, 1, 0]


TRAIN = textwrap.dedent(
    """
    import json
    import numpy as np
    import numbagrad as ng
    from numbagrad.kernels.cpu import dropout, network, normalization, training
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 5)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    model = ng.Sequential([ng.Dense(8, activation="relu"), ng.Dense(2, activation="softmax")], input_dim=5)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(X, y, batch_size=16, epochs=1, verbose=0)
    model.evaluate(X, y)
    model.predict(X)
    compiled = {name: len(kernel.signatures) for name, kernel in [
        ("normalize_forward", normalization.normalize_forward), ("penalty_sums", network.penalty_sums),
        ("all_reduce_gradient", training.all_reduce_gradient), ("dropout_forward", dropout.dropout_forward),
        ("weighted_loss_rows", network.weighted_loss_rows), ("update_weighted_metrics", training.update_weighted_metrics)]}
    print(json.dumps(compiled))
    """
)


@out_of_line
def test_a_plain_model_compiles_no_normalization_regularizer_dropout_weighting_or_all_reduce():
    result = subprocess.run([sys.executable, "-c", TRAIN], capture_output=True, text=True, timeout=900,
                            env=dict(os.environ, NUMBAGRAD_DISABLE_PLUGIN_AUTOLOAD="1"))
    assert result.returncode == 0, result.stderr
    compiled = json.loads(result.stdout.strip().splitlines()[-1])
    assert compiled == dict.fromkeys(compiled, 0) and len(compiled) == 6


def test_numbagrad_imports_with_numbas_jit_disabled():
    code = textwrap.dedent(
        """
        import numbagrad
        from numbagrad.kernels.cpu.outline import outlined, prepare
        def twice(x):
            return 2 * x
        assert outlined(twice) is twice and outlined(twice, returns=None) is twice
        prepare(twice)
        print("imported")
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, NUMBA_DISABLE_JIT="1", NUMBAGRAD_DISABLE_PLUGIN_AUTOLOAD="1"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "imported"
