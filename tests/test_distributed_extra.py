"""Without the ``distributed`` extra, numbagrad works and ``init`` says what to install."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import numbagrad as ng
from numbagrad import distributed


@pytest.fixture
def no_mpi(monkeypatch):
    for name in ("mpi4py", "mpi4py.MPI", "numba_mpi"):
        monkeypatch.setitem(sys.modules, name, None)  # "import mpi4py" raises ImportError
    monkeypatch.setattr(distributed, "_world", None)


def test_init_names_the_extra_to_install(no_mpi):
    with pytest.raises(ModuleNotFoundError, match=r'numbagrad.distributed needs the \'mpi4py\' package.*pip install "numbagrad\[distributed\]"'):
        distributed.init()
    assert distributed.current() is None


def test_training_needs_no_mpi(no_mpi):
    X = np.random.default_rng(0).normal(size=(40, 3))
    model = ng.Sequential([ng.Dense(4, activation="tanh"), ng.Dense(1)], input_dim=3, seed=0).compile(optimizer="sgd")
    history = model.fit(X, X[:, :1], batch_size=8, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2


def test_launched_ranks_reads_the_launchers_variables(monkeypatch):
    for name in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE"):
        monkeypatch.delenv(name, raising=False)
    assert distributed.launched_ranks() == 1
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "4")
    assert distributed.launched_ranks() == 4
    monkeypatch.setenv("PMI_SIZE", "3")
    assert distributed.launched_ranks() == 3


def test_fit_checks_sharded(no_mpi):
    model = ng.Sequential([ng.Dense(1)], input_dim=2, seed=0).compile(optimizer="sgd")
    with pytest.raises(TypeError, match="sharded"):
        model.fit(np.zeros((4, 2)), np.zeros((4, 1)), sharded="yes", verbose=0)
