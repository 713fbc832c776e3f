"""docs/plugins.md, followed as a new user would: its files written out, the example plugin
built and installed, its own tests and the page's snippets run in fresh processes.

The page marks what it is made of: ``<!-- file: PATH -->`` before each file of the
example, ``<!-- usage -->`` before the snippet that uses the installed plugin and
``<!-- run -->`` before snippets that run on their own. A ``print`` line ending in
a comment must print what the comment says.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import pip_install

REPOSITORY = Path(__file__).resolve().parents[1]
GUIDE = REPOSITORY / "docs" / "plugins.md"
BLOCK = re.compile(r"^```(?P<language>[a-z]*)\n(?P<body>.*?)^```", re.S | re.M)
MARKER = re.compile(r"<!--\s*(?:file:\s*(?P<path>\S+)|(?P<kind>usage|run))\s*-->\s*\Z")


def guide_blocks() -> list[dict]:
    """Every fenced block of the page with its language and the marker just above it."""
    text = GUIDE.read_text(encoding="utf-8")
    blocks = []
    for match in BLOCK.finditer(text):
        marker = MARKER.search(text[: match.start()].rstrip())
        blocks.append(
            {
                "language": match.group("language"),
                "body": match.group("body"),
                "path": marker.group("path") if marker else None,
                "kind": (marker.group("kind") or "file") if marker else None,
            }
        )
    return blocks


def run(arguments: list[str], cwd: Path, target: Path | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run Python in a fresh process: this checkout's numbagrad, plugins installed in ``target``."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NUMBAGRAD_")}
    paths = ([str(target)] if target else []) + [str(REPOSITORY)]
    environment["PYTHONPATH"] = os.pathsep.join(paths + [environment.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return subprocess.run([sys.executable, *arguments], cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout)


def check_printed_comments(code: str, output: str) -> None:
    for line in code.splitlines():
        if line.startswith("print(") and "  # " in line:
            expected = line.split("  # ", 1)[1].strip()
            assert expected in output, f"the page says {line!r} prints {expected!r}; it printed:\n{output}"


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    """The page's files written into an empty folder, the plugin built and installed into a target."""
    root = tmp_path_factory.mktemp("guide")
    files = [b for b in guide_blocks() if b["kind"] == "file"]
    assert files, "docs/plugins.md marks no file with <!-- file: PATH -->"
    for block in files:
        path = root / block["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(block["body"], encoding="utf-8")
    target = root / "site-packages"
    result = pip_install(root / "numbagrad-myopt", target, cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    return root, target


def test_every_python_block_of_the_page_is_marked_so_it_is_tested():
    unmarked = [b["body"][:60] for b in guide_blocks() if b["language"] == "python" and b["kind"] is None]
    assert not unmarked, f"python blocks without <!-- file: ... -->, <!-- usage --> or <!-- run -->: {unmarked}"
    kinds = [b["kind"] for b in guide_blocks() if b["kind"]]
    assert kinds.count("usage") == 1 and "run" in kinds


def test_the_example_plugin_passes_its_own_tests(example):
    root, target = example
    result = run(["-m", "pytest", "-q", "-p", "no:cacheprovider", "numbagrad-myopt"], cwd=root, target=target)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\b8 passed\b", result.stdout), result.stdout


def test_the_usage_snippet_trains_with_the_installed_plugin(example):
    root, target = example
    (usage,) = [b["body"] for b in guide_blocks() if b["kind"] == "usage"]
    result = run(["-c", usage], cwd=root, target=target)
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr, result.stderr
    loss = float(re.search(r"loss ([^,\s]+)", result.stdout).group(1))
    accuracy = float(re.search(r"accuracy (\S+)", result.stdout).group(1))
    assert loss < 0.2 and accuracy > 0.95, result.stdout


def test_the_command_line_lists_the_plugin(example):
    root, target = example
    result = run(["-m", "numbagrad", "plugins"], cwd=root, target=target)
    assert result.returncode == 0, result.stderr
    assert ["optimizer", "myopt", "numbagrad-myopt"] in [line.split() for line in result.stdout.splitlines()]


@pytest.mark.parametrize("index", range(sum(1 for b in guide_blocks() if b["kind"] == "run")))
def test_the_run_snippets_print_what_the_page_says(tmp_path, index):
    code = [b["body"] for b in guide_blocks() if b["kind"] == "run"][index]
    result = run(["-c", code], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    check_printed_comments(code, result.stdout)
