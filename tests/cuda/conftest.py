"""The CUDA tests: under Numba's simulator (NUMBA_ENABLE_CUDASIM=1) or on a real GPU, in their own process.

Everything here is skipped, with the reason numbagrad.device gives, when
neither is usable; tests marked ``gpu`` also need a real GPU. Launches use 4
threads per block and at most 3 blocks (``small_launches``), so that arrays
of a few dozen elements cross block boundaries and wrap around the grid
(grid-stride loops), and the dense layers' products use tiles of 4 with
slices of 2 and 2 x 2 outputs per thread, so that layers of a few units
cross tile boundaries; the ``gpu`` tests keep the real configuration.
"""

from __future__ import annotations

import pytest

from numbagrad import config
from numbagrad.device import cuda_status

#: Launch configuration for the tests: 12 threads in all, so 37 elements take 4 turns of the grid.
THREADS_PER_BLOCK = 4
MAX_BLOCKS = 3
#: Tiles of the dense layers' products: 4 x 4 outputs per block, 2 x 2 per thread, 2 columns a slice.
GEMM_TILE = 4
GEMM_TILE_K = 2
GEMM_THREAD_TILE = 2


def pytest_collection_modifyitems(config, items):
    status = cuda_status()
    for item in items:
        if not status.usable:
            item.add_marker(pytest.mark.skip(reason=f"CUDA unusable: {status.reason}"))
        elif item.get_closest_marker("gpu") is not None and not status.gpu:
            item.add_marker(pytest.mark.skip(reason="needs a real GPU (this is Numba's CUDA simulator)"))


@pytest.fixture(autouse=True)
def small_launches(request, monkeypatch):
    if request.node.get_closest_marker("gpu") is None:
        monkeypatch.setattr(config, "CUDA_THREADS_PER_BLOCK", THREADS_PER_BLOCK)
        monkeypatch.setattr(config, "CUDA_MAX_BLOCKS", MAX_BLOCKS)
        monkeypatch.setattr(config, "CUDA_GEMM_TILE", GEMM_TILE)
        monkeypatch.setattr(config, "CUDA_GEMM_TILE_K", GEMM_TILE_K)
        monkeypatch.setattr(config, "CUDA_GEMM_THREAD_TILE", GEMM_THREAD_TILE)


@pytest.fixture(scope="session")
def simulator() -> bool:
    """Whether the kernels run in Numba's simulator (results bit for bit) or on a GPU (within FMA rounding)."""
    return cuda_status().simulator
