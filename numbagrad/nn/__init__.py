"""Layers and models: ``Dense``, ``Sequential`` and weight initializers."""

from numbagrad.nn import initializers
from numbagrad.nn.layers import Dense
from numbagrad.nn.model import Sequential

__all__ = ["Dense", "Sequential", "initializers"]
