"""The inverse-square-root schedule with linear warm-up ("Attention Is All You Need", 2017)."""

from __future__ import annotations

import numpy as np
from numbagrad.plugin import Hyperparameter, ScheduleSpec

__all__ = ["inverse_sqrt", "INVERSE_SQRT_SPEC"]


def inverse_sqrt(step, lr, warmup_steps):
    """Linear warm-up to ``lr``, then decay as the inverse square root of the step.

    With :math:`s = t + 1` (``step`` is 0-based) and :math:`w` = ``warmup_steps``:

    .. math::

        \\eta_t = \\eta \\, \\min\\left(\\frac{s}{w}, \\sqrt{\\frac{w}{s}}\\right)

    which peaks at :math:`\\eta` when :math:`s = w`. Vaswani et al.'s rate
    :math:`d^{-1/2} \\min(s^{-1/2}, s\\, w^{-3/2})` is this with
    :math:`\\eta = (d w)^{-1/2}`; fairseq's ``inverse_sqrt`` with
    ``warmup_init_lr=lr / w``.
    """
    s = step + 1.0
    return lr * np.minimum(s / warmup_steps, np.sqrt(warmup_steps / s))


INVERSE_SQRT_SPEC = ScheduleSpec(
    name="inverse_sqrt",
    title="Inverse square root with linear warm-up",
    function=inverse_sqrt,
    hyperparameters=(Hyperparameter("warmup_steps", 4000, kind="int", minimum=1, doc="steps of the linear warm-up"),),
)
