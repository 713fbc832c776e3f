"""Numba's on-disk cache, keyed on every numbagrad source file.

Numba keys a cached function on the text of the file that defines it, so a
cached function keeps calling the old version of a kernel that lives in
another file after that file changes. numbagrad functions call across
modules (a training loop calls the dense, loss and update kernels), so every
numbagrad function is keyed here on a fingerprint of the whole package and its
version: any edit, or an upgrade, recompiles everything once.

Functions outside numbagrad (a plugin's kernels) keep Numba's own keys; the
compiled loops call them through typed function pointers, which are resolved
at run time and cannot go stale.
"""

from __future__ import annotations

import functools
import hashlib
import os

from numba.core import caching

from numbagrad._version import __version__

PACKAGE_DIRECTORY = os.path.dirname(os.path.abspath(__file__))


@functools.lru_cache(maxsize=1)
def package_fingerprint() -> str:
    """SHA-256 of numbagrad's version and of every ``.py`` file in the package."""
    digest = hashlib.sha256(__version__.encode())
    for root, directories, files in os.walk(PACKAGE_DIRECTORY):
        directories[:] = sorted(d for d in directories if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(root, name)
                digest.update(os.path.relpath(path, PACKAGE_DIRECTORY).encode())
                with open(path, "rb") as source:
                    digest.update(source.read())
    return digest.hexdigest()


def _in_package(path: str) -> bool:
    return os.path.abspath(path).startswith(PACKAGE_DIRECTORY + os.sep)


class _PackageKeyed:
    """Locator mixin: numbagrad's functions only, stamped with the package fingerprint."""

    def get_source_stamp(self):
        return (super().get_source_stamp(), package_fingerprint())

    @classmethod
    def from_function(cls, py_func, py_file):
        if not _in_package(py_file):
            return None
        return super().from_function(py_func, py_file)


class _UserProvidedLocator(_PackageKeyed, caching.UserProvidedCacheLocator):
    pass


class _InTreeLocator(_PackageKeyed, caching.InTreeCacheLocator):
    pass


class _UserWideLocator(_PackageKeyed, caching.UserWideCacheLocator):
    pass


def install() -> None:
    """Put numbagrad's locators ahead of Numba's own (idempotent)."""
    implementation = caching.CacheImpl
    ours = [_UserProvidedLocator, _InTreeLocator, _UserWideLocator]
    if implementation._locator_classes[: len(ours)] != ours:
        implementation._locator_classes = ours + list(implementation._locator_classes)
