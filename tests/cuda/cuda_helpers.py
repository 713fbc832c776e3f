"""Comparisons of CUDA results with the CPU kernels' results."""

from __future__ import annotations

import numpy as np
from numba import cuda

#: Relative agreement on a GPU, where the CUDA compiler fuses multiply-adds:
#: a few ulps of float32, and far below 1e-12 in float64.
GPU_TOLERANCE = {np.dtype(np.float32): 4e-6, np.dtype(np.float64): 1e-12}


def assert_agrees(got, expected, simulator: bool, what: str) -> None:
    """Bit for bit under the simulator; on a GPU within :data:`GPU_TOLERANCE` of the array's scale."""
    got = np.asarray(got)
    expected = np.asarray(expected)
    assert got.dtype == expected.dtype and got.shape == expected.shape, what
    if simulator:
        np.testing.assert_array_equal(got, expected, err_msg=what)
        return
    tolerance = GPU_TOLERANCE[expected.dtype]
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance * scale, err_msg=what)


#: Agreement of results whose sums run in a different order on the GPU (loss
#: values, metric totals, matrix products): relative to the result's scale.
SUM_TOLERANCE = {np.dtype(np.float32): 2e-5, np.dtype(np.float64): 1e-12}


def assert_close(got, expected, what: str, tolerance: float | None = None) -> None:
    """Within :data:`SUM_TOLERANCE` (or ``tolerance``) of the expected array's scale; NaN where it is NaN."""
    got = np.asarray(got)
    expected = np.asarray(expected)
    assert got.shape == expected.shape, what
    dtype = expected.dtype if expected.dtype in SUM_TOLERANCE else np.dtype(np.float64)
    tolerance = SUM_TOLERANCE[dtype] if tolerance is None else tolerance
    finite = np.isfinite(expected)
    scale = float(np.max(np.abs(expected[finite]))) if finite.any() else 0.0
    np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance * max(scale, 1e-300), err_msg=what)


def assert_same_training(gpu, cpu, tolerance: float = 1e-10, history: bool = True) -> None:
    """The GPU model's weights (``get_weights``, each relative to its scale) and, with ``history``, the
    history of its last ``fit`` equal the CPU model's to ``tolerance``."""
    for i, (got, want) in enumerate(zip(gpu.get_weights(), cpu.get_weights())):
        scale = max(1.0, float(np.max(np.abs(want))))
        np.testing.assert_allclose(got, want, rtol=tolerance, atol=tolerance * scale, err_msg=f"weights[{i}]")
    if history:
        assert gpu.history.history.keys() == cpu.history.history.keys()
        for key, values in cpu.history.history.items():
            np.testing.assert_allclose(gpu.history.history[key], values, rtol=tolerance, err_msg=key)



@cuda.jit
def max_error_update(prediction, target, totals, params):
    """The CUDA twin of the ``max_error`` metric of the ``unweighable_metric`` fixture (tests/conftest.py)."""
    for i in range(cuda.grid(1), prediction.shape[0], cuda.gridsize(1)):
        for j in range(prediction.shape[1]):
            cuda.atomic.max(totals, 0, abs(prediction[i, j] - target[i, j]))
