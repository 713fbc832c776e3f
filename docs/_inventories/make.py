"""Write the intersphinx inventories that numbagrad's documentation links through.

Sphinx's intersphinx extension turns a reference such as ``numpy.ndarray`` into
a link to the page that documents it, reading the target site's
``objects.inv``. The machines that build these pages reach no site but the
package index, so the inventories live here, next to this script: one small
file per project, listing only the names the pages and docstrings mention,
each with the address where that project documents it. ``docs/conf.py`` maps
each project to its real site (the links point there) and to the file here
(which says what is documented where).

Run it after changing the tables below::

    python docs/_inventories/make.py            # writes python.inv, numpy.inv, ...
    python docs/_inventories/make.py --verify   # compares with the sites' objects.inv (needs the network)

``--verify`` downloads each site's own ``objects.inv`` (or reads it from the
folder given with ``--from``, as ``<key>.inv``) and fails unless every entry here
appears there with the same type and address, so a project that moves a page
is caught here. A name the pages start to mention shows up in a build with
``-n`` (nitpicky) as "py:class reference target not found"; add it to its
project's table.

Each file is Sphinx's inventory format, version 2: four header lines, then
zlib-compressed lines ``name domain:role priority uri dispname``, where ``$``
at the end of ``uri`` stands for the name and ``-`` for a display name equal
to it. The script reads every file back with ``sphinx.util.inventory`` to check it.
"""

from __future__ import annotations

import argparse
import io
import os
import posixpath
import sys
import tempfile
import urllib.request
import zlib
from pathlib import Path
from typing import NamedTuple

HERE = Path(__file__).resolve().parent


class Entry(NamedTuple):
    """One documented object: ``name`` of type ``role`` (``py:class``, ``py:function``...)
    at ``uri``, relative to the project's base address (``$`` stands for ``name``)."""

    name: str
    role: str
    uri: str


class Project(NamedTuple):
    """A documentation site: ``key`` names its file (``<key>.inv``) and its entry in
    ``intersphinx_mapping``; ``base`` is the address the entries' ``uri`` are relative to."""

    key: str
    name: str
    version: str
    base: str
    entries: tuple[Entry, ...]


def _many(role: str, uri: str, names: str) -> tuple[Entry, ...]:
    """Entries of one role and one address pattern, for each whitespace-separated name."""
    return tuple(Entry(name, role, uri) for name in names.split())


PYTHON = Project(
    key="python",
    name="Python",
    version="3",
    base="https://docs.python.org/3/",
    entries=(
        *_many("py:class", "library/functions.html#$", "bool int float"),
        *_many("py:class", "library/stdtypes.html#$", "str dict list tuple"),
        Entry("None", "py:data", "library/constants.html#$"),
        *_many("py:exception", "library/exceptions.html#$", "FileNotFoundError ImportError KeyError RuntimeError TypeError ValueError"),
        *_many("py:data", "library/typing.html#$", "typing.Any typing.Callable"),
        *_many("py:class", "library/typing.html#$", "typing.Iterable typing.Mapping typing.Sequence typing.TextIO"),
        Entry("os.PathLike", "py:class", "library/os.html#$"),
        Entry("pathlib.Path", "py:class", "library/pathlib.html#$"),
        Entry("types.ModuleType", "py:class", "library/types.html#$"),
        Entry("zipfile.ZipFile", "py:class", "library/zipfile.html#$"),
    ),
)

NUMPY = Project(
    key="numpy",
    name="NumPy",
    version="stable",
    base="https://numpy.org/doc/stable/",
    entries=(
        Entry("numpy.ndarray", "py:class", "reference/generated/numpy.ndarray.html#$"),
        Entry("numpy.dtype", "py:class", "reference/generated/numpy.dtype.html#$"),
        # NumPy documents the sized names as attributes of the module (aliases of
        # single and double), so a page links them with :obj:, not :class:.
        *_many("py:attribute", "reference/arrays.scalars.html#$", "numpy.float32 numpy.float64"),
        Entry("numpy.random.Generator", "py:class", "reference/random/generator.html#$"),
    ),
)

SKLEARN = Project(
    key="sklearn",
    name="scikit-learn",
    version="stable",
    base="https://scikit-learn.org/stable/",
    entries=(
        *_many(
            "py:class",
            "modules/generated/$.html#$",
            "sklearn.base.BaseEstimator sklearn.base.ClassifierMixin sklearn.base.RegressorMixin "
            "sklearn.neural_network.MLPClassifier sklearn.neural_network.MLPRegressor "
            "sklearn.linear_model.SGDClassifier sklearn.model_selection.GridSearchCV sklearn.pipeline.Pipeline",
        ),
        *_many("py:function", "modules/generated/$.html#$", "sklearn.base.clone sklearn.model_selection.cross_val_score"),
    ),
)

