"""The autodiff engine: every primitive against central finite differences, accumulation, grad/value_and_grad."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_losses import CASES as LOSS_CASES
from test_losses import batch

import numbagrad.autodiff as ad
from numbagrad import activations, optim
from numbagrad.registry import BUILTIN_SOURCE


def weights_like(shape):
    """Fixed random weights for a shape, so that sum(weights * f(x)) tests every output's gradient."""
    return np.random.default_rng(99).standard_normal(shape)


def scalarize(out):
    return ad.sum(out * weights_like(out.shape))


def numeric_gradient(f, arrays, index, h=1e-6):
    x = arrays[index]
    grad = np.zeros_like(x)
    for position in np.ndindex(x.shape):
        up = [a.copy() for a in arrays]
        down = [a.copy() for a in arrays]
        up[index][position] += h
        down[index][position] -= h
        grad[position] = (f(*up).item() - f(*down).item()) / (2 * h)
    return grad


def check_gradients(function, *arrays, rtol=1e-6, atol=1e-8):
    """ad.grad of sum(weights * function(...)) with respect to every input, against central differences."""

    def objective(*tensors):
        return scalarize(function(*tensors))

    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    value, grads = ad.value_and_grad(objective, argnums=tuple(range(len(arrays))))(*arrays)
    assert value == pytest.approx(objective(*[ad.Tensor(a) for a in arrays]).item())
    for index, (array, grad) in enumerate(zip(arrays, grads)):
        assert grad.shape == array.shape and grad.dtype == np.float64
        expected = numeric_gradient(lambda *xs: objective(*[ad.Tensor(x) for x in xs]), arrays, index)
        np.testing.assert_allclose(grad, expected, rtol=rtol, atol=atol, err_msg=f"input {index}")


rng = np.random.default_rng(0)


def normal(*shape):
    return rng.standard_normal(shape)


def positive(*shape):
    return rng.uniform(0.5, 2.0, shape)


