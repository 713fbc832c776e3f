"""GPU workloads shared by the asv benchmarks (``cuda.py``) and ``asv_bench/gpu_suite.py``:
optimizer steps, dense-layer passes against a reference matrix product, and
MLP training epochs against PyTorch eager on the same GPU.

Everything here needs a real GPU: :func:`require_gpu` raises
``NotImplementedError`` (asv's "skip") otherwise, with the reason
:mod:`numbagrad.device` gives. Times come from CUDA events on the default
stream, after a warm-up that compiles the kernels, so they measure the GPU,
not Python or the compiler; training epochs are timed on the wall clock,
Python and all, because that is what a user waits for.
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
    return 2 * nbytes / seconds_per_call(lambda: target.copy_to_device(source), repeats) / 1e9


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


# --- dense layers ------------------------------------------------------------------------

#: Width of the dense-layer benchmarks (inputs and units) and rows of their batch: 4096 x 4096 products.
DENSE_WIDTH = 4096
DENSE_BATCH = 4096
#: Share of the reference float32 matrix product (PyTorch's or CuPy's) a dense pass should reach.
TARGET_FRACTION_OF_MATMUL = 0.5
#: Products per pass: forward x @ W; backward x.T @ dz and dz @ W.T.
PRODUCTS = {"forward": 1, "backward": 2}


def dense_pass(which: str, width: int = DENSE_WIDTH, batch: int = DENSE_BATCH, dtype=np.float32):
    """``(call, flops)``: one dense layer's forward (ReLU fused) or backward pass (weight, bias and
    input gradients, the previous ReLU's derivative fused) on float32 device buffers, with the
    kernels the GPU training loop launches; ``flops`` counts the products' multiply-adds twice."""
    cuda = require_gpu()
    from numbagrad.kernels.cuda.activations import relu_backward_element, relu_forward_element
    from numbagrad.kernels.cuda.dense import backward_grid, backward_kernel, forward_grid, forward_kernel, gemm_tiles
    from numbagrad.kernels.cuda.launch import Launch

    rng = np.random.default_rng(0)
    tiles = gemm_tiles()
    x = cuda.to_device(rng.standard_normal((batch, width)).astype(dtype))
    weight = cuda.to_device((rng.standard_normal((width, width)) / np.sqrt(width)).astype(dtype))
    bias = cuda.to_device(np.zeros(width, dtype=dtype))
    z = cuda.device_array((batch, width), dtype=dtype)
    out = cuda.device_array((batch, width), dtype=dtype)
    order = cuda.device_array(0, dtype=np.int64)
    params = cuda.to_device(np.zeros(1))
    if which == "forward":
        kernel = forward_kernel(np.dtype(dtype), tiles, relu_forward_element)
        launch = Launch(kernel, forward_grid(batch, width, tiles), tiles.threads, [x, order, 0, weight, bias, z, out, params])
    else:
        grad_weight = cuda.device_array((width, width), dtype=dtype)
        grad_bias = cuda.device_array(width, dtype=dtype)
        grad_x = cuda.device_array((batch, width), dtype=dtype)
        dz = cuda.to_device(rng.standard_normal((batch, width)).astype(dtype))
        weight_blocks, input_blocks = backward_grid(batch, width, width, True, True, tiles)
        kernel = backward_kernel(np.dtype(dtype), tiles, relu_backward_element)
        partials = cuda.device_array(weight_blocks, dtype=np.float64)
        previous_z = cuda.to_device(rng.standard_normal((batch, width)).astype(dtype))
        args = [x, order, 0, weight, dz, grad_weight, grad_bias, grad_x, previous_z, x, params, 0.0, False, weight_blocks, partials, 0]
        launch = Launch(kernel, weight_blocks + input_blocks, tiles.threads, args)
    return launch, 2.0 * batch * width * width * PRODUCTS[which]


