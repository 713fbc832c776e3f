"""Primitives that run numbagrad's kernels: activations, losses, the dense layer and normalizations.

Their forward and backward passes call the same Numba kernels a compiled
training loop calls (through :mod:`numbagrad.kernels.cpu.calls`), so every
registered activation and loss, a plugin's included, is differentiable here.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from numbagrad.autodiff.tensor import Tensor, as_tensor, node

__all__ = [
    "activation",
    "softmax",
    "loss",
    "dense",
    "penalty",
    "dropout",
    "batch_norm",
    "layer_norm",
    "linear",
    "relu",
    "leaky_relu",
    "elu",
    "selu",
    "gelu",
    "sigmoid",
    "tanh",
    "softplus",
    "silu",
    "mae",
    "mse",
    "huber",
    "log_cosh",
    "msle",
    "binary_crossentropy",
    "categorical_crossentropy",
    "kl_divergence",
    "poisson",
    "hinge",
]


def _to_rows(array: np.ndarray, axis: int) -> np.ndarray:
    """A C-contiguous ``(rows, n)`` matrix whose rows run along ``axis``."""
    if array.ndim == 0:
        return array.reshape(1, 1)
    moved = np.moveaxis(array, axis, -1)
    return np.ascontiguousarray(moved).reshape(-1, moved.shape[-1])


def _from_rows(matrix: np.ndarray, shape: tuple[int, ...], axis: int) -> np.ndarray:
    """Undo :func:`_to_rows`."""
    if not shape:
        return matrix.reshape(())
    moved = list(shape)
    moved.append(moved.pop(axis))
    return np.moveaxis(matrix.reshape(moved), -1, axis)


def _apply(bound: Any, x: Tensor, axis: int = -1) -> Tensor:
    """``f(x)`` by an activation's kernels; a row-wise activation runs along ``axis``."""
    if x.size == 0:
        return node(x.data.copy(), (x, lambda g: np.zeros(x.shape, dtype=x.dtype)))
    if x.ndim and not -x.ndim <= axis < x.ndim:
        raise ValueError(f"{bound.title}: axis {axis} is out of range for a tensor with {x.ndim} dimensions")
    axis = axis % x.ndim if x.ndim else 0
    z = _to_rows(x.data, axis)
    out = bound.forward(z)

    def vjp(g):
        grad_out = _to_rows(np.asarray(g, dtype=x.dtype), axis)
        return _from_rows(bound.backward(z, out, grad_out), x.shape, axis)

    return node(_from_rows(out, x.shape, axis), (x, vjp))


def activation(name: Any, x: Any, **hyperparameters: Any) -> Tensor:
    """The registered activation ``name`` (or an :class:`~numbagrad.activations.Activation`) applied to ``x``.

    Elementwise activations apply to every element; row-wise ones (softmax)
    along the last axis. Forward and backward run the activation's kernels.
    """
    from numbagrad import activations

    bound = activations.get(name, **hyperparameters)
    return _apply(bound, as_tensor(x, bound.title, "x"))


def softmax(x: Any, axis: int = -1) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``axis``, by the softmax kernels (stable: the maximum is subtracted)."""
    from numbagrad import activations

    bound = activations.get("softmax")
    x = as_tensor(x, bound.title, "x")
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"Softmax: axis must be an integer; got {axis!r}")
    return _apply(bound, x, int(axis))


def loss(name: Any, prediction: Any, target: Any, **hyperparameters: Any) -> Tensor:
    """The registered loss ``name`` (or a :class:`~numbagrad.losses.Loss`) of ``prediction`` against ``target``.

    Returns a float64 scalar tensor whose gradient flows to ``prediction``
    only. A vector ``prediction`` is one column. ``target`` (an array, or a
    Tensor that does not require gradients) is checked against the loss's
    target kind first.
    """
    from numbagrad import losses

    bound = losses.get(name, **hyperparameters)
    prediction = as_tensor(prediction, bound.title, "prediction")
    if isinstance(target, Tensor):
        if target.requires_grad:
            raise TypeError(
                f"{bound.title}: target requires gradients; losses differentiate with respect to the prediction "
                "only (pass target.detach())"
            )
        target = target.data
    value, grad = bound.value_and_grad(prediction.data, target)  # grad is shaped like the prediction
    return node(np.asarray(value, dtype=np.float64), (prediction, lambda g: g * grad))


def _once_per_gradient(compute: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """``compute`` remembered for the last upstream gradient: the backward pass hands the
    same array to every input's rule of a node, and they share this step."""
    last: list[Any] = [None, None]

    def cached(g):
        if last[0] is not g:
            last[0], last[1] = g, compute(g)
        return last[1]

    return cached


