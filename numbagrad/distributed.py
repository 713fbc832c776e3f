"""Data-parallel training over MPI.

After :func:`init`, every ``fit`` of a CPU model in the process is data
parallel across the ranks of ``mpiexec -n N python train.py``:

* every rank passes the same ``X, y`` (or, with ``fit(..., sharded=True)``,
  only its own rows); ``batch_size`` is the global batch;
* for each batch, each rank computes the loss and gradient of its share of
  the rows; the compiled epoch sums them across the ranks with one
  ``MPI_Iallreduce`` of the buffer
  ``[count_r * g_r, count_r * loss_r, count_r]`` (``g_r`` the mean gradient of
  rank ``r``'s ``count_r`` rows, or the sum of their sample weights), so that
  every rank holds ``g = sum_r count_r g_r / sum_r count_r``, the gradient of
  the whole batch, and applies the same update: the weights after ``fit`` are
  those of one process, to rounding, on every rank alike;
* metrics, validation and the epoch's loss are summed over the ranks at the
  epoch's end; callbacks see the same logs on every rank, so they decide
  alike (early stopping stops every rank at the same epoch); only rank 0
  shows progress and runs the callbacks that write files.

Every collective waits at most ``timeout`` seconds: a rank that died, raised
or hangs makes the others stop with :class:`numbagrad.errors.DistributedError`
instead of waiting forever. An uncaught exception on a rank aborts the whole
job (``MPI_Abort``), as ``python -m mpi4py`` does.

MPI comes from the ``distributed`` extra: ``pip install "numbagrad[distributed]"``
(mpi4py, the MPICH wheel and numba-mpi).
"""

from __future__ import annotations

import ctypes
import math
import numbers
import os
import sys
import time
import traceback
from typing import Any

import numpy as np

from numbagrad.errors import DistributedError
from numbagrad.optional import require
from numbagrad.threads import available_cores

__all__ = ["init", "current", "World", "launched_ranks"]

_INSTALL = 'pip install "numbagrad[distributed]"'
_world: "World | None" = None


class World:
    """The ranks training together: this process's ``rank`` among ``size``, and the
    ``local_size`` ranks sharing its machine. Made by :func:`init`."""

    def __init__(self, comm: Any, timeout: float, threads: int):
        self._comm = comm
        self.rank: int = comm.Get_rank()
        self.size: int = comm.Get_size()
        local = comm.Split_type(_mpi().COMM_TYPE_SHARED)
        self.local_rank: int = local.Get_rank()
        self.local_size: int = local.Get_size()
        local.Free()
        self.timeout = timeout
        self.threads = threads
        self._reducer: tuple[Any, int] | None = None

    def __repr__(self) -> str:
        return (
            f"World(rank={self.rank}, size={self.size}, local_size={self.local_size}, "
            f"threads={self.threads}, timeout={self.timeout})"
        )

    # --- collectives from Python, each with the timeout -------------------------------------

    def _wait(self, request: Any, what: str) -> None:
        deadline = time.monotonic() + self.timeout
        pause = 1e-5
        while not request.Test():
            if time.monotonic() > deadline:
                raise DistributedError(self.waited(what))
            time.sleep(pause)
            pause = min(pause * 2, 1e-3)

    def waited(self, what: str) -> str:
        """The message of a collective that timed out."""
        return (
            f"rank {self.rank} of {self.size}: {what} waited more than {self.timeout:g} s for the other ranks; "
            "a rank has died, raised an error or stopped calling fit with the others "
            "(numbagrad.distributed.init(timeout=...) sets the limit)"
        )

    def sum(self, values: Any, what: str = "a sum over the ranks") -> np.ndarray:
        """The element-wise sum of ``values`` (float64) over every rank."""
        send = np.ascontiguousarray(values, dtype=np.float64)
        total = np.empty_like(send)
        self._wait(self._comm.Iallreduce(send, total, op=_mpi().SUM), what)
        return total

    def broadcast(self, values: np.ndarray, what: str = "a broadcast from rank 0") -> None:
        """Overwrite the contiguous array ``values`` with rank 0's, in place."""
        self._wait(self._comm.Ibcast(values, root=0), what)

    def gather(self, values: Any, what: str = "a gather from every rank") -> np.ndarray:
        """Each rank's float64 ``values``, one row per rank (on every rank)."""
        send = np.ascontiguousarray(values, dtype=np.float64).ravel()
        rows = np.empty((self.size, send.size))
        self._wait(self._comm.Iallgather(send, rows), what)
        return rows

    def barrier(self, what: str = "a barrier") -> None:
        self._wait(self._comm.Ibarrier(), what)

    # --- the compiled epoch's all-reduce ------------------------------------------------------

    def reducer_address(self) -> int:
        """The address of ``int64 reduce(send, recv, count, timeout)``: a C function that sums
        ``count`` float64 values at address ``send`` over the ranks into ``recv`` with
        ``MPI_Iallreduce``, waiting at most ``timeout`` seconds; returns 0, -1 on a timeout, or
        the MPI error code. Compiled once per process (it holds this process's MPI handles)."""
        if self._reducer is None:
            function = _compile_reducer(self._comm)
            self._reducer = (function, function.address)
        return self._reducer[1]

    def abort(self, code: int = 1) -> None:
        """End every rank of the job (``MPI_Abort``) with exit status ``code``."""
        _mpi().COMM_WORLD.Abort(code)


def _mpi() -> Any:
    return require("mpi4py.MPI", _INSTALL, "numbagrad.distributed")


