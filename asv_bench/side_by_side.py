"""Print numbagrad beside its peers, as the ratio tables in the README and docs.

Usage::

    python asv_bench/side_by_side.py optimizers [--sizes 1e4,1e6,1e7] [--rounds 7]
    python asv_bench/side_by_side.py tensorwise [--shape 1024x1024]
    python asv_bench/side_by_side.py mlp [--batches 1,32,256]
    python asv_bench/side_by_side.py forward-backward [--batches 1,32,256]

Each row times numbagrad and its peers in the same process, interleaved
round by round so that a noisy neighbour slows them alike, and reports the
median of each and their ratio (> 1: numbagrad is faster). Peers that are not
installed are left out.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from benchmarks import workloads  # noqa: E402


def machine() -> str:
    """One line describing the machine and the library versions."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import numba
    import numpy

    import numbagrad

    versions = [f"numbagrad {numbagrad.__version__}", f"numba {numba.__version__}", f"numpy {numpy.__version__}"]
    for peer in ("torch", "jax"):
        try:
            module = __import__(peer)
            versions.append(f"{peer} {module.__version__}")
        except ImportError:
            pass
    import scipy.linalg.cython_blas  # noqa: F401  (SciPy's OpenBLAS, which numbagrad's products call)

    from numbagrad.threads import openblas_cores

    # The products' speed depends on the kernels OpenBLAS chose (OPENBLAS_CORETYPE overrides them).
    kernels = sorted(set(openblas_cores().values()))
    if kernels:
        versions.append(f"OpenBLAS kernels {'/'.join(kernels)}")
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}; " + ", ".join(versions)


def _time(step, seconds: float) -> float:
    """Median seconds per call of ``step`` over about ``seconds`` of calls."""
    samples = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(samples) < 3:
        start = time.perf_counter()
        step()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def rotation(steps, rounds: int, seconds: float) -> list[float]:
    """Each of ``steps``' median seconds per call over ``rounds`` rounds that time every step in turn."""
    times = [[] for _ in steps]
    for _ in range(rounds):
        for step, samples in zip(steps, times):
            samples.append(_time(step, seconds))
    return [statistics.median(samples) for samples in times]


def interleaved(ours, theirs, rounds: int, seconds: float) -> tuple[float, float]:
    """Medians over ``rounds`` alternating rounds of each."""
    mine, peer = rotation([ours, theirs], rounds, seconds)
    return mine, peer


def _milliseconds(seconds: float) -> str:
    return f"{seconds * 1e3:.3f}"


def optimizers(arguments) -> list[str]:
    sizes = [int(float(s)) for s in arguments.sizes.split(",")]
    rows = [
        "| optimizer | parameters | numbagrad (ms) | PyTorch path | PyTorch (ms) | speed-up |",
        "|---|---:|---:|---|---:|---:|",
    ]
    for key in workloads.OPTIMIZERS:
        for size in sizes:
            ours = workloads.numbagrad_optimizer_step(key, size)
            try:
                theirs = workloads.torch_optimizer_step(key, size)
            except NotImplementedError:
                rows.append(f"| {key} | {size:.0e} | {_milliseconds(_time(ours, arguments.seconds))} | - | - | - |")
                continue
            mine, peer = interleaved(ours, theirs, arguments.rounds, arguments.seconds)
            rows.append(
                f"| {key} | {size:.0e} | {_milliseconds(mine)} | {workloads.TORCH_FASTEST[key]} | "
                f"{_milliseconds(peer)} | {peer / mine:.2f}x |"
            )
            print(rows[-1], file=sys.stderr, flush=True)
    return rows


def tensorwise(arguments) -> list[str]:
    """One step of each tensor-wise optimizer on one float32 matrix, against torch.optim."""
    rows_, columns = (int(n) for n in arguments.shape.lower().split("x"))
    rows = [
        "| optimizer | matrix | numbagrad (ms) | PyTorch (ms) | speed-up |",
        "|---|---|---:|---:|---:|",
    ]
    for key in workloads.TENSORWISE:
        ours = workloads.tensor_optimizer_step("numbagrad", key, rows_, columns)
        try:
            theirs = workloads.tensor_optimizer_step("torch", key, rows_, columns)
        except NotImplementedError:
            rows.append(f"| {key} | {arguments.shape} | {_milliseconds(_time(ours, arguments.seconds))} | - | - |")
            continue
        mine, peer = interleaved(ours, theirs, arguments.rounds, arguments.seconds)
        rows.append(f"| {key} | {arguments.shape} | {_milliseconds(mine)} | {_milliseconds(peer)} | {peer / mine:.2f}x |")
        print(rows[-1], file=sys.stderr, flush=True)
    return rows