def dense(x: Any, W: Any, b: Any = None, activation: Any = "linear", **hyperparameters: Any) -> Tensor:
    """A dense layer ``f(x @ W + b)`` as one primitive.

    Args:
        x: inputs, shape ``(batch, inputs)``.
        W: weights, shape ``(inputs, outputs)`` (Keras's layout; PyTorch's
            ``nn.Linear`` stores its transpose).
        b: biases, shape ``(outputs,)``, or ``None``.
        activation: a registered name or an :class:`~numbagrad.activations.Activation`.
        **hyperparameters: the activation's hyperparameters.

    The product runs in NumPy's BLAS; the activation and its derivative run
    the activation's kernels. Backward, with ``gz = f'(z) * g``:
    ``dx = gz @ W.T``, ``dW = x.T @ gz``, ``db = sum(gz, axis=0)``.
    """
    from numbagrad import activations

    bound = activations.get(activation, **hyperparameters)
    x = as_tensor(x, "dense", "x")
    W = as_tensor(W, "dense", "W")
    b = None if b is None else as_tensor(b, "dense", "b")
    if x.ndim != 2:
        raise ValueError(f"dense: x must be a matrix (batch, inputs); got shape {x.shape}")
    if W.ndim != 2:
        raise ValueError(f"dense: W must be a matrix (inputs, outputs); got shape {W.shape}")
    if W.shape[0] != x.shape[1]:
        raise ValueError(
            f"dense: x has {x.shape[1]} columns (inputs) but W has {W.shape[0]} rows; "
            f"W must have shape (inputs, outputs) = ({x.shape[1]}, outputs)"
        )
    if b is not None and b.shape != (W.shape[1],):
        raise ValueError(f"dense: b has shape {b.shape}; expected ({W.shape[1]},), one bias per output")
    dtype = np.result_type(x.data, W.data, *(() if b is None else (b.data,)))
    inputs = x.data.astype(dtype, copy=False)
    weights = W.data.astype(dtype, copy=False)
    z = inputs @ weights
    if b is not None:
        z += b.data.astype(dtype, copy=False)
    out = bound.forward(z)
    grad_z = _once_per_gradient(lambda g: bound.backward(z, out, np.ascontiguousarray(g, dtype=dtype)))
    parents = [(x, lambda g: grad_z(g) @ weights.T), (W, lambda g: inputs.T @ grad_z(g))]
    if b is not None:
        parents.append((b, lambda g: grad_z(g).sum(axis=0)))
    return node(out, *parents)


# --- shortcuts ----------------------------------------------------------------------


def _activation_shortcut(name: str) -> Callable[..., Tensor]:
    def shortcut(x: Any, **hyperparameters: Any) -> Tensor:
        return activation(name, x, **hyperparameters)

    shortcut.__name__ = shortcut.__qualname__ = name
    shortcut.__doc__ = (
        f"``activation({name!r}, x, **hyperparameters)``: see :mod:`numbagrad.activations` for its formula."
    )
    return shortcut


def _loss_shortcut(name: str) -> Callable[..., Tensor]:
    def shortcut(prediction: Any, target: Any, **hyperparameters: Any) -> Tensor:
        return loss(name, prediction, target, **hyperparameters)

    shortcut.__name__ = shortcut.__qualname__ = name
    shortcut.__doc__ = (
        f"``loss({name!r}, prediction, target, **hyperparameters)``: see :mod:`numbagrad.losses` for its formula."
    )
    return shortcut


linear = _activation_shortcut("linear")
relu = _activation_shortcut("relu")
leaky_relu = _activation_shortcut("leaky_relu")
elu = _activation_shortcut("elu")
selu = _activation_shortcut("selu")
gelu = _activation_shortcut("gelu")
sigmoid = _activation_shortcut("sigmoid")
tanh = _activation_shortcut("tanh")
softplus = _activation_shortcut("softplus")
silu = _activation_shortcut("silu")

mae = _loss_shortcut("mae")
mse = _loss_shortcut("mse")
huber = _loss_shortcut("huber")
log_cosh = _loss_shortcut("log_cosh")
msle = _loss_shortcut("msle")
binary_crossentropy = _loss_shortcut("binary_crossentropy")
categorical_crossentropy = _loss_shortcut("categorical_crossentropy")
kl_divergence = _loss_shortcut("kl_divergence")
poisson = _loss_shortcut("poisson")
hinge = _loss_shortcut("hinge")


def penalty(regularizer: Any, *weights: Any) -> Tensor:
    """A weight regularizer's penalty on ``weights`` (Tensors or arrays), as a differentiable scalar:
    ``sum over the weights of l1 * sum |w| + l2 * sum w^2`` for a :mod:`numbagrad.nn.regularizers`
    name (``"l2"``), config dict (``{"name": "l1_l2", "l1": 1e-5, "l2": 1e-4}``) or Regularizer;
    its gradient ``l1 sign(w) + 2 l2 w``, as the compiled loops add it. Add it to the loss::

        objective = ad.categorical_crossentropy(ad.dense(x, W, b, "softmax"), y) + ad.penalty("l2", W)

    ``per_sample`` does not apply here (there is no batch to divide by): divide the result yourself.
    """
    from numbagrad.autodiff import primitives
    from numbagrad.nn import regularizers

    bound = regularizers.get(regularizer)
    if bound is None:
        raise TypeError("penalty: regularizer must be a name, a config dict or a Regularizer; got None")
    if not weights:
        raise TypeError("penalty: give at least one weight tensor")
    total = None
    for i, w in enumerate(weights):
        w = as_tensor(w, "penalty", f"weights[{i}]")
        term = None
        if bound.l1:
            term = primitives.sum(primitives.abs(w)) * bound.l1
        if bound.l2:
            square = primitives.sum(w * w) * bound.l2
            term = square if term is None else term + square
        if term is None:
            term = primitives.sum(w) * 0.0
        total = term if total is None else total + term
    return total


