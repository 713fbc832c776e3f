"""Workloads shared by the asv benchmarks and the side-by-side script.

Each ``*_step`` builder returns a zero-argument callable doing one unit of
work, already warmed up (compiled) so that timing it never times a compile.
Peers are optional: their builders raise ``NotImplementedError`` (asv's
"skip") when the library is not installed.
"""

from __future__ import annotations

import numpy as np

from numbagrad import optim
from numbagrad.memory import aligned_full

#: Optimizers compared with PyTorch, with the options each is benchmarked with.
OPTIMIZERS = {
    "sgd_nesterov": ("sgd", "SGD", {"lr": 0.01, "momentum": 0.9, "nesterov": True}),
    "adam": ("adam", "Adam", {}),
    "adamw": ("adamw", "AdamW", {}),
    "adagrad": ("adagrad", "Adagrad", {}),
    "rmsprop": ("rmsprop", "RMSprop", {}),
    "nadam": ("nadam", "NAdam", {}),
    "adamax": ("adamax", "Adamax", {}),
    "adadelta": ("adadelta", "Adadelta", {}),
}
#: PyTorch's fastest CPU path for each: fused kernels where PyTorch has them.
TORCH_FASTEST = {
    "sgd_nesterov": "fused",
    "adam": "fused",
    "adamw": "fused",
    "adagrad": "fused",
    "rmsprop": "foreach",
    "nadam": "foreach",
    "adamax": "foreach",
    "adadelta": "foreach",
}


def _warm(step):
    step()
    step()
    return step


def numbagrad_optimizer_step(key: str, size: int, arrays: int = 1, dtype=np.float32):
    """One ``step`` of a numbagrad optimizer over ``size`` parameters split into ``arrays`` arrays."""
    name, _, options = OPTIMIZERS[key]
    sizes = [size // arrays + (1 if i < size % arrays else 0) for i in range(arrays)]
    params = [aligned_full(n, 1.0, dtype) for n in sizes]
    grads = [aligned_full(n, 0.01, dtype) for n in sizes]
    opt = optim.get(name, params, **options)
    return _warm(lambda: opt.step(grads))


def torch_optimizer_step(key: str, size: int, mode: str | None = None, arrays: int = 1):
    """One ``step`` of ``torch.optim`` with ``mode`` "fused", "foreach" or "single"."""
    try:
        import torch
    except ImportError:
        raise NotImplementedError("PyTorch is not installed") from None
    _, cls, options = OPTIMIZERS[key]
    mode = mode or TORCH_FASTEST[key]
    sizes = [size // arrays + (1 if i < size % arrays else 0) for i in range(arrays)]
    params = [torch.ones(n, requires_grad=True) for n in sizes]
    for p in params:
        p.grad = torch.full_like(p, 0.01)
    flags = {"fused": {"fused": True}, "foreach": {"foreach": True}, "single": {"foreach": False}}[mode]
    opt = getattr(torch.optim, cls)(params, **options, **flags)
    return _warm(opt.step)