def away_from_zero(*shape):
    return rng.uniform(0.2, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


# One table drives the finite-difference tests: (label, function of Tensors, inputs).
PRIMITIVES = [
    ("add", lambda a, b: a + b, [normal(3, 4), normal(3, 4)]),
    ("add-broadcast-row", lambda a, b: a + b, [normal(3, 4), normal(4)]),
    ("add-broadcast-both", lambda a, b: a + b, [normal(3, 1), normal(1, 4)]),
    ("add-broadcast-3d", lambda a, b: a + b, [normal(2, 3, 4), normal(3, 1)]),
    ("add-scalar-tensor", lambda a, b: a + b, [normal(), normal(3)]),
    ("radd-array", lambda a: np.ones((2, 3)) + a, [normal(3)]),
    ("add-number", lambda a: a + 2.5, [normal(3)]),
    ("subtract", lambda a, b: a - b, [normal(3, 4), normal(1, 4)]),
    ("rsub-number", lambda a: 1.0 - a, [normal(2, 2)]),
    ("multiply", lambda a, b: a * b, [normal(3, 4), normal(3, 4)]),
    ("multiply-broadcast", lambda a, b: a * b, [normal(2, 3, 4), normal(4)]),
    ("rmul-number", lambda a: 3 * a, [normal(2)]),
    ("divide", lambda a, b: a / b, [normal(3, 4), away_from_zero(3, 4)]),
    ("divide-broadcast", lambda a, b: a / b, [normal(3, 4), away_from_zero(3, 1)]),
    ("rtruediv-number", lambda a: 2.0 / a, [away_from_zero(5)]),
    ("negative", lambda a: -a, [normal(3, 2)]),
    ("power-2", lambda a: a**2, [normal(3, 2)]),
    ("power-3", lambda a: a**3, [normal(4)]),
    ("power-half", lambda a: a**0.5, [positive(4)]),
    ("power-negative", lambda a: a**-1.5, [positive(4)]),
    ("power-0", lambda a: a**0, [normal(4)]),
    ("matmul", lambda a, b: a @ b, [normal(3, 4), normal(4, 5)]),
    ("matmul-vector-matrix", lambda a, b: a @ b, [normal(4), normal(4, 5)]),
    ("matmul-matrix-vector", lambda a, b: a @ b, [normal(3, 4), normal(4)]),
    ("matmul-vector-vector", lambda a, b: a @ b, [normal(4), normal(4)]),
    ("matmul-stack-matrix", lambda a, b: a @ b, [normal(2, 3, 4), normal(4, 5)]),
    ("matmul-stacks", lambda a, b: a @ b, [normal(2, 3, 4), normal(2, 4, 5)]),
    ("matmul-stacks-broadcast", lambda a, b: a @ b, [normal(1, 3, 4), normal(2, 4, 5)]),
    ("rmatmul-array", lambda b: normal_fixed @ b, [normal(4, 2)]),
    ("transpose", lambda a: a.T, [normal(3, 4)]),
    ("transpose-3d", lambda a: a.T, [normal(2, 3, 4)]),
    ("transpose-axes", lambda a: ad.transpose(a, (1, 2, 0)), [normal(2, 3, 4)]),
    ("reshape", lambda a: a.reshape(2, 6), [normal(3, 4)]),
    ("reshape-tuple", lambda a: a.reshape((-1,)), [normal(3, 4)]),
    ("getitem-int", lambda a: a[1], [normal(3, 4)]),
    ("getitem-slice", lambda a: a[:, 1:3], [normal(3, 4)]),
    ("getitem-ellipsis", lambda a: a[..., 0], [normal(2, 3, 4)]),
    ("getitem-newaxis-step", lambda a: a[None, 1:, ::2], [normal(3, 4)]),
    ("getitem-negative", lambda a: a[-1, 2], [normal(3, 4)]),
    ("exp", ad.exp, [normal(3, 4)]),
    ("log", ad.log, [positive(3, 4)]),
    ("sqrt", ad.sqrt, [positive(3, 4)]),
    ("abs", ad.abs, [away_from_zero(3, 4)]),
    ("sum", lambda a: ad.sum(a), [normal(3, 4)]),
    ("sum-axis", lambda a: ad.sum(a, axis=0), [normal(3, 4)]),
    ("sum-axes-keepdims", lambda a: a.sum(axis=(0, 2), keepdims=True), [normal(2, 3, 4)]),
    ("mean", lambda a: ad.mean(a), [normal(3, 4)]),
    ("mean-axis", lambda a: a.mean(axis=-1), [normal(3, 4)]),
    ("mean-keepdims", lambda a: ad.mean(a, axis=1, keepdims=True), [normal(2, 3, 4)]),
    ("max", lambda a: ad.max(a), [normal(3, 4)]),
    ("max-axis", lambda a: a.max(axis=1), [normal(3, 4)]),
    ("max-keepdims", lambda a: ad.max(a, axis=(0, 2), keepdims=True), [normal(2, 3, 4)]),
    ("softmax", lambda a: ad.softmax(a), [normal(3, 4)]),
    ("softmax-axis-0", lambda a: ad.softmax(a, axis=0), [normal(3, 4)]),
    ("softmax-3d-middle", lambda a: ad.softmax(a, axis=1), [normal(2, 3, 4)]),
    ("log_softmax", lambda a: ad.log_softmax(a), [normal(3, 4)]),
    ("log_softmax-axis-0", lambda a: ad.log_softmax(a, axis=0), [normal(3, 4)]),
    ("tanh", ad.tanh, [normal(3, 4)]),
    ("sigmoid", ad.sigmoid, [normal(3, 4)]),
    ("relu", ad.relu, [away_from_zero(3, 4)]),
    ("dense", lambda x, W, b: ad.dense(x, W, b, activation="tanh"), [normal(5, 3), normal(3, 4), normal(4)]),
    ("dense-no-bias", lambda x, W: ad.dense(x, W), [normal(5, 3), normal(3, 4)]),
    ("dense-softmax", lambda x, W, b: ad.dense(x, W, b, activation="softmax"), [normal(2, 3), normal(3, 4), normal(4)]),
    ("dense-elu-options", lambda x, W, b: ad.dense(x, W, b, activation="elu", alpha=0.5),
     [normal(4, 2), normal(2, 3), normal(3)]),
    ("composite", lambda a, b: ad.log(ad.exp(a) + b * b) / (1 + a**2), [normal(3, 4), normal(4)]),
]
normal_fixed = normal(3, 4)


@pytest.mark.parametrize("function, inputs", [pytest.param(f, xs, id=label) for label, f, xs in PRIMITIVES])
def test_primitive_matches_finite_differences(function, inputs):
    check_gradients(function, *inputs)


ACTIVATION_NAMES = sorted(name for name, source in activations.available().items() if source == BUILTIN_SOURCE)


@pytest.mark.parametrize("shape", [(), (5,), (3, 4), (2, 3, 4)])
@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_every_registered_activation_matches_finite_differences(name, shape):
    check_gradients(lambda x: ad.activation(name, x), away_from_zero(*shape))


@pytest.mark.parametrize("name, options, predictions, targets", [case for case in LOSS_CASES])
def test_every_registered_loss_matches_finite_differences(name, options, predictions, targets):
    p, y = batch(predictions, targets, (4, 3), np.float64, seed=5)
    check_gradients(lambda prediction: ad.loss(name, prediction, y, **options), p)


def test_shortcuts_are_the_registered_components():
    x = normal(3, 4)
    for name in ("relu", "leaky_relu", "elu", "selu", "gelu", "sigmoid", "tanh", "softplus", "silu", "linear"):
        np.testing.assert_array_equal(getattr(ad, name)(x).data, activations.get(name)(x))
    np.testing.assert_array_equal(ad.gelu(x, approximate=True).data, activations.get("gelu_tanh")(x))
    y = normal(3, 4)
    assert ad.mse(x, y).item() == pytest.approx(np.mean((x - y) ** 2))
    assert ad.huber(x, y, delta=0.5).item() == ad.loss("huber", x, y, delta=0.5).item()


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.integers(1, 3), min_size=0, max_size=3),
    st.lists(st.booleans(), min_size=3, max_size=3),
    st.integers(0, 2),
)
def test_broadcasting_gradients_are_summed_back_to_each_shape(shape, squeeze, drop):
    """Any pair of broadcastable shapes: the gradient has each operand's shape and is exact."""
    left = tuple(shape)
    right = tuple(1 if s else n for n, s in zip(left, squeeze))[min(drop, len(left)):]
    a, b = normal(*left), normal(*right)
    check_gradients(lambda x, y: x * y + x / (1 + y * y), a, b)


