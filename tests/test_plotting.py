"""Pictures of landscapes: files written whole or not at all, matplotlib only when asked, every error."""

from __future__ import annotations

import subprocess
import sys

import pytest

from numbagrad import plotting
from numbagrad.landscape import FUNCTIONS, trajectories

needs_matplotlib = pytest.mark.skipif(
    __import__("importlib").util.find_spec("matplotlib") is None, reason="matplotlib is not installed"
)
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def ravine_paths():
    return trajectories("ravine", ["sgd", "momentum", "nesterov"], steps=30)


def listing(folder):
    return sorted(p.name for p in folder.iterdir())


def test_importing_numbagrad_and_plotting_imports_no_matplotlib():
    code = (
        "import sys, numbagrad, numbagrad.landscape, numbagrad.plotting, numbagrad.cli\n"
        "print('matplotlib' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


@needs_matplotlib
def test_drawing_never_imports_pyplot(tmp_path):
    """No pyplot, so no backend is chosen or switched (matplotlib.get_backend() itself would import pyplot)."""
    code = (
        "import sys\n"
        "from numbagrad.landscape import trajectories\n"
        "from numbagrad.plotting import plot_landscape, animate_landscape\n"
        "paths = trajectories('booth', ['sgd'], steps=3)\n"
        f"plot_landscape('booth', paths, {str(tmp_path / 'b.png')!r}, resolution=20)\n"
        f"animate_landscape('booth', paths, {str(tmp_path / 'b.gif')!r}, frames=2, hold=0, resolution=20, dpi=20)\n"
        "print('matplotlib.pyplot' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_missing_matplotlib_says_how_to_install_it(monkeypatch, ravine_paths, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"numbagrad.plotting needs matplotlib: pip install 'numbagrad\[plot\]'"):
        plotting.plot_landscape("ravine", ravine_paths)
    with pytest.raises(ImportError, match=r"pip install 'numbagrad\[plot\]'"):
        plotting.animate_landscape("ravine", ravine_paths, tmp_path / "r.gif")
    assert listing(tmp_path) == []


@needs_matplotlib
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_landscape_draws_with_its_default_paths(name, tmp_path):
    paths = trajectories(name, ["sgd", "momentum", "nesterov", "adam"])
    figure = plotting.plot_landscape(name, paths, tmp_path / f"{name}.png", resolution=60, dpi=40)
    assert (tmp_path / f"{name}.png").read_bytes().startswith(PNG)
    assert listing(tmp_path) == [f"{name}.png"]                     # no temporary file left behind
    axes = figure.axes[0]
    title = axes.get_title()
    assert FUNCTIONS[name].title in title and f"{FUNCTIONS[name].steps} steps" in title
    legend = [text.get_text() for text in figure.legends[0].get_texts()]
    assert "start" in legend and all(p.label in legend for p in paths)
    (x_min, x_max), (y_min, y_max) = FUNCTIONS[name].window
    assert axes.get_xlim()[0] <= x_min and axes.get_xlim()[1] >= x_max      # widened only to show a start near the edge
    assert axes.get_ylim()[0] <= y_min and axes.get_ylim()[1] >= y_max


@needs_matplotlib
def test_a_landscape_alone_and_other_formats(tmp_path):
    figure = plotting.plot_landscape("double_well")
    assert figure.axes[0].get_title().startswith("A tilted double well\n")
    plotting.plot_landscape("double_well", path=tmp_path / "well.svg", resolution=30)
    assert b"<svg" in (tmp_path / "well.svg").read_bytes()[:500]


@needs_matplotlib
def test_the_view_widens_to_show_a_start_outside_the_window(tmp_path):
    paths = trajectories("booth", ["sgd"], start=(-15.0, 0.0), steps=3)
    figure = plotting.plot_landscape("booth", paths, resolution=20)
    assert figure.axes[0].get_xlim()[0] < -15.0


@needs_matplotlib
def test_a_diverged_path_is_labelled(tmp_path):
    paths = trajectories("rosenbrock", ["sgd"], lr=0.05, steps=200)
    figure = plotting.plot_landscape("rosenbrock", paths, resolution=20)
    legend = [text.get_text() for text in figure.legends[0].get_texts()]
    assert f"sgd (lr=0.05), diverged at step {paths[0].diverged_at}" in legend


@needs_matplotlib
def test_animation_writes_a_gif_of_several_frames(ravine_paths, tmp_path):
    from PIL import Image

    written = plotting.animate_landscape("ravine", ravine_paths, tmp_path / "ravine.gif", frames=5, hold=0, resolution=30, dpi=30)
    assert written == tmp_path / "ravine.gif"
    assert listing(tmp_path) == ["ravine.gif"]
    with Image.open(written) as image:
        assert image.format == "GIF" and image.n_frames >= 2


@needs_matplotlib
def test_a_failed_write_leaves_the_old_file_and_no_temporary(monkeypatch, ravine_paths, tmp_path):
    target = tmp_path / "ravine.png"
    target.write_bytes(b"old picture")

    def broken(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("matplotlib.figure.Figure.savefig", broken)
    with pytest.raises(OSError, match="disk full"):
        plotting.plot_landscape("ravine", ravine_paths, target, resolution=20)
    with pytest.raises(OSError, match="disk full"):
        plotting.animate_landscape("ravine", ravine_paths, tmp_path / "ravine.gif", frames=3, resolution=20)
    assert listing(tmp_path) == ["ravine.png"]
    assert target.read_bytes() == b"old picture"


# --- errors ------------------------------------------------------------------------


@needs_matplotlib
@pytest.mark.parametrize(
    "paths, error, message",
    [
        ("momentum", TypeError, "paths must be a list of Trajectory (from numbagrad.landscape.trajectories); got str"),
        ([1], TypeError, "paths[0] must be a Trajectory (from numbagrad.landscape.trajectories); got int"),
    ],
)
def test_paths_must_be_trajectories(paths, error, message):
    with pytest.raises(error) as raised:
        plotting.plot_landscape("ravine", paths)
    assert str(raised.value) == message


def test_paths_must_come_from_the_same_function(ravine_paths):
    booth = trajectories("booth", ["sgd"], steps=2)
    with pytest.raises(ValueError, match=r"paths\[3\] ran on 'booth', not on 'ravine'; draw each landscape with its own paths"):
        plotting.plot_landscape("ravine", [*ravine_paths, *booth])


@needs_matplotlib
def test_bad_file_names(ravine_paths, tmp_path):
    with pytest.raises(ValueError, match=r"path must end in .*\.png.*; got '.*r\.txt'"):
        plotting.plot_landscape("ravine", ravine_paths, tmp_path / "r.txt")
    with pytest.raises(ValueError, match=r"path must end in \.gif; got '.*r\.png'"):
        plotting.animate_landscape("ravine", ravine_paths, tmp_path / "r.png")
    with pytest.raises(FileNotFoundError, match=r"the folder '.*missing' does not exist"):
        plotting.plot_landscape("ravine", ravine_paths, tmp_path / "missing" / "r.png")
    with pytest.raises(TypeError, match=r"path must be a file name \(str or pathlib.Path\); got int"):
        plotting.plot_landscape("ravine", ravine_paths, 3)
    assert listing(tmp_path) == []


@needs_matplotlib
@pytest.mark.parametrize(
    "options, message",
    [
        ({"fps": 0}, "fps must be a finite number > 0; got 0"),
        ({"fps": float("inf")}, "fps must be a finite number > 0; got inf"),
        ({"fps": "15"}, "fps must be a finite number > 0; got '15'"),
        ({"hold": -1}, "hold must be a finite number >= 0; got -1"),
        ({"frames": 1}, "frames must be an integer >= 2; got 1"),
        ({"frames": 2.5}, "frames must be an integer >= 2; got 2.5"),
    ],
)
def test_bad_animation_settings(options, message, ravine_paths, tmp_path):
    with pytest.raises((ValueError, TypeError)) as raised:
        plotting.animate_landscape("ravine", ravine_paths, tmp_path / "r.gif", **options)
    assert str(raised.value) == message
    assert listing(tmp_path) == []


def test_an_animation_needs_a_path(tmp_path):
    with pytest.raises(ValueError, match="paths is empty; an animation needs at least one trajectory"):
        plotting.animate_landscape("ravine", [], tmp_path / "r.gif")


@needs_matplotlib
def test_a_user_landscape_can_be_drawn_to_its_own_scale():
    from numbagrad.landscape import Landscape, Minimum

    wide = Landscape(
        name="wide", title="A wide bowl", formula="x^2 / 1e4 + y^2", tex="$x^2/10^4 + y^2$",
        value=lambda x, y: x * x / 1e4 + y * y, gradient=lambda x, y: (x / 5e3, 2 * y),
        window=((-100.0, 100.0), (-1.0, 1.0)), start=(-90.0, 0.5), steps=5,
        learning_rates={}, minima=(Minimum((0.0, 0.0), 0.0),), equal_aspect=False,
    )
    figure = plotting.plot_landscape(wide, trajectories(wide, ["adam"], lr=1.0), resolution=20)
    assert figure.axes[0].get_aspect() == "auto"
    assert plotting.plot_landscape("booth", resolution=20).axes[0].get_aspect() == 1.0
