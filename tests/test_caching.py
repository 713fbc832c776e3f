"""Numba's on-disk cache: a fresh import compiles nothing, a second run compiles nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numbagrad
from numbagrad import _cache

RUN_ONE_STEP = textwrap.dedent(
    """
    import json, numpy as np
    import numbagrad
    from numbagrad.kernels.cpu import update
    from numbagrad.optim.nadam import NADAM_SPEC, nadam_prepare
    from numbagrad.optim.sgd import SGD_SPEC
    params = [np.ones(5, np.float32), np.ones((2, 3), np.float32)]
    opt = numbagrad.optim.NAdam(params)
    opt.step([np.ones(5, np.float32), np.ones((2, 3), np.float32)])
    flat = [np.ones(7)]
    numbagrad.optim.SGD(flat, momentum=0.9).step([np.ones(7)])
    dispatchers = {
        "apply_plan": update.apply_plan,
        "array_address": update.array_address,
        "nadam_update": NADAM_SPEC.update_kernel(),
        "nadam_prepare": nadam_prepare,
        "sgd_update": SGD_SPEC.update_kernel(),
        "no_prepare": update.no_prepare,
    }
    print(json.dumps({name: [sum(d.stats.cache_hits.values()), sum(d.stats.cache_misses.values())]
                      for name, d in dispatchers.items()}))
    """
)


def _run(code: str, cache_dir) -> str:
    environment = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir), NUMBAGRAD_DISABLE_PLUGIN_AUTOLOAD="1")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=600)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_second_process_loads_every_kernel_from_the_cache(tmp_path):
    first = json.loads(_run(RUN_ONE_STEP, tmp_path))
    assert all(misses > 0 for hits, misses in first.values()), first
    second = json.loads(_run(RUN_ONE_STEP, tmp_path))
    for name, (hits, misses) in second.items():
        assert misses == 0 and hits > 0, (name, second)


def test_import_compiles_nothing_and_loads_no_plugin(tmp_path):
    code = textwrap.dedent(
        """
        import numbagrad
        from numbagrad.kernels.cpu import update
        from numbagrad.optim import nadam
        from numbagrad.registry import get_registry
        compiled = [name for name in dir(nadam) + dir(update)
                    for d in [getattr(nadam, name, None) or getattr(update, name, None)]
                    if hasattr(d, "signatures") and d.signatures]
        print(compiled, get_registry()._manager is None)
        """
    )
    assert _run(code, tmp_path) == "[] True"


def test_cache_key_covers_the_version_and_every_source_file(monkeypatch):
    fingerprint = _cache.package_fingerprint.__wrapped__
    before = fingerprint()
    monkeypatch.setattr(_cache, "__version__", numbagrad.__version__ + ".post1")
    assert fingerprint() != before


def test_package_functions_use_the_package_keyed_locator():
    from numbagrad.kernels.cpu.update import apply_plan

    locator = apply_plan._cache._impl._locator
    assert isinstance(locator, _cache.PackageCacheLocator)
    assert locator.get_source_stamp() == _cache.package_fingerprint()
    expected = os.path.join(_cache.cache_directory(), "kernels", "cpu")
    assert locator.get_cache_path() == expected
    assert not locator.get_cache_path().startswith(_cache.PACKAGE_DIRECTORY)


VALUE_AND_GRAD = textwrap.dedent(
    """
    import numpy as np
    import numbagrad as ng
    layers = [ng.Dense(7, "tanh", normalization={normalization!r}), ng.Dense(3)]
    model = ng.Sequential(layers, input_dim=5, dtype=np.float64)
    X = np.random.default_rng(0).normal(size=(6, 5))
    value, _ = model.value_and_grad(X, np.zeros((6, 3)), "mse")
    print(np.isfinite(value) and np.isfinite(model.predict(X)).all())
    """
)


def test_new_code_around_a_cached_parallel_kernel_runs(tmp_path):
    """The first process compiles and caches the parallel product inside a plain network's passes; the
    second compiles a normalized network's passes around the product loaded from that cache. Numba
    starts its threading layer when it compiles a parallel loop, not when it links a cached one:
    with numba 0.61 the second process crashed until numbagrad started the layer at import."""
    for normalization in (None, "batch", "layer"):
        assert _run(VALUE_AND_GRAD.format(normalization=normalization), tmp_path) == "True", normalization
