"""Every tunable of numbagrad's kernels in one place.

Kernels never read these module globals: Numba freezes globals into its on-disk
cache, so a changed setting would be silently ignored by a cached function.
Callers read them here and pass them to the kernels as arguments.

Each value can be overridden by an environment variable of the same name
prefixed with ``NUMBAGRAD_`` (read once, at import).
"""

from __future__ import annotations

import os

__all__ = [
    "PARALLEL_THRESHOLD",
    "CHUNK_SIZE",
    "CUDA_THREADS_PER_BLOCK",
    "CUDA_MAX_BLOCKS",
    "CUDA_GEMM_TILE",
    "CUDA_GEMM_TILE_K",
    "CUDA_GEMM_THREAD_TILE",
    "CUDA_PREPARED_LAUNCHES",
    "CUDA_RESIDENT_DATA_BYTES",
]


def _int_from_environment(name: str, default: int, minimum: int, maximum: int | None = None) -> int:
    raw = os.environ.get("NUMBAGRAD_" + name)
    if raw is None:
        return default
    allowed = f"an integer >= {minimum}" if maximum is None else f"an integer in [{minimum}, {maximum}]"
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"environment variable NUMBAGRAD_{name} must be {allowed}; got {raw!r}") from None
    if value < minimum or (maximum is not None and value > maximum):
        raise ValueError(f"environment variable NUMBAGRAD_{name} must be {allowed}; got {value}")
    return value


#: Number of parameters below which an optimizer step runs on one thread:
#: below it, waking Numba's thread pool costs more than the update saves.
#: Measured with ``python asv_bench/tune.py threshold`` on 2 cores: threads
#: win from 16384 parameters for Adam and from 65536 for SGD.
PARALLEL_THRESHOLD = _int_from_environment("PARALLEL_THRESHOLD", 1 << 15, 1)

#: Elements per parallel task in an optimizer step: large enough that the
#: per-task call is negligible, small enough to balance the cores.
CHUNK_SIZE = _int_from_environment("CHUNK_SIZE", 1 << 15, 1)

#: Threads per block of numbagrad's CUDA kernels. A multiple of the warp
#: size (32) on a GPU, at most 1024; 256 keeps enough blocks resident on every
#: multiprocessor to hide memory latency in the bandwidth-bound updates. Tests
#: shrink it (to 4) so that tiny arrays cross block boundaries.
CUDA_THREADS_PER_BLOCK = _int_from_environment("CUDA_THREADS_PER_BLOCK", 256, 1, 1024)

#: Most blocks in one CUDA launch. The kernels walk their arrays with
#: grid-stride loops, so any grid covers any size; a grid capped near 32 blocks
#: per multiprocessor (an H100 or H200 has 132) fills the GPU without paying
#: for blocks that each touch only a few elements.
CUDA_MAX_BLOCKS = _int_from_environment("CUDA_MAX_BLOCKS", 4096, 1)

#: Side of the square block of the output that one CUDA block of the dense
#: layers' matrix products computes (rows of the batch by units). Each of its
#: threads computes ``CUDA_GEMM_THREAD_TILE`` squared outputs, so a block has
#: ``(CUDA_GEMM_TILE / CUDA_GEMM_THREAD_TILE)**2`` threads (256 by default).
#: Tests shrink it (to 4) so that tiny layers cross tile boundaries.
CUDA_GEMM_TILE = _int_from_environment("CUDA_GEMM_TILE", 64, 1, 256)

#: Depth of the slices of the inner dimension that a block stages in shared
#: memory per step of the matrix products.
CUDA_GEMM_TILE_K = _int_from_environment("CUDA_GEMM_TILE_K", 16, 1, 128)

#: Side of the square of outputs each thread of a matrix product keeps in
#: registers; it must divide ``CUDA_GEMM_TILE``.
CUDA_GEMM_THREAD_TILE = _int_from_environment("CUDA_GEMM_THREAD_TILE", 4, 1, 16)

#: 1: a GPU model's training loop binds each kernel's arguments once per fit
#: and relaunches it by changing only the few that change per batch, through
#: Numba's internal launch path (a few microseconds per launch instead of
#: tens); 0: every launch goes through Numba's public dispatcher. The results
#: are the same; 0 is the fallback should a numba-cuda release change the
#: internals this relies on.
CUDA_PREPARED_LAUNCHES = _int_from_environment("CUDA_PREPARED_LAUNCHES", 1, 0, 1)

#: Largest training set (inputs and targets, in bytes) that ``fit`` copies
#: to the GPU whole; a larger one goes over in segments of batches, each
#: gathered on the host in the epoch's order. 0 (the default) allows half of
#: the GPU's free memory when ``fit`` starts.
CUDA_RESIDENT_DATA_BYTES = _int_from_environment("CUDA_RESIDENT_DATA_BYTES", 0, 0)
