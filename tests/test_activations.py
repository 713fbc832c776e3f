"""Every registered activation against its NumPy reference and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from reference.activations import ACTIVATIONS

from numbagrad import activations
from numbagrad.registry import BUILTIN_SOURCE, get_registry

# One table drives the tests: every built-in activation with option sets that
# together exercise every hyperparameter. A built-in missing here fails
# test_every_builtin_is_in_the_table.
CASES = {
    "linear": [{}],
    "relu": [{}],
    "leaky_relu": [{}, {"alpha": 0.2}, {"alpha": -0.5}],
    "elu": [{}, {"alpha": 0.3}],
    "selu": [{}],
    "gelu": [{}, {"approximate": True}],
    "sigmoid": [{}],
    "tanh": [{}],
    "softplus": [{}, {"beta": 2.0, "threshold": 5.0}, {"beta": 0.5, "threshold": 1e6}],
    "silu": [{}],
    "softmax": [{}],
}

SHAPES = [(rows, columns) for rows in (1, 7, 33) for columns in (1, 3, 65)]
DTYPES = [np.float64, np.float32]
TOLERANCE = {np.float64: dict(rtol=1e-12, atol=1e-14), np.float32: dict(rtol=1e-6, atol=1e-7)}


def cases():
    for name, options_list in CASES.items():
        for options in options_list:
            label = "-".join(f"{k}={v}" for k, v in options.items()) or "defaults"
            yield pytest.param(name, options, id=f"{name}-{label}")


def inputs(shape, dtype, seed=0):
    """Values around the kinks and far in both tails, exactly representable in ``dtype``."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(shape) * 3
    special = np.array([0.0, -0.0, 1e-3, -1e-3, 30.0, -30.0, 90.0, -90.0, 5.0, -5.0, 2.5])
    flat = z.reshape(-1)
    flat[: min(flat.size, special.size)] = special[: flat.size]
    return z.astype(dtype)


def reference(name, options):
    forward, backward = ACTIVATIONS[name]
    spec = get_registry().lookup("activation", name).spec
    values = spec.validate(options)
    return (lambda z: forward(z, **values)), (lambda z, g: backward(z, g, **values))


def test_every_builtin_is_in_the_table():
    builtins = {entry.spec.name for name, source in activations.available().items() if source == BUILTIN_SOURCE
                for entry in [get_registry().lookup("activation", name)]}
    assert builtins == set(CASES) == set(ACTIVATIONS)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, options", list(cases()))
def test_forward_matches_reference(name, options, dtype):
    activation = activations.get(name, **options)
    forward, _ = reference(name, options)
    for shape in SHAPES:
        z = inputs(shape, dtype)
        out = activation.forward(z)
        assert out.dtype == dtype and out.shape == shape
        np.testing.assert_allclose(out, forward(z.astype(np.float64)), **TOLERANCE[dtype], err_msg=str(shape))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, options", list(cases()))
def test_backward_matches_reference(name, options, dtype):
    activation = activations.get(name, **options)
    _, backward = reference(name, options)
    rng = np.random.default_rng(1)
    for shape in SHAPES:
        z = inputs(shape, dtype)
        g = rng.standard_normal(shape).astype(dtype)
        grad_in = activation.backward(z, activation.forward(z), g)
        assert grad_in.dtype == dtype
        expected = backward(z.astype(np.float64), g.astype(np.float64))
        tolerance = dict(TOLERANCE[dtype])
        if activation.row_wise and dtype == np.float32:
            # softmax's backward reads the rounded output y: y_j (g_j - sum_k g_k y_k)
            # is then exact only to about one float32 epsilon of |g|.
            tolerance["atol"] = 1e-6
        np.testing.assert_allclose(grad_in, expected, **tolerance, err_msg=str(shape))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, options", list(cases()))
def test_in_place_forward_and_backward(name, options, dtype):
    """``out`` may be ``z`` and ``grad_in`` may be ``grad_out``: same results as separate arrays."""
    activation = activations.get(name, **options)
    z = inputs((7, 65), dtype)
    g = np.random.default_rng(2).standard_normal(z.shape).astype(dtype)
    out = activation.forward(z)
    grad_in = activation.backward(z, out, g)

    in_place = z.copy()
    assert activation.forward(in_place, in_place) is in_place
    np.testing.assert_array_equal(in_place, out)
    shared = g.copy()
    assert activation.backward(z, out, shared, shared) is shared
    np.testing.assert_array_equal(shared, grad_in)


