"""GPU benchmarks: optimizer steps over 1e8 float32 device parameters, in GB/s and as a share of copy bandwidth.

Skipped (``NotImplementedError`` in ``setup``) without a real GPU, the CUDA
simulator included. ``asv_bench/gpu_suite.py`` prints the same figures
without asv.
"""

from __future__ import annotations

from .cuda_workloads import GPU_SIZE, copy_bandwidth, optimizer_step, require_gpu, seconds_per_call
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
