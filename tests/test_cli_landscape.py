"""``numbagrad landscape`` end to end: the table, the pictures, and one clean line per error."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from numbagrad.cli import main
from helpers import run_cli as run

ROOT = Path(__file__).resolve().parents[1]
needs_matplotlib = pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="matplotlib is not installed")
PNG = b"\x89PNG\r\n\x1a\n"


@needs_matplotlib
def test_table_and_run_folder(capsys, tmp_path):
    status, out, err = run(capsys, "landscape", "--function", "ravine", "--optimizers", "sgd,momentum,nesterov", "-o", str(tmp_path),
                           "--name", "first")
    assert status == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "A narrow ravine: f(x, y) = x^2 / 20 + y^2"
    assert lines[1] == "150 steps from (-9, 2); global minimum 0 at (0, 0)."
    assert lines[2].split() == ["optimizer", "lr", "final", "loss", "distance", "nearest", "minimum", "steps"]
    rows = {line.split()[0]: line.split() for line in lines[3:6]}
    assert set(rows) == {"sgd", "momentum", "nesterov"}
    assert rows["momentum"][1] == "0.2" and rows["momentum"][-1] == "150"
    assert float(rows["momentum"][3]) < 1e-2 < float(rows["sgd"][3])       # distance to the minimum
    assert " ".join(rows["sgd"][4:7]) == "(0, 0) global"
    folder = tmp_path / "first"
    assert lines[6] == f"saved {folder}: paths.csv, report.json, ravine.png"
    assert os.listdir(tmp_path) == ["first"]                                # nothing half-written beside it
    assert sorted(os.listdir(folder)) == ["paths.csv", "ravine.png", "report.json"]
    assert (folder / "ravine.png").read_bytes().startswith(PNG)
    # paths.csv: every optimizer's point and loss at each step, the start included.
    with open(folder / "paths.csv", newline="") as file:
        table = list(csv.DictReader(file))
    assert len(table) == 3 * 151
    first = table[0]
    assert (first["optimizer"], float(first["lr"]), int(first["step"]), float(first["x"]), float(first["y"])) == ("sgd", 0.2, 0, -9.0, 2.0)
    assert float(first["loss"]) == pytest.approx(81 / 20 + 4)
    last_momentum = [row for row in table if row["optimizer"] == "momentum"][-1]
    report = json.loads((folder / "report.json").read_text())
    assert report["function"] == "ravine" and report["steps"] == 150 and report["start"] == [-9.0, 2.0]
    summary = {entry["optimizer"]: entry for entry in report["optimizers"]}
    assert summary["momentum"]["final_point"] == [float(last_momentum["x"]), float(last_momentum["y"])]
    assert summary["momentum"]["distance"] == pytest.approx(float(rows["momentum"][3]), rel=1e-2)
    assert summary["sgd"]["nearest_minimum"] == {"point": [0.0, 0.0], "kind": "global"}


@needs_matplotlib
def test_a_picture_file_as_output_writes_the_picture_alone(capsys, tmp_path):
    target = tmp_path / "ravine.svg"
    status, out, _ = run(capsys, "landscape", "-f", "ravine", "--optimizers", "sgd", "--steps", "5", "-o", str(target))
    assert status == 0 and out.splitlines()[-1] == f"wrote {target}"
    assert os.listdir(tmp_path) == ["ravine.svg"]


@needs_matplotlib
def test_animate_writes_the_gif_beside_a_named_picture(capsys, tmp_path):
    target = tmp_path / "pictures" / "well.png"                # the folder is created
    status, out, _ = run(capsys, "landscape", "-f", "double-well", "--optimizers", "sgd,momentum", "--steps", "20", "-o", str(target), "--animate")
    assert status == 0
    assert out.splitlines()[-2:] == [f"wrote {target}", f"wrote {target.with_suffix('.gif')}"]
    assert sorted(os.listdir(target.parent)) == ["well.gif", "well.png"]
    assert (target.with_suffix(".gif")).read_bytes()[:6] == b"GIF89a"


@needs_matplotlib
def test_default_output_is_a_run_folder_under_runs_and_options_reach_the_optimizers(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, out, _ = run(
        capsys, "landscape", "--function", "saddle", "--optimizers", "sgd,adam", "--lr", "0.02", "--steps", "10",
        "--start", "-1.5,0.01", "--set", "momentum=0.5", "--set", "betas=0.8,0.9",
    )
    assert status == 0
    assert "10 steps from (-1.5, 0.01), with momentum=0.5, betas=(0.8, 0.9) for the optimizers that have them; no minimum" in out
    assert re.search(r"^sgd +0\.02 +\S+ +- +none \(no minimum\) +10$", out, re.M)
    assert os.listdir(tmp_path) == ["runs"]
    (folder,) = os.listdir(tmp_path / "runs")
    assert re.fullmatch(r"landscape-saddle-\d{8}-\d{6}", folder)
    assert sorted(os.listdir(tmp_path / "runs" / folder)) == ["paths.csv", "report.json", "saddle.png"]
    report = json.loads((tmp_path / "runs" / folder / "report.json").read_text())
    assert report["hyperparameters"] == {"momentum": 0.5, "betas": [0.8, 0.9]} and report["start_chosen"] is True
    assert report["optimizers"][0]["nearest_minimum"] is None and report["optimizers"][0]["distance"] is None


def test_a_negative_start_needs_no_equals_sign(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "matplotlib", None)       # the table alone, see below
    status, out, _ = run(capsys, "landscape", "--function", "booth", "--optimizers", "sgd", "--steps", "3", "--start", "-1.5,-2")
    assert status == 0 and "3 steps from (-1.5, -2)" in out


def test_without_matplotlib_the_run_folder_has_no_picture(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    status, out, err = run(capsys, "landscape", "--optimizers", "adam", "--steps", "5", "--name", "plain")
    assert status == 0 and "adam" in out
    assert err == "no picture written: matplotlib is not installed (pip install 'numbagrad[plot]')\n"
    assert sorted(os.listdir(tmp_path / "runs" / "plain")) == ["paths.csv", "report.json"]
    # Asking for a picture explicitly is an error, before any work.
    for extra in (["-o", str(tmp_path / "a.png")], ["--animate"]):
        status, out, err = run(capsys, "landscape", "--steps", "5", *extra)
        assert (status, out) == (1, "")
        assert err == "numbagrad landscape: error: writing pictures needs matplotlib: pip install 'numbagrad[plot]'\n"
    assert os.listdir(tmp_path) == ["runs"] and os.listdir(tmp_path / "runs") == ["plain"]


# --- errors: one line on stderr, a non-zero status, nothing written ------------------------------

ERRORS = [
    (["--function", "rosenbrok"], 1, "unknown function 'rosenbrok'. Did you mean 'rosenbrock'? Known functions: beale, booth"),
    (["--optimizers", "sgd,adan"], 1, "unknown optimizer 'adan'. Did you mean 'adam'"),
    (["--optimizers", "sgd,,adam"], 1, "--optimizers must be names separated by commas, such as sgd,momentum,adam; got 'sgd,,adam'"),
    (["--steps", "0"], 1, "steps must be a positive integer; got 0"),
    (["--steps", "ten"], 2, "argument --steps: invalid int value: 'ten'"),
    (["--lr", "-1"], 1, "SGD: lr must be a finite number >= 0; got -1.0"),
    (["--lr", "fast"], 2, "argument --lr: invalid float value: 'fast'"),
    (["--start", "1,x"], 2, "argument --start: expected X,Y (two numbers, such as -1.5,2); got '1,x'"),
    (["--start", "1"], 2, "argument --start: expected X,Y (two numbers, such as -1.5,2); got '1'"),
    (["--start", "nan,0"], 1, "start must be two finite numbers (x, y); got (nan, 0.0)"),
    (["--set", "momentum"], 2, "argument --set: expected NAME=VALUE, such as momentum=0.5; got 'momentum'"),
    (["--set", "momentum=lots"], 2, "argument --set: momentum: expected true, false, a number or numbers separated by commas; got 'lots'"),
    (["--set", "beta=0.9"], 1, "no optimizer among sgd, momentum, nesterov, adam has a hyperparameter 'beta' (did you mean 'betas'?)"),
    (["--set", "momentum=-1"], 1, "SGD: momentum must be a finite number >= 0; got -1"),
    (["-o", "out.gif"], 1, "--output must be a folder (the run folder goes inside it) or a file ending in .png, .svg, .pdf; "
                           "got 'out.gif' (--animate writes the GIF beside the picture)"),
    (["-o", "out.txt"], 1, "--output must be a folder (the run folder goes inside it) or a file ending in .png, .svg, .pdf; got 'out.txt'"),
    (["-o", "out.png", "--name", "first"], 1, "--name names a run folder; --output 'out.png' is a picture file, which has no run folder"),
    (["--name", "../up"], 1, "--name must be a plain folder name, such as first-run; got '../up'"),
    (["--speed", "3"], 2, "unrecognized arguments: --speed 3"),
]


@pytest.mark.parametrize("arguments, status, message", ERRORS)
def test_each_error_is_one_line_with_no_traceback_and_nothing_written(arguments, status, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "landscape", "--steps", "5", *arguments)
    assert code == status
    assert out == ""
    assert len(err.splitlines()) == 1 and message in err
    assert err.startswith("numbagrad landscape: error: " if status == 1 else "numbagrad")
    assert os.listdir(tmp_path) == []


def test_debug_shows_the_exception(capsys):
    with pytest.raises(ValueError, match="steps must be a positive integer; got 0"):
        main(["landscape", "--steps", "0", "--debug"])


@needs_matplotlib
@pytest.mark.parametrize("where", ["folder", "picture"])
def test_a_failed_picture_leaves_nothing_behind(where, capsys, tmp_path, monkeypatch):
    def broken(self, *args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr("matplotlib.figure.Figure.savefig", broken)
    output = tmp_path if where == "folder" else tmp_path / "picture.png"
    status, out, err = run(capsys, "landscape", "--steps", "5", "-o", str(output))
    assert status == 1 and "sgd" in out
    assert err == "numbagrad landscape: error: No space left on device\n"
    assert os.listdir(tmp_path) == []


def test_a_subprocess_shows_no_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "numbagrad", "landscape", "--function", "nope"], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("numbagrad landscape: error: unknown function 'nope'.") and "Traceback" not in result.stderr
    assert os.listdir(tmp_path) == []


def test_the_readme_tour_shows_the_landscape_command():
    """The Quick start now trains a network (tests/test_cli_train.py runs it); the tour keeps this command."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "numbagrad landscape --function\nrosenbrock" in text or "numbagrad landscape --function rosenbrock" in text


def test_the_console_script_is_declared():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["scripts"]["numbagrad"] == "numbagrad.cli:main"
    extras = project["optional-dependencies"]
    assert {"matplotlib>=3.7", "pillow>=9"} <= set(extras["plot"]) and {"matplotlib>=3.7", "pillow>=9"} <= set(extras["docs"])
    assert not any(d.startswith(("matplotlib", "pillow")) for d in project["dependencies"])
