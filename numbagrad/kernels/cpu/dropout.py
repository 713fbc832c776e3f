"""Inverted dropout inside the compiled epoch, its masks from a counter-based hash.

Element ``(r, j)`` of layer ``l``'s output in batch ``step`` is kept when

    u = mix(mix(key + step * A + l * B) + (r * units + j) * C) / 2**64  >=  rate

(``mix`` SplitMix64's finalizer, ``r`` the row's place in the whole batch,
``A, B, C`` odd 64-bit constants), and a kept value is scaled by
``1 / (1 - rate)``, so that the layer's expected output is unchanged and
nothing is done at inference. A mask is a function of its coordinates: the
backward pass recomputes it instead of storing it, the result does not
depend on how an epoch is cut into compiled segments or a batch into ranks
(each rank hashes its rows' places in the whole batch), and
:func:`numbagrad.nn.dropout.keep_mask` computes the same masks in NumPy.

The network's passes call both as on-demand outlined kernels
(:mod:`numbagrad.kernels.cpu.outline`), compiled only for a model with dropout.
"""

from __future__ import annotations

import numpy as np

from numbagrad.kernels.cpu.jit import inline, kernel

__all__ = ["mix64", "dropout_forward", "dropout_backward", "STEP", "LAYER", "ELEMENT"]

#: Odd constants spreading the step, the layer and the element over the 64 bits.
STEP = np.uint64(0x9E3779B97F4A7C15)
LAYER = np.uint64(0xD1B54A32D192ED03)
ELEMENT = np.uint64(0xAEF17502108EF2D9)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_UNIT = 1.0 / 9007199254740992.0  # 2**-53


@inline
def mix64(z):
    """SplitMix64's finalizer: a bijection of uint64 whose output bits each depend on every input bit."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@inline
def _base(key, step, layer):
    return mix64(np.uint64(key) + np.uint64(step) * STEP + np.uint64(layer) * LAYER)


@inline
def _kept(base, element, rate):
    return float(mix64(base + np.uint64(element) * ELEMENT) >> _S11) * _UNIT >= rate


@kernel
def dropout_forward(out, rate, key, step, layer, first_row):
    """``out[r, j] *= mask / (1 - rate)`` in place, for the rows ``first_row + r`` of the batch."""
    base = _base(key, step, layer)
    scale = out.dtype.type(1.0 / (1.0 - rate))
    zero = out.dtype.type(0.0)
    units = out.shape[1]
    for r in range(out.shape[0]):
        row = out[r]
        start = (first_row + r) * units
        for j in range(units):
            row[j] = row[j] * scale if _kept(base, start + j, rate) else zero


@kernel
def dropout_backward(grad, rate, key, step, layer, first_row):
    """``grad[r, j] *= mask / (1 - rate)`` in place: dL/d(output before dropout) from dL/d(output after)."""
    dropout_forward(grad, rate, key, step, layer, first_row)
