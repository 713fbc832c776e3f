"""Reverse-mode automatic differentiation over NumPy arrays and numbagrad's kernels.

    >>> import numpy as np
    >>> import numbagrad.autodiff as ad
    >>> W = ad.Tensor(np.ones((3, 2)), requires_grad=True)
    >>> x = np.arange(6.0).reshape(2, 3)
    >>> loss = ad.mse(ad.dense(x, W, activation="tanh"), np.zeros((2, 2)))
    >>> loss.backward()
    >>> W.grad.shape
    (3, 2)

A :class:`Tensor` records each operation applied to it; ``backward()``
walks the record once, newest first, and adds each operation's
vector-Jacobian product into its inputs, so a value used several times
receives every contribution. Each primitive's rule sits beside its forward
computation (:mod:`numbagrad.autodiff.primitives`,
:mod:`numbagrad.autodiff.layers`).

* Operators: ``+ - * / @`` with NumPy broadcasting, unary ``-``,
  ``** number``, ``.T``, ``reshape`` and basic indexing.
* Functions: :func:`exp`, :func:`log`, :func:`sqrt`, :func:`abs`,
  :func:`sum`, :func:`mean`, :func:`max` (ties share the gradient evenly, as
  ``torch.amax``), :func:`softmax`, :func:`log_softmax`.
* Every registered activation (:func:`activation`, with shortcuts such as
  :func:`relu`, :func:`tanh`, :func:`sigmoid`) and loss (:func:`loss`, with
  shortcuts such as :func:`mse`), and the dense layer :func:`dense`, by
  numbagrad's Numba kernels; :func:`penalty`, a weight regularizer's
  ``l1 sum |w| + l2 sum w^2``; :func:`dropout`, with the masks of a compiled
  training step; :func:`batch_norm` and :func:`layer_norm`, the normalizations'
  training passes.
* :func:`grad` and :func:`value_and_grad` turn a function of Tensors into
  one returning NumPy gradients.

Optimizers take Tensors directly: ``numbagrad.optim.Adam([W, b])`` updates
``W.data`` in place from ``W.grad`` when ``step()`` gets no gradients.

Limits: the engine runs on the CPU, in NumPy and the CPU kernels; it
computes first derivatives only (rules act on arrays, not on Tensors, so
differentiating a gradient is not supported); and only tensors created with
``requires_grad=True`` (leaves) keep a ``.grad``, as in PyTorch.
"""

from numbagrad.autodiff.functional import grad, value_and_grad
from numbagrad.autodiff.layers import (
    activation,
    batch_norm,
    binary_crossentropy,
    categorical_crossentropy,
    dense,
    dropout,
    elu,
    gelu,
    hinge,
    huber,
    kl_divergence,
    layer_norm,
    leaky_relu,
    linear,
    log_cosh,
    loss,
    mae,
    mse,
    msle,
    penalty,
    poisson,
    relu,
    selu,
    sigmoid,
    silu,
    softmax,
    softplus,
    tanh,
)
from numbagrad.autodiff.primitives import (
    abs,
    add,
    divide,
    exp,
    getitem,
    log,
    log_softmax,
    matmul,
    max,
    mean,
    multiply,
    negative,
    power,
    reshape,
    sqrt,
    subtract,
    sum,
    transpose,
    unbroadcast,
)
from numbagrad.autodiff.tensor import Tensor

from numbagrad.autodiff import layers as _layers
from numbagrad.autodiff import primitives as _primitives

# The public names are those of the two modules of primitives (which list
# theirs), plus the Tensor and the function transforms.
__all__ = ["Tensor", "grad", "value_and_grad"]
__all__ += _primitives.__all__
__all__ += _layers.__all__
