"""Optimizer steps: every element-wise optimizer at 1e4, 1e6 and 1e7 float32 parameters, the
tensor-wise ones on a 1024 x 1024 matrix, L-BFGS on a least-squares problem; beside torch.optim."""

from __future__ import annotations

from .workloads import OPTIMIZERS, TENSORWISE, numbagrad_optimizer_step, tensor_optimizer_step, torch_optimizer_step

SIZES = [10_000, 1_000_000, 10_000_000]


class OptimizerStep:
    """numbagrad's fused step over one flat float32 buffer."""

    params = (list(OPTIMIZERS), SIZES)
    param_names = ["optimizer", "parameters"]

    def setup(self, key, size):
        self.step = numbagrad_optimizer_step(key, size)

    def time_step(self, key, size):
        self.step()


class TorchOptimizerStep(OptimizerStep):
    """PyTorch's fastest CPU step for the same optimizer (fused, else foreach)."""

    def setup(self, key, size):
        self.step = torch_optimizer_step(key, size)


class ManyArrays:
    """One step over 1e6 parameters split into 1, 10 or 100 arrays: the cost should not grow."""

    params = (["adam"], [1, 10, 100])
    param_names = ["optimizer", "arrays"]

    def setup(self, key, arrays):
        self.step = numbagrad_optimizer_step(key, 1_000_000, arrays=arrays)

    def time_step(self, key, arrays):
        self.step()


class LBFGSStep:
    """One L-BFGS step (20 iterations, with and without the strong Wolfe line search) on a
    least-squares problem of 2,000 x 500: the optimizer's own vector work beside the closure's."""

    params = (["none", "strong_wolfe"],)
    param_names = ["line_search_fn"]

    def setup(self, line_search_fn):
        from .workloads import lbfgs_step

        self.step = lbfgs_step("numbagrad", line_search_fn)

    def time_step(self, line_search_fn):
        self.step()


class TorchLBFGSStep(LBFGSStep):
    """``torch.optim.LBFGS`` on the same problem, its closure computed by PyTorch."""

    def setup(self, line_search_fn):
        from .workloads import lbfgs_step

        self.step = lbfgs_step("torch", line_search_fn)


class TensorwiseStep:
    """One step of a tensor-wise optimizer (Adafactor, Muon) on a 1024 x 1024 float32 matrix."""

    params = (list(TENSORWISE),)
    param_names = ["optimizer"]
    library = "numbagrad"

    def setup(self, key):
        self.step = tensor_optimizer_step(self.library, key)

    def time_step(self, key):
        self.step()


class TorchTensorwiseStep(TensorwiseStep):
    """``torch.optim``'s step for the same optimizer and matrix."""

    library = "torch"
