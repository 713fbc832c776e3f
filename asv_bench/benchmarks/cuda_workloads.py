"""GPU workloads shared by the asv benchmarks (``cuda.py``) and ``asv_bench/gpu_suite.py``.

Everything here needs a real GPU: :func:`require_gpu` raises
``NotImplementedError`` (asv's "skip") otherwise, with the reason
:mod:`numbagrad.device` gives. Times come from CUDA events on the default
stream, after a warm-up that compiles the kernels, so they measure the GPU,
not Python or the compiler.
"""

from __future__ import annotations

import functools

import numpy as np

from .workloads import OPTIMIZERS

#: Parameters of the GPU optimizer benchmarks (float32): 400 MB per array.
GPU_SIZE = 100_000_000
#: Share of the device-to-device copy bandwidth an optimizer step should reach.
TARGET_FRACTION_OF_COPY = 0.8


def require_gpu():
    """``numba.cuda``, or ``NotImplementedError`` saying why there is no GPU to benchmark."""
    from numbagrad.device import cuda_status

    status = cuda_status()
    if not status.gpu:
        reason = status.reason or "NUMBA_ENABLE_CUDASIM=1: the CUDA simulator is no GPU"
        raise NotImplementedError(f"no GPU: {reason}")
    from numba import cuda

    return cuda


def seconds_per_call(call, repeats: int) -> float:
    """GPU seconds per ``call()``, timed with CUDA events around ``repeats`` calls after two warm-up calls."""
    cuda = require_gpu()
    call()
    call()
    cuda.synchronize()
    start, end = cuda.event(), cuda.event()
    start.record()
    for _ in range(repeats):
        call()
    end.record()
    end.synchronize()
    return start.elapsed_time(end) / 1e3 / repeats


@functools.lru_cache(maxsize=None)
def copy_bandwidth(nbytes: int = GPU_SIZE * 4, repeats: int = 20) -> float:
    """Measured device-to-device copy bandwidth in GB/s: bytes read plus bytes written per second."""
    cuda = require_gpu()
    source = cuda.device_array(nbytes, dtype=np.uint8)
    target = cuda.device_array(nbytes, dtype=np.uint8)
    seconds = seconds_per_call(lambda: target.copy_to_device(source), repeats)
    del source, target
    return 2 * nbytes / seconds / 1e9


def optimizer_step(key: str, size: int = GPU_SIZE, dtype=np.float32):
    """``(step, bytes_per_step)`` of one numbagrad optimizer step over ``size`` device parameters.

    ``bytes_per_step`` counts the memory traffic an ideal kernel cannot
    avoid: parameters read and written, gradients read, each state slot read
    and written.
    """
    cuda = require_gpu()
    from numbagrad import optim

    name, _, options = OPTIMIZERS[key]
    params = [cuda.to_device(np.ones(size, dtype=dtype))]
    grads = [cuda.to_device(np.full(size, 0.01, dtype=dtype))]
    opt = optim.get(name, params, **options)
    slots = len(opt.spec.slots(opt.param_groups[0]))
    bytes_per_step = size * np.dtype(dtype).itemsize * (3 + 2 * slots)
    return (lambda: opt.step(grads)), bytes_per_step


def optimizer_bandwidth(key: str, size: int = GPU_SIZE, repeats: int = 20) -> tuple[float, float]:
    """``(GB/s, seconds per step)`` of an optimizer step over ``size`` float32 device parameters."""
    step, nbytes = optimizer_step(key, size)
    seconds = seconds_per_call(step, repeats)
    return nbytes / seconds / 1e9, seconds
