"""Who owns the cores while training: Numba's thread pool or BLAS's.

Inside a compiled training step the matrix products call BLAS (OpenBLAS, as
shipped with SciPy), which keeps its own pool of threads, while ``prange``
loops run on Numba's. When both pools are busy in one step, their threads
spin for the same cores: on 2 cores a batch-32 epoch ran about 15 times
slower than with either pool alone.

So ``fit`` decides: while it runs, BLAS is limited to one thread per call
(:func:`single_threaded_blas`), and the training loop splits each matrix
product into column blocks that Numba's threads compute side by side, each
with its own single-threaded BLAS call; the optimizer update and the rest
run on Numba's threads too. When BLAS cannot be limited (no known BLAS
library found), Numba's pool is left out of training instead: every compiled
step then runs on one thread and BLAS threads its products itself.

The limit uses threadpoolctl when it is installed and otherwise, on Linux,
OpenBLAS's own ``openblas_set_num_threads`` found in the loaded libraries.
It is global while ``fit`` runs, and restored afterwards.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import re
import sys
from typing import Iterator

__all__ = ["single_threaded_blas", "openblas_libraries", "available_cores"]

_SETTERS = ("openblas_set_num_threads", "scipy_openblas_set_num_threads", "scipy_openblas_set_num_threads64_")
_GETTERS = ("openblas_get_num_threads", "scipy_openblas_get_num_threads", "scipy_openblas_get_num_threads64_")


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity on Linux, else every core)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@functools.lru_cache(maxsize=1)
def openblas_libraries() -> tuple[tuple[object, object], ...]:
    """``(set_num_threads, get_num_threads)`` of every OpenBLAS loaded in this process (Linux)."""
    import scipy.linalg.cython_blas  # noqa: F401  (loads SciPy's BLAS, the one Numba calls)

    if not sys.platform.startswith("linux"):
        return ()
    try:
        with open("/proc/self/maps") as maps:
            paths = sorted(set(re.findall(r"(/\S*openblas\S*\.so[\S]*)", maps.read())))
    except OSError:
        return ()
    found = []
    for path in paths:
        try:
            library = ctypes.CDLL(path, mode=ctypes.RTLD_LOCAL)
        except OSError:
            continue
        setter = next((getattr(library, name) for name in _SETTERS if hasattr(library, name)), None)
        getter = next((getattr(library, name) for name in _GETTERS if hasattr(library, name)), None)
        if setter is not None and getter is not None:
            getter.restype = ctypes.c_int
            setter.argtypes = [ctypes.c_int]
            found.append((setter, getter))
    return tuple(found)


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[bool]:
    """Limit BLAS to one thread inside the block; yields whether the limit could be applied."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None
    if threadpool_limits is not None:
        with threadpool_limits(limits=1, user_api="blas"):
            yield True
        return
    libraries = openblas_libraries()
    if not libraries:
        yield False
        return
    previous = [getter() for _, getter in libraries]
    for setter, _ in libraries:
        setter(1)
    try:
        yield True
    finally:
        for (setter, _), count in zip(libraries, previous):
            setter(count)
