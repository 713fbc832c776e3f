"""Run the documentation's example scripts at build time.

Every picture in the guide is drawn by the script shown beside it: before
Sphinx reads a page, this extension runs each ``docs/examples/*.py`` in its
own Python process, with ``docs/_generated/`` as the working directory, so
the pictures a script writes land there; its standard output is saved as
``_generated/<script>.txt`` for the pages to show. A script that fails stops
the build with its name and the end of its error output, so a broken example
can never publish a stale picture.

The scripts import numbagrad from this checkout (its root goes first on
``PYTHONPATH``), whatever is installed: the documentation shows the code it
documents.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: Seconds one example may take before the build gives up on it.
TIMEOUT = 600


def run_examples(examples: Path, generated: Path, root: Path, timeout: float = TIMEOUT) -> list[Path]:
    """Run every ``*.py`` in ``examples`` (sorted by name) with ``generated`` as the working
    directory; returns the scripts run.

    Raises:
        sphinx.errors.ExtensionError: a script exited with a non-zero status or ran
            past ``timeout`` seconds; the message names it and ends with its stderr.
    """
    generated.mkdir(parents=True, exist_ok=True)
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), environment.get("PYTHONPATH")]))
    scripts = sorted(examples.glob("*.py"))
    for script in scripts:
        logger.info(f"running docs example {script.name}")
        try:
            result = subprocess.run(
                [sys.executable, str(script)], cwd=generated, env=environment, capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            raise ExtensionError(f"docs example {script.name} ran for more than {timeout:g} seconds") from None
        if result.returncode != 0:
            tail = "\n".join(result.stderr.splitlines()[-25:])
            raise ExtensionError(f"docs example {script.name} failed with exit status {result.returncode}:\n{tail}")
        (generated / f"{script.stem}.txt").write_text(result.stdout, encoding="utf-8")
    return scripts


def _run_before_reading(app) -> None:
    source = Path(app.srcdir)
    run_examples(source / app.config.numbagrad_examples, source / app.config.numbagrad_generated, source.parent)


def setup(app):
    app.add_config_value("numbagrad_examples", "examples", "env")
    app.add_config_value("numbagrad_generated", "_generated", "env")
    # builder-inited comes before Sphinx decides which pages are outdated; the
    # pictures and outputs are rewritten each build, and since pages depend on
    # them (as images and included files), the pages showing them are re-read.
    app.connect("builder-inited", _run_before_reading)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
