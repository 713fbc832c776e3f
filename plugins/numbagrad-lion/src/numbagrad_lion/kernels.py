"""Lion's fused update kernel, written to numbagrad's update contract.

``update(param, grad, state, hyper, step, start, stop)`` updates
``param[start:stop]`` and its state in place (see
``numbagrad.plugin.update_signature``). The slices are taken before the loop
so that LLVM sees arrays starting at the loop's index 0 and vectorises it;
``error_model="numpy"`` keeps a division check out of the loop, and
``cache=True`` stores the compiled kernel on disk. No ``fastmath``: the
tests compare the kernel with a NumPy transcription bit for bit.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["lion_update"]


@njit(cache=True, error_model="numpy", nogil=True)
def lion_update(param, grad, state, hyper, step, start, stop):
    """Lion (Chen et al., 2023, "Symbolic Discovery of Optimization Algorithms", Algorithm 2).

    hyper = [lr, beta1, beta2, weight_decay, maximize]; state = [exp_avg]::

        g = -grad if maximize else grad
        c = beta1 * m + (1 - beta1) * g          the update's direction
        p = p * (1 - lr * weight_decay)          decoupled weight decay
        p = p - lr * sign(c)
        m = beta2 * m + (1 - beta2) * g          the momentum

    Every scalar is rounded to the parameters' precision first, as PyTorch
    does; ``1 - beta`` and ``1 - lr * weight_decay`` are computed in float64.
    """
    lr = param.dtype.type(hyper[0])
    beta1 = param.dtype.type(hyper[1])
    keep1 = param.dtype.type(1.0 - hyper[1])
    beta2 = param.dtype.type(hyper[2])
    keep2 = param.dtype.type(1.0 - hyper[2])
    shrink = param.dtype.type(1.0 - hyper[0] * hyper[3])
    maximize = hyper[4] != 0.0
    p = param[start:stop]
    gradient = grad[start:stop]
    exp_avg = state[0, start:stop]
    for i in range(p.size):
        g = -gradient[i] if maximize else gradient[i]
        m = exp_avg[i]
        c = beta1 * m + keep1 * g
        p[i] = p[i] * shrink - lr * np.sign(c)
        exp_avg[i] = beta2 * m + keep2 * g
