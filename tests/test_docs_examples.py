"""The documentation runs its example scripts: each one is shown on a page, and a failing one
fails the build."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


@pytest.fixture
def extension(monkeypatch):
    pytest.importorskip("sphinx")
    monkeypatch.syspath_prepend(str(DOCS / "_ext"))
    import numbagrad_examples

    return numbagrad_examples


def test_scripts_run_in_the_generated_folder_and_their_output_is_kept(extension, tmp_path):
    examples = tmp_path / "examples"
    examples.mkdir()
    (examples / "b_second.py").write_text("import numbagrad\nprint('from', numbagrad.__file__)\n")
    (examples / "a_first.py").write_text("open('picture.png', 'w').write('drawn')\nprint('first')\n")
    generated = tmp_path / "_generated"
    ran = extension.run_examples(examples, generated, ROOT)
    assert [p.name for p in ran] == ["a_first.py", "b_second.py"]
    assert (generated / "picture.png").read_text() == "drawn"
    assert (generated / "a_first.txt").read_text() == "first\n"
    # The checkout being documented, whatever numbagrad is installed.
    assert (generated / "b_second.txt").read_text() == f"from {ROOT / 'numbagrad' / '__init__.py'}\n"


def test_a_failing_script_stops_the_build_with_its_name_and_error(extension, tmp_path):
    from sphinx.errors import ExtensionError

    examples = tmp_path / "examples"
    examples.mkdir()
    (examples / "broken.py").write_text("print('partial')\n1 / 0\n")
    with pytest.raises(ExtensionError, match=r"(?s)docs example broken\.py failed with exit status 1:.*ZeroDivisionError"):
        extension.run_examples(examples, tmp_path / "_generated", ROOT)
    assert not (tmp_path / "_generated" / "broken.txt").exists()


def test_a_script_that_hangs_is_stopped(extension, tmp_path):
    from sphinx.errors import ExtensionError

    examples = tmp_path / "examples"
    examples.mkdir()
    (examples / "slow.py").write_text("import time\ntime.sleep(30)\n")
    with pytest.raises(ExtensionError, match=r"docs example slow\.py ran for more than 0\.5 seconds"):
        extension.run_examples(examples, tmp_path / "_generated", ROOT, timeout=0.5)


def test_the_extension_is_enabled_and_every_example_is_shown_with_its_pictures():
    conf = (DOCS / "conf.py").read_text(encoding="utf-8")
    assert '"numbagrad_examples"' in conf
    # The guide's chapters and the top-level pages (docs/sklearn.md) show examples.
    pages = {page: page.read_text(encoding="utf-8") for page in [*(DOCS / "guide").glob("*.md"), *DOCS.glob("*.md")]}
    shown = {name for text in pages.values() for name in re.findall(r"literalinclude\} (?:\.\./)?examples/(\S+\.py)", text)}
    assert shown == {p.name for p in (DOCS / "examples").glob("*.py")}
    # Every picture a page shows is one an example writes.
    written = set()
    for script in (DOCS / "examples").glob("*.py"):
        written |= set(re.findall(r"[\"']([\w-]+\.(?:png|gif))[\"']", script.read_text(encoding="utf-8")))
    pictures = {name for text in pages.values() for name in re.findall(r"(?:\.\./)?_generated/([\w-]+\.(?:png|gif))", text)}
    assert pictures and pictures <= written
