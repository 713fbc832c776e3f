"""Helpers shared by the tests."""

from __future__ import annotations

import numpy as np


def awkward_arrays(dtype, seed=0, shapes=((1,), (3, 5), (7,), (2, 3, 4), (65,))):
    """Parameters of awkward sizes (1, odd, non-multiples of any tile)."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(dtype) for shape in shapes]


def gradients(params, step):
    """Gradients that depend on the parameters and on the step, deterministic."""
    return [
        (p * p.dtype.type(0.5) - p.dtype.type(0.3) + np.cos(np.arange(p.size, dtype=p.dtype) + step).reshape(p.shape) * p.dtype.type(0.1))
        for p in params
    ]


def pip_install(source, target, cwd):
    """``pip install`` the project at ``source`` into the folder ``target`` (never the running
    environment), without dependencies; returns the finished process.

    The build is offline (``--no-build-isolation``) when the running environment
    already satisfies the project's ``build-system.requires``; otherwise pip
    builds in an isolated environment, fetching the build requirements (a fresh
    virtual environment's setuptools may be too old for a PEP 639 license).
    """
    import subprocess
    import sys

    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-input", "--target", str(target)]
    if _build_requirements_met(source / "pyproject.toml"):
        command.append("--no-build-isolation")
    return subprocess.run(command + [str(source)], capture_output=True, text=True, timeout=600, cwd=cwd)


def _build_requirements_met(pyproject) -> bool:
    import importlib.metadata
    import tomllib

    from packaging.requirements import Requirement

    from packaging.version import Version

    requires = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("build-system", {}).get("requires", [])
    for text in requires:
        requirement = Requirement(text)
        try:
            version = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            return False
        if not requirement.specifier.contains(version, prereleases=True):
            return False
        if requirement.name == "setuptools" and Version(version) < Version("70.1"):
            # Before 70.1 setuptools builds wheels with the separate 'wheel' package.
            try:
                importlib.metadata.version("wheel")
            except importlib.metadata.PackageNotFoundError:
                return False
    return True


def run_cli(capsys, *argv):
    """``numbagrad.cli.main(argv)`` -> (status, stdout, stderr); argparse's exits become statuses."""
    from numbagrad.cli import main

    try:
        status = main([str(a) for a in argv])
    except SystemExit as exit:
        status = exit.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err
