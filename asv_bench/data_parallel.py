"""Data-parallel training measured on this machine: ``mpiexec -n R python asv_bench/data_parallel.py``
(R ranks, each with its share of the cores) against ``python asv_bench/data_parallel.py`` (one process,
every core), on the MLP 784-256-10 (203,530 parameters) with Adam.

Prints, on rank 0: the time of one all-reduce of the gradient buffer (the per-step cost the ranks
add), and the training speed at batch 32 and 256, each the median of ``--repeat`` fits of
``--rows`` random rows. ``--json FILE`` writes the figures too.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=16384)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batches", default="32,256")
    parser.add_argument("--json", default=None)
    arguments = parser.parse_args()

    import numbagrad as ng
    from numbagrad import distributed
    from numbagrad.kernels.cpu.training import SHARE_REDUCER

    world = distributed.init() if distributed.launched_ranks() > 1 else None
    lead = world is None or world.rank == 0
    rng = np.random.default_rng(0)
    X = rng.normal(size=(arguments.rows, 784)).astype(np.float32)
    y = rng.integers(0, 10, size=arguments.rows)
    model = ng.nn.Sequential([ng.nn.Dense(256, activation="relu"), ng.nn.Dense(10, activation="softmax")], input_dim=784, seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    figures = {"ranks": 1 if world is None else world.size, "parameters": int(model.parameters.size)}
    import numba

    figures["threads per rank"] = numba.get_num_threads()

    if world is not None:
        from numbagrad.kernels.pointers import call_reducer  # noqa: F401  (the loop's own call)
        from numbagrad.train.data_parallel import DataParallel

        parallel = DataParallel(world, sharded=False)
        reducer = parallel.share()[SHARE_REDUCER]
        import ctypes

        call = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64, ctypes.c_double)(int(reducer))
        exchange = parallel.exchange(model.parameters.size)
        exchange[0] = 1.0
        count = exchange.shape[1]
        for _ in range(20):
            call(exchange[0].ctypes.data, exchange[1].ctypes.data, count, 60.0)
        times = []
        for _ in range(200):
            began = time.perf_counter()
            call(exchange[0].ctypes.data, exchange[1].ctypes.data, count, 60.0)
            times.append(time.perf_counter() - began)
        figures["all-reduce ms"] = float(np.median(times) * 1e3)

    model.fit(X[:512], y[:512], batch_size=32, epochs=1, verbose=0)  # compiled or loaded
    for batch in map(int, arguments.batches.split(",")):
        runs = []
        for _ in range(arguments.repeat):
            began = time.perf_counter()
            model.fit(X, y, batch_size=batch, epochs=1, verbose=0)
            runs.append(time.perf_counter() - began)
        figures[f"batch {batch} samples/s"] = float(arguments.rows / np.median(runs))
    if lead:
        print(json.dumps(figures))
        if arguments.json:
            with open(arguments.json, "w") as file:
                json.dump(figures, file)


if __name__ == "__main__":
    main()
