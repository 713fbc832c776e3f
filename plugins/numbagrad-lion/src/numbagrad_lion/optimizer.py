"""Lion's declaration: name, hyperparameters with PyTorch-style names and ranges, state, CPU and CUDA kernels."""

from __future__ import annotations

from numbagrad.plugin import Hyperparameter, OptimizerSpec, StateSlot

from numbagrad_lion.kernels import lion_update

__all__ = ["LION_SPEC"]

LION_SPEC = OptimizerSpec(
    name="lion",
    title="Lion",
    update=lion_update,
    # In the order lion_update reads them from ``hyper`` (LION_SPEC.layout()).
    hyperparameters=(
        Hyperparameter("lr", 1e-4, minimum=0.0, doc="learning rate: every coordinate moves by exactly lr"),
        Hyperparameter(
            "betas", (0.9, 0.99), kind="pair", minimum=0.0, maximum=1.0, exclusive_maximum=True,
            doc="interpolation factor of the update (beta1) and decay of the momentum (beta2)",
        ),
        Hyperparameter("weight_decay", 0.0, minimum=0.0, doc="decoupled weight decay: shrinks p by lr * weight_decay"),
        Hyperparameter("maximize", False, kind="bool", doc="maximize the objective instead of minimizing it"),
    ),
    state=(StateSlot("exp_avg"),),
    # Imported when an optimizer is given CUDA device arrays, not before.
    cuda_update="numbagrad_lion.cuda:lion_update",
)
