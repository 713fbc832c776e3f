"""Hyperparameter declarations shared by several optimizers (PyTorch's names and ranges)."""

from __future__ import annotations

from numbagrad.hyperparameters import Hyperparameter

__all__ = ["lr", "betas", "eps", "WEIGHT_DECAY", "MAXIMIZE", "DECOUPLED_WEIGHT_DECAY"]


def lr(default: float) -> Hyperparameter:
    """The learning rate: the length of each step along the update direction."""
    return Hyperparameter("lr", default, minimum=0.0, doc="learning rate (step size)")


def betas(default: tuple[float, float]) -> Hyperparameter:
    """Decay rates of the first and second moment estimates."""
    return Hyperparameter(
        "betas", default, kind="pair", minimum=0.0, maximum=1.0, exclusive_maximum=True,
        doc="decay rates of the running averages of the gradient and of its square",
    )


def eps(default: float) -> Hyperparameter:
    """The term added to a denominator for numerical stability."""
    return Hyperparameter("eps", default, minimum=0.0, exclusive_minimum=True, doc="added to the denominator for stability")


WEIGHT_DECAY = Hyperparameter("weight_decay", 0.0, minimum=0.0, doc="L2 penalty: adds weight_decay * param to the gradient")
MAXIMIZE = Hyperparameter("maximize", False, kind="bool", doc="maximize the objective instead of minimizing it")
DECOUPLED_WEIGHT_DECAY = Hyperparameter(
    "decoupled_weight_decay", False, kind="bool",
    doc="shrink the parameters by lr * weight_decay directly (AdamW) instead of adding to the gradient",
)
