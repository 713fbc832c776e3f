"""Data-parallel training on real MPI ranks of this machine (``mpiexec -n 2`` and ``-n 3``),
against the same fit in one process (tests/mpi_ranks.py is what each rank runs)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mpi4py")
pytest.importorskip("numba_mpi")

import numbagrad as ng  # noqa: E402
from numbagrad import distributed  # noqa: E402
from numbagrad.errors import DistributedError  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import mpi_ranks  # noqa: E402

MPIEXEC = shutil.which("mpiexec", path=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
pytestmark = pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec (pip install mpich)")
SCRIPT = Path(__file__).parent / "mpi_ranks.py"


def launch(ranks: int, scenario: str, out: Path, limit: float = 180, **environment) -> subprocess.CompletedProcess:
    env = dict(os.environ, **environment)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(ng.__file__).parents[1]), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [MPIEXEC, "-n", str(ranks), sys.executable, str(SCRIPT), scenario, str(out)],
        capture_output=True, text=True, timeout=limit, env=env,
    )


def results(out: Path, ranks: int) -> list[tuple[np.ndarray, dict]]:
    return [(np.load(out / f"rank{r}.npz")["parameters"], json.loads((out / f"rank{r}.json").read_text())) for r in range(ranks)]


def ran(process: subprocess.CompletedProcess) -> None:
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]


def assert_close_histories(got: dict, expected: dict, rtol: float) -> None:
    assert got.keys() == expected.keys()
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], rtol=rtol, atol=1e-14, err_msg=key)


@pytest.mark.parametrize("ranks", [2, 3])
@pytest.mark.parametrize(
    "scenario", ["plain", "everything", "drop_last", "lbfgs", "lbfgs_long", "chunks", "weighted_chunks", "early_stopping", "float32", "dropout",
                 "regression", "regression_weighted"],
)
def test_ranks_train_the_weights_of_one_process(tmp_path, ranks, scenario):
    ran(launch(ranks, scenario, tmp_path))
    net, history = mpi_ranks.training(scenario)
    rtol = 1e-10 if net.dtype == np.float64 else 2e-5
    if scenario == "lbfgs_long":  # see mpi_ranks.SCENARIOS
        rtol = 1e-6
    found = results(tmp_path, ranks)
    for rank, (parameters, record) in enumerate(found):
        np.testing.assert_array_equal(parameters, found[0][0], err_msg=f"rank {rank} differs from rank 0")
        assert record["history"] == found[0][1]["history"]
    parameters, record = found[0]
    scale = np.abs(net.parameters).max()
    np.testing.assert_allclose(parameters, net.parameters, rtol=0, atol=rtol * scale)
    assert_close_histories(record["history"], history, rtol=max(rtol, 1e-9))
    assert record["epoch"] == net.epoch


#: Numba's CUDA simulator with the small launches of tests/cuda/conftest.py (it runs every thread in Python).
SIMULATED = {
    "NUMBA_ENABLE_CUDASIM": "1", "NUMBAGRAD_CUDA_THREADS_PER_BLOCK": "4", "NUMBAGRAD_CUDA_MAX_BLOCKS": "3",
    "NUMBAGRAD_CUDA_GEMM_TILE": "4", "NUMBAGRAD_CUDA_GEMM_TILE_K": "2", "NUMBAGRAD_CUDA_GEMM_THREAD_TILE": "2",
}


@pytest.mark.parametrize("scenario", ["gpu", "gpu_l2", "gpu_weighted"])
def test_gpu_models_sum_the_device_gradient_through_the_host(tmp_path, scenario):
    """Under Numba's CUDA simulator: 2 ranks against the same GPU fit in one process."""
    alone, ranks = tmp_path / "alone", tmp_path / "ranks"
    alone.mkdir()
    ranks.mkdir()
    ran(launch(1, scenario, alone, **SIMULATED))
    ran(launch(2, scenario, ranks, **SIMULATED))
    (expected, reference), found = results(alone, 1)[0], results(ranks, 2)
    np.testing.assert_array_equal(found[0][0], found[1][0])
    np.testing.assert_allclose(found[0][0], expected, rtol=0, atol=1e-10 * np.abs(expected).max())
    assert_close_histories(found[0][1]["history"], reference["history"], rtol=1e-9)


