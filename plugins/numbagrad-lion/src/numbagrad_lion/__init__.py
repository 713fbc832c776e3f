"""The Lion optimizer and an inverse-square-root learning-rate schedule for numbagrad.

Installed, the distribution registers both through numbagrad's entry point
group; use them by name::

    import numbagrad
    opt = numbagrad.optim.get("lion", params, lr=1e-4, weight_decay=0.1)
    schedule = numbagrad.schedules.get("inverse_sqrt", lr=1e-3, warmup_steps=4000)
"""

from numbagrad_lion.kernels import lion_update
from numbagrad_lion.optimizer import LION_SPEC
from numbagrad_lion.schedules import INVERSE_SQRT_SPEC, inverse_sqrt

__version__ = "0.1.0"
__all__ = ["LION_SPEC", "INVERSE_SQRT_SPEC", "lion_update", "inverse_sqrt"]
