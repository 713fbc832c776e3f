"""Primitives in NumPy, each with its vector-Jacobian product beside it.

Every primitive returns ``node(value, (input, vjp), ...)``: ``vjp`` maps the
upstream gradient ``g`` (shaped like the result) to that input's
contribution (shaped like the input). Operands of binary operations
broadcast as in NumPy; their contributions are summed back to each operand's
shape by :func:`unbroadcast`. Activations, losses and the dense layer, which
run numbagrad's kernels, are in :mod:`numbagrad.autodiff.layers`.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from numbagrad.autodiff.tensor import Tensor, as_tensor, lift, node

__all__ = [
    "unbroadcast",
    "add",
    "subtract",
    "multiply",
    "divide",
    "negative",
    "power",
    "matmul",
    "transpose",
    "reshape",
    "getitem",
    "exp",
    "log",
    "sqrt",
    "abs",
    "sum",
    "mean",
    "max",
    "log_softmax",
]


def unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``g`` over the axes that broadcasting added or stretched, back to ``shape``."""
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    if extra:
        g = g.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if stretched:
        g = g.sum(axis=stretched, keepdims=True)
    return g


# --- arithmetic ----------------------------------------------------------------


def add(a: Any, b: Any) -> Tensor:
    a, b = lift(a, b, "add")
    return node(a.data + b.data, (a, lambda g: unbroadcast(g, a.shape)), (b, lambda g: unbroadcast(g, b.shape)))


def subtract(a: Any, b: Any) -> Tensor:
    a, b = lift(a, b, "subtract")
    return node(a.data - b.data, (a, lambda g: unbroadcast(g, a.shape)), (b, lambda g: unbroadcast(-g, b.shape)))


def multiply(a: Any, b: Any) -> Tensor:
    a, b = lift(a, b, "multiply")
    return node(
        a.data * b.data,
        (a, lambda g: unbroadcast(g * b.data, a.shape)),
        (b, lambda g: unbroadcast(g * a.data, b.shape)),
    )


def divide(a: Any, b: Any) -> Tensor:
    a, b = lift(a, b, "divide")
    out = a.data / b.data
    return node(
        out,
        (a, lambda g: unbroadcast(g / b.data, a.shape)),
        (b, lambda g: unbroadcast(-g * out / b.data, b.shape)),
    )


def negative(x: Any) -> Tensor:
    x = as_tensor(x, "negative", "x")
    return node(-x.data, (x, lambda g: -g))


def power(x: Any, exponent: Any) -> Tensor:
    """``x ** exponent`` for a number ``exponent``; d/dx = ``exponent x^(exponent - 1)`` (0 for exponent 0)."""
    x = as_tensor(x, "power", "x")
    if isinstance(exponent, (bool, np.bool_)) or not isinstance(exponent, numbers.Real):
        raise TypeError(
            f"power: the exponent must be a number; got {type(exponent).__name__} (tensor exponents are not supported)"
        )
    p = float(exponent)
    if p == 0:
        return node(np.ones_like(x.data), (x, lambda g: np.zeros_like(x.data)))
    return node(x.data**p, (x, lambda g: g * p * x.data ** (p - 1)))


def _matmul_vjps(a: Tensor, b: Tensor):
    """``g @ B^T`` and ``A^T @ g``, with 1-D operands as a row (left) or a column (right)."""
    left = a.data[np.newaxis, :] if a.ndim == 1 else a.data
    right = b.data[:, np.newaxis] if b.ndim == 1 else b.data

    # The product's shape before NumPy drops the axes of 1-D operands.
    shape = np.broadcast_shapes(left.shape[:-2], right.shape[:-2]) + (left.shape[-2], right.shape[-1])

    def as_matrix(g):
        return g.reshape(shape)

    def grad_a(g):
        return unbroadcast(as_matrix(g) @ np.swapaxes(right, -1, -2), left.shape).reshape(a.shape)

    def grad_b(g):
        return unbroadcast(np.swapaxes(left, -1, -2) @ as_matrix(g), right.shape).reshape(b.shape)

    return grad_a, grad_b


def matmul(a: Any, b: Any) -> Tensor:
    """``a @ b`` as ``np.matmul`` (1-D operands, stacks of matrices broadcast)."""
    a, b = lift(a, b, "matmul")
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: operands need at least one dimension; got shapes {a.shape} and {b.shape} (use * for scalars)")
    inner = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if a.shape[-1] != inner:
        where = "first" if b.ndim == 1 else "second-to-last"
        raise ValueError(
            f"matmul: shapes {a.shape} and {b.shape} are not aligned: {a.shape[-1]} (last axis of the left operand) "
            f"!= {inner} ({where} axis of the right operand)"
        )
    grad_a, grad_b = _matmul_vjps(a, b)
    return node(a.data @ b.data, (a, grad_a), (b, grad_b))


# --- shapes ----------------------------------------------------------------------