# --- accumulation -----------------------------------------------------------------------


def test_a_value_used_several_times_gets_every_contribution():
    x = ad.Tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = x * x + x  # x used three times
    z = ad.sum(y * y.max() + ad.exp(y) * x)  # y used twice, x again
    z.backward()
    xs = np.array([1.0, -2.0, 3.0])
    ys = xs * xs + xs
    dy = np.zeros(3)
    dy += ys.max() + np.exp(ys) * xs
    dy[np.argmax(ys)] += ys.sum()
    np.testing.assert_allclose(x.grad, dy * (2 * xs + 1) + np.exp(ys))


def test_diamond_graph_visits_the_shared_node_once():
    x = ad.Tensor(np.array(2.0), requires_grad=True)
    shared = x * 3
    (shared * shared + shared).backward()
    assert x.grad == pytest.approx(3 * (2 * 6 + 1))


def test_gradients_accumulate_across_backward_calls_until_cleared():
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    ad.sum(x * x).backward()
    ad.sum(x * x).backward()
    np.testing.assert_array_equal(x.grad, [4.0, 8.0])
    x.grad = None
    ad.sum(3 * x).backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_explicit_upstream_gradient():
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    (x * x).backward(np.array([1.0, 10.0]))
    np.testing.assert_array_equal(x.grad, [2.0, 40.0])


def test_deep_chain_does_not_hit_the_recursion_limit():
    x = ad.Tensor(np.array(1.0), requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.backward()
    assert x.grad == pytest.approx(1.0001**5000)


def test_ties_share_the_maximum_gradient_evenly():
    x = ad.Tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True)
    ad.sum(x.max(axis=1)).backward()
    np.testing.assert_allclose(x.grad, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])


