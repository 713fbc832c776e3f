"""GPU benchmarks: optimizer steps over 1e8 float32 device parameters (GB/s, share of copy bandwidth),
dense-layer passes at 4096 wide (GFLOP/s, share of PyTorch's or CuPy's matrix product) and MLP training
epochs (samples per second, speed-up over PyTorch eager on the same GPU).

Skipped (``NotImplementedError`` in ``setup``) without a real GPU, the CUDA
simulator included. ``asv_bench/gpu_suite.py`` prints the same figures
without asv.
"""

from __future__ import annotations

from .cuda_workloads import (
    DENSE_BATCH,
    DENSE_WIDTH,
    GPU_SIZE,
    MLP_BATCH_SIZES,
    MLP_SAMPLES,
    copy_bandwidth,
    dense_pass,
    gflops,
    numbagrad_gpu_mlp_epoch,
    optimizer_step,
    reference_matmul,
    require_gpu,
    seconds_per_call,
    seconds_per_epoch,
    torch_gpu_mlp_epoch,
)
from .workloads import OPTIMIZERS


class CopyBandwidth:
    """The card's device-to-device copy bandwidth, the yardstick of the optimizer figures."""

    def setup(self):
        require_gpu()

    def track_copy_bandwidth(self):
        return copy_bandwidth()

    track_copy_bandwidth.unit = "GB/s"


class CudaOptimizerStep:
    """One step of each optimizer over 1e8 float32 parameters on the GPU."""

    params = (list(OPTIMIZERS), [GPU_SIZE])
    param_names = ["optimizer", "parameters"]
    timeout = 300

    def setup(self, key, size):
        self.cuda = require_gpu()
        self.step, self.bytes_per_step = optimizer_step(key, size)
        self.step()
        self.cuda.synchronize()

    def teardown(self, key, size):
        # Frees the device buffers; setup may have stopped before making any (no GPU).
        self.__dict__.pop("step", None)

    def time_step(self, key, size):
        self.step()
        self.cuda.synchronize()

    def _bandwidth(self):
        return self.bytes_per_step / seconds_per_call(self.step, 20) / 1e9

    def track_bandwidth(self, key, size):
        return self._bandwidth()

    track_bandwidth.unit = "GB/s"

    def track_fraction_of_copy_bandwidth(self, key, size):
        return self._bandwidth() / copy_bandwidth()

    track_fraction_of_copy_bandwidth.unit = "fraction of device-to-device copy bandwidth (target 0.8)"


class CudaDense:
    """One dense layer's forward and backward pass, 4096 inputs by 4096 units at batch 4096, in GFLOP/s."""

    params = (["forward", "backward"], [DENSE_WIDTH])
    param_names = ["pass", "width"]
    timeout = 300

    def setup(self, which, width):
        self.cuda = require_gpu()
        self.call, self.flops = dense_pass(which, width, DENSE_BATCH)
        self.call()
        self.cuda.synchronize()

    def time_pass(self, which, width):
        self.call()
        self.cuda.synchronize()

    def track_gflops(self, which, width):
        return gflops(self.call, self.flops)

    track_gflops.unit = "GFLOP/s"


class CudaDenseAgainstMatmul:
    """The dense passes as a share of PyTorch's (or CuPy's) float32 matrix product on the same GPU (target 0.5)."""

    params = (["forward", "backward"], [DENSE_WIDTH])
    param_names = ["pass", "width"]
    timeout = 300

    def setup(self, which, width):
        require_gpu()
        self.reference, self.reference_flops, _ = reference_matmul(width, DENSE_BATCH)
        self.call, self.flops = dense_pass(which, width, DENSE_BATCH)

    def track_fraction_of_matmul(self, which, width):
        return gflops(self.call, self.flops) / gflops(self.reference, self.reference_flops)

    track_fraction_of_matmul.unit = "fraction of the reference float32 matmul's GFLOP/s"


class CudaTraining:
    """One epoch of the 784-256-10 MLP on the GPU (65536 samples, Adam), in samples per second."""

    params = [list(MLP_BATCH_SIZES)]
    param_names = ["batch_size"]
    timeout = 600

    def setup(self, batch_size):
        self.epoch = numbagrad_gpu_mlp_epoch(batch_size, MLP_SAMPLES)

    def time_epoch(self, batch_size):
        self.epoch()

    def track_samples_per_second(self, batch_size):
        return MLP_SAMPLES / seconds_per_epoch(self.epoch)

    track_samples_per_second.unit = "samples/s"


class CudaTrainingAgainstTorch:
    """numbagrad's GPU epoch against a PyTorch eager loop on the same GPU (target: 2x at batch 32)."""

    params = [list(MLP_BATCH_SIZES)]
    param_names = ["batch_size"]
    timeout = 600

    def setup(self, batch_size):
        self.theirs = torch_gpu_mlp_epoch(batch_size, MLP_SAMPLES)
        self.ours = numbagrad_gpu_mlp_epoch(batch_size, MLP_SAMPLES)

    def track_speedup(self, batch_size):
        return seconds_per_epoch(self.theirs) / seconds_per_epoch(self.ours)

    track_speedup.unit = "PyTorch eager's time / numbagrad's"
