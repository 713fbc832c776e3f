"""docs/cli.md cannot drift from the command line: every subcommand, flag and TOML key is on the page."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from numbagrad.cli import _parser
from numbagrad.runs.config import SECTIONS, SETTINGS

PAGE = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text(encoding="utf-8")


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


@pytest.mark.parametrize("command", sorted(_subcommands()))
def test_every_subcommand_and_flag_is_documented(command):
    assert f"## `numbagrad {command}`" in PAGE
    flags = [flag for action in _subcommands()[command]._actions for flag in action.option_strings if flag not in ("-h", "--help")]
    missing = [flag for flag in flags if f"`{flag}" not in PAGE and f"{flag}`" not in PAGE and f", `{flag}`" not in PAGE]
    assert not missing, f"docs/cli.md does not mention {missing} of numbagrad {command}"


def test_every_toml_key_and_table_is_documented():
    for setting in SETTINGS:
        assert f"`{setting.toml_key}`" in PAGE, setting.toml_key
        assert setting.flag in PAGE
    for section in SECTIONS:
        assert f"{section}." in PAGE or f"[{section}]" in PAGE, section


def test_the_page_is_in_the_table_of_contents():
    index = (Path(__file__).resolve().parents[1] / "docs" / "index.md").read_text(encoding="utf-8")
    assert "\ncli\n" in index
