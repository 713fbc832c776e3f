"""Everything numbagrad checks on a real GPU, in one run: the CUDA tests, then the GPU benchmark figures.

Usage (on a machine with an NVIDIA GPU, numba-cuda and the CUDA toolkit;
PyTorch with CUDA, or CuPy, for the reference figures)::

    python asv_bench/gpu_suite.py                      # every section
    python asv_bench/gpu_suite.py --sections optimizers --size 1e7
    python asv_bench/gpu_suite.py --sections dense,training --batch-sizes 32

Sections: ``tests`` (the CUDA tests, gpu-marked ones included), ``optimizers``
(each optimizer's step over 1e8 parameters against copy bandwidth; target
80%), ``dense`` (a 4096-wide layer's forward and backward pass against the
reference float32 matrix product; target 50%), ``training`` (epochs of the
784-256-10 MLP at batch 32, 256 and 4096 against PyTorch eager; target 2x at
batch 32).

Sections run in order; each prints its own report. Exit status: 0 when every
section passed, 1 when one failed (a test, an error, no GPU), 2 when all
ran but a performance target was missed. The CUDA launch tunables apply as
everywhere (``NUMBAGRAD_CUDA_THREADS_PER_BLOCK``, ``NUMBAGRAD_CUDA_MAX_BLOCKS``).

To add a section, write ``def section_<name>(arguments) -> Section`` and add it
to :data:`SECTIONS`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)


@dataclass
class Section:
    """What a section found: ``passed`` is false on a failure; ``missed`` lists performance targets not met."""

    passed: bool
    lines: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)


def describe_machine() -> list[str]:
    """The GPU, the driver and the libraries, or why there is no GPU."""
    import numba
    import numpy

    import numbagrad
    from numbagrad import config
    from numbagrad.device import cuda_status

    status = cuda_status()
    lines = [
        f"numbagrad {numbagrad.__version__}, numba {numba.__version__}, numpy {numpy.__version__}, Python {sys.version.split()[0]}",
        f"launch: {config.CUDA_THREADS_PER_BLOCK} threads per block, at most {config.CUDA_MAX_BLOCKS} blocks; "
        f"dense tiles {config.CUDA_GEMM_TILE} x {config.CUDA_GEMM_TILE_K} x {config.CUDA_GEMM_THREAD_TILE} (tile x k x thread); "
        f"prepared launches {'on' if config.CUDA_PREPARED_LAUNCHES else 'off'}",
    ]
    if not status.gpu:
        lines.append(f"GPU: none ({status.reason or 'the CUDA simulator is enabled'})")
        return lines
    from numba import cuda

    lines.append(f"GPU: {status.device}, numba.cuda {getattr(cuda, 'implementation', 'NVIDIA numba-cuda')}")
    try:
        lines.append(f"CUDA driver {cuda.cudadrv.driver.driver.get_version()}, runtime {cuda.runtime.get_version()}")
    except Exception as error:  # versions are informative only
        lines.append(f"CUDA versions unknown: {error}")
    return lines


def section_tests(arguments) -> Section:
    """``pytest tests/cuda`` on the GPU, in a child process without the simulator."""
    environment = dict(os.environ, NUMBAGRAD_TEST_CUDA="1")
    environment.pop("NUMBA_ENABLE_CUDASIM", None)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", os.path.join("tests", "cuda")]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True)
    output = (result.stdout + result.stderr).rstrip().splitlines()
    lines = [f"$ {' '.join(command)}  ({time.perf_counter() - started:.0f} s)"] + output[-40:]
    # Skipped GPU tests on a GPU mean the suite did not see the GPU: a failure too.
    skipped_gpu = any("needs a real GPU" in line or "CUDA unusable" in line for line in output)
    if skipped_gpu:
        lines.append("FAILED: tests were skipped for want of a GPU")
    return Section(result.returncode == 0 and not skipped_gpu, lines)


def section_optimizers(arguments) -> Section:
    """Every optimizer's step over ``--size`` float32 device parameters, in GB/s and against copy bandwidth."""
    from benchmarks.cuda_workloads import TARGET_FRACTION_OF_COPY, copy_bandwidth, optimizer_bandwidth
    from benchmarks.workloads import OPTIMIZERS

    size = int(float(arguments.size))
    copy = copy_bandwidth(size * 4, arguments.repeats)
    lines = [
        f"device-to-device copy of {size * 4 / 1e9:.1f} GB: {copy:.0f} GB/s (read + write)",
        "",
        "| optimizer | parameters | ms per step | GB/s | of copy bandwidth | target |",
        "|---|---:|---:|---:|---:|---|",
    ]
    missed = []
    for key in OPTIMIZERS:
        bandwidth, seconds = optimizer_bandwidth(key, size, arguments.repeats)
        fraction = bandwidth / copy
        met = fraction >= TARGET_FRACTION_OF_COPY
        if not met:
            missed.append(f"{key}: {fraction:.2f} of copy bandwidth < {TARGET_FRACTION_OF_COPY}")
        lines.append(
            f"| {key} | {size:.0e} | {seconds * 1e3:.3f} | {bandwidth:.0f} | {fraction:.2f} | {'met' if met else 'MISSED'} |"
        )
        print(lines[-1], file=sys.stderr, flush=True)
    return Section(True, lines, missed)