def mlp(arguments) -> list[str]:
    """Training throughput of the 784-256-10 MLP (Adam, softmax cross-entropy, float32)."""
    rows = [
        "| batch | samples | numbagrad (samples/s) | PyTorch eager | ratio | JAX scan | ratio |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for batch in [int(b) for b in arguments.batches.split(",")]:
        samples = max(batch * 16, min(32768, batch * 1024))
        ours = workloads.numbagrad_mlp_epoch(batch, samples)
        peers = []
        for builder in (workloads.torch_mlp_epoch, workloads.jax_mlp_epoch):
            try:
                peers.append(builder(batch, samples))
            except NotImplementedError:
                peers.append(None)
        # One rotation through numbagrad and every peer, so that numbagrad's figure is the one
        # both ratios divide by (a figure of its own beside each peer let a slow spell of the
        # machine during one pairing show a row whose numbers disagree with its ratios).
        own, *times = rotation([ours, *(peer for peer in peers if peer is not None)], arguments.rounds, arguments.seconds)
        cells = []
        for peer in peers:
            if peer is None:
                cells.append(("-", "-"))
                continue
            theirs = times.pop(0)
            cells.append((f"{samples / theirs:,.0f}", f"{theirs / own:.2f}x"))
        rows.append(f"| {batch} | {samples} | {samples / own:,.0f} | {cells[0][0]} | {cells[0][1]} | {cells[1][0]} | {cells[1][1]} |")
        print(rows[-1], file=sys.stderr, flush=True)
    return rows


def forward_backward(arguments) -> list[str]:
    """Forward plus backward pass of the 784-256-10 MLP on one batch."""
    rows = [
        "| batch | numbagrad (us) | PyTorch eager (us) | speed-up |",
        "|---:|---:|---:|---:|",
    ]
    for batch in [int(b) for b in arguments.batches.split(",")]:
        ours = workloads.numbagrad_forward_backward(batch)
        try:
            theirs = workloads.torch_forward_backward(batch)
        except NotImplementedError:
            rows.append(f"| {batch} | {_time(ours, arguments.seconds) * 1e6:.1f} | - | - |")
            continue
        mine, peer = interleaved(ours, theirs, arguments.rounds, arguments.seconds)
        rows.append(f"| {batch} | {mine * 1e6:.1f} | {peer * 1e6:.1f} | {peer / mine:.2f}x |")
        print(rows[-1], file=sys.stderr, flush=True)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser("optimizers", help="optimizer steps against torch.optim")
    command.add_argument("--sizes", default="1e4,1e6,1e7")
    command.add_argument("--rounds", type=int, default=7)
    command.add_argument("--seconds", type=float, default=0.2, help="seconds of calls per round")
    command.add_argument("--threads", type=int, default=None, help="threads for both sides (default: all cores)")
    command = commands.add_parser("tensorwise", help="tensor-wise optimizer steps (Adafactor, Muon) against torch.optim")
    command.add_argument("--shape", default="1024x1024")
    command.add_argument("--rounds", type=int, default=5)
    command.add_argument("--seconds", type=float, default=0.5)
    command.add_argument("--threads", type=int, default=None)
    command = commands.add_parser("mlp", help="MLP training throughput against PyTorch eager and a JAX scan epoch")
    command.add_argument("--batches", default="1,32,256")
    command.add_argument("--rounds", type=int, default=5)
    command.add_argument("--seconds", type=float, default=1.0, help="seconds of epochs per round")
    command.add_argument("--threads", type=int, default=None)
    command = commands.add_parser("forward-backward", help="one batch's forward and backward pass against PyTorch eager")
    command.add_argument("--batches", default="1,32,256")
    command.add_argument("--rounds", type=int, default=7)
    command.add_argument("--seconds", type=float, default=0.2)
    command.add_argument("--threads", type=int, default=None)
    arguments = parser.parse_args(argv)
    if arguments.threads:
        import numba

        numba.set_num_threads(arguments.threads)
        try:
            import torch

            torch.set_num_threads(arguments.threads)
        except ImportError:
            pass
    rows = {"optimizers": optimizers, "tensorwise": tensorwise, "mlp": mlp, "forward-backward": forward_backward}[arguments.command](arguments)
    print(f"Measured on: {machine()}")
    print()
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
