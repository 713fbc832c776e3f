"""The documentation's tooling: the intersphinx inventories' writer, the local
MathJax extension and the built pages' browser check (its pure parts)."""

from __future__ import annotations

import importlib.util
import sys
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # NamedTuple subclasses look their module up while being created
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def make():
    pytest.importorskip("sphinx")
    return _load("numbagrad_docs_inventories", ROOT / "docs" / "_inventories" / "make.py")


@pytest.fixture(scope="module")
def check_docs():
    return _load("numbagrad_check_docs", ROOT / ".ci" / "check_docs.py")


def test_each_inventory_reads_back_as_its_table(make):
    for project in make.PROJECTS:
        table = make.read(make.encode(project), project.base)
        assert len(table) == len(project.entries)
        for entry in project.entries:
            assert table[(entry.role, entry.name)] == project.base + entry.uri.replace("$", entry.name)


def test_the_committed_inventories_are_the_tables(make):
    # A table edited without running make.py would link to stale addresses.
    for project in make.PROJECTS:
        committed = (ROOT / "docs" / "_inventories" / f"{project.key}.inv").read_bytes()
        assert make.read(committed, project.base) == make.read(make.encode(project), project.base), project.key


def test_the_named_links_have_their_sites_addresses(make):
    tables = {project.key: make.read(make.encode(project), project.base) for project in make.PROJECTS}
    assert tables["numpy"][("py:class", "numpy.ndarray")] == "https://numpy.org/doc/stable/reference/generated/numpy.ndarray.html#numpy.ndarray"
    assert tables["numpy"][("py:attribute", "numpy.float32")] == "https://numpy.org/doc/stable/reference/arrays.scalars.html#numpy.float32"
    assert tables["sklearn"][("py:class", "sklearn.base.BaseEstimator")] == (
        "https://scikit-learn.org/stable/modules/generated/sklearn.base.BaseEstimator.html#sklearn.base.BaseEstimator"
    )
    assert tables["torch"][("py:class", "torch.optim.Adam")] == "https://docs.pytorch.org/docs/stable/generated/torch.optim.Adam.html#torch.optim.Adam"
    assert tables["python"][("py:class", "str")] == "https://docs.python.org/3/library/stdtypes.html#str"


def _published(lines: str) -> bytes:
    header = b"# Sphinx inventory version 2\n# Project: X\n# Version: 1\n# The remainder of this file is compressed using zlib.\n"
    return header + zlib.compress(lines.encode())


def test_verify_reports_moved_missing_and_retyped_entries(make, tmp_path):
    numpy_lines = "".join(f"{e.name} {e.role} 1 {e.uri} -\n" for e in make.NUMPY.entries)
    numpy_lines = numpy_lines.replace("reference/generated/numpy.ndarray.html#$", "reference/arrays.ndarray.html#$")
    numpy_lines = numpy_lines.replace("numpy.float32 py:attribute", "numpy.float32 py:class")
    numpy_lines = "\n".join(line for line in numpy_lines.splitlines() if not line.startswith("numpy.dtype ")) + "\n"
    (tmp_path / "numpy.inv").write_bytes(_published(numpy_lines))
    for project in (make.PYTHON, make.SKLEARN, make.TORCH):
        (tmp_path / f"{project.key}.inv").write_bytes(make.encode(project))
    problems = make.verify(tmp_path)
    assert len(problems) == 3
    assert any("numpy.ndarray (py:class) is at https://numpy.org/doc/stable/reference/arrays.ndarray.html" in p for p in problems)
    assert any("numpy.float32 (py:attribute) is not in the published inventory; it is there as py:class" in p for p in problems)
    assert any("numpy.dtype (py:class) is not in the published inventory" in p for p in problems)


def test_verify_names_a_missing_saved_inventory(make, tmp_path):
    problems = make.verify(tmp_path)
    assert f"python: no python.inv in {tmp_path} to compare with" in problems


def test_make_refuses_from_without_verify_and_a_missing_folder(make, tmp_path, capsys):
    with pytest.raises(SystemExit):
        make.main(["--from", str(tmp_path)])
    assert "--from goes with --verify" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        make.main(["--verify", "--from", str(tmp_path / "absent")])
    assert f"--from: {tmp_path / 'absent'} is not a folder" in capsys.readouterr().err


