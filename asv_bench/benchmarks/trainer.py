"""Training: one epoch of the 784-256-10 MLP (Adam, softmax cross-entropy, float32)
at batch 1, 32 and 256, with PyTorch eager and a JAX ``lax.scan`` epoch beside it.

Samples per epoch are chosen so that one epoch stays well under a second;
compare samples/s with ``python asv_bench/side_by_side.py mlp``.
"""

from __future__ import annotations

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
