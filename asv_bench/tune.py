"""Measure the tunables of numbagrad.config on this machine.

Usage::

    python asv_bench/tune.py threshold [--optimizer adam]

``threshold`` times one optimizer step at growing sizes on one thread and on
all of them, and prints the smallest size from which the threads win: the
value for ``NUMBAGRAD_PARALLEL_THRESHOLD``.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from benchmarks import workloads  # noqa: E402
from side_by_side import interleaved  # noqa: E402

from numbagrad import config  # noqa: E402


def threshold(arguments) -> None:
    default = config.PARALLEL_THRESHOLD
    sizes = [2**k for k in range(10, 21)]
    print("| parameters | one thread (us) | all threads (us) | threads win |")
    print("|---:|---:|---:|:---:|")
    crossover = None
    for size in sizes:
        step = workloads.numbagrad_optimizer_step(arguments.optimizer, size)
        chunk = max(1024, size // (2 * (os.cpu_count() or 1)))

        def serial():
            config.PARALLEL_THRESHOLD = 1 << 62
            step()

        def parallel():
            config.PARALLEL_THRESHOLD, config.CHUNK_SIZE = 1, chunk
            step()

        one, many = interleaved(serial, parallel, arguments.rounds, 0.05)
        wins = many < one
        if wins and crossover is None:
            crossover = size
        elif not wins:
            crossover = None
        print(f"| {size} | {one * 1e6:.1f} | {many * 1e6:.1f} | {'yes' if wins else 'no'} |", flush=True)
    print(f"\nthreads win from {crossover} parameters on (current setting: {default})")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser("threshold", help="serial/parallel crossover of an optimizer step")
    command.add_argument("--optimizer", default="adam", choices=sorted(workloads.OPTIMIZERS))
    command.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args(argv)
    threshold(arguments)
    return 0


if __name__ == "__main__":
    sys.exit(main())