def test_mathjax_copies_the_component_and_what_it_loads(tmp_path):
    pytest.importorskip("sphinx")
    sys.path.insert(0, str(ROOT / "docs" / "_ext"))
    try:
        import numbagrad_mathjax
    finally:
        sys.path.remove(str(ROOT / "docs" / "_ext"))
    try:
        source = numbagrad_mathjax.mathjax_folder()
    except Exception as error:
        pytest.skip(f"sphinx-mathjax-offline is not installed: {error}")
    numbagrad_mathjax.copy_mathjax(source, tmp_path)
    assert (tmp_path / "mathjax" / "tex-chtml.js").is_file()
    assert list((tmp_path / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").glob("MathJax_Main-Regular.woff"))
    assert not (tmp_path / "mathjax" / "tex-svg-full.js").exists()


def test_mathjax_without_its_package_says_what_to_install(monkeypatch):
    pytest.importorskip("sphinx")
    from importlib import metadata

    from sphinx.errors import ExtensionError

    sys.path.insert(0, str(ROOT / "docs" / "_ext"))
    try:
        import numbagrad_mathjax
    finally:
        sys.path.remove(str(ROOT / "docs" / "_ext"))

    def absent(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(numbagrad_mathjax.metadata, "distribution", absent)
    with pytest.raises(ExtensionError, match=r'sphinx-mathjax-offline package is not installed.*pip install "numbagrad\[docs\]"'):
        numbagrad_mathjax.mathjax_folder()


def _pre(**overrides):
    pre = {"firstLine": "x = 1", "overflowX": "auto", "left": 250.0, "right": 1080.0, "scrollWidth": 800, "clientWidth": 830, "cutBy": None}
    pre.update(overrides)
    return pre


def test_a_fitting_code_block_passes(check_docs):
    assert check_docs.pre_problems({"width": 1280, "pres": [_pre()]}) == ([], [])


def test_a_wider_code_block_that_scrolls_is_counted_not_failed(check_docs):
    problems, scrolling = check_docs.pre_problems({"width": 1280, "pres": [_pre(scrollWidth=900)]})
    assert problems == []
    assert scrolling == ["code block 'x = 1': 900 px of content in a 830 px box"]


@pytest.mark.parametrize("overflow", ["hidden", "clip", "visible"])
def test_a_wider_code_block_that_does_not_scroll_is_cut(check_docs, overflow):
    problems, scrolling = check_docs.pre_problems({"width": 1280, "pres": [_pre(scrollWidth=900, overflowX=overflow)]})
    assert problems == [f"code block 'x = 1' is cut: 900 px of content in a 830 px box with overflow {overflow}"]
    assert scrolling == []


def test_a_code_block_past_the_window_or_cut_by_an_ancestor_fails(check_docs):
    problems, _ = check_docs.pre_problems({"width": 1280, "pres": [_pre(right=1300.0), _pre(cutBy="div.highlight")]})
    assert problems == [
        "code block 'x = 1' reaches past the window: its box spans x = 250 to 1300 of 1280",
        "code block 'x = 1' is cut by its ancestor div.highlight (overflow hidden)",
    ]


def test_pages_are_every_html_file_but_sphinx_assets(check_docs, tmp_path):
    for name in ("index.html", "guide/a.html", "_modules/numbagrad/x.html", "_static/page.html", "_sources/index.html", "notes.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("<html></html>")
    assert check_docs.pages(tmp_path) == ["_modules/numbagrad/x.html", "guide/a.html", "index.html"]


def test_check_needs_a_built_folder_and_a_browser(check_docs, tmp_path, capsys):
    assert check_docs.main([str(tmp_path)]) == 2
    assert f"folder {tmp_path} has no index.html" in capsys.readouterr().err
    (tmp_path / "index.html").write_text("<html></html>")
    assert check_docs.main([str(tmp_path), "--chromium", str(tmp_path / "no-chromium")]) == 2
    assert f"--chromium {tmp_path / 'no-chromium'} does not exist; apt-get install -y chromium" in capsys.readouterr().err
