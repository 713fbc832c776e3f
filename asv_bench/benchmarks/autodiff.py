"""The autodiff engine's overhead: each primitive's forward and backward beside the bare NumPy expression."""

from __future__ import annotations

import numpy as np

import numbagrad.autodiff as ad

SIZE = (32, 64)

PRIMITIVES = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "matmul": (lambda a, b: a @ b.T, lambda a, b: a @ b.T),
    "exp": (lambda a, b: ad.exp(a), lambda a, b: np.exp(a)),
    "tanh": (lambda a, b: ad.tanh(a), lambda a, b: np.tanh(a)),
    "sum": (lambda a, b: ad.sum(a), lambda a, b: np.sum(a)),
    "softmax": (lambda a, b: ad.softmax(a), lambda a, b: np.exp(a) / np.exp(a).sum(axis=1, keepdims=True)),
}


class Primitive:
    """Forward alone, forward plus backward through ``sum``, and the NumPy expression."""

    params = [list(PRIMITIVES)]
    param_names = ["primitive"]

    def setup(self, name):
        rng = np.random.default_rng(0)
        self.a_array = rng.standard_normal(SIZE)
        self.b_array = rng.standard_normal(SIZE)
        self.tensor_op, self.numpy_op = PRIMITIVES[name]
        self.time_backward(name)

    def time_numpy(self, name):
        self.numpy_op(self.a_array, self.b_array)

    def time_forward(self, name):
        self.tensor_op(ad.Tensor(self.a_array), ad.Tensor(self.b_array))

    def time_backward(self, name):
        a = ad.Tensor(self.a_array, requires_grad=True)
        b = ad.Tensor(self.b_array, requires_grad=True)
        ad.sum(self.tensor_op(a, b)).backward()


class DenseLayer:
    """``ad.dense`` (the Numba kernels) forward and backward at batch 32, 784-256, ReLU."""

    def setup(self):
        rng = np.random.default_rng(0)
        self.x = rng.random((32, 784))
        self.W = rng.standard_normal((784, 256)) * 0.05
        self.b = np.zeros(256)
        self.time_forward_backward()

    def time_forward_backward(self):
        W = ad.Tensor(self.W, requires_grad=True)
        b = ad.Tensor(self.b, requires_grad=True)
        ad.sum(ad.dense(self.x, W, b, activation="relu")).backward()
