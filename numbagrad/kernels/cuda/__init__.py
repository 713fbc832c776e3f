"""``@cuda.jit`` kernels for NVIDIA GPUs: the twins of :mod:`numbagrad.kernels.cpu`, under the same names.

Importing a module of this package imports ``numba.cuda``; nothing in
numbagrad does so before CUDA is asked for (see :mod:`numbagrad.device`).
The modules: ``optimizers`` and ``update`` (optimizer steps), ``dense`` (the
dense layer's tiled products), ``activations``, ``losses``, ``metrics``,
``training`` (the loss of a batch fused with what surrounds it, the
gradient norm and clipping), ``dropout`` (the CPU's dropout masks, forward
and backward), ``reduction`` (deterministic sums), ``launch``
(launches bound once), ``formulas`` (the shared formulas compiled as
device functions).

*Optimizers.* The contract of an optimizer's CUDA update kernel, which a plugin declares as
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

*Activations.* An activation declares device functions (``ActivationSpec.cuda_forward``
and ``cuda_backward``, ``cuda.jit(device=True)``, preferably as import
paths); numbagrad builds the matrix kernels from them and fuses element-wise
ones into the dense layers' products. Element-wise::

    forward(z, params, i, j) -> f(z)[i, j]
    backward(z, out, grad_out, params, i, j) -> grad_out[i, j] * f'(z[i, j])

``z``, ``out`` and ``grad_out`` are C-ordered ``(batch, features)`` device
matrices of one dtype ``T``; ``out = f(z)`` when the backward function runs;
``params`` the float64 hyperparameters; the caller stores the returned value,
rounding it to ``T``. A function may read any element of its row, but is
called for each element by the thread that owns it, possibly right after
that thread wrote ``z[i, j]``. Row-wise (``row_wise=True``)::

    forward(z, out, params, i)                    writes out[i, :]
    backward(z, out, grad_out, grad_in, params, i) writes grad_in[i, :]

(``grad_in`` may be ``grad_out``: read a row before writing it).

*Losses.* A loss declares the device function of one row (``LossSpec.cuda_kernel``)::

    row(prediction, target, grad, params, i) -> float64

It writes ``grad[i, :]``, the gradient of the batch loss with respect to
row ``i`` of the prediction (the mean's ``1 / rows`` included), and returns
row ``i``'s share of the batch loss: the batch loss is the sum of the
shares, which numbagrad adds up over the grid in a fixed order. ``target``
is C-ordered like ``prediction``, or one column of class labels.

*Metrics.* A metric declares a kernel with the CPU kernel's arguments
(``MetricSpec.cuda_update``)::

    update[blocks, threads](prediction, target, totals, params)

adding the batch to the float64 device array ``totals`` (the CPU kernel's
layout, so that ``result(totals)`` reads either). numbagrad launches it on
one block; :func:`numbagrad.kernels.cuda.reduction.block_sum` sums over the
block in a fixed order.
"""