def test_subgradients_at_zero_follow_pytorch():
    x = ad.Tensor([0.0, 0.0], requires_grad=True)
    ad.sum(ad.abs(x) + ad.relu(x)).backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])


def test_constants_do_not_track_and_leaves_only_keep_grad():
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    c = ad.Tensor([5.0, 5.0])
    hidden = x * c
    assert hidden.requires_grad and not hidden.is_leaf and not c.requires_grad
    ad.sum(hidden).backward()
    assert c.grad is None and hidden.grad is None
    np.testing.assert_array_equal(x.grad, [5.0, 5.0])


# --- dtypes ----------------------------------------------------------------------------------


def test_dtypes_follow_numpy_and_grads_take_their_leaf_dtype():
    x = ad.Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    assert (x * 2.0).dtype == np.float32  # a Python number takes the tensor's dtype
    assert (x * np.ones(3)).dtype == np.float64  # arrays promote as in NumPy
    assert ad.Tensor([1, 2]).dtype == np.float64
    assert ad.Tensor(np.array([True])).dtype == np.float64
    ad.sum(x * np.ones(3)).backward()
    assert x.grad.dtype == np.float32
    assert ad.activation("tanh", x).dtype == np.float32


def test_tensor_shares_the_array_an_optimizer_updates():
    w = np.zeros(3)
    t = ad.Tensor(w, requires_grad=True)
    assert t.data is w
    ad.sum(t * np.array([1.0, 2.0, 3.0])).backward()
    opt = optim.SGD([t], lr=0.5)
    opt.step()
    np.testing.assert_array_equal(w, [-0.5, -1.0, -1.5])
    opt.zero_grad()
    assert t.grad is None


# --- grad and value_and_grad ------------------------------------------------------------------------


def test_grad_and_value_and_grad():
    def f(x, y, scale):
        return ad.sum(x * y) * scale

    x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    np.testing.assert_array_equal(ad.grad(f)(x, y, 2.0), [6.0, 8.0])
    gx, gy = ad.grad(f, argnums=(0, 1))(x, y, 2.0)
    np.testing.assert_array_equal(gx, [6.0, 8.0])
    np.testing.assert_array_equal(gy, [2.0, 4.0])
    value, (gy_only,) = ad.value_and_grad(f, argnums=(1,))(x, y, scale=2.0)
    assert value == 22.0 and isinstance(value, float)
    np.testing.assert_array_equal(gy_only, [2.0, 4.0])
    assert ad.grad(f).__name__ == "f"


def test_an_unused_argument_gets_zeros_and_inputs_are_left_alone():
    x = np.array([1, 2])  # integers become float64
    g = ad.grad(lambda a, b: ad.sum(a * a), argnums=(0, 1))(x, np.ones(3, dtype=np.float32))
    np.testing.assert_array_equal(g[0], [2.0, 4.0])
    assert g[1].dtype == np.float32 and not g[1].any()
    np.testing.assert_array_equal(x, [1, 2])
    assert ad.grad(lambda a: ad.Tensor(3.0))(np.ones(2)).tolist() == [0.0, 0.0]


def test_training_a_two_layer_network_with_adam():
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (64, 2))
    y = (x[:, :1] * x[:, 1:] > 0).astype(float)  # XOR of the signs
    W1 = ad.Tensor(rng.standard_normal((2, 16)) * 0.5, requires_grad=True)
    b1 = ad.Tensor(np.zeros(16), requires_grad=True)
    W2 = ad.Tensor(rng.standard_normal((16, 1)) * 0.5, requires_grad=True)
    b2 = ad.Tensor(np.zeros(1), requires_grad=True)
    opt = optim.Adam([W1, b1, W2, b2], lr=0.05)
    losses = []
    for _ in range(300):
        opt.zero_grad()
        hidden = ad.dense(x, W1, b1, activation="tanh")
        loss = ad.binary_crossentropy(ad.dense(hidden, W2, b2), y, from_logits=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.05 < losses[0]
    logits = ad.dense(ad.dense(x, W1, b1, activation="tanh"), W2, b2).data
    assert np.mean((logits > 0) == (y > 0.5)) == 1.0
