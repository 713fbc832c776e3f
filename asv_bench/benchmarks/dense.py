"""The dense layer's kernels: forward and backward at batch 1, 32 and 256, beside PyTorch.

Kernels are called directly with a ReLU kernel table, as the compiled
training loop calls them; PyTorch's ``F.linear`` + ``relu`` and its autograd
backward do the same work.
"""

from __future__ import annotations

import numpy as np

from numbagrad import activations
from numbagrad.kernels.cpu.dense import dense_backward, dense_forward

LAYERS = ["784-256", "256-10"]
BATCHES = [1, 32, 256]


def _layer(shape: str, batch: int):
    fan_in, units = (int(n) for n in shape.split("-"))
    rng = np.random.default_rng(0)
    x = rng.random((batch, fan_in), dtype=np.float32)
    weight = (rng.standard_normal((fan_in, units)) * 0.05).astype(np.float32)
    bias = np.zeros(units, np.float32)
    return x, weight, bias


class _Layer:
    params = (LAYERS, BATCHES)
    param_names = ["layer", "batch"]

    def setup(self, shape, batch):
        self.x, self.weight, self.bias = _layer(shape, batch)
        self.z = np.empty((batch, self.weight.shape[1]), np.float32)
        self.out = np.empty_like(self.z)
        relu = activations.get("relu")
        self.table = relu.spec.kernel_table(np.float32)
        self.params_ = relu.params
        dense_forward(self.x, self.weight, self.bias, self.z, self.out, self.table, self.params_)


class DenseForward(_Layer):
    """``relu(x @ W + b)`` by numbagrad's fused kernel."""

    def time_forward(self, shape, batch):
        dense_forward(self.x, self.weight, self.bias, self.z, self.out, self.table, self.params_)


class DenseBackward(_Layer):
    """dX, dW and db from dY through the ReLU, by numbagrad's fused kernel."""

    def setup(self, shape, batch):
        super().setup(shape, batch)
        self.grad_out = np.ones_like(self.z)
        self.grad_weight = np.empty_like(self.weight)
        self.grad_bias = np.empty_like(self.bias)
        self.grad_x = np.empty_like(self.x)
        self.time_backward(shape, batch)

    def time_backward(self, shape, batch):
        dense_backward(
            self.x, self.weight, self.z, self.out, self.grad_out, self.grad_weight, self.grad_bias,
            self.grad_x, self.table, self.params_, False,
        )


class TorchDense:
    """PyTorch's ``relu(F.linear(x))`` forward, and forward plus backward."""

    params = (LAYERS, BATCHES)
    param_names = ["layer", "batch"]

    def setup(self, shape, batch):
        try:
            import torch
        except ImportError:
            raise NotImplementedError("PyTorch is not installed") from None
        x, weight, bias = _layer(shape, batch)
        self.torch = torch
        self.x = torch.from_numpy(x).requires_grad_(True)
        self.weight = torch.from_numpy(weight.T.copy()).requires_grad_(True)
        self.bias = torch.from_numpy(bias).requires_grad_(True)
        self.grad = torch.ones(batch, weight.shape[1])
        self.time_forward(shape, batch)
        self.time_forward_backward(shape, batch)

    def time_forward(self, shape, batch):
        with self.torch.no_grad():
            self.torch.relu(self.torch.nn.functional.linear(self.x, self.weight, self.bias))

    def time_forward_backward(self, shape, batch):
        out = self.torch.relu(self.torch.nn.functional.linear(self.x, self.weight, self.bias))
        out.backward(self.grad)
