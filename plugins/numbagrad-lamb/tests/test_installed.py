"""Found by name through the entry point, after ``pip install``: as any user would find it."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

import numpy as np
import numbagrad
from numbagrad.registry import get_registry

from numbagrad_lamb import LAMB_SPEC


def test_the_distribution_declares_its_entry_point():
    points = importlib.metadata.distribution("numbagrad-lamb").entry_points
    assert [(p.group, p.name, p.value) for p in points] == [("numbagrad", "lamb", "numbagrad_lamb.plugin")]


def test_found_by_name_with_its_distribution():
    assert numbagrad.optim.available()["lamb"] == "numbagrad-lamb"
    opt = numbagrad.optim.get("LAMB", [np.zeros(3)], lr=1e-3)
    assert opt.spec is LAMB_SPEC and opt.title == "LAMB"
    assert not get_registry().problems


def test_command_line_lists_the_plugin():
    result = subprocess.run([sys.executable, "-m", "numbagrad", "plugins"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    assert ["optimizer", "lamb", "numbagrad-lamb"] in rows
