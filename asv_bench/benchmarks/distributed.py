"""Data-parallel training on this machine's MPI ranks: the all-reduce of the 784-256-10 MLP's
gradient per step, and two ranks of one thread against one process of two threads, as
throughput ratios (``asv_bench/data_parallel.py``, run under the installed ``mpiexec``).

Skipped without the ``distributed`` extra (mpi4py, MPICH's ``mpiexec``, numba-mpi).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data_parallel.py")


def _measure(ranks: int) -> dict:
    """The figures ``data_parallel.py`` prints for ``ranks`` ranks (1: one process, every core)."""
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "figures.json")
        command = [sys.executable, SCRIPT, "--rows", "8192", "--repeat", "3", "--json", out]
        if ranks > 1:
            command = [_mpiexec(), "-n", str(ranks), *command]
        subprocess.run(command, check=True, capture_output=True, timeout=600)
        with open(out) as file:
            return json.load(file)


def _mpiexec() -> str:
    found = shutil.which("mpiexec", path=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]))
    if found is None or importlib.util.find_spec("mpi4py") is None or importlib.util.find_spec("numba_mpi") is None:
        raise NotImplementedError('needs the distributed extra: pip install "numbagrad[distributed]"')
    return found


class DataParallel:
    """Two ranks of one thread each against one process of two threads, the 784-256-10 MLP, Adam."""

    timeout = 900
    number = 1
    repeat = 1

    def setup_cache(self):
        try:
            _mpiexec()
        except NotImplementedError:
            # Empty, not None: asv passes no argument at all for a cache of None.
            return {}
        return {"alone": _measure(1), "ranks": _measure(2)}

    def setup(self, figures):
        if not figures:
            _mpiexec()  # raises NotImplementedError, which asv reports as skipped

    def track_allreduce_ms(self, figures):
        """Milliseconds of one all-reduce of the 203,532-value gradient buffer between two ranks."""
        return figures["ranks"]["all-reduce ms"]

    track_allreduce_ms.unit = "ms"

    def track_two_ranks_over_two_threads_batch_32(self, figures):
        return figures["ranks"]["batch 32 samples/s"] / figures["alone"]["batch 32 samples/s"]

    track_two_ranks_over_two_threads_batch_32.unit = "ratio"

    def track_two_ranks_over_two_threads_batch_256(self, figures):
        return figures["ranks"]["batch 256 samples/s"] / figures["alone"]["batch 256 samples/s"]

    track_two_ranks_over_two_threads_batch_256.unit = "ratio"
