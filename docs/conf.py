"""Sphinx configuration of numbagrad's documentation."""

import sys
from pathlib import Path

import numbagrad

# Local extensions: numbagrad_examples runs docs/examples/*.py before the pages
# are read, so that the guide's pictures come from the code it shows.
sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "numbagrad"
author = "The numbagrad developers"
copyright = "2026, The numbagrad developers"
release = numbagrad.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "sphinx.ext.mathjax",
    "numbagrad_examples",
]
myst_enable_extensions = ["dollarmath", "colon_fence"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
napoleon_google_docstring = True
napoleon_numpy_docstring = False
html_theme = "alabaster"
html_static_path = []
nitpicky = False
