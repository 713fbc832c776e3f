"""Serve MathJax from the documentation's own ``_static`` folder.

Sphinx's mathjax extension loads MathJax from a CDN by default, so formulas
stay raw TeX wherever that host cannot be reached (an offline reader, a
build machine's browser check). This extension copies MathJax 3's
``tex-chtml`` component and the files it loads on demand (fonts, TeX
extensions, the menu and accessibility modules) from the
``sphinx-mathjax-offline`` package, one of the ``docs`` extra's requirements,
into ``_static/mathjax/`` and points ``mathjax_path`` there. The pages then
need nothing from outside the built folder.
"""

from __future__ import annotations

import shutil
from importlib import metadata
from pathlib import Path

from sphinx.errors import ExtensionError

#: The distribution whose ``static/mathjax`` folder holds MathJax 3's components.
DISTRIBUTION = "sphinx-mathjax-offline"
#: What the pages load, relative to ``_static``.
ENTRY = "mathjax/tex-chtml.js"
#: The folders ``tex-chtml.js`` loads files from, besides its own file. The other
#: combined components and the SVG output are never loaded by it.
FOLDERS = ("a11y", "adaptors", "input", "output/chtml", "sre", "ui")


def mathjax_folder() -> Path:
    """The ``static/mathjax`` folder of the installed ``sphinx-mathjax-offline``.

    Raises:
        sphinx.errors.ExtensionError: the distribution is not installed, or holds
            no ``tex-chtml.js``; the message says what to install.
    """
    try:
        distribution = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise ExtensionError(
            f"numbagrad_mathjax: the {DISTRIBUTION} package is not installed; it ships the MathJax files the pages load "
            '(pip install "numbagrad[docs]")'
        ) from None
    folder = Path(distribution.locate_file("sphinx-mathjax-offline/static/mathjax"))
    if not (folder / "tex-chtml.js").is_file():
        raise ExtensionError(f"numbagrad_mathjax: {folder} has no tex-chtml.js; reinstall {DISTRIBUTION}")
    return folder


def copy_mathjax(source: Path, static: Path) -> None:
    """Copy ``tex-chtml.js`` and :data:`FOLDERS` from ``source`` into ``static/mathjax``."""
    target = static / "mathjax"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / "tex-chtml.js", target / "tex-chtml.js")
    for folder in FOLDERS:
        shutil.copytree(source / folder, target / folder, dirs_exist_ok=True)


def _check_installed(app, config) -> None:
    # Fail before the pages are read, not after a full build.
    app.numbagrad_mathjax_source = mathjax_folder()
    config.mathjax_path = ENTRY


def _copy_after_build(app, exception) -> None:
    if exception is None and app.builder.format == "html":
        copy_mathjax(app.numbagrad_mathjax_source, Path(app.outdir) / "_static")


def setup(app):
    app.setup_extension("sphinx.ext.mathjax")
    app.connect("config-inited", _check_installed)
    app.connect("build-finished", _copy_after_build)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
