"""LAMB step by step against a plain NumPy transcription of the paper's update, with every option."""

from __future__ import annotations

import numpy as np
import pytest
from numbagrad import optim
from numbagrad.plugin import check

from numbagrad_lamb import LAMB_SPEC

SHAPES = [(5, 7), (7,), (3, 4, 2), (1,)]
OPTIONS = [
    {},
    {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-8, "weight_decay": 0.0},
    {"bias_correction": False, "clamp_value": 0.5, "weight_decay": 0.1},
]


def reference_step(w, g, m, v, step, lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.01, bias_correction=True, clamp_value=10.0):
    """One LAMB step of one tensor, in the parameters' dtype as the plugin computes it."""
    T = w.dtype.type
    beta1, beta2 = betas
    c1 = T(1.0 - beta1 ** float(step)) if bias_correction else T(1.0)
    c2 = T(1.0 - beta2 ** float(step)) if bias_correction else T(1.0)
    m = T(beta1) * m + T(1.0 - beta1) * g
    v = T(beta2) * v + T(1.0 - beta2) * g * g
    u = (m / c1) / (np.sqrt(v / c2) + T(eps)) + T(weight_decay) * w
    weight_norm = min(np.sqrt(np.sum(w.astype(np.float64) ** 2)), clamp_value)
    update_norm = np.sqrt(np.sum(u.astype(np.float64) ** 2))
    ratio = weight_norm / update_norm if weight_norm > 0 and update_norm > 0 else 1.0
    w = (w.astype(np.float64) - (lr * ratio) * u.astype(np.float64)).astype(w.dtype)
    return w, m, v


def test_the_declaration_passes_numbagrads_checks():
    check(LAMB_SPEC)
    assert LAMB_SPEC.tensorwise and LAMB_SPEC.generated


@pytest.mark.parametrize("options", OPTIONS, ids=str)
@pytest.mark.parametrize("dtype, tolerance", [(np.float64, 1e-12), (np.float32, 2e-6)])
def test_sixty_steps_follow_the_reference(options, dtype, tolerance):
    rng = np.random.default_rng(0)
    params = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    expected = [p.copy() for p in params]
    moments = [[np.zeros_like(p), np.zeros_like(p)] for p in params]
    opt = optim.get("lamb", params, **options)
    for step in range(1, 61):
        grads = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
        opt.step(grads)
        for k, g in enumerate(grads):
            expected[k], moments[k][0], moments[k][1] = reference_step(expected[k], g, *moments[k], step, **options)
    for k, (p, e) in enumerate(zip(params, expected)):
        np.testing.assert_allclose(p, e, rtol=tolerance, atol=tolerance, err_msg=f"tensor {k} of shape {SHAPES[k]}")
    state = opt.state_dict()["state"]
    np.testing.assert_allclose(state[0]["exp_avg"], moments[0][0], rtol=tolerance, atol=tolerance)


def test_each_tensor_has_its_own_trust_ratio():
    """Scaling one tensor's weights scales its step; the other tensor's step does not change."""
    a, b = np.full(4, 1.0), np.full(4, 1.0)
    big, small = np.full(4, 3.0), np.full(4, 1.0)
    optim.get("lamb", [a, b], weight_decay=0.0).step([np.ones(4), np.ones(4)])
    optim.get("lamb", [big, small], weight_decay=0.0).step([np.ones(4), np.ones(4)])
    np.testing.assert_allclose(3.0 - big, 3 * (1.0 - a))
    np.testing.assert_allclose(1.0 - small, 1.0 - b)


def test_state_dict_resumes_exactly():
    rng = np.random.default_rng(1)
    grads = [[rng.standard_normal(s) for s in SHAPES] for _ in range(10)]
    straight = [rng.standard_normal(s) for s in SHAPES]
    resumed = [p.copy() for p in straight]
    opt = optim.get("lamb", straight)
    for g in grads:
        opt.step(g)
    first = optim.get("lamb", resumed)
    for g in grads[:4]:
        first.step(g)
    second = optim.get("lamb", resumed)
    second.load_state_dict(first.state_dict())
    for g in grads[4:]:
        second.step(g)
    for p, q in zip(straight, resumed):
        np.testing.assert_array_equal(p, q)
