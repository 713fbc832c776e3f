"""Optional packages, imported only by the code that needs them, with the command that installs them."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["require"]


def require(module: str, install: str, owner: str) -> ModuleType:
    """``import module``, or a ``ModuleNotFoundError`` naming ``owner`` (what needs it) and the
    command that installs it (``install``, such as ``pip install "numbagrad[onnx]"``)."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ModuleNotFoundError(
            f"{owner} needs the {module.split('.')[0]!r} package, which is not installed or fails to import "
            f"({error}); install it with: {install}",
            name=module,
        ) from None
