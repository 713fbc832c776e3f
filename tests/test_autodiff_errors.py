"""Every documented autodiff error: its type and message, raised before anything is recorded."""

from __future__ import annotations

import numpy as np
import pytest

import numbagrad.autodiff as ad

X = ad.Tensor(np.ones((2, 3)), requires_grad=True)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: ad.Tensor("abc"), TypeError, "Tensor: array must be an array of numbers (float32, float64, integers or booleans); got an array of dtype <U3"),
        (lambda: ad.Tensor(np.ones(2, dtype=np.complex128)), TypeError, "got an array of dtype complex128"),
        (lambda: ad.Tensor([[1.0], [1.0, 2.0]]), TypeError, "Tensor: array must be an array of numbers; got list"),
        (lambda: ad.Tensor([1.0], requires_grad="yes"), TypeError, "Tensor: requires_grad must be True or False; got 'yes'"),
        (lambda: X @ np.ones((4, 5)), ValueError,
         "matmul: shapes (2, 3) and (4, 5) are not aligned: 3 (last axis of the left operand) != 4 (second-to-last axis of the right operand)"),
        (lambda: X @ np.ones(4), ValueError,
         "matmul: shapes (2, 3) and (4,) are not aligned: 3 (last axis of the left operand) != 4 (first axis of the right operand)"),
        (lambda: ad.matmul(X, 2.0), ValueError, "matmul: operands need at least one dimension; got shapes (2, 3) and () (use * for scalars)"),
        (lambda: X + "a", TypeError, "unsupported operand type(s) for +: 'Tensor' and 'str'"),
        (lambda: ad.add(X, "a"), TypeError, "add: the right operand must be a Tensor, a NumPy array or a number; got str"),
        (lambda: ad.exp("a"), TypeError, "exp: x must be an array of numbers"),
        (lambda: X**X, TypeError, "power: the exponent must be a number; got Tensor (tensor exponents are not supported)"),
        (lambda: X[[0, 1]], TypeError, "Tensor indexing supports integers, slices, ... and None (basic indexing); got list"),
        (lambda: X[X.data > 0], TypeError, "basic indexing); got ndarray"),
        (lambda: ad.sum(X, axis=2), ValueError, "sum: axis 2 is out of range for a tensor with 2 dimensions"),
        (lambda: ad.mean(X, axis=1.0), TypeError, "mean: axis must be None, an integer or a tuple of integers; got 1.0"),
        (lambda: ad.max(X, axis=(0, 0)), ValueError, "max: axis (0, 0) repeats an axis"),
        (lambda: ad.max(ad.Tensor(np.ones((0, 2)))), ValueError, "max: the tensor is empty (shape (0, 2))"),
        (lambda: ad.softmax(X, axis=2), ValueError, "Softmax: axis 2 is out of range for a tensor with 2 dimensions"),
        (lambda: ad.log_softmax(X, axis=(0,)), TypeError, "log_softmax: axis must be an integer; got (0,)"),
        (lambda: ad.activation("rellu", X), ValueError, "unknown activation 'rellu'. Did you mean 'relu'"),
        (lambda: ad.elu(X, alpha="big"), TypeError, "ELU: alpha must be a finite number; got 'big' of type str"),
        (lambda: ad.loss("mse", X, ad.Tensor(np.ones((2, 3)), requires_grad=True)), TypeError,
         "MeanSquaredError: target requires gradients; losses differentiate with respect to the prediction only (pass target.detach())"),
        (lambda: ad.mse(X, np.ones((2, 2))), ValueError, "MeanSquaredError: target has shape (2, 2); expected (2, 3), the prediction's shape"),
        (lambda: ad.categorical_crossentropy(X, [0, 3]), ValueError, "CategoricalCrossentropy: target[1] = 3 is not a class label"),
        (lambda: ad.mse(ad.Tensor(np.ones((2, 2, 2))), np.ones((2, 2, 2))), ValueError,
         "MeanSquaredError: prediction must be a vector or a matrix (rows, columns); got shape (2, 2, 2)"),
        (lambda: ad.dense(np.ones(3), np.ones((3, 2))), ValueError, "dense: x must be a matrix (batch, inputs); got shape (3,)"),
        (lambda: ad.dense(X, np.ones(3)), ValueError, "dense: W must be a matrix (inputs, outputs); got shape (3,)"),
        (lambda: ad.dense(X, np.ones((4, 2))), ValueError,
         "dense: x has 3 columns (inputs) but W has 4 rows; W must have shape (inputs, outputs) = (3, outputs)"),
        (lambda: ad.dense(X, np.ones((3, 2)), np.ones(3)), ValueError, "dense: b has shape (3,); expected (2,), one bias per output"),
        (lambda: ad.dense(X, np.ones((3, 2)), activation="softmaxx"), ValueError, "unknown activation 'softmaxx'"),
    ],
)
def test_bad_input(call, error, message):
    with pytest.raises(error) as raised:
        call()
    assert message in str(raised.value)


def test_backward_errors_leave_every_grad_unchanged():
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    ad.sum(x).backward()
    y = x * 2
    with pytest.raises(ValueError, match=r"backward\(\): the tensor has shape \(2,\); without gradient= only a one-element tensor"):
        y.backward()
    with pytest.raises(ValueError, match=r"backward\(\): gradient has shape \(3,\); the tensor has shape \(2,\)"):
        y.backward(np.ones(3))
    with pytest.raises(TypeError, match=r"backward\(\): gradient must be an array of numbers"):
        y.backward("ones")
    with pytest.raises(RuntimeError, match=r"backward\(\): this tensor does not depend on any tensor with requires_grad=True"):
        ad.Tensor([1.0]).backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])


@pytest.mark.parametrize(
    "make, call, error, message",
    [
        (lambda: ad.grad(lambda x: x), lambda g: g(np.ones(2)), ValueError,
         "<lambda> must return a one-element Tensor to be differentiated; it returned a Tensor of shape (2,)"),
        (lambda: ad.grad(lambda x: 3.0), lambda g: g(np.ones(2)), TypeError,
         "<lambda> must return a one-element Tensor to be differentiated; it returned float"),
        (lambda: ad.grad(lambda x, y: ad.sum(x), argnums=1), lambda g: g(np.ones(2)), TypeError,
         "<lambda>: argnums=1 needs at least 2 positional arguments; got 1"),
        (lambda: ad.grad(lambda x: x, argnums=-1), None, ValueError, "argnums must be positions >= 0; got -1"),
        (lambda: ad.grad(lambda x: x, argnums=(0, 0)), None, ValueError, "argnums repeats a position: (0, 0)"),
        (lambda: ad.grad(lambda x: x, argnums=()), None, ValueError, "argnums must name at least one argument"),
        (lambda: ad.grad(lambda x: x, argnums="0"), None, TypeError, "argnums must be an integer or a tuple of integers; got '0'"),
        (lambda: ad.grad(lambda x: ad.sum(x)), lambda g: g("abc"), TypeError, "<lambda>: argument 0 must be an array of numbers"),
    ],
)
def test_grad_errors(make, call, error, message):
    with pytest.raises(error) as raised:
        call(make()) if call else make()
    assert message in str(raised.value)


def test_item_needs_one_element():
    with pytest.raises(ValueError, match=r"item\(\): the tensor has shape \(2, 3\); only one-element tensors have an item"):
        X.item()
