"""Files written whole or not at all."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Callable

__all__ = ["write_atomically"]


def write_atomically(target: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """``write(temporary)`` beside ``target``, then rename it over ``target``; returns ``target``.

    The rename is atomic on one file system, so readers (and a failed run) see
    either the old file or the complete new one; the temporary file is removed
    on any error. Its name keeps ``target``'s suffix, because matplotlib and
    Pillow choose the format from it.
    """
    target = Path(target)
    temporary = target.with_name(f".{target.stem}.{secrets.token_hex(4)}.tmp{target.suffix}")
    try:
        write(temporary)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target
