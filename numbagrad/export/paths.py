"""The checks every export makes on the file it writes or reads, before any work."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["output_file", "input_file"]


def _as_path(path: Any, owner: str, argument: str) -> Path:
    if isinstance(path, bool) or not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{owner}: {argument} must be a str or os.PathLike file path; got {path!r} ({type(path).__name__})")
    text = os.fspath(path)
    if not isinstance(text, str):
        raise TypeError(f"{owner}: {argument} must be a text path, not bytes; got {text!r}")
    if not text:
        raise ValueError(f"{owner}: {argument} is empty; give the file's path")
    return Path(text)


def output_file(path: Any, owner: str, argument: str = "path") -> Path:
    """``path`` as a :class:`~pathlib.Path` a file can be written to.

    Raises:
        TypeError: not a str or ``os.PathLike`` of text.
        ValueError: empty.
        IsADirectoryError: ``path`` is a directory.
        FileNotFoundError: its directory does not exist.
    """
    target = _as_path(path, owner, argument)
    if target.is_dir():
        raise IsADirectoryError(f"{owner}: {argument} {str(target)!r} is a directory; give a file name inside it")
    directory = target.absolute().parent
    if not directory.is_dir():
        raise FileNotFoundError(f"{owner}: the directory {str(directory)!r} of {argument} {str(target)!r} does not exist")
    return target


def input_file(path: Any, owner: str, argument: str = "path") -> Path:
    """``path`` as a :class:`~pathlib.Path` of an existing file.

    Raises:
        TypeError: not a str or ``os.PathLike`` of text.
        ValueError: empty.
        FileNotFoundError: no such file.
        IsADirectoryError: ``path`` is a directory.
    """
    source = _as_path(path, owner, argument)
    if source.is_dir():
        raise IsADirectoryError(f"{owner}: {argument} {str(source)!r} is a directory, not a file")
    if not source.is_file():
        raise FileNotFoundError(f"{owner}: no file {str(source)!r} ({argument})")
    return source
