"""Every built-in activation against ``torch.nn.functional``, forward and backward, kinks included."""

from __future__ import annotations

import numpy as np
import pytest
from test_activations import CASES, cases, inputs

from numbagrad import activations

torch = pytest.importorskip("torch")
F = torch.nn.functional

pytestmark = pytest.mark.torch

TORCH = {
    "linear": lambda x: x * 1,
    "relu": lambda x: F.relu(x),
    "leaky_relu": lambda x, alpha: F.leaky_relu(x, negative_slope=alpha),
    "elu": lambda x, alpha: F.elu(x, alpha=alpha),
    "selu": lambda x: F.selu(x),
    "gelu": lambda x, approximate: F.gelu(x, approximate="tanh" if approximate else "none"),
    "sigmoid": lambda x: torch.sigmoid(x),
    "tanh": lambda x: torch.tanh(x),
    "softplus": lambda x, beta, threshold: F.softplus(x, beta=beta, threshold=threshold),
    "silu": lambda x: F.silu(x),
    "softmax": lambda x: F.softmax(x, dim=1),
}


def test_every_builtin_has_a_torch_twin():
    assert set(TORCH) == set(CASES)


@pytest.mark.parametrize("dtype, rtol, atol", [(np.float64, 1e-12, 1e-14), (np.float32, 2e-6, 1e-6)])
@pytest.mark.parametrize("name, options", list(cases()))
def test_matches_torch(name, options, dtype, rtol, atol):
    activation = activations.get(name, **options)
    z = inputs((7, 65), dtype, seed=5)
    z[0, :5] = 0.0  # every kink sits at 0
    g = np.random.default_rng(6).standard_normal(z.shape).astype(dtype)
    x = torch.tensor(z, requires_grad=True)
    y = TORCH[name](x, **activation.hyperparameters)
    y.backward(torch.tensor(g))
    out = activation.forward(z)
    np.testing.assert_allclose(out, y.detach().numpy(), rtol=rtol, atol=atol)
    np.testing.assert_allclose(activation.backward(z, out, g), x.grad.numpy(), rtol=rtol, atol=atol)
