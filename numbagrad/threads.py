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

How many of Numba's threads run the training is chosen apart from how the
work is split. Each large product and the gradient norm are cut into one
part per thread of Numba's pool, whatever number of threads then runs the
parts, so that a fit's numbers do not depend on that number. That leaves
``fit`` free to run each segment of batches on as many threads as measure
fastest (:class:`ThreadTuner`): on a machine whose cores are busy with other
work, a parallel region waits at its end for its slowest thread, which may
be waiting for a core, and every split product then takes a time slice of
the scheduler. Measured on 2 cores beside two processes that kept them
busy, a 3-epoch fit took 3.6 to 8.5 times its quiet time on 2 threads and
1.7 times on one.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import math
import os
import re
import sys
import time
from typing import Callable, Iterator

import numba

__all__ = ["single_threaded_blas", "openblas_libraries", "openblas_cores", "available_cores", "ThreadTuner", "busy_core_seconds", "running_tasks", "pool_size"]

_SETTERS = ("openblas_set_num_threads", "scipy_openblas_set_num_threads", "scipy_openblas_set_num_threads64_")
_GETTERS = ("openblas_get_num_threads", "scipy_openblas_get_num_threads", "scipy_openblas_get_num_threads64_")
_CORE_NAMES = ("openblas_get_corename", "scipy_openblas_get_corename", "scipy_openblas_get_corename64_")


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity on Linux, else every core)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _loaded_openblas() -> list[tuple[str, ctypes.CDLL]]:
    """``(path, library)`` of every OpenBLAS loaded in this process (Linux; none elsewhere)."""
    if not sys.platform.startswith("linux"):
        return []
    try:
        with open("/proc/self/maps") as maps:
            paths = sorted(set(re.findall(r"(/\S*openblas\S*\.so[\S]*)", maps.read())))
    except OSError:
        return []
    found = []
    for path in paths:
        try:
            found.append((path, ctypes.CDLL(path, mode=ctypes.RTLD_LOCAL)))
        except OSError:
            continue
    return found


def openblas_cores() -> dict[str, str]:
    """The kernels each loaded OpenBLAS chose for this processor (``{file name: core}``, e.g.
    ``SkylakeX`` for its AVX-512 ones, ``Haswell`` for AVX2; ``OPENBLAS_CORETYPE`` overrides the
    choice): the matrix products' speed depends on it, so benchmarks print it."""
    cores = {}
    for path, library in _loaded_openblas():
        name = next((getattr(library, symbol) for symbol in _CORE_NAMES if hasattr(library, symbol)), None)
        if name is not None:
            name.restype = ctypes.c_char_p
            cores[os.path.basename(path)] = name().decode().strip()
    return cores


@functools.lru_cache(maxsize=1)
def openblas_libraries() -> tuple[tuple[object, object], ...]:
    """``(set_num_threads, get_num_threads)`` of every OpenBLAS loaded in this process (Linux)."""
    import scipy.linalg.cython_blas  # noqa: F401  (loads SciPy's BLAS, the one Numba calls)

    found = []
    for _, library in _loaded_openblas():
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


def pool_size() -> int:
    """The threads of Numba's pool (``NUMBA_NUM_THREADS``): the parts each large product of a
    training step is split into, however many threads run them."""
    return int(numba.config.NUMBA_NUM_THREADS)


def busy_core_seconds(cpus: frozenset[int] | None = None) -> float | None:
    """Core-seconds the CPUs in ``cpus`` (default: this process's) have spent busy since boot, by
    anyone (Linux's ``/proc/stat``; time stolen by a hypervisor counts as busy); ``None`` where it
    cannot be read."""
    lines = _proc_stat()
    try:
        cpus = cpus if cpus is not None else frozenset(os.sched_getaffinity(0))
        ticks = os.sysconf("SC_CLK_TCK")
    except (AttributeError, OSError, ValueError):
        return None
    if lines is None:
        return None
    busy = 0
    for line in lines:
        name, _, rest = line.partition(" ")
        if not (name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus):
            continue
        fields = [int(value) for value in rest.split()[:8]]  # user nice system idle iowait irq softirq steal
        busy += sum(fields) - fields[3] - fields[4]
    return busy / ticks