def test_each_rank_uses_its_share_of_the_cores(tmp_path):
    ran(launch(2, "plain", tmp_path))
    cores = len(os.sched_getaffinity(0))
    assert [record["threads"] for _, record in results(tmp_path, 2)] == [max(1, cores // 2)] * 2


def test_ranks_holding_their_own_rows_train_the_whole_batch(tmp_path):
    ran(launch(2, "sharded", tmp_path))
    X, y, _ = mpi_ranks.data(200)
    net = mpi_ranks.model({})
    history = net.fit(X, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    found = results(tmp_path, 2)
    np.testing.assert_array_equal(found[0][0], found[1][0])
    np.testing.assert_allclose(found[0][0], net.parameters, rtol=0, atol=1e-10 * np.abs(net.parameters).max())
    assert_close_histories(found[0][1]["history"], history, rtol=1e-9)


@pytest.mark.parametrize("first, then", [(2, 3), (3, 1), (1, 2)])
def test_a_checkpoint_resumes_on_another_number_of_ranks(tmp_path, first, then):
    """Two epochs on ``first`` ranks, rank 0 writing checkpoints; two more on ``then`` ranks from
    the last one: the weights of four epochs in one process."""
    written = tmp_path / "written"
    written.mkdir()
    ran(launch(first, "checkpoint", written))
    assert sorted(p.name for p in written.glob("*.ngm")) == ["model-1.ngm", "model-2.ngm"]
    resumed = tmp_path / "resumed"
    resumed.mkdir()
    ran(launch(then, "resume", resumed, CHECKPOINT=str(written / "model-2.ngm")))
    net = mpi_ranks.model(mpi_ranks.SCENARIOS["plain"])
    X, y, _ = mpi_ranks.data()
    net.fit(X, y, batch_size=10, epochs=2, seed=3, verbose=0)
    net.fit(X, y, batch_size=10, epochs=2, verbose=0)
    for parameters, record in results(resumed, then):
        np.testing.assert_allclose(parameters, net.parameters, rtol=0, atol=1e-10 * np.abs(net.parameters).max())
        assert record["epoch"] == 4


def test_early_stopping_stops_every_rank_at_the_same_epoch(tmp_path):
    ran(launch(3, "early_stopping", tmp_path))
    _, history = mpi_ranks.training("early_stopping")
    lengths = {len(record["history"]["loss"]) for _, record in results(tmp_path, 3)}
    assert lengths == {len(history["loss"])} and len(history["loss"]) < mpi_ranks.SCENARIOS["early_stopping"]["fit"]["epochs"]


def test_a_non_finite_loss_stops_every_rank_at_the_same_batch(tmp_path):
    ran(launch(3, "nonfinite", tmp_path))
    found = results(tmp_path, 3)
    messages = {record["history"]["stopped"] for _, record in found}
    assert len(messages) == 1 and "training stopped" in messages.pop()
    assert len({len(record["history"]["losses"]) for _, record in found}) == 1
    for parameters, _ in found:
        np.testing.assert_array_equal(parameters, found[0][0])
        assert np.isfinite(parameters).all()


@pytest.mark.parametrize("how", ["raise", "die", "hang"])
def test_a_failing_rank_stops_the_others_with_a_clear_error(tmp_path, how):
    began = time.monotonic()
    process = launch(3, how, tmp_path, limit=120, TIMEOUT="5")
    elapsed = time.monotonic() - began
    assert process.returncode != 0
    assert elapsed < 60, f"the ranks took {elapsed:.0f} s to stop"
    output = process.stdout + process.stderr
    if how == "raise":
        assert "a callback failed on purpose" in output and "aborting every rank" in output
    elif how == "hang":
        assert "DistributedError" in output and "waited more than 5 s for the other ranks" in output
        assert "all-reduce of a batch's gradient" in output


def test_ranks_given_different_data_say_so_before_training(tmp_path):
    process = launch(2, "disagree", tmp_path, limit=120)
    assert process.returncode != 0
    output = process.stdout + process.stderr
    assert "the ranks disagree about rows of X: rank 0: 203, rank 1: 202" in output
    assert "sharded=True" in output
    # Every rank raises it, so each ends on its own: no MPI_Abort, which could drop the message.
    assert "aborting every rank" not in output


@pytest.mark.parametrize("scenario, what", [
    ("other-optimizer", "the compile options (optimizer, its hyperparameters, loss, metrics): compile every rank's model"),
    ("other-dropout", "the architecture (layers, activations, dropout, regularizers): build every rank's model alike"),
])
def test_ranks_built_differently_say_so_before_training(tmp_path, scenario, what):
    process = launch(2, scenario, tmp_path, limit=120)
    assert process.returncode != 0
    assert f"the ranks disagree about {what}" in process.stdout + process.stderr


def test_init_checks_its_arguments():
    with pytest.raises(ValueError, match=r"timeout must be a number of seconds > 0; got 0"):
        distributed.init(timeout=0)
    with pytest.raises(ValueError, match=r"timeout must be a number of seconds > 0; got nan"):
        distributed.init(timeout=float("nan"))
    with pytest.raises(ValueError, match=r"threads must be an integer >= 1 or None; got 0"):
        distributed.init(threads=0)


def test_one_process_world_trains_as_before():
    """``init`` outside mpiexec is a world of one: fit stays local (``current()`` is None)."""
    world = distributed.init()
    assert (world.rank, world.size) == (0, 1) and distributed.current() is None
    assert distributed.init() is world


def test_distributed_error_is_exported():
    assert issubclass(DistributedError, RuntimeError)


def test_the_cli_trains_on_ranks_and_rank_0_writes_the_run(tmp_path):
    """``numbagrad train --ranks 2`` starts mpiexec itself; one report, one run folder."""
    env = dict(os.environ, PYTHONPATH=str(Path(ng.__file__).parents[1]))
    process = subprocess.run(
        [sys.executable, "-m", "numbagrad", "train", "--ranks", "2", "--data", "iris", "--epochs", "3", "--quiet",
         "--output", str(tmp_path), "--name", "run"],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    assert process.stdout.count("saved ") == 1 and process.stdout.count("final:") == 1
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert len(history["history"]["loss"]) == 3


def test_cli_ranks_under_a_launcher_must_match_it(tmp_path):
    process = launch(2, "cli-mismatch", tmp_path)
    assert process.returncode != 0
    assert "--ranks 3, but the MPI launcher started 2 ranks" in process.stdout + process.stderr
