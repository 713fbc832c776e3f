"""Hyperparameter sweeps on a cluster's engines: Dask and Ray as joblib backends.

A grid search is embarrassingly parallel: each fit of
:class:`numbagrad.sklearn.MLPClassifier` inside ``GridSearchCV``,
``RandomizedSearchCV`` or ``cross_val_score`` is a task on its own. joblib
hands those tasks to a backend; its default (loky, processes on this
machine) already gives each worker its share of the cores. Dask and Ray run
them on a cluster's workers, and this module gives those workers the same
share, so that each fit's Numba threads and BLAS do not compete with the
other workers' for the same cores::

    from sklearn.model_selection import GridSearchCV
    from numbagrad.sklearn import MLPClassifier
    from numbagrad.sweeps import dask_backend

    with dask_backend(workers=4):            # a local Dask cluster of 4 processes
        GridSearchCV(MLPClassifier(), grid, n_jobs=-1).fit(X, y)

``ray_backend`` does the same with a local Ray instance. On a cluster you
already run, give its workers :func:`worker_environment` (Dask:
``LocalCluster(env=...)`` or the ``distributed.nanny.environ`` setting; Ray:
``runtime_env={"env_vars": ...}``) and use joblib's backend as usual.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

from numbagrad.checks import integer
from numbagrad.optional import require
from numbagrad.threads import available_cores

__all__ = ["THREAD_VARIABLES", "worker_environment", "dask_backend", "ray_backend"]

#: The environment variables through which Numba and the BLAS libraries take their thread counts.
THREAD_VARIABLES = (
    "NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS",
)


def worker_environment(workers: int, cores: int | None = None) -> dict[str, str]:
    """``{variable: threads}`` for each of :data:`THREAD_VARIABLES`: ``cores // workers`` (at least 1)
    threads for each of ``workers`` processes sharing ``cores`` cores (default: this machine's)."""
    workers = integer(workers, "workers", 1, "worker_environment")
    cores = available_cores() if cores is None else integer(cores, "cores", 1, "worker_environment")
    threads = str(max(1, cores // workers))
    return dict.fromkeys(THREAD_VARIABLES, threads)


@contextlib.contextmanager
def dask_backend(workers: int | None = None, **cluster_options: Any) -> Iterator[Any]:
    """A local Dask cluster of ``workers`` processes (default: one per core), each with its share of
    the cores (:func:`worker_environment`), as joblib's backend for the block; yields its
    ``distributed.Client``. ``cluster_options`` go to ``distributed.LocalCluster``.

    Raises ``ModuleNotFoundError`` with the install command when Dask's distributed scheduler is
    missing (``pip install "numbagrad[dask]"``).
    """
    distributed = require("distributed", 'pip install "numbagrad[dask]"', "numbagrad.sweeps.dask_backend")
    import joblib

    workers = available_cores() if workers is None else integer(workers, "workers", 1, "dask_backend")
    options = {"n_workers": workers, "threads_per_worker": 1, "processes": True, "dashboard_address": None, **cluster_options}
    options["env"] = {**worker_environment(workers), **options.get("env", {})}
    with distributed.LocalCluster(**options) as cluster, distributed.Client(cluster) as client:
        with joblib.parallel_config(backend="dask"):
            yield client


@contextlib.contextmanager
def ray_backend(workers: int | None = None, **init_options: Any) -> Iterator[Any]:
    """A local Ray instance with ``workers`` CPUs (default: the cores), its workers given their share
    of the cores (:func:`worker_environment`), as joblib's backend for the block; yields the Ray
    module. ``init_options`` go to ``ray.init``; the instance is shut down after the block.

    Raises ``ModuleNotFoundError`` with the install command when Ray is missing
    (``pip install "numbagrad[ray]"``), and ``RuntimeError`` when Ray is already running here.
    """
    ray = require("ray", 'pip install "numbagrad[ray]"', "numbagrad.sweeps.ray_backend")
    from ray.util.joblib import register_ray

    import joblib

    if ray.is_initialized():
        raise RuntimeError(
            "ray_backend: Ray is already running in this process; use joblib.parallel_config(backend='ray') "
            "with it, its workers given numbagrad.sweeps.worker_environment(...) in runtime_env"
        )
    workers = available_cores() if workers is None else integer(workers, "workers", 1, "ray_backend")
    runtime_env = dict(init_options.pop("runtime_env", {}) or {})
    runtime_env["env_vars"] = {**worker_environment(workers), **runtime_env.get("env_vars", {})}
    options = {"num_cpus": workers, "include_dashboard": False, "log_to_driver": False, **init_options}
    ray.init(runtime_env=runtime_env, **options)
    try:
        register_ray()
        with joblib.parallel_config(backend="ray", n_jobs=workers):
            yield ray
    finally:
        ray.shutdown()
