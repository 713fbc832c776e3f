"""numbagrad's built-in losses, declared as a plugin declares its own."""

from __future__ import annotations

from numbagrad.hyperparameters import Hyperparameter
from numbagrad.kernels.cpu import losses as k
from numbagrad.losses.spec import LossSpec

__all__ = ["BUILTIN_LOSSES"]


def _cuda(name: str) -> str:
    """The import path of a loss's CUDA row function (imported when CUDA is first used)."""
    return f"numbagrad.kernels.cuda.losses:{name}_row"


FROM_LOGITS = Hyperparameter(
    "from_logits", False, kind="bool", doc="the prediction holds logits (pre-activation values), not probabilities"
)


def epsilon(maximum: float | None = None) -> Hyperparameter:
    """Keras's ``backend.epsilon()``: the clipping bound or offset that keeps logs finite."""
    return Hyperparameter(
        "epsilon", 1e-7, minimum=0.0, exclusive_minimum=True, maximum=maximum, exclusive_maximum=maximum is not None,
        doc="clipping bound or offset that keeps logarithms finite (Keras's epsilon)",
    )


MAE = LossSpec(
    name="mae", title="MeanAbsoluteError", kernel=k.mae_loss, presets={"mean_absolute_error": {}}, cuda_kernel=_cuda("mae")
)
MSE = LossSpec(
    name="mse", title="MeanSquaredError", kernel=k.mse_loss, presets={"mean_squared_error": {}}, cuda_kernel=_cuda("mse")
)
HUBER = LossSpec(
    name="huber",
    title="Huber",
    kernel=k.huber_loss,
    hyperparameters=(
        Hyperparameter("delta", 1.0, minimum=0.0, exclusive_minimum=True, doc="where the loss turns from quadratic to linear"),
    ),
    cuda_kernel=_cuda("huber"),
)
LOG_COSH = LossSpec(name="log_cosh", title="LogCosh", kernel=k.log_cosh_loss, cuda_kernel=_cuda("log_cosh"))
MSLE = LossSpec(
    name="msle",
    title="MeanSquaredLogarithmicError",
    kernel=k.msle_loss,
    hyperparameters=(epsilon(),),
    target="nonnegative",
    presets={"mean_squared_logarithmic_error": {}},
    cuda_kernel=_cuda("msle"),
)
BINARY_CROSSENTROPY = LossSpec(
    name="binary_crossentropy",
    title="BinaryCrossentropy",
    kernel=k.binary_crossentropy_loss,
    hyperparameters=(FROM_LOGITS,),
    target="probability",
    fused_activation="sigmoid",
    cuda_kernel=_cuda("binary_crossentropy"),
)
CATEGORICAL_CROSSENTROPY = LossSpec(
    name="categorical_crossentropy",
    title="CategoricalCrossentropy",
    kernel=k.categorical_crossentropy_loss,
    hyperparameters=(FROM_LOGITS, epsilon(0.5)),
    target="labels",
    fused_activation="softmax",
    presets={"sparse_categorical_crossentropy": {}},
    cuda_kernel=_cuda("categorical_crossentropy"),
)
KL_DIVERGENCE = LossSpec(
    name="kl_divergence",
    title="KLDivergence",
    kernel=k.kl_divergence_loss,
    hyperparameters=(epsilon(1.0),),
    target="probability",
    cuda_kernel=_cuda("kl_divergence"),
)
POISSON = LossSpec(
    name="poisson",
    title="Poisson",
    kernel=k.poisson_loss,
    hyperparameters=(epsilon(),),
    target="nonnegative",
    cuda_kernel=_cuda("poisson"),
)
HINGE = LossSpec(name="hinge", title="Hinge", kernel=k.hinge_loss, target="sign", cuda_kernel=_cuda("hinge"))

#: Every built-in loss, in the order of the documentation.
BUILTIN_LOSSES = (
    MAE, MSE, HUBER, LOG_COSH, MSLE, BINARY_CROSSENTROPY, CATEGORICAL_CROSSENTROPY, KL_DIVERGENCE, POISSON, HINGE,
)
