"""The same expressions in numbagrad.autodiff and in PyTorch: values and gradients agree."""

from __future__ import annotations

import numpy as np
import pytest

import numbagrad.autodiff as ad

torch = pytest.importorskip("torch")
F = torch.nn.functional

pytestmark = pytest.mark.torch


def test_expression_matches_torch():
    rng = np.random.default_rng(0)
    a_data, b_data = rng.standard_normal((3, 4)), rng.uniform(0.5, 2, (4,))

    def expression(module, a, b):
        c = a * b + 2.0 - a / b
        d = module.exp(c[:, 1:3]).sum() + (c**2).mean() + c.max()
        e = module.log_softmax(c, -1)[0, 2] + module.softmax(c.T, 0)[1].sum()
        return d * e + module.sqrt(b).sum()

    a, b = ad.Tensor(a_data, requires_grad=True), ad.Tensor(b_data, requires_grad=True)
    out = expression(ad, a, b)
    out.backward()
    ta, tb = torch.tensor(a_data, requires_grad=True), torch.tensor(b_data, requires_grad=True)
    expected = expression(_TorchFunctions, ta, tb)
    expected.backward()
    assert out.item() == pytest.approx(expected.item(), rel=1e-12)
    np.testing.assert_allclose(a.grad, ta.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(b.grad, tb.grad.numpy(), rtol=1e-10)


class _TorchFunctions:
    exp = staticmethod(torch.exp)
    sqrt = staticmethod(torch.sqrt)
    log_softmax = staticmethod(lambda x, axis: torch.log_softmax(x, axis))
    softmax = staticmethod(lambda x, axis: torch.softmax(x, axis))


@pytest.mark.parametrize("activation, torch_activation", [("relu", F.relu), ("gelu", F.gelu), ("selu", F.selu)])
def test_two_layer_network_matches_torch(activation, torch_activation):
    rng = np.random.default_rng(1)
    x, labels = rng.standard_normal((8, 5)), rng.integers(0, 3, 8)
    W1, b1 = rng.standard_normal((5, 7)), rng.standard_normal(7)
    W2, b2 = rng.standard_normal((7, 3)), rng.standard_normal(3)

    def loss(W1, b1, W2, b2):
        hidden = ad.dense(x, W1, b1, activation=activation)
        return ad.categorical_crossentropy(ad.dense(hidden, W2, b2), labels, from_logits=True)

    value, grads = ad.value_and_grad(loss, argnums=(0, 1, 2, 3))(W1, b1, W2, b2)
    tensors = [torch.tensor(p, requires_grad=True) for p in (W1, b1, W2, b2)]
    hidden = torch_activation(torch.tensor(x) @ tensors[0] + tensors[1])
    expected = F.cross_entropy(hidden @ tensors[2] + tensors[3], torch.tensor(labels))
    expected.backward()
    assert value == pytest.approx(expected.item(), rel=1e-12)
    for grad, tensor in zip(grads, tensors):
        np.testing.assert_allclose(grad, tensor.grad.numpy(), rtol=1e-10, atol=1e-14)