@pytest.mark.parametrize("name, options", list(cases()))
def test_backward_matches_finite_differences(name, options):
    """d/dz sum(g * f(z)) by central differences, in float64, away from kinks."""
    activation = activations.get(name, **options)
    rng = np.random.default_rng(3)
    z = rng.uniform(0.1, 2.5, (4, 3)) * rng.choice([-1.0, 1.0], (4, 3))
    g = rng.standard_normal(z.shape)
    grad_in = activation.backward(z, activation.forward(z), g)
    h = 1e-6
    numeric = np.empty_like(z)
    for index in np.ndindex(z.shape):
        up, down = z.copy(), z.copy()
        up[index] += h
        down[index] -= h
        numeric[index] = np.sum(g * (activation.forward(up) - activation.forward(down))) / (2 * h)
    np.testing.assert_allclose(grad_in, numeric, rtol=1e-6, atol=1e-8)


# Derivatives where the function has a kink: PyTorch's choices, documented in the kernels.
KINKS = [
    ("relu", {}, 0.0, 0.0),
    ("relu", {}, -0.0, 0.0),
    ("leaky_relu", {}, 0.0, 0.01),
    ("leaky_relu", {"alpha": 0.2}, 0.0, 0.2),
    ("elu", {}, 0.0, 1.0),
    ("elu", {"alpha": 0.3}, 0.0, 0.3),
    ("selu", {}, 0.0, 1.0507009873554804934193349852946 * 1.6732632423543772848170429916717),
    ("softplus", {"threshold": 2.0}, 2.0, 1 / (1 + np.exp(-2.0))),
    ("softplus", {"threshold": 2.0}, 2.0 + 1e-9, 1.0),
]


@pytest.mark.parametrize("name, options, z, derivative", KINKS)
def test_derivative_at_kinks(name, options, z, derivative):
    activation = activations.get(name, **options)
    for dtype in DTYPES:
        point = np.array([[z]], dtype=dtype)
        if dtype == np.float32 and float(point[0, 0]) != z:
            continue
        grad = activation.backward(point, activation.forward(point), np.ones_like(point))
        np.testing.assert_allclose(grad[0, 0], derivative, rtol=1e-7)


@pytest.mark.parametrize("dtype", DTYPES)
def test_stable_far_in_the_tails(dtype):
    """No overflow to inf or NaN where a naive formula would give them."""
    z = np.array([[-1000.0, -100.0, 100.0, 1000.0]], dtype=dtype)
    np.testing.assert_allclose(activations.get("sigmoid").forward(z), [[0.0, 3.720076e-44, 1.0, 1.0]], rtol=1e-6, atol=1e-40)
    softplus = activations.get("softplus", threshold=1e6)
    np.testing.assert_allclose(softplus.forward(z), [[0.0, 3.720076e-44, 100.0, 1000.0]], rtol=1e-6, atol=1e-40)
    np.testing.assert_allclose(
        softplus.backward(z, softplus.forward(z), np.ones_like(z)), [[0.0, 3.720076e-44, 1.0, 1.0]],
        rtol=1e-6, atol=1e-40,
    )
    softmax = activations.get("softmax").forward(np.array([[1000.0, 999.0, -1000.0]], dtype=dtype))
    np.testing.assert_allclose(softmax, [[0.7310586, 0.2689414, 0.0]], rtol=1e-6)
    silu = activations.get("silu").forward(z)
    assert np.all(np.isfinite(silu))


def test_nan_propagates_like_torch():
    z = np.array([[np.nan, 1.0]])
    for name in ("relu", "leaky_relu", "elu", "sigmoid", "tanh", "gelu", "softplus", "silu"):
        assert np.isnan(activations.get(name).forward(z)[0, 0]), name
    assert np.isnan(activations.get("softmax").forward(z)).all()


def test_softmax_rows_sum_to_one():
    z = inputs((33, 65), np.float64)
    np.testing.assert_allclose(activations.get("softmax").forward(z).sum(axis=1), 1.0, rtol=1e-14)


def test_presets_and_aliases():
    assert activations.get("gelu_tanh").hyperparameters == {"approximate": True}
    assert activations.get("swish").spec is activations.get("silu").spec
    assert activations.get("GELU").name == "gelu"


def test_calling_applies_along_the_last_axis_to_any_shape():
    z = np.random.default_rng(4).standard_normal((2, 3, 4))
    np.testing.assert_allclose(activations.get("softmax")(z).sum(axis=-1), 1.0)
    np.testing.assert_array_equal(activations.get("relu")(z), np.maximum(z, 0))
    np.testing.assert_array_equal(activations.get("relu")(np.array([-2, 3])), [0.0, 3.0])
    assert activations.get("tanh")(np.float32(0.5)).dtype == np.float32
    assert activations.get("tanh")(np.zeros((0, 3))).shape == (0, 3)


def test_kernel_table_holds_four_addresses():
    table = activations.get("relu").spec.kernel_table(np.float32)
    assert table.dtype == np.int64 and table.shape == (4,) and np.all(table > 0)
    activations.check_kernels(activations.get("softmax").spec)
