"""Every tunable of numbagrad's kernels in one place.

Kernels never read these module globals: Numba freezes globals into its on-disk
cache, so a changed setting would be silently ignored by a cached function.
Callers read them here and pass them to the kernels as arguments.

Each value can be overridden by an environment variable of the same name
prefixed with ``NUMBAGRAD_`` (read once, at import).
"""

from __future__ import annotations

import os

__all__ = ["PARALLEL_THRESHOLD", "CHUNK_SIZE"]


def _int_from_environment(name: str, default: int, minimum: int) -> int:
    raw = os.environ.get("NUMBAGRAD_" + name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(
            f"environment variable NUMBAGRAD_{name} must be an integer >= {minimum}; got {raw!r}"
        ) from None
    if value < minimum:
        raise ValueError(
            f"environment variable NUMBAGRAD_{name} must be an integer >= {minimum}; got {value}"
        )
    return value


#: Number of parameters below which an optimizer step runs on one thread:
#: below it, waking Numba's thread pool costs more than the update saves.
#: Measured with ``python asv_bench/tune.py threshold`` on 2 cores: threads
#: win from 16384 parameters for Adam and from 65536 for SGD.
PARALLEL_THRESHOLD = _int_from_environment("PARALLEL_THRESHOLD", 1 << 15, 1)

#: Elements per parallel task in an optimizer step: large enough that the
#: per-task call is negligible, small enough to balance the cores.
CHUNK_SIZE = _int_from_environment("CHUNK_SIZE", 1 << 15, 1)
