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
    """The batch-32 epoch with an L2 penalty on both layers' weights, or with a sample weight per
    row, against the plain one: what regularization and weighting cost inside the compiled epoch."""

    params = [["plain", "l2", "weighted"]]
    param_names = ["variant"]
    timeout = 300

    def setup(self, variant):
        self.epoch = numbagrad_mlp_epoch(32, SAMPLES[32], variant=variant)

    def time_epoch(self, variant):
        self.epoch()
