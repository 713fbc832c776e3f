"""Each built-in activation as ONNX nodes, with the formulas of
:mod:`numbagrad.kernels.cpu.activations`.

A float32 graph uses ONNX's own operators where one exists (``LeakyRelu``,
``Elu``, ``Selu``); a float64 graph spells those out with float64 constants,
because ONNX stores operator attributes as 32-bit floats (``alpha=0.2`` would
lose its last digits). Softplus is always spelled out: ONNX's ``Softplus`` has
neither ``beta`` nor PyTorch's ``threshold``.

GELU uses the ``Gelu`` operator from opset 20, where it appears, and its
formula (with ``Erf`` or ``Tanh``) before. A float64 graph always uses the
formula: ONNX defines ``Gelu`` through 32-bit constants (onnxruntime's float64
``Gelu`` with ``approximate="tanh"`` is off by about 2e-8). The exact form
needs a float64 ``Erf``, which onnxruntime does not implement (1.32 and
before); such a graph is valid ONNX and runs on runtimes that do.
"""

from __future__ import annotations

from typing import Any, Callable

from numbagrad.export.onnx_graph import GraphBuilder

__all__ = ["emit_activation", "ONNX_ACTIVATIONS", "GELU_OPSET"]

#: The first opset with the ``Gelu`` operator.
GELU_OPSET = 20
#: SELU's constants (Klambauer et al., 2017), those of the kernels and of PyTorch.
SELU_SCALE = 1.0507009873554804934193349852946
SELU_ALPHA = 1.6732632423543772848170429916717
_SQRT_HALF = 0.7071067811865476  # 1 / sqrt(2)
_SQRT_2_OVER_PI = 0.7978845608028654
_GELU_CUBIC = 0.044715


def _positive(g: GraphBuilder, x: str) -> str:
    """The boolean tensor ``x > 0`` (false for NaN, so NaN takes the other branch, as in the kernels)."""
    return g.op("Greater", x, g.constant(0.0))


def _expm1(g: GraphBuilder, x: str) -> str:
    """``exp(x) - 1`` (ONNX has no expm1; the absolute error stays within one rounding of 1)."""
    return g.op("Sub", g.op("Exp", x), g.constant(1.0))


def _linear(g: GraphBuilder, x: str, options: dict[str, Any]) -> str:
    """``f(z) = z``: no node."""
    return x


def _relu(g: GraphBuilder, x: str, options: dict[str, Any]) -> str:
    """``max(z, 0)``."""
    return g.op("Relu", x)


def _leaky_relu(g: GraphBuilder, x: str, options: dict[str, Any]) -> str:
    """``z`` for ``z > 0``, else ``alpha z``."""
    alpha = options["alpha"]
    if g.float32:
        return g.op("LeakyRelu", x, alpha=float(alpha))
    return g.op("Where", _positive(g, x), x, g.op("Mul", x, g.constant(alpha)))


def _elu(g: GraphBuilder, x: str, options: dict[str, Any]) -> str:
    """``z`` for ``z > 0``, else ``alpha (exp(z) - 1)``."""
    alpha = options["alpha"]
    if g.float32:
        return g.op("Elu", x, alpha=float(alpha))
    return g.op("Where", _positive(g, x), x, g.op("Mul", g.constant(alpha), _expm1(g, x)))


def _selu(g: GraphBuilder, x: str, options: dict[str, Any]) -> str:
    """``scale z`` for ``z > 0``, else ``scale alpha (exp(z) - 1)``."""
    if g.float32:
        return g.op("Selu", x, alpha=SELU_ALPHA, gamma=SELU_SCALE)
    positive = g.op("Mul", x, g.constant(SELU_SCALE))
    negative = g.op("Mul", g.constant(SELU_SCALE * SELU_ALPHA), _expm1(g, x))
    return g.op("Where", _positive(g, x), positive, negative)


def _gelu(g: GraphBuilder, x: str, options: dict[str, Any]) -> str:
    """Exact: ``z (1 + erf(z / sqrt(2))) / 2``; ``approximate``: ``z (1 + tanh(sqrt(2 / pi) (z + 0.044715 z^3))) / 2``."""
    approximate = bool(options["approximate"])
    if g.float32 and g.opset >= GELU_OPSET:
        return g.op("Gelu", x, approximate="tanh" if approximate else "none")
    if approximate:
        cube = g.op("Mul", x, g.op("Mul", x, x))
        inner = g.op("Mul", g.constant(_SQRT_2_OVER_PI), g.op("Add", x, g.op("Mul", g.constant(_GELU_CUBIC), cube)))
        gate = g.op("Tanh", inner)
    else:
        gate = g.op("Erf", g.op("Mul", x, g.constant(_SQRT_HALF)))
    return g.op("Mul", g.op("Mul", x, g.constant(0.5)), g.op("Add", g.constant(1.0), gate))


def _sigmoid(g: GraphBuilder, x: str, options: dict[str, Any]) -> str:
    """``1 / (1 + exp(-z))``."""
    return g.op("Sigmoid", x)


def _tanh(g: GraphBuilder, x: str, options: dict[str, Any]) -> str:
    """``tanh(z)``."""
    return g.op("Tanh", x)


def _softplus(g: GraphBuilder, x: str, options: dict[str, Any]) -> str:
    """``z`` where ``beta z > threshold``, else ``(max(beta z, 0) + log(1 + exp(-|beta z|))) / beta``,
    the form that cannot overflow."""
    beta, threshold = float(options["beta"]), float(options["threshold"])
    scaled = x if beta == 1.0 else g.op("Mul", x, g.constant(beta))
    tail = g.op("Log", g.op("Add", g.constant(1.0), g.op("Exp", g.op("Neg", g.op("Abs", scaled)))))
    value = g.op("Add", g.op("Relu", scaled), tail)
    if beta != 1.0:
        value = g.op("Div", value, g.constant(beta))
    return g.op("Where", g.op("Greater", scaled, g.constant(threshold)), x, value)


def _silu(g: GraphBuilder, x: str, options: dict[str, Any]) -> str:
    """``z sigmoid(z)``."""
    return g.op("Mul", x, g.op("Sigmoid", x))


def _softmax(g: GraphBuilder, x: str, options: dict[str, Any]) -> str:
    """Each row: ``exp(z_j) / sum_k exp(z_k)`` (axis -1)."""
    return g.op("Softmax", x, axis=-1)


#: Activation name -> the function that appends its nodes and returns the result's name.
ONNX_ACTIVATIONS: dict[str, Callable[[GraphBuilder, str, dict[str, Any]], str]] = {
    "linear": _linear,
    "relu": _relu,
    "leaky_relu": _leaky_relu,
    "elu": _elu,
    "selu": _selu,
    "gelu": _gelu,
    "sigmoid": _sigmoid,
    "tanh": _tanh,
    "softplus": _softplus,
    "silu": _silu,
    "softmax": _softmax,
}


def emit_activation(g: GraphBuilder, name: str, options: dict[str, Any], x: str) -> str:
    """Append the nodes of the built-in activation ``name`` with ``options`` to ``x``; returns the result."""
    return ONNX_ACTIVATIONS[name](g, x, options)
