"""Run folders: built aside, renamed into place whole, never left half-written.

A run's files are written into a hidden sibling of the final folder
(``runs/.digits-adam-20260102-101500.tmp-3f2a``); only when every file is
complete is it renamed to its name, which is atomic on one file system. An
error or Ctrl-C removes the temporary folder, and any parent folder the run
had created, so a failed run leaves the disk exactly as it was.
"""

from __future__ import annotations

import csv
import json
import os
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

__all__ = ["plan_folder", "building", "write_history", "write_json", "write_csv"]


def plan_folder(output: str | os.PathLike, name: str | None, default_name: str, origin: str = "--output") -> Path:
    """The run folder to create: ``output/name``, or ``output/<default_name>-<date>-<time>``
    (with ``-2``, ``-3``... if that exists). Checked before any work starts; see
    :class:`building` for a folder that appears in the meantime.

    Raises:
        ValueError: ``output`` is a file; ``name`` is not a plain folder name.
        FileExistsError: ``output/name`` exists.
    """
    parent = Path(output)
    if parent.exists() and not parent.is_dir():
        raise ValueError(f"{origin} {os.fspath(output)!r} is a file; it must be a folder (created if needed)")
    if name is not None:
        if not name.strip() or Path(name).name != name or name in (".", "..") or name.startswith("."):
            raise ValueError(f"--name must be a plain folder name, such as first-run; got {name!r}")
        target = parent / name
        if target.exists():
            raise FileExistsError(f"--name: {os.fspath(target)!r} already exists; choose another name or remove it")
        return target
    stem = f"{default_name}-{time.strftime('%Y%m%d-%H%M%S')}"
    target, suffix = parent / stem, 2
    while target.exists():
        target, suffix = parent / f"{stem}-{suffix}", suffix + 1
    return target


class building:
    """``with building(target) as run:`` write into ``run.temporary``, a hidden folder
    beside ``target``; when the block succeeds it is renamed, and ``run.final`` is
    where it went.

    With ``unique`` (a generated name), a folder that appeared at ``target``
    meanwhile (another run started in the same second) moves this one to the
    next free ``-2``, ``-3``... name rather than losing it; without it (a name
    the user chose), that is an error. On any exception (KeyboardInterrupt
    included) the temporary folder, and the parents this run created, are
    removed and the exception propagates.
    """

    def __init__(self, target: Path, unique: bool = False):
        self.target = Path(target)
        self.unique = unique
        self.final: Path | None = None
        self.created: list[Path] = []
        parent = self.target.parent
        while not parent.exists():
            self.created.append(parent)
            parent = parent.parent
        self.temporary = self.target.with_name(f".{self.target.name}.tmp-{secrets.token_hex(3)}")

    def __enter__(self) -> "building":
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.temporary.mkdir()
        return self

    def _free_name(self) -> Path:
        candidate, suffix = self.target, 2
        while candidate.exists():
            if not self.unique:
                raise FileExistsError(f"{os.fspath(self.target)!r} appeared while the run was being written; the run is not saved")
            candidate, suffix = self.target.with_name(f"{self.target.name}-{suffix}"), suffix + 1
        return candidate

    def __exit__(self, kind, error, traceback) -> bool:
        if kind is None:
            try:
                final = self._free_name()
                os.rename(self.temporary, final)
                self.final = final
                return False
            except BaseException:
                self._clean()
                raise
        self._clean()
        return False

    def _clean(self) -> None:
        shutil.rmtree(self.temporary, ignore_errors=True)
        for folder in self.created:  # innermost first
            try:
                folder.rmdir()
            except OSError:
                break  # something else lives there now: leave it


def write_json(path: Path, data: Any) -> None:
    with open(path, "w", encoding="utf-8") as file:
        json.dump(data, file, indent=1)
        file.write("\n")


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)


def write_history(folder: Path, history: Any) -> None:
    """``history.json`` (``History.to_dict()``, loadable by ``History.from_dict``) and
    ``history.csv`` (one row per epoch, counted from 1; one column per value)."""
    write_json(folder / "history.json", history.to_dict())
    keys = list(history.history)
    rows = [[epoch + 1] + [repr(history.history[key][i]) for key in keys] for i, epoch in enumerate(history.epoch)]
    write_csv(folder / "history.csv", ["epoch", *keys], rows)
