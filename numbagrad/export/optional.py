"""The commands that install the optional packages the exports use (imported only when an export runs)."""

from __future__ import annotations

from numbagrad.optional import require

__all__ = ["require", "INSTALL_ONNX", "INSTALL_SAFETENSORS", "INSTALL_TORCH"]

INSTALL_ONNX = 'pip install "numbagrad[onnx]"'
INSTALL_SAFETENSORS = 'pip install "numbagrad[safetensors]"'
INSTALL_TORCH = "pip install torch"