def dropout(x: Any, rate: float, key: int, step: int = 0, layer: int = 0, first_row: int = 0) -> Tensor:
    """Inverted dropout of the rows of ``x`` (rows, units), with the masks of a compiled training
    step: element ``(r, j)`` is kept, scaled by ``1 / (1 - rate)``, when the hash of
    ``(key, step, layer, first_row + r, j)`` says so (:func:`numbagrad.nn.dropout.keep_mask`), else 0;
    its gradient is the upstream gradient times the same mask. ``rate`` 0 returns ``x`` unchanged.

    The masks are a function of their coordinates, not of hidden state: calling it twice with
    the same ``key`` and ``step`` drops the same elements (draw a new ``key`` per step, from a
    seeded generator, for new masks).
    """
    from numbagrad.nn.dropout import check_rate, keep_mask

    rate = check_rate(rate, "dropout")
    x = as_tensor(x, "dropout", "x")
    if x.ndim != 2:
        raise ValueError(f"dropout: x must be a matrix (rows, units); got shape {x.shape}")
    for name, value in (("key", key), ("step", step), ("layer", layer), ("first_row", first_row)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < 1 << 63:
            raise ValueError(f"dropout: {name} must be an integer in [0, 2**63); got {value!r}")
    if rate == 0.0:
        return x
    scale = keep_mask(int(key), int(step), int(layer), int(first_row), x.shape[0], x.shape[1], rate) * (1.0 / (1.0 - rate))
    scale = scale.astype(x.data.dtype)
    return node(x.data * scale, (x, lambda g: g * scale))


def _normalization(kind: int, owner: str, x: Any, gamma: Any, beta: Any, epsilon: float) -> Tensor:
    """Batch (``kind`` BATCH) or layer normalization of ``x`` with the compiled training-mode kernels."""
    from numbagrad.kernels.cpu.normalization import normalize_backward, normalize_forward
    from numbagrad.nn.normalization import _epsilon

    epsilon = _epsilon(epsilon, owner)
    x = as_tensor(x, owner, "x")
    gamma = as_tensor(gamma, owner, "gamma")
    beta = as_tensor(beta, owner, "beta")
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"{owner}: x must be a non-empty matrix (rows, units); got shape {x.shape}")
    units = x.shape[1]
    for name, value in (("gamma", gamma), ("beta", beta)):
        if value.shape != (units,):
            raise ValueError(f"{owner}: {name} has shape {value.shape}; expected ({units},), one per column of x")
    dtype = np.result_type(x.data, gamma.data, beta.data)
    rows = x.shape[0]
    # The kernels' layout: γ and β in one parameter buffer, the row of the norms table pointing at them.
    params = np.concatenate([gamma.data, beta.data]).astype(dtype)
    norm = np.array([kind, 0, units, -1, epsilon, 0.0])
    z = np.array(x.data, dtype=dtype, order="C")
    normalized = np.empty_like(z)
    moments = np.empty(3 * units if kind == 1 else 2 * rows, dtype=dtype)
    normalize_forward(params, z, normalized, moments, norm, True)

    def backward(g):
        grads = np.zeros_like(params)
        grad = np.array(g, dtype=dtype, order="C")
        normalize_backward(params, grads, grad, normalized, moments, norm)
        return grad, grads[:units], grads[units:]

    shared = _once_per_gradient(backward)
    return node(z, (x, lambda g: shared(g)[0]), (gamma, lambda g: shared(g)[1]), (beta, lambda g: shared(g)[2]))


def batch_norm(x: Any, gamma: Any, beta: Any, epsilon: float = 1e-5) -> Tensor:
    """Batch normalization of the rows of ``x`` (rows, units) in training mode, as
    ``torch.nn.functional.batch_norm(x, None, None, gamma, beta, training=True, eps=epsilon)``:
    ``γ (x - mean) / sqrt(var + ε) + β`` with each column's mean and biased variance over the rows.
    It runs the kernels of :class:`numbagrad.nn.BatchNormalization`'s training pass (no running
    averages: keep them yourself if you need them)."""
    return _normalization(1, "batch_norm", x, gamma, beta, epsilon)


def layer_norm(x: Any, gamma: Any, beta: Any, epsilon: float = 1e-5) -> Tensor:
    """Layer normalization of each row of ``x`` (rows, units) over its columns, as
    ``torch.nn.functional.layer_norm(x, (units,), gamma, beta, eps=epsilon)``: ``γ (x - mean) /
    sqrt(var + ε) + β``, with the kernels of :class:`numbagrad.nn.LayerNormalization`."""
    return _normalization(2, "layer_norm", x, gamma, beta, epsilon)
