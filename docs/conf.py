"""Sphinx configuration of numbagrad's documentation."""

import sys
from pathlib import Path

import numbagrad

# Local extensions: numbagrad_examples runs docs/examples/*.py before the pages
# are read, so that the guide's pictures come from the code it shows;
# numbagrad_mathjax serves MathJax from _static, so formulas need no CDN.
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
    "sphinx.ext.intersphinx",
    "numbagrad_mathjax",
    "numbagrad_examples",
]
myst_enable_extensions = ["dollarmath", "colon_fence"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
napoleon_google_docstring = True
napoleon_numpy_docstring = False
nitpicky = False

# Links to the documentation of Python, NumPy, scikit-learn and PyTorch. The
# links point at the real sites; what each site documents where is read from
# the small inventories in _inventories/ (written by _inventories/make.py),
# because the build machines cannot download the sites' own objects.inv.
intersphinx_mapping = {
    name: (url, f"_inventories/{name}.inv")
    for name, url in {
        "python": "https://docs.python.org/3/",
        "numpy": "https://numpy.org/doc/stable/",
        "sklearn": "https://scikit-learn.org/stable/",
        "torch": "https://docs.pytorch.org/docs/stable/",
    }.items()
}

html_theme = "pydata_sphinx_theme"
html_title = f"numbagrad {release}"
html_static_path = ["_static"]
html_css_files = ["numbagrad.css"]
templates_path = ["_templates"]
# Every page gets the whole table of contents, with index.md's captions as
# headings, instead of only the pages under its top-level entry: most pages
# of this site are top-level entries themselves.
html_sidebars = {"**": ["numbagrad-nav.html"]}
# Light or dark as the reader's system says; without a default, a first visit
# logs "Got invalid theme mode" to the browser's console.
html_context = {"default_mode": "auto"}
html_theme_options = {
    "navbar_start": ["navbar-logo"],
    "navbar_center": [],
    "navbar_end": ["search-button-field", "theme-switcher"],
    "navbar_persistent": [],
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "show_prev_next": True,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    "pygments_light_style": "tango",
    "pygments_dark_style": "monokai",
}
