"""Lion's fused update kernel, written to numbagrad's update contract.

``update(param, grad, state, hyper, step, start, stop)`` updates
``param[start:stop]`` and its state in place (see
``numbagrad.plugin.update_signature``). The slices are taken before the loop
so that LLVM sees arrays starting at the loop's index 0 and vectorises it;
``error_model="numpy"`` keeps a division check out of the loop, and
``cache=True`` stores the compiled kernel on disk. No ``fastmath``: the
tests compare the kernel with a NumPy transcription bit for bit.

The arithmetic is two plain functions, :func:`lion_coefficients` (once per
call) and :func:`lion_rule` (per element), which this kernel inlines and the
CUDA kernel (``numbagrad_lion.cuda``) compiles as device functions: both run
the same operations in the same order. They live in this file because
Numba's on-disk cache only notices changes to the file of the cached kernel.
"""

from __future__ import annotations

from numba import njit

__all__ = ["lion_update", "lion_coefficients", "lion_rule"]


def lion_coefficients(param, hyper):
    """hyper = [lr, beta1, beta2, weight_decay, maximize] -> ``(lr, beta1, 1 - beta1, beta2, 1 - beta2,
    1 - lr weight_decay, 1)`` in the parameters' dtype, and ``maximize``.

    Every scalar is rounded to the parameters' precision, as PyTorch does;
    ``1 - beta`` and ``1 - lr * weight_decay`` are computed in float64 first.
    """
    dtype = param.dtype.type
    return (
        dtype(hyper[0]),
        dtype(hyper[1]),
        dtype(1.0 - hyper[1]),
        dtype(hyper[2]),
        dtype(1.0 - hyper[2]),
        dtype(1.0 - hyper[0] * hyper[3]),
        dtype(1.0),
        hyper[4] != 0.0,
    )


def lion_rule(p, grad, m, lr, beta1, keep1, beta2, keep2, shrink, one, maximize):
    """One element of Lion (Chen et al., 2023, Algorithm 2); returns ``(p, m)``::

        g = -grad if maximize else grad
        c = beta1 * m + (1 - beta1) * g          the update's direction
        p = p * (1 - lr * weight_decay)          decoupled weight decay
        p = p - lr * sign(c)
        m = beta2 * m + (1 - beta2) * g          the momentum

    ``sign`` is NumPy's (0 at 0, NaN for NaN), in the parameters' dtype
    (``one`` is 1 in it), written out because CUDA has no ``np.sign``.
    """
    g = -grad if maximize else grad
    c = beta1 * m + keep1 * g
    if c > 0:
        direction = one
    elif c < 0:
        direction = -one
    elif c == 0:
        direction = one - one
    else:
        direction = c
    return p * shrink - lr * direction, beta2 * m + keep2 * g


_coefficients = njit(inline="always", error_model="numpy")(lion_coefficients)
_rule = njit(inline="always", error_model="numpy")(lion_rule)


@njit(cache=True, error_model="numpy", nogil=True)
def lion_update(param, grad, state, hyper, step, start, stop):
    """Lion (Chen et al., 2023, "Symbolic Discovery of Optimization Algorithms", Algorithm 2).

    hyper = [lr, beta1, beta2, weight_decay, maximize]; state = [exp_avg]; see :func:`lion_rule`.
    """
    lr, beta1, keep1, beta2, keep2, shrink, one, maximize = _coefficients(param, hyper)
    p = param[start:stop]
    gradient = grad[start:stop]
    exp_avg = state[0, start:stop]
    for i in range(p.size):
        p[i], exp_avg[i] = _rule(p[i], gradient[i], exp_avg[i], lr, beta1, keep1, beta2, keep2, shrink, one, maximize)
