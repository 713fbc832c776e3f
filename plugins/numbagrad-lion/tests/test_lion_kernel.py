"""Lion's kernel against the paper's rule and lion-pytorch's, bit for bit, in float32 and float64."""

from __future__ import annotations

import numpy as np
import pytest
from numbagrad import optim
from numbagrad.plugin import update_signature

from numbagrad_lion import LION_SPEC, lion_update

SHAPES = [(1,), (7,), (3, 5), (65,), (1000,)]
OPTIONS = [
    {},
    {"lr": 0.01},
    {"lr": 0.01, "weight_decay": 0.1},
    {"lr": 3e-3, "betas": (0.5, 0.8), "maximize": True},
    {"lr": 0.1, "betas": (0.0, 0.0), "weight_decay": 1.0},
]
STEPS = 6


def paper_step(p, g, m, lr, betas, weight_decay, maximize):
    """Chen et al. (2023), Algorithm 2, in p's precision with every scalar rounded to it."""
    t = p.dtype.type
    beta1, beta2 = betas
    g = -g if maximize else g
    c = t(beta1) * m + t(1.0 - beta1) * g
    p *= t(1.0 - lr * weight_decay)
    p -= t(lr) * np.sign(c)
    m[:] = t(beta2) * m + t(1.0 - beta2) * g


def lion_pytorch_step(p, g, m, lr, betas, weight_decay, maximize):
    """lion-pytorch's ``update_fn`` (lucidrains/lion-pytorch, lion_pytorch.py), written out in NumPy."""
    t = p.dtype.type
    beta1, beta2 = betas
    g = -g if maximize else g
    p *= t(1.0 - lr * weight_decay)  # p.data.mul_(1. - lr * wd)
    update = np.sign(m * t(beta1) + g * t(1.0 - beta1))  # exp_avg.clone().mul_(beta1).add(grad, alpha=1. - beta1).sign_()
    p += update * t(-lr)  # p.add_(update, alpha=-lr)
    m[:] = m * t(beta2) + g * t(1.0 - beta2)  # exp_avg.mul_(beta2).add_(grad, alpha=1. - beta2)


def gradients(p, step):
    wave = np.cos(np.arange(p.size, dtype=p.dtype) + step).reshape(p.shape)
    return p * p.dtype.type(0.5) - p.dtype.type(0.3) + wave * p.dtype.type(0.1)


def start(shape, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("reference", [paper_step, lion_pytorch_step])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", OPTIONS)
def test_optimizer_matches_the_reference_bit_for_bit(reference, dtype, options):
    values = LION_SPEC.validate(options)
    params = [start(shape, dtype, seed) for seed, shape in enumerate(SHAPES)]
    expected = [p.copy() for p in params]
    momenta = [np.zeros(p.size, dtype=dtype) for p in params]
    opt = optim.get("lion", params, **options)
    for step in range(1, STEPS + 1):
        grads = [gradients(p, step) for p in params]
        opt.step(grads)
        for p, g, m in zip(expected, grads, momenta):
            flat = p.reshape(-1)
            reference(flat, g.reshape(-1), m, values["lr"], values["betas"], values["weight_decay"], values["maximize"])
    for p, e in zip(params, expected):
        np.testing.assert_array_equal(p, e)
    state = opt.state_dict()["state"]
    for i, m in enumerate(momenta):
        np.testing.assert_array_equal(state[i]["exp_avg"].reshape(-1), m)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernel_updates_only_its_slice(dtype):
    param = start(10, dtype)
    grad = gradients(param, 1)
    state = np.zeros((1, 10), dtype=dtype)
    hyper = LION_SPEC.encode(LION_SPEC.validate({"lr": 0.1}))
    before = param.copy()
    lion_update(param, grad, state, hyper, 1, 3, 7)
    np.testing.assert_array_equal(param[:3], before[:3])
    np.testing.assert_array_equal(param[7:], before[7:])
    assert np.all(param[3:7] != before[3:7])
    assert lion_update.signatures and update_signature(dtype).args in lion_update.signatures


def test_zero_direction_leaves_the_parameter_and_nan_propagates():
    param = np.array([1.0, 2.0])
    opt = optim.get("lion", [param], lr=0.5)
    opt.step([np.array([0.0, np.nan])])
    assert param[0] == 1.0 and np.isnan(param[1])


def test_hyper_vector_layout():
    assert LION_SPEC.layout() == ["lr", "betas[0]", "betas[1]", "weight_decay", "maximize"]


@pytest.mark.parametrize(
    "options, error, message",
    [
        ({"lr": -1e-4}, ValueError, "Lion: lr must be a finite number >= 0; got -0.0001"),
        ({"betas": (1.0, 0.99)}, ValueError, "Lion: betas[0] must be a finite number in [0, 1); got 1.0"),
        ({"betas": 0.9}, TypeError, "Lion: betas must be a pair of numbers"),
        ({"weight_decay": -0.1}, ValueError, "Lion: weight_decay must be a finite number >= 0; got -0.1"),
        ({"maximize": 1}, TypeError, "Lion: maximize must be True or False; got 1"),
        ({"eps": 1e-8}, TypeError, "Lion: unknown hyperparameter 'eps'"),
    ],
)
def test_bad_hyperparameters(options, error, message):
    with pytest.raises(error) as raised:
        optim.get("lion", [np.zeros(2)], **options)
    assert str(raised.value).startswith(message)


def test_matches_lion_pytorch_in_torch():
    """lion-pytorch's update_fn run with torch tensors (PyTorch's fused multiply-adds may round the
    momentum differently in the last bit, so this compares to a tolerance)."""
    torch = pytest.importorskip("torch")
    lr, betas, weight_decay = 0.01, (0.9, 0.99), 0.1
    param = start(257, np.float32)
    p, m = torch.tensor(param.copy()), torch.zeros(257)
    opt = optim.get("lion", [param], lr=lr, betas=betas, weight_decay=weight_decay)
    for step in range(1, 21):
        grad = gradients(param, step)
        opt.step([grad])
        g = torch.tensor(gradients(p.numpy(), step))
        p.mul_(1.0 - lr * weight_decay)
        update = m.clone().mul_(betas[0]).add(g, alpha=1.0 - betas[0]).sign_()
        p.add_(update, alpha=-lr)
        m.mul_(betas[1]).add_(g, alpha=1.0 - betas[1])
    np.testing.assert_allclose(param, p.numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(opt.state_dict()["state"][0]["exp_avg"], m.numpy(), rtol=1e-5, atol=1e-7)
