"""Training: compile options, the compiled epoch loop, callbacks, history and checkpoints."""

from numbagrad.train.callbacks import Callback, EarlyStopping, ModelCheckpoint, ReduceLROnPlateau
from numbagrad.train.checkpoint import ModelFileError, load_model
from numbagrad.train.chunks import ArrayChunks
from numbagrad.train.history import History
from numbagrad.train.tracking import CSVLogger, MLflow, TensorBoard, tracking_callbacks

__all__ = [
    "Callback", "EarlyStopping", "ModelCheckpoint", "ReduceLROnPlateau", "History", "load_model", "ModelFileError",
    "CSVLogger", "TensorBoard", "MLflow", "tracking_callbacks", "ArrayChunks",
]
