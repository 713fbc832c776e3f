"""asv_bench/gpu_suite.py and the GPU benchmarks, run end to end in the simulator with a pretend GPU.

The simulator records no time in CUDA events, so the events are replaced by
wall-clock ones: the figures mean nothing, the code paths are the real ones.
"""

from __future__ import annotations

import os
import sys
import time

import pytest

from numbagrad import device
from numbagrad.device import CudaStatus

BENCHMARKS = os.path.join(os.path.dirname(__file__), "..", "..", "asv_bench")


class WallClockEvent:
    def record(self, stream=0):
        self.at = time.perf_counter()

    def synchronize(self):
        pass

    def elapsed_time(self, end):
        return max(end.at - self.at, 1e-9) * 1e3


@pytest.fixture
def pretend_gpu(monkeypatch, simulator):
    if not simulator:
        pytest.skip("a real GPU runs the real suite")
    from numba import cuda

    monkeypatch.setattr(device, "cuda_status", lambda: CudaStatus(True, False, device="pretend GPU"))
    monkeypatch.setattr(cuda, "event", WallClockEvent, raising=False)
    monkeypatch.syspath_prepend(os.path.abspath(BENCHMARKS))
    for name in [m for m in sys.modules if m == "benchmarks" or m.startswith("benchmarks.") or m == "gpu_suite"]:
        monkeypatch.delitem(sys.modules, name)


def test_optimizer_section_reports_every_optimizer(pretend_gpu, capsys):
    import gpu_suite

    status = gpu_suite.main(["--sections", "optimizers", "--size", "40", "--repeats", "1"])
    output = capsys.readouterr().out
    assert status in (0, 2), output
    for key in ("sgd_nesterov", "adam", "adamw", "adagrad", "rmsprop", "nadam", "adamax", "adadelta"):
        assert f"| {key} | 4e+01 |" in output
    assert "device-to-device copy" in output and "== summary ==" in output


def test_asv_benchmarks_run(pretend_gpu, monkeypatch):
    from benchmarks import cuda as gpu_benchmarks
    from benchmarks import cuda_workloads

    monkeypatch.setattr(cuda_workloads, "GPU_SIZE", 40)
    copy = gpu_benchmarks.CopyBandwidth()
    copy.setup()
    assert cuda_workloads.copy_bandwidth(160, 1) > 0
    bench = gpu_benchmarks.CudaOptimizerStep()
    bench.setup("adam", 40)
    bench.time_step("adam", 40)
    assert bench.track_bandwidth("adam", 40) > 0
    assert bench.bytes_per_step == 40 * 4 * 7
    bench.teardown("adam", 40)


def test_without_a_gpu_the_suite_fails_and_benchmarks_skip(monkeypatch, simulator):
    if not simulator:
        pytest.skip("there is a GPU")
    monkeypatch.syspath_prepend(os.path.abspath(BENCHMARKS))
    import gpu_suite
    from benchmarks import cuda as gpu_benchmarks

    assert gpu_suite.main(["--sections", "optimizers"]) == 1
    with pytest.raises(NotImplementedError, match="no GPU"):
        gpu_benchmarks.CopyBandwidth().setup()


def test_tests_section_fails_when_the_child_process_finds_no_gpu(monkeypatch, simulator):
    if not simulator:
        pytest.skip("on a GPU the child process finds it")
    monkeypatch.syspath_prepend(os.path.abspath(BENCHMARKS))
    import gpu_suite

    # Without the simulator and without a GPU, every CUDA test is skipped: the section must say so.
    result = gpu_suite.section_tests(None)
    assert not result.passed
    assert result.lines[-1] == "FAILED: tests were skipped for want of a GPU"


def test_dense_section_reports_both_passes(pretend_gpu, capsys):
    import gpu_suite

    status = gpu_suite.main(["--sections", "dense", "--width", "6", "--batch", "5", "--repeats", "1", "--tiles", "2x2x1,6x2x4"])
    output = capsys.readouterr().out
    assert status in (0, 2), output
    assert "| 4x2x2 (default) | forward | 1 | 6 | 5 |" in output and "| 4x2x2 (default) | backward | 2 | 6 | 5 |" in output
    assert "| 2x2x1 | backward | 2 | 6 | 5 |" in output
    assert "| 6x2x4 | forward | refused: numbagrad.config: CUDA_GEMM_THREAD_TILE=4 must divide CUDA_GEMM_TILE=6 |" in output
    assert "reference:" in output and "dense: passed" in output


@pytest.fixture
def tiny_mlp(monkeypatch, pretend_gpu):
    """The training benchmarks' MLP shrunk to 5-6-3: the simulator runs every GPU thread in Python."""
    from benchmarks import workloads

    monkeypatch.setattr(workloads, "MLP_SIZES", (5, 6, 3))


def test_training_section_reports_each_batch_size(tiny_mlp, capsys):
    import gpu_suite

    status = gpu_suite.main(["--sections", "training", "--samples", "10", "--batch-sizes", "4"])
    output = capsys.readouterr().out
    assert status in (0, 2), output
    assert "10 samples per epoch" in output and "\n| 4 | " in output and "training: passed" in output


def test_dense_and_training_benchmarks_run(tiny_mlp, monkeypatch):
    from benchmarks import cuda as gpu_benchmarks
    from benchmarks import cuda_workloads

    monkeypatch.setattr(gpu_benchmarks, "DENSE_BATCH", 5)
    monkeypatch.setattr(gpu_benchmarks, "MLP_SAMPLES", 4)
    monkeypatch.setattr(cuda_workloads, "MLP_SAMPLES", 4)
    dense = gpu_benchmarks.CudaDense()
    dense.setup("backward", 6)
    dense.time_pass("backward", 6)
    assert dense.track_gflops("backward", 6) > 0
    assert dense.flops == 2 * 2 * 5 * 6 * 6
    training = gpu_benchmarks.CudaTraining()
    training.setup(4)
    training.time_epoch(4)
    assert training.track_samples_per_second(4) > 0
    with pytest.raises(NotImplementedError, match="PyTorch|CuPy|no CUDA"):
        gpu_benchmarks.CudaTrainingAgainstTorch().setup(4)
