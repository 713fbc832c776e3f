"""Inverted dropout on a CUDA GPU: the twin of :mod:`numbagrad.kernels.cpu.dropout`, with the same masks.

Element ``(r, j)`` of layer ``l``'s output (``units`` columns) in training step
``step`` is kept when

    u = (mix(mix(key + step * STEP + l * LAYER) + ((first_row + r) * units + j) * ELEMENT) >> 11) * 2**-53  >=  rate

in uint64 arithmetic that wraps around (``mix`` SplitMix64's finalizer; the
constants are the CPU module's), and a kept value is scaled by
``1 / (1 - rate)``, a dropped one set to 0. ``(key, step, first_row)`` is
row ``index`` of ``draws``, an int64 ``(batches, 3)`` device table that the
training loop writes once per segment of batches (the masks of a batch
change with it, the launches do not). The kernels:

* :func:`dropout_mask` ``(values, rate, scale, draws, index, layer)``:
  ``values[r, j] *= keep(r, j) * scale``, with ``scale = 1 / (1 - rate)`` in
  ``values``'s dtype. Forward, on a layer's output after its activation; in
  the backward pass, on dL/d(output) before a row-wise activation's
  derivative.
* :func:`dropout_backward_kernel` ``(forward, backward)`` builds, for an
  element-wise activation, the kernel ``(z, out, grad, params, rate, scale,
  draws, index, layer)`` that takes ``grad`` = dL/d(output after dropout) to
  dL/dz: ``grad[r, j] *= keep(r, j) * scale``, then ``out[r, j] = f(z)[r, j]``
  (the output before dropout, which the derivatives of sigmoid and tanh
  read; ``out`` is a scratch matrix, the dropped output stays where the next
  layer reads it), then ``grad[r, j] = backward(z, out, grad, params, r, j)``.

Each thread takes elements with a grid-stride loop, so any grid covers any
matrix; a mask is a function of its coordinates, so the backward pass
recomputes it instead of storing it.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import cuda, float64, uint64

from numbagrad.device import simulator_enabled

# The very constants of the CPU's hash: the two must draw the same masks.
from numbagrad.kernels.cpu.dropout import _M1, _M2, _S11, _S27, _S30, _S31, _UNIT, ELEMENT, LAYER, STEP

__all__ = ["mix64", "dropout_base", "dropout_kept", "dropout_mask", "dropout_backward_kernel"]


def _mix64(z):
    """SplitMix64's finalizer (every operand uint64: Numba would make a float of a uint64 mixed with an int64)."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


mix64 = cuda.jit(device=True)(_mix64)


def _base(key, step, layer):
    """The hash of a batch's layer: ``mix(key + step * STEP + layer * LAYER)``."""
    return mix64(uint64(key) + uint64(step) * STEP + uint64(layer) * LAYER)


def _kept(base, element, rate):
    """Whether element number ``element`` of the layer's output (in the whole batch) is kept."""
    return float64(mix64(base + uint64(element) * ELEMENT) >> _S11) * _UNIT >= rate


def _quiet(function):
    """``function`` with NumPy's overflow warnings off: the simulator runs the hash on NumPy uint64
    scalars, whose products wrap around as on a GPU but warn each time they do."""

    def quiet(*args):
        with np.errstate(over="ignore"):
            return function(*args)

    quiet.__name__ = quiet.__qualname__ = function.__name__
    return quiet


if simulator_enabled():
    _base, _kept = _quiet(_base), _quiet(_kept)

dropout_base = cuda.jit(device=True)(_base)
dropout_kept = cuda.jit(device=True)(_kept)


@cuda.jit(device=True)
def apply_mask(values, i, j, base, element, rate, scale):
    """``values[i, j] * scale`` when element number ``element`` of the batch is kept, else 0, in place."""
    if dropout_kept(base, element, rate):
        values[i, j] = values[i, j] * scale
    else:
        values[i, j] = 0.0


@cuda.jit
def dropout_mask(values, rate, scale, draws, index, layer):
    """``values[r, j] = values[r, j] * scale`` where layer ``layer`` keeps element ``(r, j)`` in the batch
    ``draws[index]``, else 0."""
    units = values.shape[1]
    base = dropout_base(draws[index, 0], draws[index, 1], layer)
    first = draws[index, 2] * units
    for k in range(cuda.grid(1), values.size, cuda.gridsize(1)):
        i = k // units
        apply_mask(values, i, k - i * units, base, first + k, rate, scale)


@functools.lru_cache(maxsize=None)
def dropout_backward_kernel(forward, backward):
    """The backward kernel through the dropout of a layer with an element-wise activation (its
    ``forward`` and ``backward`` device functions); see the module documentation."""

    def dropout_backward(z, out, grad, params, rate, scale, draws, index, layer):
        units = z.shape[1]
        base = dropout_base(draws[index, 0], draws[index, 1], layer)
        first = draws[index, 2] * units
        for k in range(cuda.grid(1), z.size, cuda.gridsize(1)):
            i = k // units
            j = k - i * units
            apply_mask(grad, i, j, base, first + k, rate, scale)
            out[i, j] = forward(z, params, i, j)
            grad[i, j] = backward(z, out, grad, params, i, j)

    return cuda.jit(dropout_backward)
