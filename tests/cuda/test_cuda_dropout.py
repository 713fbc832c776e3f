"""Dropout on a model on "cuda": the device masks are :func:`keep_mask`'s, a fit equals the CPU's
(the same masks, the same steps), nothing is dropped outside training, and a model without dropout
launches what it launched before.

Tiny shapes (the simulator runs every GPU thread as a Python thread) that cross the shrunken tiles
and blocks of conftest.py: 5 inputs, hidden layers of 8 (and 6) units, 22 rows in batches of 8 (the
last one of 6).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from cuda_helpers import assert_same_training
from numba import cuda

import numbagrad as ng
from numbagrad.kernels.cuda import activations as A
from numbagrad.kernels.cuda.dropout import dropout_backward_kernel, dropout_mask
from numbagrad.nn.dropout import keep_mask

LOSS = "sparse_categorical_crossentropy"
#: A fit on the GPU equals the CPU's to this relative tolerance (float64).
TOLERANCE = 1e-10


def data(samples=22, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((samples, 5)), rng.integers(0, 3, samples)


def make(device, hidden=(("tanh", 8, 0.3),), regularizer=None, **compile_options):
    layers = []
    for activation, units, rate in hidden:
        layers.append(ng.Dense(units, activation, kernel_regularizer=regularizer))
        if rate:
            layers.append(ng.Dropout(rate))
    layers.append(ng.Dense(3, "softmax"))
    model = ng.Sequential(layers, input_dim=5, dtype="float64", seed=1, device=device)
    options = dict(optimizer="adam", loss=LOSS, metrics=["accuracy"])
    options.update(compile_options)
    return model.compile(**options)


# --- the kernels --------------------------------------------------------------------------------

DRAWS = np.array([[123456789012345, 0, 0], [(1 << 62) - 1, 7, 5], [42, 3, 11]], dtype=np.int64)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_device_masks_are_keep_masks(dtype):
    """The mask kernel on ones: ``keep_mask / (1 - rate)`` in the array's dtype, for several keys,
    steps, layers and first rows (a rank's rows further down the batch)."""
    rate, rows, units = 0.35, 7, 9
    draws = cuda.to_device(DRAWS)
    for index, (key, step, first_row) in enumerate(DRAWS):
        for layer in (0, 2):
            values = cuda.to_device(np.ones((rows, units), dtype=dtype))
            dropout_mask[3, 4](values, rate, dtype(1.0 / (1.0 - rate)), draws, index, layer)
            expected = np.where(keep_mask(int(key), int(step), layer, int(first_row), rows, units, rate), dtype(1.0 / (1.0 - rate)), 0)
            np.testing.assert_array_equal(values.copy_to_host(), expected.astype(dtype), err_msg=f"draws[{index}], layer {layer}")


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
def test_the_backward_kernel_masks_then_differentiates_at_the_output_before_dropout(activation):
    rate, rows, units, layer = 0.4, 6, 5, 1
    rng = np.random.default_rng(1)
    z, grad = rng.standard_normal((rows, units)), rng.standard_normal((rows, units))
    forward, backward = getattr(A, f"{activation}_forward_element"), getattr(A, f"{activation}_backward_element")
    device_z, scratch, device_grad = cuda.to_device(z), cuda.to_device(np.full((rows, units), np.nan)), cuda.to_device(grad)
    kernel = dropout_backward_kernel(forward, backward)
    kernel[3, 4](device_z, scratch, device_grad, cuda.to_device(np.zeros(1)), rate, 1.0 / (1.0 - rate), cuda.to_device(DRAWS), 1, layer)
    key, step, first_row = (int(v) for v in DRAWS[1])
    mask = keep_mask(key, step, layer, first_row, rows, units, rate) / (1.0 - rate)
    out = {"tanh": np.tanh(z), "sigmoid": 1.0 / (1.0 + np.exp(-z)), "relu": np.maximum(z, 0.0)}[activation]
    derivative = {"tanh": 1.0 - out * out, "sigmoid": out * (1.0 - out), "relu": (z > 0).astype(float)}[activation]
    np.testing.assert_allclose(scratch.copy_to_host(), out, rtol=1e-15)
    np.testing.assert_allclose(device_grad.copy_to_host(), grad * mask * derivative, rtol=1e-14, atol=1e-300)


COMPILE = textwrap.dedent(
    """
    import re
    import types
    from numba import cuda, types as nt
    from numba.cuda import dispatcher
    from numba.cuda.cudadrv import nvvm

    if not nvvm.is_available():
        print("NO NVVM")
        raise SystemExit(0)
    dispatcher.get_current_device = lambda: types.SimpleNamespace(compute_capability=(9, 0))
    from numbagrad.kernels.cuda import activations as A
    from numbagrad.kernels.cuda.dropout import dropout_backward_kernel, dropout_mask

    for T in (nt.float32, nt.float64):
        m, draws = T[:, ::1], nt.int64[:, ::1]
        kernels = [
            (dropout_mask, (m, nt.float64, T, draws, nt.int64, nt.int64)),
            (dropout_backward_kernel(A.sigmoid_forward_element, A.sigmoid_backward_element),
             (m, m, m, nt.float64[::1], nt.float64, T, draws, nt.int64, nt.int64)),
        ]
        for kernel, signature in kernels:
            ptx, _ = cuda.compile_ptx(kernel.py_func, signature, cc=(9, 0))
            print("conversions", sorted(set(re.findall(r"cvt\\.rn\\.f\\d+\\.[su]\\d+", ptx))))
    """
)


def test_the_hash_compiles_to_integer_arithmetic_for_a_gpu():
    """The simulator runs the hash on NumPy scalars, whatever Numba would type: compiled for a GPU
    (PTX, no GPU needed), its only conversion to a float is the final uint64 one (an int64 operand
    would have made Numba compute in floats, and other masks)."""
    environment = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    result = subprocess.run([sys.executable, "-c", COMPILE], capture_output=True, text=True, env=environment, timeout=600)
    if result.returncode == 0 and "NO NVVM" in result.stdout:
        pytest.skip("NVVM (the CUDA toolkit's compiler library) is not installed")
    assert result.returncode == 0, result.stdout + result.stderr[-4000:]
    found = [line for line in result.stdout.splitlines() if line.startswith("conversions")]
    assert found == ["conversions ['cvt.rn.f64.u64']"] * 4, result.stdout


# --- fits equal the CPU's -------------------------------------------------------------------------

FIT_CASES = [
    pytest.param((("tanh", 8, 0.3),), {"name": "l2", "l2": 0.01}, dict(clip_norm=0.5), id="tanh-l2-clip_norm"),
    pytest.param((("sigmoid", 8, 0.5),), None, dict(optimizer={"name": "sgd", "lr": 0.5, "momentum": 0.9}), id="sigmoid-sgd"),
    # Two dropout layers, the second after a row-wise activation (a hidden softmax: its own launches).
    pytest.param((("relu", 8, 0.25), ("softmax", 6, 0.2)), None, {}, id="relu-and-hidden-softmax"),
]


@pytest.mark.parametrize("hidden, regularizer, options", FIT_CASES)
def test_a_fit_with_dropout_equals_the_cpu_fit(hidden, regularizer, options):
    X, y = data()
    X_val, y_val = data(7, seed=1)
    cpu, gpu = make("cpu", hidden, regularizer, **options), make("cuda", hidden, regularizer, **options)
    for model in (cpu, gpu):
        model.fit(X, y, batch_size=8, epochs=1, seed=3, validation_data=(X_val, y_val), verbose=0)
    assert_same_training(gpu, cpu, TOLERANCE)
    # Dropout is on: the same fit without it ends elsewhere.
    plain = make("cpu", tuple((a, u, 0.0) for a, u, _ in hidden), regularizer, **options)
    plain.fit(X, y, batch_size=8, epochs=1, seed=3, validation_data=(X_val, y_val), verbose=0)
    assert not np.allclose(plain.get_weights()[0], gpu.get_weights()[0])


def test_lbfgs_on_the_gpu_uses_the_masks_of_the_cpu_closure():
    """Every evaluation of an L-BFGS step's closure draws the step's masks: the GPU steps are the CPU's."""
    X, y = data(16)
    options = dict(optimizer={"name": "lbfgs", "lr": 0.5, "max_iter": 3}, metrics=[])
    cpu, gpu = make("cpu", **options), make("cuda", **options)
    for model in (cpu, gpu):
        model.fit(X, y, batch_size=8, epochs=1, seed=2, verbose=0)
    assert_same_training(gpu, cpu, TOLERANCE)


# --- outside training, nothing is dropped ------------------------------------------------------------


def test_predict_evaluate_and_value_and_grad_on_the_gpu_ignore_dropout():
    X, y = data(9)
    dropped = make("cuda", (("sigmoid", 8, 0.5),))
    plain = make("cuda", (("sigmoid", 8, 0.0),))
    cpu = make("cpu", (("sigmoid", 8, 0.5),))
    for model in (plain, cpu):
        model.set_weights(dropped.get_weights())
    np.testing.assert_array_equal(dropped.predict(X, batch_size=4), plain.predict(X, batch_size=4))
    np.testing.assert_allclose(dropped.predict(X, batch_size=4), cpu.predict(X, batch_size=4), rtol=1e-12)
    assert dropped.evaluate(X, y, batch_size=4) == plain.evaluate(X, y, batch_size=4)
    value, gradient = dropped.value_and_grad(X, y, LOSS)
    plain_value, plain_gradient = plain.value_and_grad(X, y, LOSS)
    assert value == plain_value
    np.testing.assert_array_equal(gradient.copy_to_host(), plain_gradient.copy_to_host())


def test_launches_through_dropout_and_none_without_it():
    """A model without dropout launches what it launched before dropout existed; one with it adds a
    mask launch per dropout layer forward and splits the derivative off the next layer's backward
    kernel into one dropout-backward launch; its evaluation launches nothing of dropout."""
    from numbagrad.kernels.cuda.dense import backward_kernel
    from numbagrad.train.cuda_loop import _Evaluator, new_trainer

    X, y = data(10)
    Y = y.reshape(-1, 1).astype(np.float64)
    dropout_kernels = {dropout_mask, dropout_backward_kernel(A.tanh_forward_element, A.tanh_backward_element)}

    plain = make("cuda", (("tanh", 8, 0.0),))
    trainer = new_trainer(plain, X, Y, 4, 3)
    assert trainer.draws is None
    network = trainer.network
    before = (
        network.forward_launches(4, trainer.device_inputs, trainer.order, final_activation=not network.fused)
        + [network.loss_launch(4, trainer.device_targets, trainer.order, trainer.losses)]
        + network.backward_launches(4, trainer.device_inputs, trainer.order, 0.0, partials=True)
    )
    launched = trainer.launches(4)
    assert [launch.kernel for launch in launched[: len(before)]] == [launch.kernel for launch in before]
    assert not dropout_kernels & {launch.kernel for launch in launched}

    dropped = make("cuda", (("tanh", 8, 0.3),))
    trainer = new_trainer(dropped, X, Y, 4, 3)
    kernels = [launch.kernel for launch in trainer.launches(4)]
    assert kernels.count(dropout_mask) == 1 and len(kernels) == len(launched) + 2
    backward = kernels.index(dropout_backward_kernel(A.tanh_forward_element, A.tanh_backward_element))
    assert kernels[backward - 1] is backward_kernel(np.dtype(np.float64), trainer.network.tiles, None)
    evaluator = _Evaluator(dropped, X, Y, 4)
    assert not dropout_kernels & {launch.kernel for launches in evaluator.launches.values() for launch in launches}


# --- data parallel ---------------------------------------------------------------------------------

RANK = textwrap.dedent(
    """
    import sys
    import numpy as np
    import numbagrad as ng
    from numbagrad import distributed

    world = distributed.init(timeout=120)
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((22, 5)), rng.integers(0, 3, 22)
    model = ng.Sequential([ng.Dense(8, "tanh"), ng.Dropout(0.3), ng.Dense(3, "softmax")], input_dim=5, dtype="float64", seed=1,
                          device="cuda").compile("adam", "sparse_categorical_crossentropy")
    model.fit(X, y, batch_size=8, epochs=1, seed=3, verbose=0)
    np.save(f"{sys.argv[1]}/rank{world.rank}.npy", model.parameters.copy_to_host())
    """
)

#: Numba's CUDA simulator with the small launches of conftest.py, for the ranks' processes.
SIMULATED = {
    "NUMBA_ENABLE_CUDASIM": "1", "NUMBAGRAD_CUDA_THREADS_PER_BLOCK": "4", "NUMBAGRAD_CUDA_MAX_BLOCKS": "3",
    "NUMBAGRAD_CUDA_GEMM_TILE": "4", "NUMBAGRAD_CUDA_GEMM_TILE_K": "2", "NUMBAGRAD_CUDA_GEMM_THREAD_TILE": "2",
}


def test_two_ranks_drop_the_rows_of_one_process(tmp_path):
    """Each rank masks its half of a batch at the rows' places in the whole batch: 2 ranks of a GPU
    model (under the simulator, batches of 8 and a last one of 6) train the CPU model's weights."""
    pytest.importorskip("mpi4py")
    pytest.importorskip("numba_mpi")
    if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
        pytest.skip("the ranks run under the simulator, to compare with it")
    mpiexec = shutil.which("mpiexec", path=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    if mpiexec is None:
        pytest.skip("no mpiexec (pip install mpich)")
    script = tmp_path / "rank.py"
    script.write_text(RANK)
    env = dict(os.environ, **SIMULATED)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(ng.__file__).parents[1]), env.get("PYTHONPATH", "")])
    ran = subprocess.run([mpiexec, "-n", "2", sys.executable, str(script), str(tmp_path)], capture_output=True, text=True,
                         timeout=600, env=env)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    ranks = [np.load(tmp_path / f"rank{r}.npy") for r in range(2)]
    np.testing.assert_array_equal(ranks[0], ranks[1])
    X, y = data()
    cpu = ng.Sequential([ng.Dense(8, "tanh"), ng.Dropout(0.3), ng.Dense(3, "softmax")], input_dim=5, dtype="float64",
                        seed=1).compile("adam", LOSS)
    cpu.fit(X, y, batch_size=8, epochs=1, seed=3, verbose=0)
    np.testing.assert_allclose(ranks[0], cpu.parameters, rtol=0, atol=TOLERANCE * np.abs(cpu.parameters).max())
