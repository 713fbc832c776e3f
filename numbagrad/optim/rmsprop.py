"""RMSprop."""

from __future__ import annotations

from numbagrad.hyperparameters import Hyperparameter
from numbagrad.kernels.cpu.optimizers import rmsprop_update
from numbagrad.optim.common import MAXIMIZE, WEIGHT_DECAY, eps, lr
from numbagrad.optim.optimizer import Optimizer
from numbagrad.optim.spec import OptimizerSpec

__all__ = ["RMSprop", "RMSPROP_SPEC"]


def _slots(values):
    slots = ["square_avg"]
    if values["momentum"] > 0:
        slots.append("momentum_buffer")
    if values["centered"]:
        slots.append("grad_avg")
    return tuple(slots)


RMSPROP_SPEC = OptimizerSpec(
    name="rmsprop",
    title="RMSprop",
    update=rmsprop_update,
    cuda_update="numbagrad.kernels.cuda.optimizers:rmsprop_update",
    hyperparameters=(
        lr(1e-2),
        Hyperparameter("alpha", 0.99, minimum=0.0, maximum=1.0, doc="smoothing constant of the squared-gradient average"),
        eps(1e-8),
        WEIGHT_DECAY,
        Hyperparameter("momentum", 0.0, minimum=0.0, doc="momentum factor (0 turns momentum off)"),
        Hyperparameter("centered", False, kind="bool", doc="normalize by the estimated variance instead of the raw second moment"),
        MAXIMIZE,
        Hyperparameter("eps_inside_sqrt", False, kind="bool", doc="sqrt(v + eps) as Keras, instead of sqrt(v) + eps"),
    ),
    state=_slots,
)


class RMSprop(Optimizer):
    r"""RMSprop: divide the gradient by a running root mean square of recent gradients.

    Proposed by Hinton (Coursera lecture 6e, 2012). Each parameter's step is
    scaled down where gradients have been large and up where they have been
    small. ``centered`` subtracts the squared running mean of the gradient,
    normalizing by an estimate of its variance.

    Update (as implemented; PyTorch's algorithm)::

        g = -grad if maximize else grad
        g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g * g
        if centered:  a = lerp(a, g, 1 - alpha);  s = sqrt(v - a * a) + eps
        else:         s = sqrt(v) + eps
        if momentum > 0:  b = momentum * b + g / s;  p = p - lr * b
        else:             p = p - lr * g / s

    Args:
        params: arrays or parameter groups (see :class:`Optimizer`).
        lr: learning rate (default 1e-2).
        alpha: smoothing constant in [0, 1] (default 0.99).
        eps: added to the denominator, ``> 0`` (default 1e-8).
        weight_decay: L2 penalty ``>= 0`` (default 0).
        momentum: momentum factor ``>= 0`` (default 0).
        centered: normalize by the estimated variance.
        maximize: maximize the objective instead.
        eps_inside_sqrt: Keras's ``s = sqrt(v + eps)`` (``sqrt(v - a a + eps)``
            when centered) instead of ``sqrt(v) + eps``.

    State: ``square_avg``; ``momentum_buffer`` when ``momentum > 0``;
    ``grad_avg`` when centered.

    Keras: ``keras.optimizers.RMSprop`` puts epsilon inside the square root
    (``eps_inside_sqrt=True``), names ``alpha`` ``rho`` (default 0.9), uses
    epsilon 1e-7 and folds the learning rate into the momentum buffer
    (``b = momentum b + lr g / s; p = p - b``): the same trajectory while the
    learning rate is constant.
    """

    spec = RMSPROP_SPEC