TORCH = Project(
    key="torch",
    name="PyTorch",
    version="stable",
    base="https://docs.pytorch.org/docs/stable/",
    entries=(
        Entry("torch.optim", "py:module", "optim.html#module-$"),
        *_many(
            "py:class",
            "generated/$.html#$",
            "torch.optim.Optimizer torch.optim.SGD torch.optim.Adam torch.optim.AdamW torch.optim.RMSprop "
            "torch.optim.Adagrad torch.optim.Adadelta torch.optim.Adamax torch.optim.NAdam torch.optim.RAdam "
            "torch.optim.Rprop torch.optim.ASGD torch.optim.LBFGS torch.optim.Adafactor torch.optim.Muon",
        ),
    ),
)

PROJECTS = (PYTHON, NUMPY, SKLEARN, TORCH)


def _expand(uri: str, name: str) -> str:
    """``uri`` with every ``$`` but a final one replaced by ``name``: the file format
    only abbreviates a trailing ``$``, so the others are written out."""
    if uri.endswith("$"):
        return uri[:-1].replace("$", name) + "$"
    return uri.replace("$", name)


def encode(project: Project) -> bytes:
    """The inventory file of ``project`` (Sphinx's version 2 format), entries sorted by name."""
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project.name}\n"
        f"# Version: {project.version}\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    lines = [f"{entry.name} {entry.role} 1 {_expand(entry.uri, entry.name)} -\n" for entry in sorted(project.entries)]
    return header.encode("utf-8") + zlib.compress("".join(lines).encode("utf-8"), 9)


def read(data: bytes, base: str) -> dict[tuple[str, str], str]:
    """``{(role, name): full address}`` of an inventory file's contents, read by Sphinx itself."""
    from sphinx.util.inventory import InventoryFile

    inventory = InventoryFile.load(io.BytesIO(data), base, posixpath.join)
    table = {}
    for role, objects in inventory.items():
        for name, item in objects.items():
            # Sphinx 8.2 made the items objects with a .uri; older ones are tuples (project, version, uri, display).
            table[(role, name)] = item.uri if hasattr(item, "uri") else item[2]
    return table


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then move it into place."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, 0o644)  # mkstemp's 0600 would hide the file from a web server's user
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def write(folder: Path = HERE) -> list[Path]:
    """Write ``<key>.inv`` for every project into ``folder``; each is read back and
    compared with its table before it replaces the old file."""
    written = []
    for project in PROJECTS:
        data = encode(project)
        expected = {(entry.role, entry.name): project.base + _expand(entry.uri, entry.name).replace("$", entry.name) for entry in project.entries}
        if read(data, project.base) != expected:
            raise RuntimeError(f"{project.key}.inv does not read back as written")
        path = folder / f"{project.key}.inv"
        _write_atomically(path, data)
        written.append(path)
    return written


def verify(source: Path | None = None) -> list[str]:
    """Compare every entry with the project's published inventory; returns the mismatches.

    ``source`` is a folder holding ``<key>.inv`` files saved from the sites; without
    it, each ``<base>objects.inv`` is downloaded.
    """
    problems = []
    for project in PROJECTS:
        if source is None:
            with urllib.request.urlopen(project.base + "objects.inv", timeout=60) as response:
                published = read(response.read(), project.base)
        elif (source / f"{project.key}.inv").is_file():
            published = read((source / f"{project.key}.inv").read_bytes(), project.base)
        else:
            problems.append(f"{project.key}: no {project.key}.inv in {source} to compare with")
            continue
        for (role, name), address in read(encode(project), project.base).items():
            if (role, name) not in published:
                others = sorted(r for r, n in published if n == name)
                found = f"; it is there as {', '.join(others)}" if others else ""
                problems.append(f"{project.key}: {name} ({role}) is not in the published inventory{found}")
            elif published[(role, name)] != address:
                problems.append(f"{project.key}: {name} ({role}) is at {published[(role, name)]}, not {address}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verify", action="store_true", help="compare the tables with the sites' own objects.inv instead of writing")
    parser.add_argument("--from", dest="source", type=Path, help="folder of saved <key>.inv files for --verify (default: download them)")
    arguments = parser.parse_args(argv)
    if arguments.source is not None and not arguments.verify:
        parser.error("--from goes with --verify")
    if arguments.source is not None and not arguments.source.is_dir():
        parser.error(f"--from: {arguments.source} is not a folder")
    if arguments.verify:
        problems = verify(arguments.source)
        for problem in problems:
            print(problem)
        total = sum(len(project.entries) for project in PROJECTS)
        print(f"{total - len(problems)} of {total} entries match the published inventories")
        return 1 if problems else 0
    for path in write():
        print(f"wrote {path.relative_to(HERE.parent.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
