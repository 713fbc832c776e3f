"""Every distribution under plugins/ builds, installs and loads cleanly through its entry point.

Each is installed into a temporary target (never into the running environment)
and imported by name in a fresh process in strict mode, where any problem a
plugin has is an error. CI then runs each plugin's own tests against a real
installation (``.ci/run``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from helpers import pip_install

REPOSITORY = Path(__file__).resolve().parents[1]
PLUGINS = sorted(p.parent for p in (REPOSITORY / "plugins").glob("*/pyproject.toml"))

#: What the plugins of this repository provide.
EXPECTED = {
    "numbagrad-lion": {("optimizer", "lion"), ("schedule", "inverse_sqrt")},
    "numbagrad-lamb": {("optimizer", "lamb")},
}

LIST_COMPONENTS = """
import json, numbagrad
from numbagrad.registry import KINDS, get_registry
print(json.dumps({kind: get_registry().available(kind) for kind in KINDS}))
"""


@pytest.mark.parametrize("plugin", PLUGINS, ids=[p.name for p in PLUGINS])
def test_plugin_installs_and_registers_in_strict_mode(plugin, tmp_path):
    metadata = tomllib.loads((plugin / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert "numbagrad" in metadata["dependencies"]
    assert metadata["entry-points"]["numbagrad"], "a plugin declares an entry point in the group 'numbagrad'"
    # Built from a copy: an in-tree build would leave build/ and *.egg-info in the repository.
    source = shutil.copytree(plugin, tmp_path / plugin.name, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    target = tmp_path / "site-packages"
    built = pip_install(source, target, cwd=tmp_path)
    assert built.returncode == 0, built.stdout + built.stderr
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NUMBAGRAD_")}
    environment.update(NUMBAGRAD_STRICT_PLUGINS="1", PYTHONPATH=os.pathsep.join([str(target), str(REPOSITORY)]))
    loaded = subprocess.run([sys.executable, "-c", LIST_COMPONENTS], capture_output=True, text=True, timeout=600, env=environment, cwd=tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    provided = {(kind, name) for kind, names in json.loads(loaded.stdout).items() for name, source in names.items() if source == metadata["name"]}
    assert provided == EXPECTED.get(metadata["name"], provided) and provided, provided


def test_the_example_plugins_are_there():
    assert {p.name for p in PLUGINS} >= {"numbagrad-lion", "numbagrad-lamb"}
