"""Call an activation, loss or metric kernel through its addresses.

Each driver receives ``kernels``, the int64 table of a declaration's
``kernel_table(dtype)`` (C and JIT addresses from
:func:`numbagrad.kernels.pointers.kernel_addresses`), and calls the kernel
with exactly the typed contract of :mod:`numbagrad.kernels.signatures`. One
cached compilation per dtype serves every activation, loss and metric, a
plugin's included, and exercises the same path a compiled training loop
takes. The Python layer above (bound activations, losses, metrics, the
autodiff engine) checks shapes, dtypes and contiguity before calling.

Tables: activations ``[forward C, forward JIT, backward C, backward JIT]``;
losses ``[loss C, loss JIT]``; metrics ``[update C, update JIT, weighted update C, weighted
update JIT]`` (zeros without a weighted kernel).
"""

from __future__ import annotations

from numbagrad.kernels.cpu.jit import kernel
from numbagrad.kernels.pointers import (
    activation_backward_function,
    activation_forward_function,
    loss_function,
    metric_function,
    weighted_metric_function,
)

__all__ = ["call_activation_forward", "call_activation_backward", "call_loss", "call_metric", "call_weighted_metric"]


@kernel
def call_activation_forward(kernels, z, out, params):
    """``forward(z, out, params)`` of the activation whose table is ``kernels``."""
    forward = activation_forward_function(z, kernels[0], kernels[1])
    forward(z, out, params)


@kernel
def call_activation_backward(kernels, z, out, grad_out, grad_in, params):
    """``backward(z, out, grad_out, grad_in, params)`` of the activation whose table is ``kernels``."""
    backward = activation_backward_function(z, kernels[2], kernels[3])
    backward(z, out, grad_out, grad_in, params)


@kernel
def call_loss(kernels, prediction, target, grad, params):
    """``loss(prediction, target, grad, params)`` of the loss whose table is ``kernels``; returns the loss."""
    loss = loss_function(prediction, kernels[0], kernels[1])
    return loss(prediction, target, grad, params)


@kernel
def call_metric(kernels, prediction, target, totals, params):
    """``update(prediction, target, totals, params)`` of the metric whose table is ``kernels``."""
    update = metric_function(prediction, kernels[0], kernels[1])
    update(prediction, target, totals, params)


@kernel
def call_weighted_metric(kernels, prediction, target, weights, totals, params):
    """``weighted_update(prediction, target, weights, totals, params)`` of the metric whose table is ``kernels``."""
    update = weighted_metric_function(prediction, kernels[2], kernels[3])
    update(prediction, target, weights, totals, params)
