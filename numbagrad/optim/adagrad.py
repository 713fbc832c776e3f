"""Adagrad."""

from __future__ import annotations

from numbagrad.hyperparameters import Hyperparameter
from numbagrad.kernels.cpu.optimizers import adagrad_update
from numbagrad.optim.common import MAXIMIZE, WEIGHT_DECAY, eps, lr
from numbagrad.optim.optimizer import Optimizer
from numbagrad.optim.spec import OptimizerSpec, StateSlot

__all__ = ["Adagrad", "ADAGRAD_SPEC"]

ADAGRAD_SPEC = OptimizerSpec(
    name="adagrad",
    title="Adagrad",
    update=adagrad_update,
    cuda_update="numbagrad.kernels.cuda.optimizers:adagrad_update",
    hyperparameters=(
        lr(1e-2),
        Hyperparameter("lr_decay", 0.0, minimum=0.0, doc="learning-rate decay: lr / (1 + (t - 1) lr_decay)"),
        WEIGHT_DECAY,
        Hyperparameter("initial_accumulator_value", 0.0, minimum=0.0, doc="starting value of the sum of squared gradients"),
        eps(1e-10),
        MAXIMIZE,
        Hyperparameter("eps_inside_sqrt", False, kind="bool", doc="sqrt(sum + eps) as Keras, instead of sqrt(sum) + eps"),
    ),
    state=(StateSlot("sum", initial="initial_accumulator_value"),),
)


class Adagrad(Optimizer):
    r"""Adagrad: per-parameter steps shrinking with the sum of all past squared gradients.

    Adagrad (Duchi, Hazan & Singer, 2011) gives rarely-updated parameters
    larger steps than frequently-updated ones. Its accumulated sum only
    grows, so the effective learning rate decays on its own.

    Update, for step ``t`` (as implemented; PyTorch's algorithm)::

        g = -grad if maximize else grad
        g = g + weight_decay * p
        clr = lr / (1 + (t - 1) * lr_decay)
        sum = sum + g * g
        p = p - clr * g / (sqrt(sum) + eps)

    Args:
        params: arrays or parameter groups (see :class:`Optimizer`).
        lr: learning rate (default 1e-2).
        lr_decay: learning-rate decay ``>= 0`` (default 0).
        weight_decay: L2 penalty ``>= 0`` (default 0).
        initial_accumulator_value: starting value of ``sum``, ``>= 0`` (default 0).
        eps: added to the denominator, ``> 0`` (default 1e-10).
        maximize: maximize the objective instead.
        eps_inside_sqrt: Keras's ``sqrt(sum + eps)`` instead of ``sqrt(sum) + eps``.

    State: ``sum``, started at ``initial_accumulator_value``.

    Keras: ``keras.optimizers.Adagrad`` puts epsilon inside the square root
    (``eps_inside_sqrt=True``) and defaults to
    ``initial_accumulator_value=0.1``, ``epsilon=1e-7`` and ``lr=0.001``.
    """

    spec = ADAGRAD_SPEC