def _tile_settings(text: str) -> list[tuple[int, int, int]]:
    """``"64x16x4,128x8x8"`` -> [(tile, tile_k, thread_tile), ...]."""
    settings = []
    for item in text.split(","):
        if item.strip():
            tile, tile_k, thread_tile = (int(part) for part in item.strip().lower().split("x"))
            settings.append((tile, tile_k, thread_tile))
    return settings


def section_dense(arguments) -> Section:
    """A dense layer's forward and backward pass, ``--width`` square at batch ``--batch``, in GFLOP/s
    and as a share of PyTorch's (or CuPy's) float32 matrix product on the same GPU, with the default
    tiles (whose figures the target judges) and each of ``--tiles`` (for tuning)."""
    from benchmarks.cuda_workloads import PRODUCTS, TARGET_FRACTION_OF_MATMUL, dense_pass, gflops, reference_matmul

    from numbagrad import config

    width, batch = int(arguments.width), int(arguments.batch)
    try:
        reference, reference_flops, reference_name = reference_matmul(width, batch)
        reference_rate = gflops(reference, reference_flops, arguments.repeats)
        lines = [f"reference: {reference_name}, float32 x @ W ({batch} x {width} by {width} x {width}): {reference_rate:.0f} GFLOP/s"]
    except NotImplementedError as reason:
        reference_rate = None
        lines = [f"reference: none ({reason}); GFLOP/s only"]
    lines += [
        "",
        "| tiles (tile x k x thread) | pass | products | width | batch | ms | GFLOP/s | of the reference | target |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    default = (config.CUDA_GEMM_TILE, config.CUDA_GEMM_TILE_K, config.CUDA_GEMM_THREAD_TILE)
    settings = [default] + [t for t in _tile_settings(arguments.tiles) if t != default]
    missed = []
    try:
        for setting in settings:
            config.CUDA_GEMM_TILE, config.CUDA_GEMM_TILE_K, config.CUDA_GEMM_THREAD_TILE = setting
            label = "x".join(map(str, setting)) + (" (default)" if setting == default else "")
            for which in ("forward", "backward"):
                try:
                    call, flops = dense_pass(which, width, batch)
                except ValueError as reason:  # a tile setting the checks refuse
                    lines.append(f"| {label} | {which} | refused: {reason} |")
                    continue
                rate = gflops(call, flops, arguments.repeats)
                milliseconds = flops / rate / 1e6
                if reference_rate is None:
                    fraction, verdict = "n/a", "not measured"
                else:
                    share = rate / reference_rate
                    fraction = f"{share:.2f}"
                    verdict = ("met" if share >= TARGET_FRACTION_OF_MATMUL else "MISSED") if setting == default else "-"
                    if setting == default and share < TARGET_FRACTION_OF_MATMUL:
                        missed.append(f"dense {which}: {share:.2f} of the reference matmul < {TARGET_FRACTION_OF_MATMUL}")
                lines.append(
                    f"| {label} | {which} | {PRODUCTS[which]} | {width} | {batch} | {milliseconds:.3f} | {rate:.0f} | {fraction} | {verdict} |"
                )
                print(lines[-1], file=sys.stderr, flush=True)
    finally:
        config.CUDA_GEMM_TILE, config.CUDA_GEMM_TILE_K, config.CUDA_GEMM_THREAD_TILE = default
    return Section(True, lines, missed)


def section_training(arguments) -> Section:
    """One epoch of the 784-256-10 MLP (Adam, float32) on the GPU at each ``--batch-sizes``, in samples
    per second, against the same loop in PyTorch eager on the same GPU."""
    from benchmarks.cuda_workloads import TARGET_SPEEDUP, numbagrad_gpu_mlp_epoch, seconds_per_epoch, torch_gpu_mlp_epoch

    samples = int(float(arguments.samples))
    sizes = [int(size) for size in arguments.batch_sizes.split(",") if size.strip()]
    lines = [
        f"{samples} samples per epoch; best of 3 epochs each, wall clock",
        "",
        "| batch | numbagrad samples/s | PyTorch eager samples/s | speed-up | target |",
        "|---:|---:|---:|---:|---|",
    ]
    missed = []
    for size in sizes:
        ours = samples / seconds_per_epoch(numbagrad_gpu_mlp_epoch(size, samples))
        try:
            theirs = samples / seconds_per_epoch(torch_gpu_mlp_epoch(size, samples))
        except NotImplementedError as reason:
            lines.append(f"| {size} | {ours:.0f} | n/a ({reason}) | n/a | not measured |")
            continue
        speedup = ours / theirs
        target = TARGET_SPEEDUP.get(size)
        verdict = "-" if target is None else ("met" if speedup >= target else "MISSED")
        if target is not None and speedup < target:
            missed.append(f"training at batch {size}: {speedup:.2f}x PyTorch eager < {target}x")
        target_text = "" if target is None else f" (>= {target}x)"
        lines.append(f"| {size} | {ours:.0f} | {theirs:.0f} | {speedup:.2f} | {verdict}{target_text} |")
        print(lines[-1], file=sys.stderr, flush=True)
    return Section(True, lines, missed)


#: The sections, in the order they run.
SECTIONS = {"tests": section_tests, "optimizers": section_optimizers, "dense": section_dense, "training": section_training}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated, from: {', '.join(SECTIONS)}")
    parser.add_argument("--size", default="1e8", help="parameters of the optimizer benchmarks (default 1e8)")
    parser.add_argument("--repeats", type=int, default=20, help="timed calls per figure (default 20)")
    parser.add_argument("--width", default="4096", help="inputs and units of the dense benchmarks (default 4096)")
    parser.add_argument("--batch", default="4096", help="rows of the dense benchmarks' batch (default 4096)")
    parser.add_argument(
        "--tiles", default="64x16x4,128x8x8,128x16x8,64x8x4",
        help="tile settings (tile x k x thread) the dense section also measures, besides the default",
    )
    parser.add_argument("--samples", default="65536", help="samples per epoch of the training benchmarks (default 65536)")
    parser.add_argument("--batch-sizes", default="32,256,4096", help="batch sizes of the training benchmarks (default 32,256,4096)")
    arguments = parser.parse_args(argv)
    chosen = [name.strip() for name in arguments.sections.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in SECTIONS]
    if unknown:
        parser.error(f"unknown sections {unknown}; choose from {', '.join(SECTIONS)}")

    from numbagrad.device import cuda_status

    print("== machine ==")
    print("\n".join(describe_machine()))
    if not cuda_status().gpu:
        print("\nFAILED: the GPU suite needs a real GPU")
        return 1

    results = {}
    for name in chosen:
        print(f"\n== {name} ==", flush=True)
        try:
            result = SECTIONS[name](arguments)
        except Exception:
            result = Section(False, ["FAILED with an exception:", traceback.format_exc().rstrip()])
        results[name] = result
        print("\n".join(result.lines), flush=True)

    print("\n== summary ==")
    for name, result in results.items():
        verdict = "passed" if result.passed else "FAILED"
        if result.passed and result.missed:
            verdict = "passed, targets missed: " + "; ".join(result.missed)
        print(f"{name}: {verdict}")
    if not all(r.passed for r in results.values()):
        return 1
    return 2 if any(r.missed for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
