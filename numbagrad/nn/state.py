"""A model as plain data and back: what pickling a :class:`~numbagrad.nn.Sequential` sends.

Worker processes (joblib, Dask, Ray) and scikit-learn's estimators pickle
models; the state holds the architecture, the weights, the compile options,
the optimizer state, the counters, the history and the preprocessing record,
as plain data and arrays, never compiled objects: the receiving process
rebuilds the model and loads its kernels from its own cache. (Model files do
not use pickle: see :func:`numbagrad.load_model`.)
"""

from __future__ import annotations

from typing import Any, Mapping

__all__ = ["model_state", "restore_model"]


def model_state(model: Any) -> dict[str, Any]:
    """Everything needed to rebuild ``model`` exactly, as plain data: no compiled objects and no GPU
    memory (a GPU model's arrays are copied to the host)."""
    from numbagrad.nn.placement import host_parameters

    training = getattr(model, "training", None)
    return {
        "config": model.get_config(),
        "device": model.device,
        "parameters": host_parameters(model).copy(),
        "epoch": int(model.epoch),
        "rng": model.rng.bit_generator.state,
        "history": None if model.history is None else model.history.to_dict(),
        "compile": None if training is None else training.get_config(),
        "optimizer": None if training is None else training.optimizer.state_dict(),
        "preprocessing": None if model.preprocessing is None else model.preprocessing.to_dict(),
    }


def restore_model(state: Mapping[str, Any]) -> Any:
    """The model :func:`model_state` described, compiled when it was, with its optimizer state.

    It is rebuilt on the host, then moved back to the GPU it came from when
    CUDA can be used here; otherwise it stays on the CPU, so that a model
    trained on a GPU still unpickles and predicts on a machine without one.
    """
    from numbagrad.device import cuda_available
    from numbagrad.nn.model import Sequential
    from numbagrad.train.history import History

    model = Sequential.from_config(state["config"])
    model.parameters[...] = state["parameters"]
    model.epoch = int(state["epoch"])
    model.rng.bit_generator.state = state["rng"]
    if state["history"] is not None:
        model.history = History.from_dict(state["history"])
    if state.get("compile") is not None:
        model.compile(**state["compile"])
        model.training.optimizer.load_state_dict(state["optimizer"])
    if state.get("preprocessing") is not None:
        from numbagrad.preprocessing import Preprocessing

        model.preprocessing = Preprocessing.from_dict(state["preprocessing"])
    if state.get("device", "cpu") != "cpu" and cuda_available(allow_simulator=True):
        model.to(state["device"])
    return model
