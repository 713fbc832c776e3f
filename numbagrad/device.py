"""Where numbagrad computes: on the host, or on a CUDA GPU through ``numba.cuda``.

Importing this module neither imports ``numba.cuda`` nor initialises a CUDA
driver; :func:`cuda_status` does both, when asked, and only once.

Which ``numba.cuda``: Numba up to 0.60-something ships a built-in CUDA target;
later Numba needs NVIDIA's ``numba-cuda`` package, which the
``numbagrad[cuda]`` extra installs. Either works. With
``NUMBA_ENABLE_CUDASIM=1`` (set before Numba is imported) ``numba.cuda`` is
Numba's simulator: kernels run as Python threads on the CPU, which tests
their logic without a GPU.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from typing import Any

from numbagrad.errors import CudaUnavailableError

__all__ = [
    "CudaStatus",
    "cuda_status",
    "cuda_available",
    "require_cuda",
    "simulator_enabled",
    "is_cuda_array",
]

#: How to install the CUDA target, in messages.
INSTALL_HINT = "install it with: pip install 'numbagrad[cuda]'"


def simulator_enabled() -> bool:
    """Whether Numba's CUDA simulator replaces ``numba.cuda`` in this process (``NUMBA_ENABLE_CUDASIM=1``)."""
    from numba.core import config

    return bool(config.ENABLE_CUDASIM)


def is_cuda_array(value: Any) -> bool:
    """Whether ``value`` is an array in CUDA device memory.

    True for Numba's device arrays (the simulator's included) and for
    anything that exports ``__cuda_array_interface__`` (CuPy arrays, PyTorch
    CUDA tensors). Imports nothing.
    """
    if getattr(value, "__cuda_ndarray__", False):
        return True
    try:
        return hasattr(value, "__cuda_array_interface__")
    except Exception:  # PyTorch's CPU tensors raise from the property
        return False


@dataclass(frozen=True)
class CudaStatus:
    """What :func:`cuda_status` found.

    Attributes:
        usable: kernels can be launched: on a GPU, or in the simulator.
        simulator: ``numba.cuda`` is Numba's CUDA simulator.
        reason: why ``usable`` is false (empty when it is true).
        device: the current GPU's name and compute capability, or
            ``"CUDA simulator"``; empty when unusable.
    """

    usable: bool
    simulator: bool
    reason: str = ""
    device: str = ""

    @property
    def gpu(self) -> bool:
        """A real GPU is usable."""
        return self.usable and not self.simulator


@functools.lru_cache(maxsize=1)
def cuda_status() -> CudaStatus:
    """Import ``numba.cuda`` and find out whether kernels can run; cached for the process."""
    if simulator_enabled():
        try:
            importlib.import_module("numba.cuda")
        except ImportError as error:
            return CudaStatus(False, True, f"numba.cuda cannot be imported ({error}); {INSTALL_HINT}")
        return CudaStatus(True, True, device="CUDA simulator")
    try:
        cuda = importlib.import_module("numba.cuda")
    except ImportError as error:
        return CudaStatus(False, False, f"numba-cuda is not installed (import numba.cuda failed: {error}); {INSTALL_HINT}")
    if not cuda.is_available():
        driver_error = cuda.cuda_error()
        if driver_error is not None:
            return CudaStatus(False, False, f"no usable CUDA driver or GPU: {_first_line(driver_error)}")
        return CudaStatus(
            False,
            False,
            "the CUDA driver and GPU are there, but Numba cannot find the CUDA compiler library (NVVM, libdevice): "
            "install the CUDA toolkit or the nvidia-cuda-nvcc wheel matching the driver",
        )
    try:
        device = cuda.get_current_device()
        name = device.name.decode() if isinstance(device.name, bytes) else str(device.name)
        major, minor = device.compute_capability
    except Exception as error:  # a driver that loads but fails on first use
        return CudaStatus(False, False, f"no usable CUDA GPU: {_first_line(error)}")
    return CudaStatus(True, False, device=f"{name} (compute capability {major}.{minor})")


def _first_line(error: Any) -> str:
    text = str(error).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " ".join(lines[:3]) if lines else type(error).__name__


def cuda_available(allow_simulator: bool = False) -> bool:
    """Whether CUDA kernels can run here: on a real GPU, or also in the simulator when ``allow_simulator``."""
    status = cuda_status()
    return status.usable and (allow_simulator or not status.simulator)


def require_cuda(purpose: str, allow_simulator: bool = True):
    """``numba.cuda``, or :class:`~numbagrad.errors.CudaUnavailableError` saying what is missing.

    Args:
        purpose: what needs CUDA, to start the message
            (``"Adam: params[0] is a CUDA device array"``).
        allow_simulator: accept Numba's CUDA simulator in place of a GPU
            (tests do; benchmarks do not).
    """
    status = cuda_status()
    if not status.usable:
        raise CudaUnavailableError(f"{purpose}, but CUDA cannot be used here: {status.reason}")
    if status.simulator and not allow_simulator:
        raise CudaUnavailableError(
            f"{purpose}, but NUMBA_ENABLE_CUDASIM=1 makes numba.cuda Numba's CUDA simulator, which runs "
            "kernels as Python on the CPU; unset NUMBA_ENABLE_CUDASIM to use the GPU"
        )
    return importlib.import_module("numba.cuda")
