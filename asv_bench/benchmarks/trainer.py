"""Training: one epoch of the 784-256-10 MLP (Adam, softmax cross-entropy, float32)
at batch 1, 32 and 256, with PyTorch eager and a JAX ``lax.scan`` epoch beside it.

Samples per epoch are chosen so that one epoch stays well under a second;
compare samples/s with ``python asv_bench/side_by_side.py mlp``.
"""

from __future__ import annotations

import shutil
import tempfile

from .workloads import jax_mlp_epoch, numbagrad_mlp_epoch, torch_mlp_epoch

BATCHES = [1, 32, 256]
SAMPLES = {1: 256, 32: 4096, 256: 8192}


class Epoch:
    """numbagrad's ``fit`` for one epoch (compiled, no validation, silent)."""

    params = [BATCHES]
    param_names = ["batch"]
    timeout = 300

    def setup(self, batch):
        self.epoch = numbagrad_mlp_epoch(batch, SAMPLES[batch])

    def time_epoch(self, batch):
        self.epoch()


class TorchEpoch(Epoch):
    """The same epoch as a PyTorch eager loop."""

    def setup(self, batch):
        self.epoch = torch_mlp_epoch(batch, SAMPLES[batch])


class JaxEpoch(Epoch):
    """The same epoch compiled by JAX (``jax.lax.scan`` over the batches)."""

    def setup(self, batch):
        self.epoch = jax_mlp_epoch(batch, SAMPLES[batch])


class LargeData:
    """The batch-32 epoch with the inputs memory-mapped from a file, or given as chunks of
    1024 rows (``ArrayChunks``), against the same epoch from an array in memory: what reading
    data larger than memory costs when it is in the page cache."""

    params = [["array", "memmap", "chunks"]]
    param_names = ["source"]
    timeout = 300

    def setup(self, source):
        self.folder = tempfile.mkdtemp(prefix="numbagrad-asv-")
        self.epoch = numbagrad_mlp_epoch(32, SAMPLES[32], source, self.folder)

    def teardown(self, source):
        shutil.rmtree(self.folder, ignore_errors=True)

    def time_epoch(self, source):
        self.epoch()


class Generalization:
    """The batch-32 epoch with an L2 penalty on both layers' weights, with a sample weight per
    row, with dropout 0.5 after the hidden layer, or with the hidden layer's batch or layer
    normalization, against the plain one: what regularization, weighting, dropout and
    normalization cost inside the compiled epoch (the target: at most 15% for dropout and
    normalization)."""

    params = [["plain", "l2", "weighted", "dropout", "batch_norm", "layer_norm"]]
    param_names = ["variant"]
    timeout = 300

    def setup(self, variant):
        self.epoch = numbagrad_mlp_epoch(32, SAMPLES[32], variant=variant)

    def time_epoch(self, variant):
        self.epoch()


def _interleaved_median_ratio(peer, ours, rounds: int = 5) -> float:
    """``median(peer time) / median(numbagrad time)`` over ``rounds`` alternating runs of each, so
    that a machine busy for a moment slows both alike: above 1, numbagrad is faster."""
    import time

    peer()
    ours()
    peer_times, our_times = [], []
    for _ in range(rounds):
        for run, times in ((peer, peer_times), (ours, our_times)):
            began = time.perf_counter()
            run()
            times.append(time.perf_counter() - began)
    peer_times.sort()
    our_times.sort()
    return peer_times[rounds // 2] / our_times[rounds // 2]


class EpochSpeedup:
    """The epochs of :class:`Epoch` against the peers' in the same process, as speed-ups (the
    peer's time over numbagrad's): the ratios the published history tracks. Skipped when the peer
    is not installed (asv.conf.json's environment installs CPU builds of PyTorch and JAX)."""

    params = [BATCHES, ["pytorch", "jax"]]
    param_names = ["batch", "peer"]
    timeout = 600
    number = 1
    repeat = 1

    def setup(self, batch, peer):
        make = torch_mlp_epoch if peer == "pytorch" else jax_mlp_epoch
        self.peer = make(batch, SAMPLES[batch])
        self.ours = numbagrad_mlp_epoch(batch, SAMPLES[batch])

    def track_speedup(self, batch, peer):
        return _interleaved_median_ratio(self.peer, self.ours)

    track_speedup.unit = "peer's time / numbagrad's"


class BusyMachine:
    """A 3-epoch fit of a 50-256-128-2 network on 50,000 rows (batch 32, Adam, float32) while one
    other process per core keeps every core busy, as a multiple of the same fit on the quiet
    machine: with ``fit``'s choice of threads (the goal: at most 3; a fair share of the cores is
    2), and on every thread of the pool, the count that collapses."""

    params = [["fit's choice", "every thread"]]
    param_names = ["threads"]
    timeout = 600
    number = 1
    repeat = 1

    def setup(self, threads):
        from .workloads import busy_machine_fit

        self.fit = busy_machine_fit(None if threads == "fit's choice" else "all")

    def track_slowdown(self, threads):
        from .workloads import keep_cores_busy

        quiet = min(self.fit() for _ in range(2))
        with keep_cores_busy():
            loaded = sorted(self.fit() for _ in range(3))[1]
        return loaded / quiet

    track_slowdown.unit = "loaded time / quiet time"


class TorchAfterFit:
    """A PyTorch eager epoch of the MLP (batch 32) run after a numbagrad ``fit`` in the same
    process, as a multiple of the same epoch before it (the goal: within 1.1): numbagrad's
    threads, its BLAS limit and its floating-point flags must be left as they were found."""

    timeout = 300
    number = 1
    repeat = 1

    def setup(self):
        self.peer = torch_mlp_epoch(32, SAMPLES[32])  # raises NotImplementedError without PyTorch
        self.ours = numbagrad_mlp_epoch(32, SAMPLES[32])

    def track_slowdown(self):
        import time

        def best(run) -> float:
            times = []
            for _ in range(3):
                began = time.perf_counter()
                run()
                times.append(time.perf_counter() - began)
            return min(times)

        before = best(self.peer)
        self.ours()
        return best(self.peer) / before

    track_slowdown.unit = "time after / time before"
