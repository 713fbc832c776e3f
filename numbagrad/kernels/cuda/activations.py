"""CUDA activation kernels: the twins of :mod:`numbagrad.kernels.cpu.activations`, under the same names.

Every pair is launched like an optimizer kernel, on a one-dimensional grid
of any size, with the CPU kernels' arguments::

    <name>_forward[blocks, threads](z, out, params)                      out = f(z)
    <name>_backward[blocks, threads](z, out, grad_out, grad_in, params)  grad_in = grad_out * f'(z)

over C-ordered ``(batch, features)`` device matrices, with the CPU kernels'
aliasing rules (``out`` may be ``z``, ``grad_in`` may be ``grad_out``).

They are built from device functions, which is what an activation's
declaration names (``ActivationSpec.cuda_forward`` and ``cuda_backward``,
contract in :mod:`numbagrad.kernels.cuda`)::

    forward(z, params, i, j) -> f(z)[i, j]                         element-wise
    backward(z, out, grad_out, params, i, j) -> grad_in[i, j]
    forward(z, out, params, i)                                      row-wise: writes row i
    backward(z, out, grad_out, grad_in, params, i)

so that the dense layers can apply an element-wise activation inside their
matrix-product kernels (:mod:`numbagrad.kernels.cuda.dense`) instead of in a
launch of its own. The built-in functions evaluate the formulas of
:mod:`numbagrad.kernels.formulas`, which the CPU kernels inline: under the
simulator both agree bit for bit; on a GPU, within the few ulps by which
CUDA's ``exp``, ``tanh`` and ``erf`` differ from the CPU's.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from numba import cuda

from numbagrad.kernels.cuda.formulas import FORMULAS as F

__all__ = [
    "CudaActivation",
    "cuda_activation",
    "element_functions",
    "elementwise_kernels",
    "rowwise_kernels",
    "linear_forward_element",
    "linear_backward_element",
    "relu_forward_element",
    "relu_backward_element",
    "leaky_relu_forward_element",
    "leaky_relu_backward_element",
    "elu_forward_element",
    "elu_backward_element",
    "selu_forward_element",
    "selu_backward_element",
    "gelu_forward_element",
    "gelu_backward_element",
    "sigmoid_forward_element",
    "sigmoid_backward_element",
    "tanh_forward_element",
    "tanh_backward_element",
    "softplus_forward_element",
    "softplus_backward_element",
    "silu_forward_element",
    "silu_backward_element",
    "softmax_forward_row",
    "softmax_backward_row",
    "linear_forward",
    "linear_backward",
    "relu_forward",
    "relu_backward",
    "leaky_relu_forward",
    "leaky_relu_backward",
    "elu_forward",
    "elu_backward",
    "selu_forward",
    "selu_backward",
    "gelu_forward",
    "gelu_backward",
    "sigmoid_forward",
    "sigmoid_backward",
    "tanh_forward",
    "tanh_backward",
    "softplus_forward",
    "softplus_backward",
    "silu_forward",
    "silu_backward",
    "softmax_forward",
    "softmax_backward",
]


def element_functions(coefficients, forward, backward):
    """The element-wise device functions of the contract, from a formula's three parts
    (``coefficients(z, params)``, ``forward(z, c, i, j)``, ``backward(z, out, grad_out, c, i, j)``)."""

    @cuda.jit(device=True)
    def forward_element(z, params, i, j):
        return forward(z, coefficients(z, params), i, j)

    @cuda.jit(device=True)
    def backward_element(z, out, grad_out, params, i, j):
        return backward(z, out, grad_out, coefficients(z, params), i, j)

    return forward_element, backward_element


linear_forward_element, linear_backward_element = element_functions(F.no_coefficients, F.linear_forward, F.linear_backward)
relu_forward_element, relu_backward_element = element_functions(F.relu_coefficients, F.relu_forward, F.relu_backward)
leaky_relu_forward_element, leaky_relu_backward_element = element_functions(
    F.leaky_relu_coefficients, F.leaky_relu_forward, F.leaky_relu_backward
)
elu_forward_element, elu_backward_element = element_functions(F.first_parameter, F.elu_forward, F.elu_backward)
selu_forward_element, selu_backward_element = element_functions(F.no_coefficients, F.selu_forward, F.selu_backward)
gelu_forward_element, gelu_backward_element = element_functions(F.gelu_coefficients, F.gelu_forward, F.gelu_backward)
sigmoid_forward_element, sigmoid_backward_element = element_functions(
    F.no_coefficients, F.sigmoid_forward, F.sigmoid_backward
)
tanh_forward_element, tanh_backward_element = element_functions(F.no_coefficients, F.tanh_forward, F.tanh_backward)
softplus_forward_element, softplus_backward_element = element_functions(
    F.softplus_coefficients, F.softplus_forward, F.softplus_backward
)
silu_forward_element, silu_backward_element = element_functions(F.no_coefficients, F.silu_forward, F.silu_backward)
softmax_forward_row = F.softmax_forward_row
softmax_backward_row = F.softmax_backward_row


def _named(function, name: str):
    function.__name__ = name
    function.__qualname__ = name
    return function


@functools.lru_cache(maxsize=None)
def elementwise_kernels(forward_element, backward_element, name: str = "activation"):
    """``(forward, backward)`` kernels over whole matrices from element-wise device functions.

    Each thread walks the flattened matrix with a grid-stride loop, element
    ``k`` being ``(k // columns, k % columns)``.
    """

    def forward(z, out, params):
        columns = z.shape[1]
        for k in range(cuda.grid(1), z.size, cuda.gridsize(1)):
            i = k // columns
            j = k - i * columns
            out[i, j] = forward_element(z, params, i, j)

    def backward(z, out, grad_out, grad_in, params):
        columns = z.shape[1]
        for k in range(cuda.grid(1), z.size, cuda.gridsize(1)):
            i = k // columns
            j = k - i * columns
            grad_in[i, j] = backward_element(z, out, grad_out, params, i, j)

    return cuda.jit(_named(forward, f"{name}_forward")), cuda.jit(_named(backward, f"{name}_backward"))


@functools.lru_cache(maxsize=None)
def rowwise_kernels(forward_row, backward_row, name: str = "activation"):
    """``(forward, backward)`` kernels over whole matrices from row-wise device functions (one thread per row)."""

    def forward(z, out, params):
        for i in range(cuda.grid(1), z.shape[0], cuda.gridsize(1)):
            forward_row(z, out, params, i)

    def backward(z, out, grad_out, grad_in, params):
        for i in range(cuda.grid(1), z.shape[0], cuda.gridsize(1)):
            backward_row(z, out, grad_out, grad_in, params, i)

    return cuda.jit(_named(forward, f"{name}_forward")), cuda.jit(_named(backward, f"{name}_backward"))


linear_forward, linear_backward = elementwise_kernels(linear_forward_element, linear_backward_element, "linear")
relu_forward, relu_backward = elementwise_kernels(relu_forward_element, relu_backward_element, "relu")
leaky_relu_forward, leaky_relu_backward = elementwise_kernels(leaky_relu_forward_element, leaky_relu_backward_element, "leaky_relu")
elu_forward, elu_backward = elementwise_kernels(elu_forward_element, elu_backward_element, "elu")
selu_forward, selu_backward = elementwise_kernels(selu_forward_element, selu_backward_element, "selu")
gelu_forward, gelu_backward = elementwise_kernels(gelu_forward_element, gelu_backward_element, "gelu")
sigmoid_forward, sigmoid_backward = elementwise_kernels(sigmoid_forward_element, sigmoid_backward_element, "sigmoid")
tanh_forward, tanh_backward = elementwise_kernels(tanh_forward_element, tanh_backward_element, "tanh")
softplus_forward, softplus_backward = elementwise_kernels(softplus_forward_element, softplus_backward_element, "softplus")
silu_forward, silu_backward = elementwise_kernels(silu_forward_element, silu_backward_element, "silu")
softmax_forward, softmax_backward = rowwise_kernels(softmax_forward_row, softmax_backward_row, "softmax")


@dataclass(frozen=True)
class CudaActivation:
    """An activation's CUDA device functions, resolved from its declaration.

    Attributes:
        name: the activation's registered name.
        forward, backward: the device functions of the contract.
        row_wise: they process whole rows (softmax) rather than elements.
    """

    name: str
    forward: Any
    backward: Any
    row_wise: bool

    @property
    def kernels(self):
        """``(forward, backward)`` kernels over whole matrices."""
        build = rowwise_kernels if self.row_wise else elementwise_kernels
        return build(self.forward, self.backward, self.name)


def cuda_activation(spec) -> CudaActivation:
    """The CUDA device functions of the declaration ``spec`` (imported if declared by path).

    Raises:
        TypeError: the declaration has no CUDA functions, or a path cannot be imported.
    """
    forward, backward = spec.cuda_functions()
    if forward is None or backward is None:
        raise TypeError(f"activation {spec.name!r} has no CUDA functions (cuda_forward and cuda_backward are None)")
    return CudaActivation(spec.name, forward, backward, spec.row_wise)
