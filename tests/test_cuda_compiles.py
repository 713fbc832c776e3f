"""The CUDA kernels type-check and compile to PTX, without a GPU.

Numba's CUDA simulator runs kernels as Python, so it never checks that they
compile for a GPU: a construct the CUDA target lacks (``np.sign``, ``max``
of two floats in numba 0.68) passes the simulated tests and fails on the
first real launch. Here the training step's kernels are compiled to PTX for
compute capability 9.0 with NVVM, in a process of its own (with
``numba.cuda`` the real target, a pretend device standing in for the GPU
whose compute capability device functions ask for). Skipped where NVVM (the
CUDA toolkit's compiler library) is not installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import types
    import numpy as np
    from numba import cuda, types as nt
    from numba.cuda import dispatcher
    from numba.cuda.cudadrv import nvvm

    if not nvvm.is_available():
        print("NO NVVM")
        raise SystemExit(0)
    dispatcher.get_current_device = lambda: types.SimpleNamespace(compute_capability=(9, 0))

    from numbagrad.kernels.cuda import activations as A, losses as L, metrics as M, training as TR
    from numbagrad.kernels.cuda.dense import GemmTiles, backward_kernel, forward_kernel
    from numbagrad.kernels.signatures import cuda_update_signature, numba_float

    T = numba_float(np.float32)
    matrix, vector, f64, i64, i32 = T[:, ::1], T[::1], nt.float64[::1], nt.int64, nt.int32[::1]
    tiles = GemmTiles(64, 16, 4)
    kernels = {
        "dense forward + relu": (forward_kernel(np.dtype(np.float32), tiles, A.relu_forward_element),
                                 (matrix, nt.int64[::1], i64, matrix, vector, matrix, matrix, f64)),
        "dense backward + gelu'": (backward_kernel(np.dtype(np.float32), tiles, A.gelu_backward_element),
                                   (matrix, nt.int64[::1], i64, matrix, matrix, matrix, vector, matrix, matrix, matrix, f64,
                                    nt.float64, nt.boolean, i64, f64, i64)),
        "batch loss (cross-entropy, softmax output)": (
            TR.batch_loss_kernel(L.categorical_crossentropy_row, None, False, A.softmax_forward_row, True),
            (matrix, matrix, nt.int64[::1], i64, matrix, matrix, f64, matrix, matrix, f64, f64, i32, f64, i64, f64, f64)),
        "batch loss (mse, sigmoid')": (TR.batch_loss_kernel(L.mse_row, A.sigmoid_backward_element, False, None, False),
                                       (matrix, matrix, nt.int64[::1], i64, matrix, matrix, f64, matrix, matrix, f64, f64, i32, f64, i64,
                                        f64, f64)),
        "weighted batch loss (cross-entropy, softmax output)": (
            TR.batch_loss_kernel(L.categorical_crossentropy_row, None, False, A.softmax_forward_row, True, True),
            (matrix, matrix, nt.int64[::1], i64, matrix, matrix, f64, matrix, matrix, f64, f64, i32, f64, i64, f64, f64)),
        "weighted batch loss (mse, sigmoid')": (TR.batch_loss_kernel(L.mse_row, A.sigmoid_backward_element, False, None, False, True),
                                                (matrix, matrix, nt.int64[::1], i64, matrix, matrix, f64, matrix, matrix, f64, f64, i32,
                                                 f64, i64, f64, f64)),
        "penalize": (TR.penalize, (vector, vector, nt.float64, nt.float64, nt.boolean, f64, nt.float64[:, ::1], i32, f64, i64, i64)),
        "add penalties": (TR.add_penalties, (f64, f64, f64, f64, f64, i64)),
        "gradient norm": (TR.gradient_norm, (f64, i64, f64, i64)),
        "clip by norm": (TR.scale_gradients, (vector, f64, i64, nt.float64)),
        "softmax forward": (A.softmax_forward, (matrix, matrix, f64)),
        "r2 metric": (M.r2_update, (matrix, matrix, f64, f64)),
        "accuracy metric": (M.accuracy_update, (matrix, matrix, f64, f64)),
        "ROC AUC metric": (M.roc_auc_update, (matrix, matrix, f64, f64)),
    }
    from numbagrad.builtins import numbagrad_optimizers
    for spec in numbagrad_optimizers():
        if spec.generated:  # kernels generated from a rule: both dtypes
            for dtype in (np.float32, np.float64):
                kernels[f"{spec.name} update, {np.dtype(dtype)} (generated)"] = (spec.cuda_kernel(), cuda_update_signature(dtype).args)
    print("kernels", len(kernels))
    for name, (kernel, signature) in kernels.items():
        cuda.compile_ptx(kernel.py_func, signature, cc=(9, 0))
        print("compiled", name)
    """
)


def test_the_training_step_kernels_compile_for_a_gpu():
    environment = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=environment)
    if result.returncode == 0 and "NO NVVM" in result.stdout:
        pytest.skip("NVVM (the CUDA toolkit's compiler library) is not installed")
    assert result.returncode == 0, result.stdout + result.stderr[-4000:]
    (count,) = [int(line.split()[1]) for line in result.stdout.splitlines() if line.startswith("kernels ")]
    assert count >= 30 and result.stdout.count("compiled") == count, result.stdout
