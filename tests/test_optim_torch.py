"""Same settings, same trajectory as ``torch.optim`` (skipped when PyTorch is not installed)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import awkward_arrays, gradients
from test_optim_rules import CASES

from numbagrad import optim

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch

TORCH_CLASSES = {
    "sgd": "SGD",
    "adam": "Adam",
    "adamw": "AdamW",
    "rmsprop": "RMSprop",
    "adagrad": "Adagrad",
    "adadelta": "Adadelta",
    "adamax": "Adamax",
    "nadam": "NAdam",
    "radam": "RAdam",
    "rprop": "Rprop",
    "asgd": "ASGD",
}
# Options of numbagrad's own (Keras's forms), which PyTorch does not have.
KERAS_OPTIONS = {"eps_hat", "eps_inside_sqrt"}


def torch_cases():
    for name, cases in CASES.items():
        for options in cases:
            if KERAS_OPTIONS.isdisjoint(options):
                label = "-".join(f"{k}={v}" for k, v in options.items()) or "defaults"
                yield pytest.param(name, options, id=f"{name}-{label}")


@pytest.mark.parametrize("dtype, tolerance", [(np.float64, 1e-12), (np.float32, 1e-4)])
@pytest.mark.parametrize("name, options", list(torch_cases()))
def test_trajectory_matches_torch(name, options, dtype, tolerance):
    params = awkward_arrays(dtype, seed=7)
    tensors = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64 if dtype == np.float64 else torch.float32)
    try:
        reference = getattr(torch.optim, TORCH_CLASSES[name])(tensors, foreach=False, **options)
        ours = optim.get(name, params, **options)
        for t in range(1, 61):
            grads = gradients(params, t)
            torch_grads = gradients([x.detach().numpy() for x in tensors], t)
            for x, g in zip(tensors, torch_grads):
                x.grad = torch.from_numpy(g)
            reference.step()
            ours.step(grads)
    finally:
        torch.set_default_dtype(previous)
    for p, x in zip(params, tensors):
        np.testing.assert_allclose(p, x.detach().numpy(), rtol=tolerance, atol=tolerance)
