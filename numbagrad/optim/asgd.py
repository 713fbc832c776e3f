"""ASGD: SGD with a decaying step size and a running average of the iterates.

The rule, its coefficients and the declaration, in one place; numbagrad
generates the CPU and CUDA kernels from ``asgd_coefficients`` and
``asgd_rule`` (:mod:`numbagrad.kernels.elementwise`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from numbagrad.hyperparameters import Hyperparameter
from numbagrad.optim.common import MAXIMIZE, WEIGHT_DECAY, lr
from numbagrad.optim.optimizer import Optimizer
from numbagrad.optim.spec import OptimizerSpec

__all__ = ["ASGD", "ASGD_SPEC", "asgd_coefficients", "asgd_rule"]


class ASGDCoefficients(NamedTuple):
    """ASGD's step constants in the parameters' dtype."""

    decay_factor: float  # 1 - lambd eta_t
    negative_eta: float  # -eta_t
    mu: float  # the averaging weight mu_t
    average: bool  # mu_t != 1 (else the average is the iterate itself)
    weight_decay: float
    maximize: bool


def asgd_coefficients(param, step, lr, lambd, alpha, t0, weight_decay, maximize):
    """``eta_t`` and ``mu_t`` as PyTorch keeps them: computed in float64 after step ``t - 1``
    and stored in the parameters' precision::

        eta_t = lr / (1 + lambd lr (t - 1))^alpha
        mu_t  = 1 / max(1, t - 1 - t0)    (1 on the first step)
    """
    T = param.dtype.type
    previous = float(step - 1)
    eta = T(lr / (1.0 + lambd * lr * previous) ** alpha)
    mu = T(1.0)
    if step > 1 and previous - t0 > 1.0:  # 1 / max(1, t - 1 - t0), without max (the CUDA target has no float max)
        mu = T(1.0 / (previous - t0))
    return ASGDCoefficients(T(1.0 - lambd * eta), -eta, mu, mu != T(1.0), T(weight_decay), maximize)


def asgd_rule(p, grad, ax, c):
    """One element of ASGD; returns ``(p, ax)``::

        g = -grad if maximize else grad;  g = g + weight_decay p
        p = p (1 - lambd eta_t) - eta_t g
        ax = ax + (p - ax) mu_t       (ax = p while mu_t = 1)
    """
    g = -grad if c.maximize else grad
    if c.weight_decay != 0:
        g = g + c.weight_decay * p
    p = p * c.decay_factor
    p = p + c.negative_eta * g
    if c.average:
        ax = ax + (p - ax) * c.mu
    else:
        ax = p
    return p, ax


ASGD_SPEC = OptimizerSpec(
    name="asgd",
    title="ASGD",
    coefficients=asgd_coefficients,
    rule=asgd_rule,
    hyperparameters=(
        lr(1e-2),
        Hyperparameter("lambd", 1e-4, minimum=0.0, doc="decay term: eta_t shrinks as 1 / (1 + lambd lr t)^alpha"),
        Hyperparameter("alpha", 0.75, minimum=0.0, doc="power of the step-size decay"),
        Hyperparameter("t0", 1e6, minimum=0.0, doc="the step after which averaging starts"),
        WEIGHT_DECAY,
        MAXIMIZE,
    ),
    state=("ax",),
)


class ASGD(Optimizer):
    r"""ASGD: averaged stochastic gradient descent (Polyak & Juditsky, 1992).

    Plain SGD with a step size ``eta_t`` that decays with the step count,
    plus a running average ``ax`` of the parameters it visits, which starts
    after step ``t0``. Near a minimum SGD's iterates bounce around it; their
    average sits closer to it, and is what to evaluate (see
    :meth:`averaged_params`).

    Update, for step ``t`` (as implemented; PyTorch's algorithm)::

        g = -grad if maximize else grad
        g = g + weight_decay * p
        eta_t = lr / (1 + lambd * lr * (t - 1))^alpha
        p = p * (1 - lambd * eta_t) - eta_t * g
        mu_t = 1 / max(1, t - 1 - t0)   (1 on the first step)
        ax = ax + (p - ax) * mu_t       (ax = p while mu_t == 1)

    PyTorch stores ``eta`` and ``mu`` as tensors of its default dtype;
    numbagrad rounds them to the parameters' dtype, which is the same for a
    float32 model under PyTorch's float32 default.

    Args:
        params: arrays or parameter groups (see :class:`Optimizer`).
        lr: learning rate (default 1e-2).
        lambd: decay term ``>= 0`` (default 1e-4).
        alpha: power for the decay of ``eta`` ``>= 0`` (default 0.75).
        t0: the step from which the average moves away from the iterate
            ``>= 0`` (default 1e6).
        weight_decay: L2 penalty ``>= 0`` (default 0).
        maximize: maximize the objective instead.

    State: ``ax``, the averaged parameters.

    Registry name: ``"asgd"``. Keras has no ASGD.
    """

    spec = ASGD_SPEC

    def averaged_params(self) -> list[np.ndarray]:
        """The averaged parameters ``ax``, one copy per parameter in order, shaped like it.

        Before the first step, copies of the parameters themselves. Load them
        into a model to evaluate it (``model.set_weights(opt.averaged_params())``
        on a model whose ``params`` these are).
        """
        state = self.state_dict()["state"] if self.steps else {}
        return [np.array(state[i]["ax"]) if i in state else np.array(_host(p)) for i, p in enumerate(self.params)]


def _host(array):
    """A host copy of ``array`` (a CUDA device array or a NumPy array)."""
    return array.copy_to_host() if hasattr(array, "copy_to_host") else array