class ThreadTuner:
    """Chooses how many threads run the next segment of a fit from how busy the cores are.

    Over each stretch of at least ``WINDOW`` seconds of training it measures
    the cores' busy time (:func:`busy_core_seconds`) and this process's CPU
    time; their difference over the elapsed time is the number of cores
    other work kept busy. The next segments then run on the candidate counts
    ``most``, ``most // 2``, ..., 1 that fit in the rest:
    ``floor(cores - others + SLACK)``, at least 1. Nothing is probed: running
    a probe on more threads than there are free cores is what collapses
    (each parallel region waits at its end for a thread that waits for a
    core, and on a loaded 2-core machine a 3-epoch fit took 3.6 to 8.5 times
    its quiet time on 2 threads, 1.7 times on one).

    Because a fit's products are split the same way whatever count runs
    them, the choice changes the time only, never the numbers. Where the
    busy time cannot be read (not Linux), the count stays ``most``.
    """

    WINDOW = 0.1
    SLACK = 0.3

    def __init__(self, most: int, cores: int | None = None, clock: Callable[[], tuple[float, float, float | None]] | None = None):
        if most < 1:
            raise ValueError(f"ThreadTuner: most must be >= 1; got {most}")
        self.counts = [most]
        while self.counts[-1] > 1:
            self.counts.append(self.counts[-1] // 2)
        self.cores = cores if cores is not None else available_cores()
        self.clock = clock if clock is not None else _clock
        self.others = 0.0  # cores kept busy by other work in the last window
        self._start: tuple[float, float, float | None] | None = None
        self._raise = False  # whether the last window already allowed more threads
        # The first guess, before any window: the tasks running now, less this process's threads
        # (some of which may still spin after earlier parallel work).
        running = running_tasks()
        self.threads = most if running is None else self._fitting(running - most)

    def begin(self) -> None:
        """A segment starts (measuring windows span segments until they are long enough)."""
        if self._start is None:
            self._start = self.clock()

    def end(self) -> None:
        """A segment ended: when the window is long enough, choose the count of the next ones."""
        if self._start is None:
            return
        wall, cpu, busy = self.clock()
        elapsed = wall - self._start[0]
        if elapsed < self.WINDOW:
            return
        if busy is None or self._start[2] is None:
            self._start = None
            return
        self.others = max(0.0, ((busy - self._start[2]) - (cpu - self._start[1])) / elapsed)
        self._start = None
        fitting = self._fitting(self.others)
        if fitting > self.threads and not self._raise:
            self._raise = True  # more threads only when two windows in a row agree: too many is the costly mistake
            return
        self._raise = False
        self.threads = fitting

    def _fitting(self, others: float) -> int:
        """The largest candidate count that fits in the cores ``others`` leaves free (at least 1)."""
        free = math.floor(self.cores - others + self.SLACK)
        return next((count for count in self.counts if count <= max(1, free)), 1)


def running_tasks() -> int | None:
    """The tasks running or ready to run on the whole machine right now (``procs_running`` of
    Linux's ``/proc/stat``, this thread included); ``None`` where it cannot be read."""
    for line in _proc_stat() or ():
        if line.startswith("procs_running "):
            field = line.split()[1]
            return int(field) if field.isdigit() else None
    return None


def _proc_stat() -> list[str] | None:
    """The lines of Linux's ``/proc/stat``; ``None`` where there is none."""
    try:
        with open("/proc/stat") as stat:
            return stat.read().splitlines()
    except OSError:
        return None


def _clock() -> tuple[float, float, float | None]:
    return time.perf_counter(), time.process_time(), busy_core_seconds()
