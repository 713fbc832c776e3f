"""``Tensor`` and the reverse pass.

A Tensor holds a C-contiguous float32 or float64 array and, when it was
computed from tensors that require gradients, its parents and one
vector-Jacobian product per parent. :meth:`Tensor.backward` visits the graph
once in reverse topological order, so a value used several times receives
the sum of every contribution before it passes its own gradient on.
"""

from __future__ import annotations

import numbers
from typing import Any, Callable

import numpy as np

from numbagrad.matrices import as_float_array

__all__ = ["Tensor", "node", "lift", "as_tensor"]

#: A vector-Jacobian product: the upstream gradient (shaped like the result)
#: to this parent's contribution (shaped like the parent).
VJP = Callable[[np.ndarray], np.ndarray]


class Tensor:
    """An array that records the operations applied to it, for reverse-mode differentiation.

    Args:
        array: an array or nested sequence of numbers, or a Tensor (whose
            data is shared, without its history). float32 and float64 arrays
            are used as they are, without a copy when they are C-contiguous:
            an optimizer updating ``.data`` in place updates that array.
            Integers and booleans become float64; other dtypes are a
            ``TypeError``.
        requires_grad: whether :meth:`backward` computes this tensor's
            gradient into :attr:`grad`.

    Attributes:
        data: the C-contiguous float32/float64 array.
        grad: the accumulated gradient (an array shaped like ``data``, of
            its dtype), or ``None`` before the first :meth:`backward`. Only
            tensors created with ``requires_grad=True`` (leaves) receive one.
        requires_grad: whether gradients flow to or through this tensor.

    Operators ``+ - * / @``, unary ``-``, ``** number``, ``.T``, :meth:`reshape`
    and basic indexing record themselves; NumPy arrays and numbers mix in as
    constants (a Python number takes the tensor's dtype, as in NumPy).
    """

    __slots__ = ("data", "grad", "requires_grad", "_parents", "_vjps", "__weakref__")

    # NumPy defers to Tensor's reflected operators (ndarray + Tensor -> Tensor.__radd__).
    __array_ufunc__ = None

    def __init__(self, array: Any, requires_grad: bool = False):
        if not isinstance(requires_grad, (bool, np.bool_)):
            raise TypeError(f"Tensor: requires_grad must be True or False; got {requires_grad!r}")
        if isinstance(array, Tensor):
            array = array.data
        self.data: np.ndarray = as_float_array("Tensor", "array", array)
        self.grad: np.ndarray | None = None
        self.requires_grad = bool(requires_grad)
        self._parents: tuple[Tensor, ...] = ()
        self._vjps: tuple[VJP, ...] = ()

    # --- array-like ----------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        """Whether the tensor was created directly rather than computed from tensors that require gradients."""
        return not self._parents

    def __len__(self) -> int:
        return len(self.data)

    def numpy(self) -> np.ndarray:
        """The data (the same array, not a copy)."""
        return self.data

    def item(self) -> float:
        """The value of a one-element tensor, as a Python float."""
        if self.data.size != 1:
            raise ValueError(f"item(): the tensor has shape {self.shape}; only one-element tensors have an item")
        return float(self.data.reshape(()))

    def detach(self) -> "Tensor":
        """A leaf sharing this tensor's data, without its history or gradient."""
        return Tensor(self.data)

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        dtype = "" if self.dtype == np.float64 else f", dtype={self.dtype}"
        flag = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({body}{dtype}{flag})"

    # --- operators (the rules are in numbagrad.autodiff.primitives) ---------

    def __add__(self, other):
        return _binary_operator(_primitives.add, self, other)

    def __radd__(self, other):
        return _binary_operator(_primitives.add, other, self)

    def __sub__(self, other):
        return _binary_operator(_primitives.subtract, self, other)

    def __rsub__(self, other):
        return _binary_operator(_primitives.subtract, other, self)

    def __mul__(self, other):
        return _binary_operator(_primitives.multiply, self, other)

    def __rmul__(self, other):
        return _binary_operator(_primitives.multiply, other, self)

    def __truediv__(self, other):
        return _binary_operator(_primitives.divide, self, other)

    def __rtruediv__(self, other):
        return _binary_operator(_primitives.divide, other, self)

    def __matmul__(self, other):
        return _binary_operator(_primitives.matmul, self, other)

    def __rmatmul__(self, other):
        return _binary_operator(_primitives.matmul, other, self)

    def __neg__(self):
        return _primitives.negative(self)

    def __pow__(self, exponent):
        return _primitives.power(self, exponent)

    def __getitem__(self, index):
        return _primitives.getitem(self, index)

    @property
    def T(self) -> "Tensor":
        """The transpose (axes reversed, as ``ndarray.T``)."""
        return _primitives.transpose(self)

    def reshape(self, *shape) -> "Tensor":
        """The same values in another shape (``reshape(2, 3)`` or ``reshape((2, 3))``)."""
        return _primitives.reshape(self, shape[0] if len(shape) == 1 and not isinstance(shape[0], numbers.Integral) else shape)

    def sum(self, axis=None, keepdims: bool = False) -> "Tensor":
        return _primitives.sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims: bool = False) -> "Tensor":
        return _primitives.mean(self, axis, keepdims)

    def max(self, axis=None, keepdims: bool = False) -> "Tensor":
        return _primitives.max(self, axis, keepdims)

    # --- reverse pass ----------------------------------------------------------

    def backward(self, gradient: Any = None) -> None:
        """Accumulate d(this tensor)/d(leaf) into ``.grad`` of every leaf that requires gradients.

        Args:
            gradient: the upstream gradient, shaped like this tensor; may be
                left out for a one-element tensor (a loss), where it is 1.

        Gradients add to what ``.grad`` already holds (clear them with
        ``optimizer.zero_grad()`` or ``t.grad = None`` between steps). The
        graph is kept, so ``backward`` may run again.

        Raises:
            RuntimeError: nothing this tensor depends on requires gradients.
            ValueError: ``gradient`` left out for a tensor of several
                elements, or given with the wrong shape.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward(): this tensor does not depend on any tensor with requires_grad=True, so there is nothing to differentiate"
            )
        if gradient is None:
            if self.data.size != 1:
                raise ValueError(
                    f"backward(): the tensor has shape {self.shape}; without gradient= only a one-element tensor "
                    "(a loss) can be differentiated; pass the upstream gradient, an array of that shape"
                )
            seed = np.ones_like(self.data)
        else:
            seed = as_float_array("backward()", "gradient", gradient.data if isinstance(gradient, Tensor) else gradient)
            if seed.shape != self.shape:
                raise ValueError(f"backward(): gradient has shape {seed.shape}; the tensor has shape {self.shape}")
        grads: dict[int, np.ndarray] = {id(self): seed}
        for tensor in _reverse_topological_order(self):
            g = grads.pop(id(tensor), None)
            if g is None:
                continue
            if tensor.is_leaf:
                tensor._accumulate(g)
                continue
            for parent, vjp in zip(tensor._parents, tensor._vjps):
                if not parent.requires_grad:
                    continue
                contribution = np.asarray(vjp(g))
                if contribution.dtype != parent.dtype:
                    contribution = contribution.astype(parent.dtype)
                current = grads.get(id(parent))
                # Never add in place: a contribution may be another's upstream array.
                grads[id(parent)] = contribution if current is None else current + contribution

    def _accumulate(self, g: np.ndarray) -> None:
        if self.grad is None:
            self.grad = np.array(g, dtype=self.dtype, order="C", copy=True).reshape(self.shape)
        else:
            self.grad += g.reshape(self.shape)


def _reverse_topological_order(root: Tensor) -> list[Tensor]:
    """Every tensor ``root`` depends on through tensors that require gradients, each after all its users.

    Iterative, so deep graphs do not reach Python's recursion limit.
    """
    order: list[Tensor] = []
    visited: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        tensor, expanded = stack.pop()
        if expanded:
            order.append(tensor)
            continue
        if id(tensor) in visited:
            continue
        visited.add(id(tensor))
        stack.append((tensor, True))
        for parent in tensor._parents:
            if parent.requires_grad and id(parent) not in visited:
                stack.append((parent, False))
    order.reverse()
    return order


def node(data: Any, *parents: tuple[Tensor, VJP]) -> Tensor:
    """The result of a primitive: ``data`` and, per input, ``(tensor, vjp)``.

    History is recorded only when some input requires gradients.
    """
    result = Tensor.__new__(Tensor)
    data = np.asarray(data)
    result.data = data if data.flags.c_contiguous else np.array(data, order="C")
    result.grad = None
    tracked = tuple((tensor, vjp) for tensor, vjp in parents if tensor.requires_grad)
    result.requires_grad = bool(tracked)
    result._parents = tuple(tensor for tensor, _ in tracked)
    result._vjps = tuple(vjp for _, vjp in tracked)
    return result


def as_tensor(value: Any, owner: str, argument: str) -> Tensor:
    """``value`` if it is a Tensor, else a constant Tensor of it (arrays and numbers)."""
    if isinstance(value, Tensor):
        return value
    return Tensor(as_float_array(owner, argument, value))


def lift(a: Any, b: Any, owner: str) -> tuple[Tensor, Tensor]:
    """Two operands as Tensors; a Python or NumPy scalar takes the other operand's dtype.

    Raises:
        TypeError: an operand is neither a Tensor nor a NumPy array nor a number.
    """
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else None
    operands = []
    for argument, value in (("the left operand", a), ("the right operand", b)):
        if isinstance(value, Tensor):
            operands.append(value)
        elif isinstance(value, numbers.Real) and like is not None:
            operands.append(Tensor(np.asarray(value, dtype=like.dtype)))
        elif isinstance(value, (np.ndarray, numbers.Real)):
            operands.append(as_tensor(value, owner, argument))
        else:
            raise TypeError(f"{owner}: {argument} must be a Tensor, a NumPy array or a number; got {type(value).__name__}")
    return operands[0], operands[1]


def _binary_operator(primitive: Callable[[Any, Any], Tensor], a: Any, b: Any):
    """``primitive(a, b)``, or ``NotImplemented`` for operands Python should try elsewhere."""
    for value in (a, b):
        if not isinstance(value, (Tensor, np.ndarray, numbers.Real)):
            return NotImplemented
    return primitive(a, b)


# The operators above call the rules there; imported last because they use Tensor.
from numbagrad.autodiff import primitives as _primitives  # noqa: E402
