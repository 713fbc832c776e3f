"""Every Python code block of the documentation and the README runs.

A page's blocks run in order in one fresh interpreter, as a reader pasting
them one after another would. The plugin guide's blocks are files of an
example package and have their own test (test_plugin_guide.py). A page that
needs a GPU says so with ``<!-- runs-under: cuda-simulator -->`` and runs under
Numba's CUDA simulator; one that needs an optional package says
``<!-- needs: module -->`` and is skipped without it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OWN_TESTS = {"docs/plugins.md"}
PAGES = sorted(
    str(path.relative_to(ROOT))
    for path in [*ROOT.glob("docs/**/*.md"), ROOT / "README.md"]
    if "_build" not in path.parts and str(path.relative_to(ROOT)) not in OWN_TESTS
)


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, re.S | re.M)


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks((ROOT / p).read_text(encoding="utf-8"))])
def test_the_page_code_runs(page, tmp_path):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    text = (ROOT / page).read_text(encoding="utf-8")
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    for module in re.findall(r"<!-- needs: (\S+) -->", text):  # an optional package the page's code needs
        pytest.importorskip(module)
    if "<!-- runs-under: cuda-simulator -->" in text:
        environment["NUMBA_ENABLE_CUDASIM"] = "1"
    script = tmp_path / "page.py"  # a file, so that the examples' @njit(cache=True) can cache
    script.write_text("\n\n".join(python_blocks(text)), encoding="utf-8")
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"{page}:\n{result.stderr[-3000:]}"


#: Pages whose every code block must also run on its own, as a reader copying one would.
STANDALONE = ["docs/gpu.md"]

#: Runs each block's file in a namespace of its own, in one interpreter (a file, so that the
#: examples' @njit(cache=True) can cache): a block that leans on a name an earlier block
#: defined fails with NameError.
EACH_ON_ITS_OWN = """
import runpy, sys
for index in range(COUNT):
    try:
        runpy.run_path(f"block{index}.py", run_name="__main__")
    except Exception as error:
        sys.exit(f"block {index} does not run on its own: {type(error).__name__}: {error}")
"""


@pytest.mark.parametrize("page", STANDALONE)
def test_each_block_runs_on_its_own(page, tmp_path):
    text = (ROOT / page).read_text(encoding="utf-8")
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    for module in re.findall(r"<!-- needs: (\S+) -->", text):  # an optional package the page's code needs
        pytest.importorskip(module)
    if "<!-- runs-under: cuda-simulator -->" in text:
        environment["NUMBA_ENABLE_CUDASIM"] = "1"
    blocks = python_blocks(text)
    for index, block in enumerate(blocks):
        (tmp_path / f"block{index}.py").write_text(block, encoding="utf-8")
    script = tmp_path / "blocks.py"
    script.write_text(f"COUNT = {len(blocks)}\n" + EACH_ON_ITS_OWN, encoding="utf-8")
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"{page}:\n{result.stderr[-3000:]}"
