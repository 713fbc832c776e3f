"""Grid searches of numbagrad's estimators on Dask and Ray (local clusters, real worker processes):
the same scores as in one process, and each worker held to its share of the cores."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.datasets import load_iris  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from numbagrad import sweeps  # noqa: E402
from numbagrad.sklearn import MLPClassifier  # noqa: E402
from numbagrad.threads import available_cores  # noqa: E402

GRID = {"alpha": [1e-4, 1e-2], "learning_rate": [1e-3, 1e-2]}


@pytest.fixture(scope="module")
def data():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def serial(data):
    return GridSearchCV(MLPClassifier(hidden_layer_sizes=(8,), epochs=5, random_state=0), GRID, cv=3).fit(*data)


def test_worker_environment_shares_the_cores():
    assert sweeps.worker_environment(2, cores=8) == dict.fromkeys(sweeps.THREAD_VARIABLES, "4")
    assert sweeps.worker_environment(16, cores=8)["NUMBA_NUM_THREADS"] == "1"
    with pytest.raises(ValueError, match="worker_environment: workers must be an integer >= 1; got 0"):
        sweeps.worker_environment(0)


def numba_threads_of():
    """A function that reports the Numba threads of the process it runs in, pickled by value (a
    nested function: workers cannot import this test module)."""

    def numba_threads():
        import numba

        return numba.get_num_threads()

    return numba_threads


def test_a_grid_search_on_a_local_dask_cluster(data, serial):
    pytest.importorskip("distributed")
    with sweeps.dask_backend(workers=2) as client:
        search = GridSearchCV(MLPClassifier(hidden_layer_sizes=(8,), epochs=5, random_state=0), GRID, cv=3, n_jobs=-1).fit(*data)
        scores = cross_val_score(MLPClassifier(hidden_layer_sizes=(8,), epochs=5, random_state=0), *data, cv=3, n_jobs=-1)
        threads = client.run(numba_threads_of())
    np.testing.assert_array_equal(search.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"])
    assert search.best_params_ == serial.best_params_ and len(scores) == 3
    assert len(threads) == 2 and set(threads.values()) == {max(1, available_cores() // 2)}


def test_a_grid_search_on_a_local_ray_instance(data, serial):
    ray = pytest.importorskip("ray")
    pytest.importorskip("ray.util.joblib")
    with sweeps.ray_backend(workers=2):
        search = GridSearchCV(MLPClassifier(hidden_layer_sizes=(8,), epochs=5, random_state=0), GRID, cv=3, n_jobs=-1).fit(*data)
        threads = ray.get(ray.remote(numba_threads_of()).remote())
        with pytest.raises(RuntimeError, match="Ray is already running in this process"):
            with sweeps.ray_backend(workers=1):
                pass
    assert not ray.is_initialized()
    np.testing.assert_array_equal(search.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"])
    assert threads == max(1, available_cores() // 2)


def test_a_missing_engine_names_the_extra(monkeypatch):
    import sys

    for module in ("distributed", "ray"):
        monkeypatch.setitem(sys.modules, module, None)  # import fails as if it were not installed
    with pytest.raises(ModuleNotFoundError, match=r'pip install "numbagrad\[dask\]"'):
        with sweeps.dask_backend(workers=1):
            pass
    with pytest.raises(ModuleNotFoundError, match=r'pip install "numbagrad\[ray\]"'):
        with sweeps.ray_backend(workers=1):
            pass


@pytest.mark.parametrize("backend, module", [("dask", "distributed"), ("ray", "ray.util.joblib")])
def test_compare_on_a_cluster_gives_the_same_runs(backend, module, capsys, tmp_path, monkeypatch):
    pytest.importorskip(module)
    pytest.importorskip("tomli_w")
    from helpers import run_cli
    from test_cli_train import assert_same_comparison

    monkeypatch.chdir(tmp_path)
    args = ("compare", "--data", "iris", "--optimizers", "sgd,adam", "--epochs", "2", "-q")
    assert run_cli(capsys, *args, "--name", "serial")[0] == 0
    assert run_cli(capsys, *args, "--backend", backend, "--workers", "2", "--name", backend)[0] == 0
    assert_same_comparison(tmp_path, "serial", backend)
