"""The dense layer on a CUDA GPU: tiled matrix products with the bias, the activation and the gradient norm fused.

The twins of :mod:`numbagrad.kernels.cpu.dense`: :func:`dense_forward` and
:func:`dense_backward` take the CPU functions' arguments (device matrices;
the activation as its :class:`~numbagrad.kernels.cuda.activations.CudaActivation`
instead of a table of addresses) and compute the same::

    forward:   z = x @ weight + bias;  out = f(z)
    backward:  dz = grad_out * f'(z)   (grad_out is overwritten)
               grad_weight (+)= x.T @ dz;  grad_bias (+)= sum(dz, axis=0);  grad_x = dz @ weight.T

Underneath are two kernels, built per dtype, tile configuration and fused
activation (:func:`forward_kernel`, :func:`backward_kernel`), which the GPU
training loop launches directly:

* the forward kernel computes a ``TILE x TILE`` block of ``z`` per CUDA
  block: slices of ``x`` and ``weight`` are staged in shared memory,
  ``TILE_K`` columns at a time, and each thread accumulates a
  ``THREAD_TILE x THREAD_TILE`` square of outputs in registers (rows and
  columns ``THREAD_TILE`` apart from each other's threads, so that shared
  memory is read without bank conflicts and ``z`` is written coalesced).
  The epilogue adds the bias, stores ``z`` and, for an element-wise
  activation, stores ``out = f(z)`` from the same thread: no second pass.
  Rows of ``x`` may be gathered through ``order[start + row]``: the training
  loop reads each batch straight out of the training set in the epoch's
  shuffled order, without copying it first.
* the backward kernel runs two jobs in one launch: its first
  ``weight_blocks`` blocks compute ``x.T @ dz``, with one more row of ones
  in ``x.T`` when the layer has a bias, so that the bias gradient is the
  product's last row (in a model's flat buffer the bias follows its
  weight); the others compute ``dz @ weight.T``, whose epilogue applies the
  previous layer's activation derivative, so that it leaves ``dz`` of the
  previous layer, ready for its own backward launch. The first job also
  clamps the gradient (``clip_value``) and sums its squares per block, for
  the global gradient norm.

Every tile loops over tiles with a grid-stride loop, so any grid covers any
layer. Accumulation is in the arrays' dtype, as BLAS's; results differ from
the CPU's products by the order of the sums (tests: 1e-12 relative in
float64, 1e-5 in float32).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from numba import cuda, float64

from numbagrad import config
from numbagrad.kernels.cuda.reduction import block_sum
from numbagrad.kernels.signatures import numba_float

__all__ = [
    "GemmTiles",
    "gemm_tiles",
    "forward_kernel",
    "backward_kernel",
    "forward_grid",
    "backward_grid",
    "dense_forward",
    "dense_backward",
]


@dataclass(frozen=True)
class GemmTiles:
    """A tile configuration of the matrix products (see :mod:`numbagrad.config`)."""

    tile: int
    tile_k: int
    thread_tile: int

    @property
    def side(self) -> int:
        """Threads along each side of a tile."""
        return self.tile // self.thread_tile

    @property
    def threads(self) -> int:
        """Threads per block."""
        return self.side * self.side


#: Shared memory a block may use (bytes): CUDA's static limit.
SHARED_BYTES = 48 * 1024


def gemm_tiles() -> GemmTiles:
    """The tiles of :data:`numbagrad.config.CUDA_GEMM_TILE`, ``_TILE_K`` and ``_THREAD_TILE``, checked.

    Raises:
        ValueError: the thread tile does not divide the tile, a block would
            need more than 1024 threads, or its tiles more shared memory than
            a block has.
    """
    tile, tile_k, thread_tile = config.CUDA_GEMM_TILE, config.CUDA_GEMM_TILE_K, config.CUDA_GEMM_THREAD_TILE
    if tile % thread_tile:
        raise ValueError(
            f"numbagrad.config: CUDA_GEMM_THREAD_TILE={thread_tile} must divide CUDA_GEMM_TILE={tile}"
        )
    tiles = GemmTiles(tile, tile_k, thread_tile)
    if tiles.threads > 1024:
        raise ValueError(
            f"numbagrad.config: CUDA_GEMM_TILE={tile} and CUDA_GEMM_THREAD_TILE={thread_tile} make blocks of "
            f"{tiles.threads} threads; CUDA allows at most 1024 (raise the thread tile or lower the tile)"
        )
    needed = 2 * tile_k * (tile + 1) * 8 + tiles.threads * 8
    if needed > SHARED_BYTES:
        raise ValueError(
            f"numbagrad.config: CUDA_GEMM_TILE={tile} and CUDA_GEMM_TILE_K={tile_k} need {needed} bytes of shared "
            f"memory per block in float64; a block has {SHARED_BYTES} (lower either)"
        )
    return tiles


# Element-wise device functions of "no activation", where a kernel is built without one.
@cuda.jit(device=True)
def identity_forward(z, params, i, j):
    return z[i, j]


@cuda.jit(device=True)
def identity_backward(z, out, grad_out, params, i, j):
    return grad_out[i, j]


@functools.lru_cache(maxsize=None)
def _tile_product(dtype: np.dtype, tiles: GemmTiles):
    """The device functions every product shares: clearing the accumulators, staging a
    tile of an operand in shared memory, and multiplying two staged tiles."""
    element = numba_float(dtype)
    tile, tile_k, thread_tile, side, threads = tiles.tile, tiles.tile_k, tiles.thread_tile, tiles.side, tiles.threads

    @cuda.jit(device=True)
    def clear(acc):
        for a in range(thread_tile):
            for b in range(thread_tile):
                acc[a, b] = element(0.0)

    @cuda.jit(device=True)
    def stage(matrix, staged, k0, column0, depth, width, t):
        # staged[kk, c] = matrix[k0 + kk, column0 + c], zero outside depth x width;
        # neighbouring threads read neighbouring columns (coalesced).
        for e in range(t, tile * tile_k, threads):
            kk = e // tile
            c = e - kk * tile
            value = element(0.0)
            if k0 + kk < depth and column0 + c < width:
                value = matrix[k0 + kk, column0 + c]
            staged[kk, c] = value

    @cuda.jit(device=True)
    def stage_transposed(matrix, staged, row0, k0, height, depth, t):
        # staged[kk, r] = matrix[row0 + r, k0 + kk], zero outside height x depth;
        # neighbouring threads read along a row of matrix (coalesced).
        for e in range(t, tile * tile_k, threads):
            r = e // tile_k
            kk = e - r * tile_k
            value = element(0.0)
            if row0 + r < height and k0 + kk < depth:
                value = matrix[row0 + r, k0 + kk]
            staged[kk, r] = value

    @cuda.jit(device=True)
    def multiply(a_tile, b_tile, acc, ty, tx):
        # acc[a, b] += sum over kk of A[row ty + a side, kk] B[kk, column tx + b side]
        for kk in range(tile_k):
            for a in range(thread_tile):
                left = a_tile[kk, ty + a * side]
                for b in range(thread_tile):
                    acc[a, b] += left * b_tile[kk, tx + b * side]

    return clear, stage, stage_transposed, multiply


@functools.lru_cache(maxsize=None)
def forward_kernel(dtype, tiles: GemmTiles, activation=None):
    """The forward kernel ``(x, order, start, weight, bias, z, out, params)`` for one dtype, tile
    configuration and element-wise activation (its forward device function; ``None``: ``out`` is not written).

    ``x`` row ``r`` of the batch is ``x[order[start + r]]`` when ``order`` is
    not empty, else ``x[start + r]``; ``bias`` is empty for a layer without.
    """
    dtype = np.dtype(dtype)
    element = numba_float(dtype)
    tile, tile_k, thread_tile, side, threads = tiles.tile, tiles.tile_k, tiles.thread_tile, tiles.side, tiles.threads
    # One unused column per row of a staged tile: stores that walk down a
    # column then hit successive memory banks instead of the same one.
    padded = tile + 1
    clear, stage, stage_transposed, multiply = _tile_product(dtype, tiles)
    apply = activation is not None
    forward = activation if apply else identity_forward

    def dense_forward_tiles(x, order, start, weight, bias, z, out, params):
        rows, units = z.shape
        fan_in = weight.shape[0]
        gather = order.size > 0
        has_bias = bias.size > 0
        a_tile = cuda.shared.array((tile_k, padded), element)
        b_tile = cuda.shared.array((tile_k, padded), element)
        acc = cuda.local.array((thread_tile, thread_tile), element)
        t = cuda.threadIdx.x
        ty = t // side
        tx = t - ty * side
        column_tiles = (units + tile - 1) // tile
        count = column_tiles * ((rows + tile - 1) // tile)
        for index in range(cuda.blockIdx.x, count, cuda.gridDim.x):
            row0 = (index // column_tiles) * tile
            column0 = (index - (index // column_tiles) * column_tiles) * tile
            clear(acc)
            for k0 in range(0, fan_in, tile_k):
                for e in range(t, tile * tile_k, threads):
                    r = e // tile_k
                    kk = e - r * tile_k
                    value = element(0.0)
                    if row0 + r < rows and k0 + kk < fan_in:
                        source = order[start + row0 + r] if gather else start + row0 + r
                        value = x[source, k0 + kk]
                    a_tile[kk, r] = value
                stage(weight, b_tile, k0, column0, fan_in, units, t)
                cuda.syncthreads()
                multiply(a_tile, b_tile, acc, ty, tx)
                cuda.syncthreads()
            for a in range(thread_tile):
                r = row0 + ty + a * side
                if r < rows:
                    for b in range(thread_tile):
                        c = column0 + tx + b * side
                        if c < units:
                            value = acc[a, b]
                            if has_bias:
                                value += bias[c]
                            z[r, c] = value
                            if apply:
                                out[r, c] = forward(z, params, r, c)

    return cuda.jit(dense_forward_tiles)


@functools.lru_cache(maxsize=None)
def backward_kernel(dtype, tiles: GemmTiles, previous=None):
    """The backward kernel for one dtype, tile configuration and previous layer's activation
    (its element-wise backward device function; ``None``: ``grad_x`` is left as ``dz @ weight.T``)::

        (x, order, start, weight, dz, grad_weight, grad_bias, grad_x,
         previous_z, previous_out, previous_params,
         clip_value, accumulate, weight_blocks, partials, partial_offset)

    Blocks below ``weight_blocks`` compute ``grad_weight`` and ``grad_bias``
    (clamped to ``[-clip_value, clip_value]`` when ``clip_value > 0``; added
    to their values when ``accumulate``) and store the sum of the squares of
    what they wrote in ``partials[partial_offset + block]`` (unless
    ``partials`` is empty); the others compute ``grad_x`` (unless empty),
    then ``grad_x = previous(previous_z, previous_out, grad_x, ...)``.
    """
    dtype = np.dtype(dtype)
    element = numba_float(dtype)
    tile, tile_k, thread_tile, side, threads = tiles.tile, tiles.tile_k, tiles.thread_tile, tiles.side, tiles.threads
    # One unused column per row of a staged tile: stores that walk down a
    # column then hit successive memory banks instead of the same one.
    padded = tile + 1
    clear, stage, stage_transposed, multiply = _tile_product(dtype, tiles)
    apply = previous is not None
    derivative = previous if apply else identity_backward

    def dense_backward_tiles(
        x, order, start, weight, dz, grad_weight, grad_bias, grad_x,
        previous_z, previous_out, previous_params, clip_value, accumulate, weight_blocks, partials, partial_offset,
    ):
        rows, units = dz.shape
        fan_in = weight.shape[0]
        gather = order.size > 0
        has_bias = grad_bias.size > 0
        a_tile = cuda.shared.array((tile_k, padded), element)
        b_tile = cuda.shared.array((tile_k, padded), element)
        shared = cuda.shared.array(threads, float64)
        acc = cuda.local.array((thread_tile, thread_tile), element)
        t = cuda.threadIdx.x
        ty = t // side
        tx = t - ty * side
        column_tiles = (units + tile - 1) // tile
        if cuda.blockIdx.x < weight_blocks:
            # grad_weight, grad_bias = [x, 1].T @ dz: (fan_in + has_bias) x units, summed over the rows.
            limit = element(clip_value)
            clip = clip_value > 0.0
            weight_rows = fan_in + (1 if has_bias else 0)
            count = column_tiles * ((weight_rows + tile - 1) // tile)
            squares = 0.0
            for index in range(cuda.blockIdx.x, count, weight_blocks):
                row0 = (index // column_tiles) * tile
                column0 = (index - (index // column_tiles) * column_tiles) * tile
                clear(acc)
                for k0 in range(0, rows, tile_k):
                    for e in range(t, tile * tile_k, threads):
                        kk = e // tile
                        i = e - kk * tile
                        value = element(0.0)
                        if k0 + kk < rows:
                            if row0 + i < fan_in:
                                source = order[start + k0 + kk] if gather else start + k0 + kk
                                value = x[source, row0 + i]
                            elif row0 + i == fan_in and has_bias:
                                value = element(1.0)
                        a_tile[kk, i] = value
                    stage(dz, b_tile, k0, column0, rows, units, t)
                    cuda.syncthreads()
                    multiply(a_tile, b_tile, acc, ty, tx)
                    cuda.syncthreads()
                for a in range(thread_tile):
                    i = row0 + ty + a * side
                    if i < weight_rows:
                        for b in range(thread_tile):
                            c = column0 + tx + b * side
                            if c < units:
                                value = acc[a, b]
                                if accumulate:
                                    value += grad_weight[i, c] if i < fan_in else grad_bias[c]
                                if clip:
                                    if value > limit:
                                        value = limit
                                    elif value < -limit:
                                        value = -limit
                                if i < fan_in:
                                    grad_weight[i, c] = value
                                else:
                                    grad_bias[c] = value
                                squares += value * value
            total = block_sum(squares, shared)
            if t == 0 and partials.size > 0:
                partials[partial_offset + cuda.blockIdx.x] = total
        elif grad_x.size > 0:
            # grad_x = dz @ weight.T: rows x fan_in, summed over the units.
            block = cuda.blockIdx.x - weight_blocks
            blocks = cuda.gridDim.x - weight_blocks
            input_tiles = (fan_in + tile - 1) // tile
            count = input_tiles * ((rows + tile - 1) // tile)
            for index in range(block, count, blocks):
                row0 = (index // input_tiles) * tile
                column0 = (index - (index // input_tiles) * input_tiles) * tile
                clear(acc)
                for k0 in range(0, units, tile_k):
                    stage_transposed(dz, a_tile, row0, k0, rows, units, t)
                    stage_transposed(weight, b_tile, column0, k0, fan_in, units, t)
                    cuda.syncthreads()
                    multiply(a_tile, b_tile, acc, ty, tx)
                    cuda.syncthreads()
                for a in range(thread_tile):
                    r = row0 + ty + a * side
                    if r < rows:
                        for b in range(thread_tile):
                            i = column0 + tx + b * side
                            if i < fan_in:
                                grad_x[r, i] = acc[a, b]
                                if apply:
                                    grad_x[r, i] = derivative(previous_z, previous_out, grad_x, previous_params, r, i)

    return cuda.jit(dense_backward_tiles)


def _blocks(tiles_needed: int) -> int:
    return max(1, min(int(config.CUDA_MAX_BLOCKS), int(tiles_needed)))


def forward_grid(rows: int, units: int, tiles: GemmTiles) -> int:
    """Blocks of a forward launch: one per tile of ``z``, at most ``CUDA_MAX_BLOCKS``."""
    return _blocks(-(-rows // tiles.tile) * -(-units // tiles.tile))


def backward_grid(rows: int, fan_in: int, units: int, has_bias: bool, input_gradient: bool, tiles: GemmTiles) -> tuple[int, int]:
    """``(weight_blocks, input_blocks)`` of a backward launch, each at most ``CUDA_MAX_BLOCKS``."""
    weight_blocks = _blocks(-(-(fan_in + int(has_bias)) // tiles.tile) * -(-units // tiles.tile))
    input_blocks = _blocks(-(-rows // tiles.tile) * -(-fan_in // tiles.tile)) if input_gradient else 0
    return weight_blocks, input_blocks


@functools.lru_cache(maxsize=None)
def empty_array(dtype) -> object:
    """A cached empty device array of ``dtype`` (an absent argument)."""
    return cuda.device_array(0, dtype=dtype)


def _element_function(activation, which: int):
    """The element-wise device function to fuse, or None for a row-wise activation."""
    if activation is None or activation.row_wise:
        return None
    return activation.forward if which == 0 else activation.backward


def dense_forward(x, weight, bias, z, out, activation, activation_params) -> None:
    """Dense layer forward on device matrices: ``z = x @ weight + bias``, ``out = activation(z)``.

    ``activation`` is a :class:`~numbagrad.kernels.cuda.activations.CudaActivation`
    (``numbagrad.kernels.cuda.activations.cuda_activation(spec)``);
    ``activation_params`` a float64 device array; ``bias`` may be empty.
    An element-wise activation is applied in the product's epilogue, a
    row-wise one by its own kernel afterwards. ``out`` may be ``z``.
    """
    tiles = gemm_tiles()
    fused = _element_function(activation, 0)
    kernel = forward_kernel(np.dtype(z.dtype), tiles, fused)
    blocks = forward_grid(z.shape[0], z.shape[1], tiles)
    kernel[blocks, tiles.threads](x, empty_array(np.int64), 0, weight, bias, z, out, activation_params)
    if fused is None and activation is not None:
        from numbagrad.kernels.cuda.update import launch_configuration

        row_blocks, threads = launch_configuration(z.shape[0], config.CUDA_THREADS_PER_BLOCK, config.CUDA_MAX_BLOCKS)
        activation.kernels[0][row_blocks, threads](z, out, activation_params)


def dense_backward(x, weight, z, out, grad_out, grad_weight, grad_bias, grad_x, activation, activation_params, accumulate) -> None:
    """Dense layer backward on device matrices, from ``grad_out`` = dL/d out (overwritten with dL/dz)::

        dz = grad_out * activation'(z)      (row-wise for softmax; one element-wise launch otherwise)
        grad_weight = x.T @ dz              (+= when accumulate)
        grad_bias   = sum(dz, axis=0)       (+= when accumulate; skipped when empty)
        grad_x      = dz @ weight.T         (skipped when empty)

    The CUDA twin of :func:`numbagrad.kernels.cpu.dense.dense_backward`.
    """
    from numbagrad.kernels.cuda.update import launch_configuration

    if activation is not None:
        size = z.shape[0] if activation.row_wise else z.size
        blocks, threads = launch_configuration(size, config.CUDA_THREADS_PER_BLOCK, config.CUDA_MAX_BLOCKS)
        activation.kernels[1][blocks, threads](z, out, grad_out, grad_out, activation_params)
    tiles = gemm_tiles()
    dtype = np.dtype(z.dtype)
    kernel = backward_kernel(dtype, tiles, None)
    weight_blocks, input_blocks = backward_grid(
        x.shape[0], weight.shape[0], weight.shape[1], grad_bias.size > 0, grad_x.size > 0, tiles
    )
    empty = empty_array(dtype)
    kernel[weight_blocks + input_blocks, tiles.threads](
        x, empty_array(np.int64), 0, weight, grad_out, grad_weight, grad_bias, grad_x,
        empty.reshape(0, 0), empty.reshape(0, 0), empty_array(np.float64), 0.0, bool(accumulate), weight_blocks,
        empty_array(np.float64), 0,
    )
