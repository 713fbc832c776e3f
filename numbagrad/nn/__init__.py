"""Layers and models: ``Dense``, ``Dropout``, ``Sequential`` and weight initializers."""

from numbagrad.nn import initializers
from numbagrad.nn.dropout import Dropout
from numbagrad.nn.layers import Dense
from numbagrad.nn.model import Sequential

__all__ = ["Dense", "Dropout", "Sequential", "initializers"]
