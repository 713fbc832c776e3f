"""Where compiled kernels go: a per-user cache folder keyed by content, never the installed package.

A file that numbagrad writes inside its own installed package is not in pip's
record of the installation: uninstalling leaves its folder behind, and that
folder then shadows a later editable install as an empty namespace package.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from helpers import _build_requirements_met
from test_caching import RUN_ONE_STEP

from numbagrad import _cache

REPOSITORY = Path(__file__).resolve().parents[1]


def _files(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*")}


def _environment(cache_home, **extra) -> dict:
    """A newcomer's environment: no NUMBA_CACHE_DIR, the user cache folder under ``cache_home``."""
    environment = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "PYTHONPATH") and not k.startswith("NUMBAGRAD_")}
    environment.update(XDG_CACHE_HOME=str(cache_home), PYTHONDONTWRITEBYTECODE="1", NUMBAGRAD_DISABLE_PLUGIN_AUTOLOAD="1", **extra)
    return environment


def _output(arguments, environment, cwd) -> str:
    result = subprocess.run(arguments, capture_output=True, text=True, env=environment, cwd=cwd, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


def _run(arguments, environment, cwd) -> str:
    """The last line the command printed."""
    return (_output(arguments, environment, cwd).splitlines() or [""])[-1]


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="XDG_CACHE_HOME names the user cache folder on Linux")
def test_two_copies_of_the_same_content_share_one_user_cache_and_write_nothing_beside_their_sources(tmp_path):
    copies = []
    for name in ("installed", "clone"):
        copy = tmp_path / name / "numbagrad"
        shutil.copytree(REPOSITORY / "numbagrad", copy, ignore=shutil.ignore_patterns("__pycache__"))
        copies.append(copy)
    before = [_files(copy) for copy in copies]
    cache_home = tmp_path / "cache"

    first = json.loads(_run([sys.executable, "-c", RUN_ONE_STEP], _environment(cache_home, PYTHONPATH=str(copies[0].parent)), tmp_path))
    second = json.loads(_run([sys.executable, "-c", RUN_ONE_STEP], _environment(cache_home, PYTHONPATH=str(copies[1].parent)), tmp_path))

    assert all(misses > 0 for hits, misses in first.values()), first
    for name, (hits, misses) in second.items():
        assert misses == 0 and hits > 0, (name, second)
    assert [_files(copy) for copy in copies] == before, "numbagrad wrote files inside its own package"
    (content,) = (cache_home / "numbagrad").iterdir()
    assert content.name == _cache.content_key()
    assert list(content.glob("kernels/cpu/*.nbi")), sorted(_files(content))


def test_numba_cache_dir_holds_numbagrad_in_a_subfolder(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    assert _cache.cache_roots()[0] == str(tmp_path / "numbagrad")
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    assert all(not root.startswith(_cache.PACKAGE_DIRECTORY) for root in _cache.cache_roots())


def test_an_unwritable_cache_root_falls_back_to_the_next(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setattr(_cache, "cache_roots", lambda: [str(blocked / "numbagrad"), str(tmp_path / "fallback")])
    _cache.cache_directory.cache_clear()
    try:
        assert _cache.cache_directory() == str(tmp_path / "fallback" / _cache.content_key())
    finally:
        _cache.cache_directory.cache_clear()


def _content_folder(root: Path, index: int, used: float) -> Path:
    folder = root / f"0.1.{index}-{index:016x}"
    folder.mkdir(parents=True)
    (folder / _cache.LAST_USED).touch()
    os.utime(folder / _cache.LAST_USED, (used, used))
    return folder


def test_prune_keeps_the_most_recently_used_and_touches_nothing_else(tmp_path):
    now = 1_000_000_000.0
    day = _cache.STALE_AFTER
    current = _content_folder(tmp_path, 0, now - 30 * day)  # the running one, whatever its age
    recent = [_content_folder(tmp_path, i, now - (10 + i) * day) for i in range(1, 1 + _cache.KEEP_RECENT)]
    stale = [_content_folder(tmp_path, i, now - (20 + i) * day) for i in range(10, 13)]
    foreign = tmp_path / "not-ours"
    foreign.mkdir()

    removed = _cache.prune(str(tmp_path), keep=str(current), now=now)

    assert sorted(removed) == sorted(str(f) for f in stale)
    assert all(f.exists() for f in [current, *recent, foreign])
    assert not any(f.exists() for f in stale)


def test_prune_keeps_every_folder_used_within_a_day(tmp_path):
    now = 1_000_000_000.0
    in_use = [_content_folder(tmp_path, i, now - 60 * i) for i in range(_cache.KEEP_RECENT + 3)]
    assert _cache.prune(str(tmp_path), keep="", now=now) == []
    assert all(f.exists() for f in in_use)


def test_prune_of_a_missing_root_removes_nothing(tmp_path):
    assert _cache.prune(str(tmp_path / "absent"), keep="") == []


# --- the install sequence a newcomer goes through ---------------------------------


def _venv_with_running_dependencies(folder: Path) -> Path:
    """A virtual environment that sees the running environment's packages (numba, numpy...),
    but not its numbagrad, and has a pip of its own."""
    venv.create(folder, with_pip=True)
    python = folder / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    site_packages = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], dict(os.environ), folder)
    running = [p for p in sys.path if p.endswith("site-packages") and os.path.isdir(p)]
    Path(site_packages, "running-environment.pth").write_text("\n".join(running) + "\n")
    return python


