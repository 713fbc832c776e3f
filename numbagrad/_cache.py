"""Numba's on-disk cache for numbagrad: a per-user folder, keyed by content.

Where the compiled kernels go, and why:

* Never inside the installed package. Numba's default is the ``__pycache__``
  folder beside each source file; files there are not in pip's record of the
  installation, so uninstalling leaves the folders behind, and a leftover
  ``site-packages/numbagrad/`` folder then shadows a later editable install as
  an empty namespace package.
* In the platform's per-user cache folder, ``~/.cache/numbagrad`` on Linux
  (``$XDG_CACHE_HOME`` respected), ``~/Library/Caches/numbagrad`` on macOS,
  ``%LOCALAPPDATA%\\numbagrad\\Cache`` on Windows; under ``$NUMBA_CACHE_DIR/numbagrad``
  when ``NUMBA_CACHE_DIR`` is set; under the temporary folder when neither is
  writable.
* In one subfolder per content of the package, ``<version>-<fingerprint>``,
  whose fingerprint is the SHA-256 of the version and of every ``.py`` file.
  Numba keys a cached function on the text of its own file only, so a cached
  loop would keep calling the old version of a kernel defined in another
  file; keying every numbagrad function on the whole package recompiles
  everything once after any edit or upgrade instead. Two copies of the same
  content (a regular install and the clone it came from) share one folder, and
  different versions or edited copies never meet.

Subfolders not used for a day, beyond the few most recently used, are removed
when a process first compiles or loads a kernel, so that upgrades and edits do
not pile up copies of the compiled code.

Functions outside numbagrad (a plugin's kernels) keep Numba's own locators;
the compiled loops call them through typed function pointers, which are
resolved at run time and cannot go stale.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import tempfile
import time

from numba.core import caching
from numba.misc.appdirs import AppDirs

from numbagrad._version import __version__

PACKAGE_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

#: Subfolders of other contents that are kept whatever their age.
KEEP_RECENT = 3
#: Seconds since its last use after which a subfolder beyond ``KEEP_RECENT`` is removed.
STALE_AFTER = 24 * 3600
#: The file whose modification time records a subfolder's last use.
LAST_USED = "last-used"


@functools.lru_cache(maxsize=1)
def package_fingerprint() -> str:
    """SHA-256 of numbagrad's version and of every ``.py`` file in the package."""
    digest = hashlib.sha256(__version__.encode())
    for root, directories, files in os.walk(PACKAGE_DIRECTORY):
        directories[:] = sorted(d for d in directories if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(root, name)
                digest.update(os.path.relpath(path, PACKAGE_DIRECTORY).replace(os.sep, "/").encode())
                with open(path, "rb") as source:
                    digest.update(source.read())
    return digest.hexdigest()


def content_key() -> str:
    """The name of this content's subfolder: ``<version>-<first 16 hex digits of the fingerprint>``."""
    return f"{__version__}-{package_fingerprint()[:16]}"


_CONTENT_FOLDER = re.compile(r"^[0-9A-Za-z.+!_]+-[0-9a-f]{16}$")


def cache_roots() -> list[str]:
    """The folders that may hold numbagrad's cache, in the order they are tried."""
    roots = []
    numba_cache_dir = os.environ.get("NUMBA_CACHE_DIR")
    if numba_cache_dir:
        roots.append(os.path.join(numba_cache_dir, "numbagrad"))
    roots.append(AppDirs(appname="numbagrad", appauthor=False).user_cache_dir)
    user = getattr(os, "getuid", lambda: "user")()
    roots.append(os.path.join(tempfile.gettempdir(), f"numbagrad-cache-{user}"))
    return roots


def _writable(folder: str) -> bool:
    try:
        os.makedirs(folder, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError:
        return False
    return True


@functools.lru_cache(maxsize=1)
def cache_directory() -> str:
    """The folder that holds the compiled kernels of this numbagrad, created on first call.

    The first writable of :func:`cache_roots`, joined with :func:`content_key`.
    Calling it marks the folder as used and removes stale folders of other
    contents beside it.
    """
    for root in cache_roots():
        folder = os.path.join(root, content_key())
        if _writable(folder):
            _mark_used(folder)
            prune(root, keep=folder)
            return folder
    raise OSError(f"no writable folder for numbagrad's compiled kernels among {cache_roots()}")


def _mark_used(folder: str) -> None:
    with open(os.path.join(folder, LAST_USED), "a"):
        pass
    os.utime(os.path.join(folder, LAST_USED))


def _last_used(folder: str) -> float:
    try:
        return os.stat(os.path.join(folder, LAST_USED)).st_mtime
    except OSError:
        return os.stat(folder).st_mtime


def prune(root: str, keep: str, now: float | None = None) -> list[str]:
    """Remove the content folders in ``root`` other than ``keep`` that are stale.

    Stale: beyond the ``KEEP_RECENT`` most recently used, and unused for
    ``STALE_AFTER`` seconds (so a process still running on an older copy keeps
    its folder). Only folders named like :func:`content_key` are touched.
    Returns the folders removed.
    """
    now = time.time() if now is None else now
    others = [(used, folder) for used, folder in content_folders(root) if folder != keep]
    removed = []
    for used, folder in others[KEEP_RECENT:]:
        if now - used > STALE_AFTER:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def content_folders(root: str) -> list[tuple[float, str]]:
    """``(last use, folder)`` of every content folder in ``root`` (any version or copy), newest first."""
    try:
        names = os.listdir(root)
    except OSError:
        return []
    folders = []
    for name in names:
        folder = os.path.join(root, name)
        if _CONTENT_FOLDER.match(name) and os.path.isdir(folder):
            try:
                folders.append((_last_used(folder), folder))
            except OSError:  # removed by another process meanwhile
                continue
    return sorted(folders, reverse=True)


def folder_size(folder: str) -> int:
    """Bytes in the files below ``folder``."""
    total = 0
    for parent, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.stat(os.path.join(parent, name)).st_size
            except OSError:  # removed meanwhile
                continue
    return total


def _in_package(path: str) -> bool:
    return os.path.abspath(path).startswith(PACKAGE_DIRECTORY + os.sep)


class PackageCacheLocator(caching._CacheLocator):
    """Locates a numbagrad function's cache in ``cache_directory()/<its module's folder>``.

    The source stamp is the package fingerprint, not the file's path or time,
    so every copy of the same content finds the same entries.
    """

    def __init__(self, py_func, py_file):
        self._lineno = py_func.__code__.co_firstlineno
        module_folder = os.path.relpath(os.path.dirname(os.path.abspath(py_file)), PACKAGE_DIRECTORY)
        self._cache_path = os.path.normpath(os.path.join(cache_directory(), module_folder))

    def get_cache_path(self) -> str:
        return self._cache_path

    def get_source_stamp(self) -> str:
        return package_fingerprint()

    def get_disambiguator(self) -> str:
        return str(self._lineno)

    @classmethod
    def from_function(cls, py_func, py_file):
        if not _in_package(py_file):
            return None
        try:
            locator = cls(py_func, py_file)
            locator.ensure_cache_path()
        except OSError:
            # Numba's next locators would write beside the sources: compile without a cache instead.
            return _UncachedLocator(py_func, py_file)
        return locator


class _UncachedLocator(PackageCacheLocator):
    """Where no folder is writable: a fresh temporary folder, used by this process only."""

    def __init__(self, py_func, py_file):
        self._lineno = py_func.__code__.co_firstlineno
        self._cache_path = _private_folder()


@functools.lru_cache(maxsize=1)
def _private_folder() -> str:
    return tempfile.mkdtemp(prefix="numbagrad-uncached-")


def install() -> None:
    """Put numbagrad's locator ahead of Numba's own (idempotent)."""
    implementation = caching.CacheImpl
    if PackageCacheLocator not in implementation._locator_classes:
        implementation._locator_classes = [PackageCacheLocator, *implementation._locator_classes]
