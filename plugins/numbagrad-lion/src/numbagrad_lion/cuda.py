"""Lion's CUDA update kernel, the twin of ``numbagrad_lion.kernels.lion_update``.

Declared as ``cuda_update="numbagrad_lion.cuda:lion_update"``, so that
importing the plugin does not import ``numba.cuda``; numbagrad imports this
module when an optimizer is given CUDA device arrays. The contract is
numbagrad's (``numbagrad.plugin.cuda_update_signature``): one launch per
array over its whole length, a grid-stride loop, ``hyper`` already on the
GPU. The arithmetic is the CPU kernel's own functions, compiled as device
functions, so both agree bit for bit under Numba's simulator and to the
fused multiply-adds the CUDA compiler forms on a GPU.
"""

from __future__ import annotations

from numba import cuda

from numbagrad_lion.kernels import lion_coefficients, lion_rule

__all__ = ["lion_update"]

_coefficients = cuda.jit(device=True)(lion_coefficients)
_rule = cuda.jit(device=True)(lion_rule)


@cuda.jit
def lion_update(param, grad, state, hyper, step):
    """Lion over the whole flat buffer; hyper = [lr, beta1, beta2, weight_decay, maximize]; state = [exp_avg]."""
    lr, beta1, keep1, beta2, keep2, shrink, one, maximize = _coefficients(param, hyper)
    for i in range(cuda.grid(1), param.size, cuda.gridsize(1)):
        p, m = _rule(param[i], grad[i], state[0, i], lr, beta1, keep1, beta2, keep2, shrink, one, maximize)
        param[i] = p
        state[0, i] = m