#: Whether the virtual environment's own setuptools (it may bring an old one, which shadows the
#: running environment's) can build numbagrad without fetching a newer one.
_BUILDS_OFFLINE = "import sys, setuptools; sys.exit(int(int(setuptools.__version__.split('.')[0]) < 77))"


def _pip_install(python: Path, source: Path, *options: str, cwd: Path):
    command = [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-input", *options]
    offline = subprocess.run([str(python), "-c", _BUILDS_OFFLINE], capture_output=True).returncode == 0
    if offline and _build_requirements_met(source / "pyproject.toml"):
        command.append("--no-build-isolation")
    _output(command + [str(source)], dict(os.environ), cwd)


LOCATE = "import numbagrad, sys; print(numbagrad.__file__)"


def test_regular_then_editable_then_regular_install_stays_importable_from_anywhere(tmp_path):
    source = tmp_path / "clone"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPOSITORY / name, source / name)
    shutil.copytree(REPOSITORY / "numbagrad", source / "numbagrad", ignore=shutil.ignore_patterns("__pycache__"))
    python = _venv_with_running_dependencies(tmp_path / "venv")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    environment = _environment(tmp_path / "cache")
    installed = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], environment, elsewhere)) / "numbagrad"

    _pip_install(python, source, cwd=tmp_path)
    assert _run([str(python), "-c", LOCATE], environment, elsewhere) == str(installed / "__init__.py")
    _run([str(python), "-c", RUN_ONE_STEP], environment, elsewhere)  # compiles and caches kernels
    _run([str(python), "-m", "pip", "uninstall", "--yes", "--quiet", "numbagrad"], environment, elsewhere)
    assert not installed.exists(), sorted(_files(installed))

    _pip_install(python, source, "--editable", cwd=tmp_path)
    assert _run([str(python), "-c", LOCATE], environment, elsewhere) == str(source / "numbagrad" / "__init__.py")
    assert "adam" in _output([str(python), "-m", "numbagrad", "plugins"], environment, elsewhere)

    _pip_install(python, source, cwd=tmp_path)  # back to a regular install: pip replaces the editable one
    assert _run([str(python), "-c", LOCATE], environment, elsewhere) == str(installed / "__init__.py")
    second = json.loads(_run([str(python), "-c", RUN_ONE_STEP], environment, elsewhere))
    assert all(misses == 0 for hits, misses in second.values()), second  # the same content: loaded, not compiled


def test_the_cache_command_shows_the_folder_and_clears_it(tmp_path):
    environment = _environment(tmp_path / "unused", NUMBA_CACHE_DIR=str(tmp_path))
    stale = tmp_path / "numbagrad" / "0.0.1-0123456789abcdef"
    (stale / "kernels").mkdir(parents=True)
    (stale / "kernels" / "x.nbc").write_bytes(b"\0" * 2**20)
    shown = _output([sys.executable, "-m", "numbagrad", "cache"], environment, tmp_path)
    current = tmp_path / "numbagrad" / _cache.content_key()
    assert f": {current}" in shown.splitlines()[0]
    assert "1.0 MB  0.0.1-0123456789abcdef" in shown and f"{_cache.content_key()}  (this one)" in shown

    cleared = _output([sys.executable, "-m", "numbagrad", "cache", "--clear"], environment, tmp_path)
    assert cleared == f"removed 2 folder(s) of compiled kernels from {tmp_path / 'numbagrad'}"
    assert not stale.exists() and not current.exists()