def reference_matmul(width: int = DENSE_WIDTH, batch: int = DENSE_BATCH):
    """``(call, flops, name)``: one float32 ``x @ W`` by PyTorch (TF32 off) or CuPy on this GPU.

    Raises ``NotImplementedError`` when neither is installed with CUDA.
    """
    require_gpu()
    try:
        import torch

        if torch.cuda.is_available():
            torch.backends.cuda.matmul.allow_tf32 = False  # plain float32, as numbagrad computes
            a = torch.randn(batch, width, device="cuda")
            b = torch.randn(width, width, device="cuda")
            c = torch.empty(batch, width, device="cuda")
            return (lambda: torch.matmul(a, b, out=c)), 2.0 * batch * width * width, f"PyTorch {torch.__version__}"
    except ImportError:
        pass
    try:
        import cupy

        a = cupy.random.standard_normal((batch, width), dtype=cupy.float32)
        b = cupy.random.standard_normal((width, width), dtype=cupy.float32)
        c = cupy.empty((batch, width), dtype=cupy.float32)
        return (lambda: cupy.matmul(a, b, out=c)), 2.0 * batch * width * width, f"CuPy {cupy.__version__}"
    except ImportError:
        pass
    raise NotImplementedError("neither PyTorch with CUDA nor CuPy is installed: no reference matrix product")


def gflops(call, flops: float, repeats: int = 10) -> float:
    """GFLOP/s of ``call`` on the GPU (CUDA events, after warm-up)."""
    return flops / seconds_per_call(call, repeats) / 1e9


# --- MLP training on the GPU ----------------------------------------------------------------

#: Batch sizes of the GPU training benchmarks, and the samples of one epoch.
MLP_BATCH_SIZES = (32, 256, 4096)
MLP_SAMPLES = 65536
#: numbagrad's training should be at least this many times PyTorch eager's at batch 32.
TARGET_SPEEDUP = {32: 2.0}


def numbagrad_gpu_mlp_epoch(batch_size: int, samples: int = MLP_SAMPLES):
    """``call``: one epoch of ``fit`` of the 784-256-10 MLP (ReLU, softmax cross-entropy, Adam,
    float32) on the GPU, warmed up (kernels compiled, data on the GPU after the first call)."""
    require_gpu()
    from numbagrad import Dense, Sequential

    from .workloads import MLP_SIZES, mlp_data

    X, labels = mlp_data(samples)
    model = Sequential(
        [Dense(MLP_SIZES[1], activation="relu"), Dense(MLP_SIZES[2], activation="softmax")], input_dim=MLP_SIZES[0], device="cuda"
    )
    model.compile("adam", "categorical_crossentropy")
    call = lambda: model.fit(X, labels, batch_size=batch_size, epochs=1, verbose=0)  # noqa: E731
    call()
    return call


def torch_gpu_mlp_epoch(batch_size: int, samples: int = MLP_SAMPLES):
    """``call``: the same epoch as a PyTorch eager loop on the GPU (data on the GPU, fused Adam,
    TF32 off); raises ``NotImplementedError`` without PyTorch built with CUDA."""
    require_gpu()
    try:
        import torch
    except ImportError:
        raise NotImplementedError("PyTorch is not installed") from None
    if not torch.cuda.is_available():
        raise NotImplementedError(f"PyTorch {torch.__version__} has no CUDA here")
    from .workloads import torch_mlp_loop

    torch.backends.cuda.matmul.allow_tf32 = False
    loop = torch_mlp_loop(batch_size, samples, device="cuda")

    def epoch():
        loop()
        torch.cuda.synchronize()

    epoch()
    return epoch


def seconds_per_epoch(call, repeats: int = 3) -> float:
    """Wall-clock seconds of one ``call`` (the best of ``repeats``; each ends synchronised with the GPU)."""
    import time

    cuda = require_gpu()
    best = float("inf")
    for _ in range(repeats):
        cuda.synchronize()
        began = time.perf_counter()
        call()
        cuda.synchronize()
        best = min(best, time.perf_counter() - began)
    return best
