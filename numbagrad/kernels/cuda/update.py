"""Launch an optimizer's CUDA update kernel over one parameter's flat device arrays.

The CUDA twin of :mod:`numbagrad.kernels.cpu.update`: the host runs the
optimizer's ``prepare`` (a CPU kernel) on the host ``hyper`` vector, copies
the vector to the device when it changed, then launches the update kernel
once per parameter array on a grid that :func:`launch_configuration` sizes.
"""

from __future__ import annotations

__all__ = ["launch_configuration", "launch_update", "launch_tensor_kernel"]


def launch_configuration(size: int, threads_per_block: int, max_blocks: int) -> tuple[int, int]:
    """``(blocks, threads)`` covering ``size`` elements with one element per thread, at most ``max_blocks`` blocks.

    Kernels walk their arrays with grid-stride loops, so a grid capped at
    ``max_blocks`` still covers every element. Callers skip empty arrays
    (a launch needs at least one block).
    """
    threads = max(1, int(threads_per_block))
    blocks = max(1, min(int(max_blocks), -(-int(size) // threads)))
    return blocks, threads


def launch_update(kernel, param, grad, state, hyper, step: int, threads_per_block: int, max_blocks: int) -> None:
    """``kernel[blocks, threads](param, grad, state, hyper, step)`` on the default stream; nothing for an empty array.

    ``param``, ``grad`` are flat ``(n,)`` device arrays, ``state`` a
    ``(slots, n)`` device array and ``hyper`` a float64 device array.
    """
    size = param.size
    if size == 0:
        return
    blocks, threads = launch_configuration(size, threads_per_block, max_blocks)
    kernel[blocks, threads](param, grad, state, hyper, step)


def launch_tensor_kernel(kernel, param, grad, state, hyper, step: int, statistics, tensor: int) -> None:
    """``kernel[blocks, threads](param, grad, state, hyper, step, statistics, tensor)`` over one whole tensor
    (a generated tensor-wise kernel); nothing for an empty tensor."""
    from numbagrad import config

    if param.size == 0:
        return
    blocks, threads = launch_configuration(param.size, config.CUDA_THREADS_PER_BLOCK, config.CUDA_MAX_BLOCKS)
    kernel[blocks, threads](param, grad, state, hyper, step, statistics, tensor)
