"""Losses against their ``torch.nn`` equivalents: values and gradients, kinks included."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import softmax

from numbagrad import losses

torch = pytest.importorskip("torch")
nn = torch.nn

pytestmark = pytest.mark.torch

rng = np.random.default_rng(7)
P_REAL = rng.standard_normal((7, 3)) * 2
P_REAL[0, :2] = 0.0
Y_REAL = rng.standard_normal((7, 3)) * 2
Y_REAL[0, 0] = 0.0  # |d| = 0: a kink of mae
Y_REAL[0, 1] = 1.0  # |d| = delta: a kink of huber
P_PROBABILITY = rng.uniform(0.01, 0.99, (7, 3))
Y_PROBABILITY = rng.random((7, 3))
P_LOGITS = rng.standard_normal((7, 5)) * 3
LABELS = rng.integers(0, 5, 7)
Y_SOFT = softmax(rng.standard_normal((7, 5)), axis=1)
P_POSITIVE = rng.uniform(0.1, 3.0, (7, 3))
Y_COUNTS = rng.poisson(1.5, (7, 3)).astype(float)

# (numbagrad name, options, prediction, target, torch module, torch input transform, torch target)
CASES = [
    ("mae", {}, P_REAL, Y_REAL, nn.L1Loss(), None, Y_REAL),
    ("mse", {}, P_REAL, Y_REAL, nn.MSELoss(), None, Y_REAL),
    ("huber", {}, P_REAL, Y_REAL, nn.HuberLoss(), None, Y_REAL),
    ("huber", {"delta": 0.5}, P_REAL, Y_REAL, nn.HuberLoss(delta=0.5), None, Y_REAL),
    ("binary_crossentropy", {}, P_PROBABILITY, Y_PROBABILITY, nn.BCELoss(), None, Y_PROBABILITY),
    ("binary_crossentropy", {"from_logits": True}, P_REAL, Y_PROBABILITY, nn.BCEWithLogitsLoss(), None, Y_PROBABILITY),
    ("categorical_crossentropy", {"from_logits": True}, P_LOGITS, LABELS, nn.CrossEntropyLoss(), None, LABELS),
    ("categorical_crossentropy", {"from_logits": True}, P_LOGITS, Y_SOFT, nn.CrossEntropyLoss(), None, Y_SOFT),
    ("kl_divergence", {"epsilon": 1e-300}, softmax(P_LOGITS, axis=1), Y_SOFT,
     nn.KLDivLoss(reduction="batchmean"), torch.log, Y_SOFT),
    ("poisson", {"epsilon": 1e-8}, P_POSITIVE, Y_COUNTS, nn.PoissonNLLLoss(log_input=False, eps=1e-8), None, Y_COUNTS),
]


@pytest.mark.parametrize(
    "name, options, prediction, target, module, transform, torch_target",
    [pytest.param(*case, id=f"{case[0]}-{'-'.join(f'{k}={v}' for k, v in case[1].items()) or 'defaults'}-{i}")
     for i, case in enumerate(CASES)],
)
def test_matches_torch(name, options, prediction, target, module, transform, torch_target):
    value, grad = losses.get(name, **options).value_and_grad(prediction, target)
    x = torch.tensor(prediction, requires_grad=True)
    expected = module(transform(x) if transform else x, torch.tensor(torch_target))
    expected.backward()
    assert value == pytest.approx(expected.item(), rel=1e-12, abs=1e-15)
    np.testing.assert_allclose(grad, x.grad.numpy(), rtol=1e-10, atol=1e-15)


def test_float32_matches_torch_float32():
    p = P_LOGITS.astype(np.float32)
    value, grad = losses.get("categorical_crossentropy", from_logits=True).value_and_grad(p, LABELS)
    x = torch.tensor(p, requires_grad=True)
    expected = nn.CrossEntropyLoss()(x, torch.tensor(LABELS))
    expected.backward()
    assert value == pytest.approx(expected.item(), rel=1e-6)
    np.testing.assert_allclose(grad, x.grad.numpy(), rtol=1e-5, atol=1e-7)