def _compile_reducer(comm: Any) -> Any:
    """The C-callable all-reduce of the compiled epoch (see :meth:`World.reducer_address`).

    numba-mpi's ``allreduce`` blocks without a limit; a limit needs the
    non-blocking ``MPI_Iallreduce`` and ``MPI_Test``, taken here from the MPI
    library numba-mpi loaded, with the types it found for this MPI's handles.
    """
    from numba import cfunc, types

    numba_mpi = require("numba_mpi", _INSTALL, "numbagrad.distributed")
    from numba_mpi import common

    MPI = _mpi()
    library = common.libmpi
    iallreduce = library.MPI_Iallreduce
    iallreduce.restype = ctypes.c_int
    iallreduce.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, common._MpiDatatype, common._MpiOp,
                           common._MpiComm, ctypes.c_void_p]
    test = library.MPI_Test
    test.restype = ctypes.c_int
    test.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    handle_type = ctypes.c_int if common._MpiComm is ctypes.c_int else ctypes.c_void_p
    if handle_type is ctypes.c_int:
        # MPICH's handles are 32-bit integers, Open MPI's pointers: read them as mpi4py stores them.
        communicator = ctypes.c_int(MPI._handleof(comm)).value
        double = ctypes.c_int(MPI._handleof(MPI.DOUBLE)).value
        add = ctypes.c_int(MPI._handleof(MPI.SUM)).value
    else:
        communicator, double, add = MPI._handleof(comm), MPI._handleof(MPI.DOUBLE), MPI._handleof(MPI.SUM)

    @cfunc(types.int64(types.int64, types.int64, types.int64, types.float64), error_model="numpy")
    def reduce(send, recv, count, timeout):
        request = np.zeros(1, dtype=np.int64)  # an MPI_Request: an int (MPICH) or a pointer (Open MPI)
        flag = np.zeros(1, dtype=np.int32)
        status = np.zeros(16, dtype=np.int64)  # room for any MPI's MPI_Status
        code = iallreduce(send, recv, count, double, add, communicator, request.ctypes.data)
        if code != 0:
            return code
        began = numba_mpi.wtime()
        polls = 0
        while True:
            code = test(request.ctypes.data, flag.ctypes.data, status.ctypes.data)
            if code != 0:
                return code
            if flag[0] != 0:
                return 0
            polls += 1
            if polls % 1024 == 0 and numba_mpi.wtime() - began > timeout:
                return -1

    return reduce


def _validated_timeout(timeout: Any) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real) or not (math.isfinite(timeout) and timeout > 0):
        raise ValueError(f"numbagrad.distributed.init: timeout must be a number of seconds > 0; got {timeout!r}")
    return float(timeout)


def init(timeout: float = 300.0, threads: int | None = None) -> World:
    """Join the ranks this process was started with (``mpiexec -n N``) and make every later
    ``fit`` of a CPU model data parallel; returns the :class:`World`. Idempotent: a second call
    returns the same world (with ``timeout`` and ``threads`` updated when given).

    Args:
        timeout: seconds any collective waits for the other ranks before raising
            :class:`~numbagrad.errors.DistributedError`.
        threads: Numba threads of this rank; default: this machine's cores divided by the
            ranks running on it (at least 1), so that ranks do not fight over cores.
    """
    global _world
    timeout = _validated_timeout(timeout)
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, numbers.Integral) or threads < 1):
        raise ValueError(f"numbagrad.distributed.init: threads must be an integer >= 1 or None; got {threads!r}")
    if _world is None:
        MPI = _mpi()
        require("numba_mpi", _INSTALL, "numbagrad.distributed")
        world = World(MPI.COMM_WORLD.Dup(), timeout, 1)
        _world = world
        _abort_on_uncaught_exceptions(world)
    _world.timeout = timeout
    chosen = int(threads) if threads is not None else max(1, available_cores() // _world.local_size)
    import numba

    _world.threads = min(chosen, numba.config.NUMBA_NUM_THREADS)
    numba.set_num_threads(_world.threads)
    return _world


def current() -> World | None:
    """The world of :func:`init` when it has more than one rank, else None (training is local)."""
    return _world if _world is not None and _world.size > 1 else None


def launched_ranks() -> int:
    """The number of ranks the MPI launcher says this process belongs to (1 when not launched by one)."""
    for name in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE"):  # MPICH's Hydra, Open MPI, PMIx launchers
        value = os.environ.get(name, "")
        if value.isdigit():
            return int(value)
    return 1


# Seconds between a failing rank's report and MPI_Abort: Hydra's proxies forward it meanwhile.
_FORWARDING_PAUSE = 0.5


def _abort_on_uncaught_exceptions(world: World) -> None:
    """An exception that ends one rank ends the job: print it, then ``MPI_Abort``, so that the
    other ranks stop at once instead of waiting for the timeout."""
    previous = sys.excepthook

    def abort(kind, error, trace):
        if getattr(error, "every_rank", False):
            # Raised alike on every rank (the ranks' check that they train the same way): each
            # rank ends on its own, and MPI_Abort, whose launcher may drop the output the ranks
            # have not forwarded yet, is not needed.
            previous(kind, error, trace)
            return
        # One write, then a moment for the launcher to forward it: MPI_Abort kills every rank's
        # process at once, and output still in flight to mpiexec is lost.
        report = ""
        if previous is sys.__excepthook__:
            report = "".join(traceback.format_exception(kind, error, trace))
        else:
            previous(kind, error, trace)
        report += f"numbagrad.distributed: rank {world.rank} of {world.size} raised {kind.__name__}; aborting every rank\n"
        sys.stderr.write(report)
        sys.stderr.flush()
        time.sleep(_FORWARDING_PAUSE)
        world.abort(1)

    sys.excepthook = abort
