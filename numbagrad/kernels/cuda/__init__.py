"""``@cuda.jit`` kernels for NVIDIA GPUs: the twins of :mod:`numbagrad.kernels.cpu`, under the same names.

Importing a module of this package imports ``numba.cuda``; nothing in
numbagrad does so before CUDA is asked for (see :mod:`numbagrad.device`).

The contract of an optimizer's CUDA update kernel, which a plugin declares as
``OptimizerSpec.cuda_update``::

    @cuda.jit
    def update(param, grad, state, hyper, step):
        ...

with the types of :func:`numbagrad.kernels.signatures.cuda_update_signature`:

* ``param``, ``grad``: the C-contiguous device arrays of one parameter,
  flattened to shape ``(n,)``; ``param`` is updated in place.
* ``state``: the parameter's state, a C-contiguous ``(slots, n)`` device
  array with one row per slot, in declaration order (zero rows when the
  options use none); updated in place.
* ``hyper``: a float64 device array, the optimizer's hyperparameters in
  declaration order then its scalar state, exactly as the CPU kernel reads
  it. The host runs the optimizer's ``prepare`` (a CPU kernel) before the
  launch, so the scalar state is already advanced for this step; the kernel
  only reads ``hyper``.
* ``step``: the step number, 1 on the first update.

The kernel is launched once per step on a one-dimensional grid whose size
comes from :data:`numbagrad.config.CUDA_THREADS_PER_BLOCK` and
:data:`numbagrad.config.CUDA_MAX_BLOCKS`; it must cover any ``n`` with any
grid, which a grid-stride loop does::

    for i in range(cuda.grid(1), param.size, cuda.gridsize(1)):
        ...

Elements are independent: no thread reads what another writes. It computes
in the parameters' dtype with every hyperparameter rounded to it, like the
CPU kernel, so that both agree (bit for bit under the simulator; on a GPU up
to the fused multiply-adds the CUDA compiler contracts, about 1e-6 relative
in float32 and 1e-12 in float64).

Declare it as ``cuda_update="package.module:kernel_name"``, a string imported
on first use, so that importing the plugin does not import ``numba.cuda``.
"""
