"""How numbagrad compiles its CPU kernels.

* ``cache=True``: compiled code is stored on disk (keyed on the whole package,
  see ``numbagrad._cache``), so a new process loads instead of compiling.
* ``error_model="numpy"``: float division by zero gives inf/nan as in NumPy
  instead of raising; the raising check is a branch in every loop that keeps
  LLVM from vectorising it.
* No ``fastmath`` by default: update rules must match their reference
  bit for bit, which re-association and fused multiply-adds would break.
  Where a kernel may trade that (reductions in losses), it uses
  :data:`FASTMATH`, which leaves out ``nnan`` and ``ninf`` so that NaN and
  infinity checks are not compiled away.
"""

from __future__ import annotations

import functools

import numba
from numba import njit

__all__ = ["kernel", "parallel_kernel", "inline", "FASTMATH"]

# Numba starts its threading layer when it compiles a parallel loop, not when a function compiled
# in this process links one loaded from the cache: with numba 0.61, a process whose first use of
# the parallel product came from another process's cache crashed in that product (a plain model's
# value_and_grad in one process, a normalized one's in the next). Asking for the thread count
# starts the layer (about 10 ms, which the first fit would spend anyway).
numba.get_num_threads()

#: LLVM fast-math flags that keep NaN and infinity semantics (a set, as Numba requires).
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}

#: Decorator for a serial kernel.
kernel = functools.partial(njit, cache=True, error_model="numpy", nogil=True)

#: Decorator for a kernel whose ``prange`` loops run on Numba's thread pool.
parallel_kernel = functools.partial(njit, cache=True, error_model="numpy", nogil=True, parallel=True)

#: Decorator for a small helper that is always inlined into its caller.
inline = functools.partial(njit, inline="always", error_model="numpy", nogil=True)
