"""Every tunable of numbagrad's kernels in one place.

Kernels never read these module globals: Numba freezes globals into its on-disk
cache, so a changed setting would be silently ignored by a cached function.
Callers read them here and pass them to the kernels as arguments.

Each value can be overridden by an environment variable of the same name
prefixed with ``NUMBAGRAD_`` (read once, at import).
"""

from __future__ import annotations

import os

__all__ = ["PARALLEL_THRESHOLD", "CHUNK_SIZE", "CUDA_THREADS_PER_BLOCK", "CUDA_MAX_BLOCKS"]


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
