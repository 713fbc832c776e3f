"""Layers and models: ``Dense``, ``Dropout``, ``BatchNormalization``, ``LayerNormalization``,
``Activation``, ``Sequential`` and weight initializers."""

from numbagrad.nn import initializers
from numbagrad.nn.dropout import Dropout
from numbagrad.nn.layers import Dense
from numbagrad.nn.model import Sequential
from numbagrad.nn.normalization import Activation, BatchNormalization, LayerNormalization

__all__ = ["Dense", "Dropout", "BatchNormalization", "LayerNormalization", "Activation", "Sequential", "initializers"]
