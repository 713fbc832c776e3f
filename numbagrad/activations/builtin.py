"""numbagrad's built-in activations, declared as a plugin declares its own."""

from __future__ import annotations

from numbagrad.activations.spec import ActivationSpec
from numbagrad.hyperparameters import Hyperparameter
from numbagrad.kernels.cpu import activations as k

__all__ = ["BUILTIN_ACTIVATIONS"]


def _cuda(name: str, row_wise: bool = False) -> dict[str, str]:
    """The import paths of an activation's CUDA device functions (imported when CUDA is first used)."""
    suffix = "row" if row_wise else "element"
    module = "numbagrad.kernels.cuda.activations"
    return {"cuda_forward": f"{module}:{name}_forward_{suffix}", "cuda_backward": f"{module}:{name}_backward_{suffix}"}


LINEAR = ActivationSpec(
    name="linear", title="Linear", forward=k.linear_forward, backward=k.linear_backward, **_cuda("linear")
)
RELU = ActivationSpec(name="relu", title="ReLU", forward=k.relu_forward, backward=k.relu_backward, **_cuda("relu"))
LEAKY_RELU = ActivationSpec(
    name="leaky_relu",
    title="LeakyReLU",
    forward=k.leaky_relu_forward,
    backward=k.leaky_relu_backward,
    hyperparameters=(Hyperparameter("alpha", 0.01, doc="slope for z <= 0 (PyTorch's negative_slope)"),),
    **_cuda("leaky_relu"),
)
ELU = ActivationSpec(
    name="elu",
    title="ELU",
    forward=k.elu_forward,
    backward=k.elu_backward,
    hyperparameters=(Hyperparameter("alpha", 1.0, doc="the value ELU approaches as z goes to minus infinity is -alpha"),),
    **_cuda("elu"),
)
SELU = ActivationSpec(name="selu", title="SELU", forward=k.selu_forward, backward=k.selu_backward, **_cuda("selu"))
GELU = ActivationSpec(
    name="gelu",
    title="GELU",
    forward=k.gelu_forward,
    backward=k.gelu_backward,
    hyperparameters=(
        Hyperparameter("approximate", False, kind="bool", doc="use the tanh approximation (PyTorch's approximate='tanh')"),
    ),
    presets={"gelu_tanh": {"approximate": True}},
    **_cuda("gelu"),
)
SIGMOID = ActivationSpec(
    name="sigmoid", title="Sigmoid", forward=k.sigmoid_forward, backward=k.sigmoid_backward, **_cuda("sigmoid")
)
TANH = ActivationSpec(name="tanh", title="Tanh", forward=k.tanh_forward, backward=k.tanh_backward, **_cuda("tanh"))
SOFTPLUS = ActivationSpec(
    name="softplus",
    title="Softplus",
    forward=k.softplus_forward,
    backward=k.softplus_backward,
    hyperparameters=(
        Hyperparameter("beta", 1.0, minimum=0.0, exclusive_minimum=True, doc="sharpness: log(1 + exp(beta z)) / beta"),
        Hyperparameter("threshold", 20.0, doc="above beta z > threshold the function is z itself"),
    ),
    **_cuda("softplus"),
)
SILU = ActivationSpec(
    name="silu", title="SiLU", forward=k.silu_forward, backward=k.silu_backward, presets={"swish": {}}, **_cuda("silu")
)
SOFTMAX = ActivationSpec(
    name="softmax",
    title="Softmax",
    forward=k.softmax_forward,
    backward=k.softmax_backward,
    row_wise=True,
    **_cuda("softmax", row_wise=True),
)

#: Every built-in activation, in the order of the documentation.
BUILTIN_ACTIVATIONS = (LINEAR, RELU, LEAKY_RELU, ELU, SELU, GELU, SIGMOID, TANH, SOFTPLUS, SILU, SOFTMAX)
