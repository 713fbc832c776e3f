"""Training: compile options, the compiled epoch loop, callbacks, history and checkpoints."""

from numbagrad.train.callbacks import Callback, EarlyStopping, ModelCheckpoint, ReduceLROnPlateau
from numbagrad.train.checkpoint import ModelFileError, load_model
from numbagrad.train.history import History

__all__ = ["Callback", "EarlyStopping", "ModelCheckpoint", "ReduceLROnPlateau", "History", "load_model", "ModelFileError"]
