"""Found by name through the entry point, after ``pip install``: as any user would find it."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

import numpy as np
import numbagrad
from numbagrad.registry import get_registry
from numbagrad.plugin import check

from numbagrad_lion import INVERSE_SQRT_SPEC, LION_SPEC


def test_the_distribution_declares_its_entry_point():
    points = importlib.metadata.distribution("numbagrad-lion").entry_points
    assert [(p.group, p.name, p.value) for p in points] == [("numbagrad", "lion", "numbagrad_lion.plugin")]


def test_found_by_name_with_its_distribution():
    assert numbagrad.optim.available()["lion"] == "numbagrad-lion"
    assert numbagrad.schedules.available()["inverse_sqrt"] == "numbagrad-lion"
    opt = numbagrad.optim.get("Lion", [np.zeros(3)], lr=1e-3)
    assert opt.spec is LION_SPEC and opt.title == "Lion"
    assert numbagrad.schedules.get("inverse_sqrt", lr=1.0).spec is INVERSE_SQRT_SPEC
    assert not get_registry().problems


def test_declarations_pass_numbagrads_own_checks():
    check(LION_SPEC)
    check(INVERSE_SQRT_SPEC)


def test_command_line_lists_the_plugin():
    result = subprocess.run([sys.executable, "-m", "numbagrad", "plugins"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    assert ["optimizer", "lion", "numbagrad-lion"] in rows
    assert ["schedule", "inverse_sqrt", "numbagrad-lion"] in rows