def transpose(x: Any, axes: tuple[int, ...] | None = None) -> Tensor:
    """Axes permuted (reversed by default, as ``ndarray.T``)."""
    x = as_tensor(x, "transpose", "x")
    out = x.data.transpose(axes)
    inverse = None if axes is None else tuple(np.argsort(axes))
    return node(out, (x, lambda g: g.transpose(inverse)))


def reshape(x: Any, shape: Any) -> Tensor:
    x = as_tensor(x, "reshape", "x")
    return node(x.data.reshape(shape), (x, lambda g: g.reshape(x.shape)))


def _check_basic_index(index: Any) -> None:
    items = index if isinstance(index, tuple) else (index,)
    for item in items:
        if isinstance(item, (bool, np.bool_)) or not (
            isinstance(item, (numbers.Integral, slice)) or item is Ellipsis or item is None
        ):
            raise TypeError(
                f"Tensor indexing supports integers, slices, ... and None (basic indexing); got {type(item).__name__}"
            )


def getitem(x: Any, index: Any) -> Tensor:
    """``x[index]`` for basic indexes, whose selected elements never repeat."""
    x = as_tensor(x, "getitem", "x")
    _check_basic_index(index)
    out = x.data[index]

    def vjp(g):
        full = np.zeros(x.shape, dtype=g.dtype)
        full[index] = g
        return full

    return node(out, (x, vjp))


# --- elementwise -------------------------------------------------------------------


def exp(x: Any) -> Tensor:
    x = as_tensor(x, "exp", "x")
    out = np.exp(x.data)
    return node(out, (x, lambda g: g * out))


def log(x: Any) -> Tensor:
    x = as_tensor(x, "log", "x")
    return node(np.log(x.data), (x, lambda g: g / x.data))


def sqrt(x: Any) -> Tensor:
    x = as_tensor(x, "sqrt", "x")
    out = np.sqrt(x.data)
    return node(out, (x, lambda g: g / (2 * out)))


def abs(x: Any) -> Tensor:
    """``|x|``; its derivative is ``sign(x)``, 0 at 0 (PyTorch's subgradient)."""
    x = as_tensor(x, "abs", "x")
    return node(np.abs(x.data), (x, lambda g: g * np.sign(x.data)))


# --- reductions ----------------------------------------------------------------------


def _axes(axis: Any, ndim: int, owner: str) -> tuple[int, ...]:
    """``axis`` (None, an integer or a tuple of integers) as sorted non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    items = axis if isinstance(axis, tuple) else (axis,)
    result = []
    for item in items:
        if isinstance(item, (bool, np.bool_)) or not isinstance(item, numbers.Integral):
            raise TypeError(f"{owner}: axis must be None, an integer or a tuple of integers; got {axis!r}")
        if not -ndim <= item < ndim:
            raise ValueError(f"{owner}: axis {item} is out of range for a tensor with {ndim} dimensions")
        result.append(int(item) % ndim)
    if len(set(result)) != len(result):
        raise ValueError(f"{owner}: axis {axis!r} repeats an axis")
    return tuple(sorted(result))


def _restore(g: np.ndarray, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
    """The upstream gradient of a reduction with the reduced axes back (length 1)."""
    return g if keepdims or not axes else np.expand_dims(g, axes)


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    x = as_tensor(x, "sum", "x")
    axes = _axes(axis, x.ndim, "sum")
    return node(
        np.sum(x.data, axis=axes, keepdims=keepdims),
        (x, lambda g: np.broadcast_to(_restore(g, axes, keepdims), x.shape)),
    )


def mean(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    x = as_tensor(x, "mean", "x")
    axes = _axes(axis, x.ndim, "mean")
    count = int(np.prod([x.shape[a] for a in axes]))
    return node(
        np.mean(x.data, axis=axes, keepdims=keepdims),
        (x, lambda g: np.broadcast_to(_restore(g, axes, keepdims) / count, x.shape)),
    )


def max(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """The largest values along ``axis``, as ``torch.amax``: the gradient is split evenly among ties."""
    x = as_tensor(x, "max", "x")
    axes = _axes(axis, x.ndim, "max")
    if x.size == 0:
        raise ValueError(f"max: the tensor is empty (shape {x.shape}); a maximum needs at least one element")
    kept = np.max(x.data, axis=axes, keepdims=True)
    winners = x.data == kept
    ties = winners.sum(axis=axes, keepdims=True)
    out = kept if keepdims else kept.reshape([n for i, n in enumerate(kept.shape) if i not in axes])
    return node(out, (x, lambda g: winners * (_restore(g, axes, keepdims) / ties)))


# --- log-softmax ---------------------------------------------------------------------


def log_softmax(x: Any, axis: int = -1) -> Tensor:
    """``x - log(sum(exp(x), axis))``, through the maximum; vjp ``g - softmax(x) sum(g, axis)``."""
    x = as_tensor(x, "log_softmax", "x")
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"log_softmax: axis must be an integer; got {axis!r}")
    (axis,) = _axes(axis, x.ndim, "log_softmax")
    shifted = x.data - np.max(x.data, axis=axis, keepdims=True)
    out = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
    return node(out, (x, lambda g: g - np.exp(out) * np.sum(g, axis=axis, keepdims=True)))
