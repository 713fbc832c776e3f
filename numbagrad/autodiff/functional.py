"""``grad`` and ``value_and_grad``: gradients of functions of Tensors, as NumPy arrays."""

from __future__ import annotations

import functools
import numbers
from typing import Any, Callable

import numpy as np

from numbagrad.autodiff.tensor import Tensor
from numbagrad.matrices import as_float_array

__all__ = ["grad", "value_and_grad"]


def _positions(argnums: Any) -> tuple[tuple[int, ...], bool]:
    """``argnums`` as a tuple of positions, and whether a single one was given."""
    single = not isinstance(argnums, (tuple, list))
    items = (argnums,) if single else tuple(argnums)
    if not items:
        raise ValueError("argnums must name at least one argument; got an empty tuple")
    for item in items:
        if isinstance(item, (bool, np.bool_)) or not isinstance(item, numbers.Integral):
            raise TypeError(f"argnums must be an integer or a tuple of integers; got {argnums!r}")
        if item < 0:
            raise ValueError(f"argnums must be positions >= 0; got {argnums!r}")
    if len(set(items)) != len(items):
        raise ValueError(f"argnums repeats a position: {argnums!r}")
    return tuple(int(i) for i in items), single


def value_and_grad(f: Callable[..., Tensor], argnums: int | tuple[int, ...] = 0) -> Callable[..., tuple[float, Any]]:
    """A function returning ``(f(*args), gradient)`` for a scalar-valued ``f``.

    Args:
        f: a function of Tensors returning a one-element Tensor. The
            arguments at ``argnums`` arrive as fresh Tensors that require
            gradients (arrays, numbers and Tensors are accepted; integers
            become float64); the others arrive as they were passed.
        argnums: the position of the argument to differentiate with respect
            to, or a tuple of positions.

    Returns:
        A function returning the value as a float and the gradient as a NumPy
        array shaped like its argument (a tuple of arrays when ``argnums`` is
        a tuple). An argument ``f`` does not use gets zeros.

    Raises:
        TypeError: ``argnums`` is not an integer or a tuple of integers; or,
            when the returned function is called, ``f`` does not return a
            Tensor or fewer positional arguments than ``argnums`` needs
            were passed.
        ValueError: ``argnums`` is negative, empty or repeats a position;
            or ``f`` returns a Tensor of several elements.
    """
    positions, single = _positions(argnums)
    name = getattr(f, "__name__", type(f).__name__)

    @functools.wraps(f)
    def wrapped(*args: Any, **kwargs: Any) -> tuple[float, Any]:
        if len(args) <= max(positions):
            raise TypeError(
                f"{name}: argnums={argnums!r} needs at least {max(positions) + 1} positional arguments; got {len(args)}"
            )
        arguments = list(args)
        inputs = []
        for position in positions:
            value = args[position]
            data = value.data if isinstance(value, Tensor) else as_float_array(name, f"argument {position}", value)
            leaf = Tensor(data, requires_grad=True)
            arguments[position] = leaf
            inputs.append(leaf)
        out = f(*arguments, **kwargs)
        if not isinstance(out, Tensor):
            raise TypeError(f"{name} must return a one-element Tensor to be differentiated; it returned {type(out).__name__}")
        if out.size != 1:
            raise ValueError(
                f"{name} must return a one-element Tensor to be differentiated; it returned a Tensor of shape {out.shape}"
            )
        if out.requires_grad:
            out.backward()
        grads = tuple(leaf.grad if leaf.grad is not None else np.zeros_like(leaf.data) for leaf in inputs)
        return out.item(), grads[0] if single else grads

    return wrapped


def grad(f: Callable[..., Tensor], argnums: int | tuple[int, ...] = 0) -> Callable[..., Any]:
    """A function returning the gradient of the scalar-valued ``f``, as :func:`value_and_grad` without the value.

        >>> import numpy as np
        >>> import numbagrad.autodiff as ad
        >>> ad.grad(lambda x: ad.sum(x * x))(np.array([1.0, 2.0]))
        array([2., 4.])
    """
    function = value_and_grad(f, argnums)

    @functools.wraps(f)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)[1]

    return wrapped
