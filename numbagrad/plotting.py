"""Pictures of loss landscapes and the paths optimizers take across them, and of training curves.

Needs matplotlib (and Pillow for GIFs): ``pip install 'numbagrad[plot]'``.
matplotlib is imported on the first call, never by ``import numbagrad``.

Figures are drawn with matplotlib's object-oriented API on an Agg canvas,
not through ``pyplot``: no window opens, nothing needs a display, and the
global backend (``MPLBACKEND``, a notebook's inline backend) is left exactly
as it was. The returned :class:`~matplotlib.figure.Figure` displays in a
notebook and can be saved again with ``figure.savefig``.

Files are written atomically: to a hidden file beside the target, renamed
over it only once complete, so an error never leaves half an image.
"""

from __future__ import annotations

import math
import numbers
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from numbagrad.files import write_atomically
from numbagrad.landscape import Landscape, Trajectory, get

__all__ = ["plot_landscape", "animate_landscape", "plot_history", "plot_comparison", "plot_curves", "PATH_COLORS", "CURVE_COLORS"]

#: Colours of the paths, in order: bright enough to read on every part of the
#: viridis background, and distinguishable from one another.
PATH_COLORS = ("#ff453a", "#ffffff", "#ff9f0a", "#40c8e0", "#ff6ad5", "#b4f000", "#bf5af2", "#ffd60a", "#8e8e93")

_INSTALL = "pip install 'numbagrad[plot]'"


def _matplotlib() -> SimpleNamespace:
    """matplotlib's pieces, or an ImportError that says how to install them."""
    try:
        import matplotlib  # first, so that a missing matplotlib is reported as such
        from matplotlib import colors, patheffects, ticker
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(f"numbagrad.plotting needs matplotlib: {_INSTALL}") from error
    return SimpleNamespace(
        rc_context=matplotlib.rc_context, Figure=Figure, FigureCanvasAgg=FigureCanvasAgg,
        colors=colors, patheffects=patheffects, ticker=ticker,
    )


# --- checking arguments --------------------------------------------------------


def _check_paths(landscape: Landscape, paths: Trajectory | Iterable[Trajectory]) -> list[Trajectory]:
    if isinstance(paths, Trajectory):
        return [paths]
    if isinstance(paths, (str, bytes)) or not isinstance(paths, Iterable):
        raise TypeError(f"paths must be a list of Trajectory (from numbagrad.landscape.trajectories); got {type(paths).__name__}")
    checked = list(paths)
    for i, trajectory in enumerate(checked):
        if not isinstance(trajectory, Trajectory):
            raise TypeError(f"paths[{i}] must be a Trajectory (from numbagrad.landscape.trajectories); got {type(trajectory).__name__}")
        if trajectory.function != landscape.name:
            raise ValueError(f"paths[{i}] ran on {trajectory.function!r}, not on {landscape.name!r}; draw each landscape with its own paths")
    return checked


def _check_target(path: str | os.PathLike, allowed: Iterable[str]) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file name (str or pathlib.Path); got {type(path).__name__}")
    target = Path(path)
    suffix = target.suffix.lower().lstrip(".")
    allowed = sorted(allowed)
    if suffix not in allowed:
        raise ValueError(f"path must end in {', '.join('.' + a for a in allowed)}; got {str(path)!r}")
    if not target.parent.is_dir():
        raise FileNotFoundError(f"path {str(path)!r}: the folder {str(target.parent)!r} does not exist")
    return target


def _check_number(name: str, value: Any, allowed: str, accept: Callable[[float], bool]) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {allowed}; got {value!r}")
    if not (math.isfinite(value) and accept(value)):
        raise ValueError(f"{name} must be {allowed}; got {value!r}")


# --- drawing --------------------------------------------------------------------


def _view(landscape: Landscape, paths: list[Trajectory]) -> tuple[tuple[float, float], tuple[float, float]]:
    """The landscape's window, widened where needed so that every start point lies
    at least 5% of the window inside it (a start marker on the edge would be cut)."""
    (x_min, x_max), (y_min, y_max) = landscape.window
    for trajectory in paths:
        x, y = trajectory.path[0]
        margin_x, margin_y = 0.05 * (x_max - x_min), 0.05 * (y_max - y_min)
        x_min, x_max = min(x_min, x - margin_x), max(x_max, x + margin_x)
        y_min, y_max = min(y_min, y - margin_y), max(y_max, y + margin_y)
    return (x_min, x_max), (y_min, y_max)


def _figure(mpl: SimpleNamespace, view, dpi: float):
    (x_min, x_max), (y_min, y_max) = view
    # Size the figure to the window's shape, so that an equal-aspect plot fills
    # it, within limits that keep titles and legends readable.
    ratio = min(max((y_max - y_min) / (x_max - x_min), 0.45), 1.1)
    figure = mpl.Figure(figsize=(8.0, 1.3 + 6.2 * ratio), dpi=dpi, layout="constrained")
    mpl.FigureCanvasAgg(figure)
    return figure


def _draw_contours(mpl: SimpleNamespace, figure, axes, landscape: Landscape, view, resolution: int) -> None:
    """Filled contours of the loss: on a log scale above the global minimum when
    it is known (a valley floor and its walls differ by orders of magnitude),
    linear otherwise (the saddle, which has no bottom)."""
    X, Y, Z = landscape.grid(resolution, view)
    minimum = landscape.global_minimum
    ticker = mpl.ticker
    if minimum is not None:
        height = np.maximum(Z - minimum.value, 0.0)
        positive = height[height > 0]
        # The lowest level sits at the 0.5th percentile: below it lies a tiny
        # patch around the minimum that would otherwise take half the colours.
        low = max(float(np.percentile(positive, 0.5)), float(positive.max()) * 1e-12)
        levels = np.geomspace(low, float(positive.max()), 28)
        norm = mpl.colors.LogNorm(vmin=levels[0], vmax=levels[-1])
        filled = axes.contourf(X, Y, np.maximum(height, levels[0]), levels=levels, norm=norm, cmap="viridis", extend="min")
        axes.contour(X, Y, height, levels=levels[::3], colors="white", linewidths=0.4, alpha=0.35)
        # Ticks at 1, 2 and 5 times each power of ten when the colours span
        # few decades (Rastrigin), else at the powers of ten alone.
        if np.log10(levels[-1] / levels[0]) <= 3.5:
            ticks, labels = ticker.LogLocator(subs=(1.0, 2.0, 5.0)), ticker.FormatStrFormatter("%g")
        else:
            ticks, labels = ticker.LogLocator(), ticker.LogFormatterSciNotation()
        colorbar = figure.colorbar(filled, ax=axes, fraction=0.05, pad=0.02, ticks=ticks, format=labels)
        colorbar.set_label("loss above the global minimum (log scale)")
    else:
        levels = np.linspace(float(Z.min()), float(Z.max()), 28)
        filled = axes.contourf(X, Y, Z, levels=levels, cmap="viridis")
        axes.contour(X, Y, Z, levels=levels[::3], colors="white", linewidths=0.4, alpha=0.35)
        colorbar = figure.colorbar(filled, ax=axes, fraction=0.05, pad=0.02, ticks=ticker.MaxNLocator(8))
        colorbar.set_label("loss")
    colorbar.minorticks_off()


def _draw_landmarks(axes, landscape: Landscape, paths: list[Trajectory]) -> None:
    """Minima (stars: filled for global, hollow for local), saddle points and the start."""
    for kind, face in (("global", "gold"), ("local", "none")):
        points = [m.point for m in landscape.minima if m.kind == kind]
        if points:
            xs, ys = zip(*points)
            label = "global minimum" if kind == "global" else "local minimum"
            axes.plot(xs, ys, linestyle="none", marker="*", markersize=17, markerfacecolor=face,
                      markeredgecolor="gold" if face == "none" else "black", markeredgewidth=1.4, label=label, zorder=5)
    if landscape.saddle_points:
        xs, ys = zip(*landscape.saddle_points)
        axes.plot(xs, ys, linestyle="none", marker="X", markersize=10, color="white",
                  markeredgecolor="black", label="saddle point", zorder=5)
    starts = {tuple(trajectory.path[0]) for trajectory in paths}
    for i, (x, y) in enumerate(sorted(starts)):
        axes.plot([x], [y], linestyle="none", marker="o", markersize=10, markerfacecolor="white",
                  markeredgecolor="black", markeredgewidth=1.5, label="start" if i == 0 else None, zorder=6)


class _PathArtists:
    """The artists of one path: a line with a dark outline (readable on any
    colour), dots every few steps (far apart where the ball moves fast) and a
    marker where it is now. The dots are a separate artist because an outline
    drawn around every marker would cost more than the rest of a frame."""

    def __init__(self, mpl: SimpleNamespace, axes, trajectory: Trajectory, color: str):
        outline = [mpl.patheffects.withStroke(linewidth=3.2, foreground="black", alpha=0.55)]
        self.trajectory = trajectory
        (self.line,) = axes.plot([], [], color=color, linewidth=1.6, path_effects=outline, zorder=7)
        # About 40 dots per path: enough to show the step length, few enough to leave the line visible.
        (self.dots,) = axes.plot([], [], linestyle="none", marker="o", markersize=3.2, color=color, markeredgecolor="black",
                                 markeredgewidth=0.5, markevery=max(1, trajectory.steps // 40), zorder=7)
        (self.end,) = axes.plot([], [], linestyle="none", marker="X" if trajectory.diverged_at else "o", markersize=8,
                                color=color, markeredgecolor="black", zorder=8)
        self.label = trajectory.label + (f", diverged at step {trajectory.diverged_at}" if trajectory.diverged_at else "")

    @property
    def artists(self) -> tuple[Any, Any, Any]:
        return self.line, self.dots, self.end

    def show_until(self, step: int) -> None:
        """The path from its start to ``step`` (to its last finite point, if it diverged before)."""
        shown = self.trajectory.path[: step + 1]
        self.line.set_data(shown[:, 0], shown[:, 1])
        self.dots.set_data(shown[:, 0], shown[:, 1])
        last = self.trajectory.path[min(step, self.trajectory.final_index)]
        self.end.set_data([last[0]], [last[1]])


def _title(landscape: Landscape, paths: list[Trajectory], step: int | None = None) -> str:
    steps = max((t.steps for t in paths), default=0)
    if not paths:
        head = landscape.title
    elif step is None:
        head = f"{landscape.title}: {steps} steps"
    else:
        head = f"{landscape.title}: step {step} of {steps}"
    return f"{head}\n{landscape.tex}"


def _draw(mpl, landscape: Landscape, paths: list[Trajectory], resolution: int, dpi: float):
    """The whole figure, every path drawn to its end; returns ``(figure, axes, path artists)``."""
    view = _view(landscape, paths)
    figure = _figure(mpl, view, dpi)
    axes = figure.add_subplot()
    _draw_contours(mpl, figure, axes, landscape, view, resolution)
    _draw_landmarks(axes, landscape, paths)
    drawn = [_PathArtists(mpl, axes, t, PATH_COLORS[i % len(PATH_COLORS)]) for i, t in enumerate(paths)]
    steps = max((t.steps for t in paths), default=0)
    for path_artists in drawn:
        path_artists.show_until(steps)
    # y=1 fixes the title just above the axes; left to itself, matplotlib
    # places it from the tick labels, which an animation hides.
    axes.set_title(_title(landscape, paths), y=1.0)
    axes.set_xlim(*view[0])
    axes.set_ylim(*view[1])
    if landscape.equal_aspect:
        axes.set_aspect("equal")
    axes.set_xlabel("x")
    axes.set_ylabel("y")
    handles, labels = axes.get_legend_handles_labels()
    handles += [(p.line, p.dots) for p in drawn]
    labels += [p.label for p in drawn]
    # Below the axes, so that it never hides a path or a minimum.
    figure.legend(handles, labels, loc="outside lower center", ncols=3, fontsize="small", frameon=False)
    return figure, axes, drawn


def _freeze_background(figure, axes, moving: set) -> None:
    """Render everything except the ``moving`` artists once and show that
    rendering as one image behind them.

    Every frame of an animation is a full ``savefig``; without this, laying
    out and drawing the ticks, labels, colour bar and contours again would
    take most of each frame's time. The layout is fixed first (with the last
    frame's content), so the picture does not jitter either.
    """
    figure.canvas.draw()
    figure.set_layout_engine("none")
    for artist in moving:
        artist.set_visible(False)
    figure.canvas.draw()
    background = np.asarray(figure.canvas.buffer_rgba()).copy()
    for artist in figure.get_children():
        if artist is not axes:
            artist.set_visible(False)
    for artist in axes.get_children():
        artist.set_visible(artist in moving)
    figure.figimage(background, origin="upper", zorder=-1)


def plot_landscape(function: str | Landscape, paths: Trajectory | Iterable[Trajectory] = (), path: str | os.PathLike | None = None,
                   *, resolution: int = 300, dpi: float = 110):
    """Contours of ``function`` with each optimizer's path drawn over them.

    The colours show the loss on a log scale above the global minimum (so
    that both the walls and the valley floor show), each path is a line with
    a marker every few steps (far apart where the ball moves fast), the start
    is a white circle, global minima are gold stars, local minima hollow
    ones, saddle points white crosses.

    Args:
        function: a landscape or its name (see :func:`numbagrad.landscape.available`).
        paths: trajectories on that landscape, from
            :func:`numbagrad.landscape.trajectories`; none draws the landscape alone.
        path: a file to write (``.png``, ``.svg``, ``.pdf``...), atomically;
            ``None`` writes nothing.
        resolution: grid points per axis for the contours.
        dpi: pixels per inch of the written file.

    Returns:
        The matplotlib :class:`~matplotlib.figure.Figure`.

    Raises:
        ImportError: matplotlib is not installed.
        TypeError, ValueError: a path that is not a trajectory of ``function``;
            a file name whose suffix matplotlib cannot write.
        FileNotFoundError: the folder of ``path`` does not exist.
    """
    landscape = get(function)
    paths = _check_paths(landscape, paths)
    mpl = _matplotlib()
    target = None
    if path is not None:
        target = _check_target(path, mpl.FigureCanvasAgg.get_supported_filetypes())
    figure, _, _ = _draw(mpl, landscape, paths, resolution, dpi)
    if target is not None:
        suffix = target.suffix.lower().lstrip(".")
        write_atomically(target, lambda temporary: figure.savefig(temporary, format=suffix, dpi=dpi))
    return figure


def animate_landscape(function: str | Landscape, paths: Trajectory | Iterable[Trajectory], path: str | os.PathLike,
                      *, fps: float = 15, frames: int = 60, hold: float = 1.5, resolution: int = 200, dpi: float = 80) -> Path:
    """An animated GIF of the paths growing over the landscape, step by step.

    The frames sample the steps evenly (``frames`` of them, start and end
    included), so that the speed of each ball shows as it is; the last frame
    is held for ``hold`` seconds before the GIF loops.

    Args:
        function, paths: as for :func:`plot_landscape`.
        path: the ``.gif`` file to write, atomically.
        fps: frames per second, ``> 0``.
        frames: frames before the hold, ``>= 2`` (fewer when there are fewer steps).
        hold: seconds to show the final frame, ``>= 0``.
        resolution, dpi: as for :func:`plot_landscape` (smaller defaults keep GIFs small).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        ImportError: matplotlib or Pillow is not installed.
        TypeError, ValueError: as for :func:`plot_landscape`; no paths; a
            ``path`` not ending in ``.gif``; ``fps``, ``frames`` or ``hold``
            not a number or out of range.
    """
    landscape = get(function)
    paths = _check_paths(landscape, paths)
    if not paths:
        raise ValueError("paths is empty; an animation needs at least one trajectory")
    _check_number("fps", fps, "a finite number > 0", lambda v: v > 0)
    _check_number("hold", hold, "a finite number >= 0", lambda v: v >= 0)
    if isinstance(frames, bool) or not isinstance(frames, numbers.Integral):
        raise TypeError(f"frames must be an integer >= 2; got {frames!r}")
    if frames < 2:
        raise ValueError(f"frames must be an integer >= 2; got {frames!r}")
    mpl = _matplotlib()
    try:
        from matplotlib.animation import PillowWriter
        import PIL  # noqa: F401
    except ImportError as error:
        raise ImportError(f"numbagrad.plotting.animate_landscape needs Pillow: {_INSTALL}") from error
    target = _check_target(path, ["gif"])

    figure, axes, drawn = _draw(mpl, landscape, paths, resolution, dpi)
    axes.title.set_text(_title(landscape, paths, max(t.steps for t in paths)))
    _freeze_background(figure, axes, {axes.title, *(a for p in drawn for a in p.artists)})
    steps = max(t.steps for t in paths)
    shown = np.unique(np.linspace(0, steps, min(frames, steps + 1)).round().astype(int))
    held = int(round(hold * fps))

    def write(temporary: Path) -> None:
        # setup/finish rather than writer.saving(), whose finally-clause would
        # try to write a GIF even after a failed frame.
        writer = PillowWriter(fps=fps)
        writer.setup(figure, str(temporary), dpi)
        with mpl.rc_context({"savefig.bbox": None}):   # every frame the same size, whatever the user's rc says
            for step in shown:
                for path_artists in drawn:
                    path_artists.show_until(int(step))
                axes.title.set_text(_title(landscape, paths, int(step)))
                writer.grab_frame()
            for _ in range(held):
                writer.grab_frame()
        writer.finish()

    return write_atomically(target, write)


# --- training curves -------------------------------------------------------------------------

#: Colours of training curves, one per run: matplotlib's "tab10", readable on white.
CURVE_STYLES = ("-", "--", "-.", ":")
CURVE_MARKERS = ("o", "s", "^", "D", "v", "x", "P")
CURVE_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


def _records(history: Any) -> dict[str, list[float]]:
    """The per-epoch lists of a :class:`~numbagrad.train.History` or of a plain dict of lists."""
    records = getattr(history, "history", history)
    if not isinstance(records, dict):
        raise TypeError(f"history must be a numbagrad.train.History or a dict of per-epoch lists; got {type(history).__name__}")
    return records


def _curve_figure(mpl: SimpleNamespace, panels: int, dpi: float):
    figure = mpl.Figure(figsize=(4.6 * panels, 3.6), dpi=dpi, layout="constrained")
    mpl.FigureCanvasAgg(figure)
    axes = [figure.add_subplot(1, panels, i + 1) for i in range(panels)]
    for axis in axes:
        axis.xaxis.set_major_locator(mpl.ticker.MaxNLocator(integer=True))  # epochs are whole
    return figure, axes


def _finish_panel(axis, xlabel: str, ylabel: str = "", title: str | None = None) -> None:
    """Labels, a light grid and the legend: the same on every curve panel."""
    axis.set_xlabel(xlabel)
    if ylabel:
        axis.set_ylabel(ylabel)
    if title:
        axis.set_title(title)
    axis.grid(alpha=0.3)
    axis.legend(fontsize="small")


def _save(mpl: SimpleNamespace, figure, path: str | os.PathLike | None, dpi: float) -> None:
    if path is None:
        return
    target = _check_target(path, mpl.FigureCanvasAgg.get_supported_filetypes())
    suffix = target.suffix.lower().lstrip(".")
    write_atomically(target, lambda temporary: figure.savefig(temporary, format=suffix, dpi=dpi))


def plot_history(history: Any, keys: Iterable[str], path: str | os.PathLike | None = None, *, title: str | None = None,
                 ylabels: Mapping[str, str] | None = None, best_epoch: int | None = None, best_key: str | None = None,
                 dpi: float = 110):
    """Per-epoch curves of one training run: a panel per key, its ``val_`` twin beside it.

    A learning rate (``lr``) is drawn on a log scale, where a schedule's
    decay reads as a straight line.

    Args:
        history: a :class:`~numbagrad.train.History` (``model.history``) or its
            ``history`` dict of per-epoch lists.
        keys: the values to draw, such as ``["loss"]`` or ``["accuracy"]``
            (not the ``val_`` ones: they join their twin).
        path: a file to write (``.png``, ``.svg``, ``.pdf``...), atomically.
        title: above the panels.
        ylabels: each key's y-axis label, with its unit (``{"loss": "cross-entropy (nats)"}``);
            a key without one is labelled by its name.
        best_epoch: the epoch (counted from 1) to mark on every panel: a dotted
            line, and a point on each curve, labelled ``best epoch N``.
        best_key: the value that epoch is best by (``"val_loss"``), named in the label.

    Raises:
        ImportError: matplotlib is not installed.
        KeyError: a key that was not recorded; ValueError: no keys, or a
        ``best_epoch`` outside the recorded epochs.
    """
    records = _records(history)
    keys = list(keys)
    if not keys:
        raise ValueError("keys is empty; name at least one recorded value, such as 'loss'")
    unknown = [key for key in keys if key not in records]
    if unknown:
        raise KeyError(f"no values named {unknown[0]!r}; recorded: {', '.join(sorted(records))}")
    if best_epoch is not None:
        epochs_recorded = max(len(records[key]) for key in keys)
        if isinstance(best_epoch, bool) or not isinstance(best_epoch, numbers.Integral) or not 1 <= best_epoch <= epochs_recorded:
            raise ValueError(f"best_epoch must be an epoch from 1 to {epochs_recorded}; got {best_epoch!r}")
    ylabels = dict(ylabels or {})
    mpl = _matplotlib()
    figure, axes = _curve_figure(mpl, len(keys), dpi)
    for axis, key in zip(axes, keys):
        epochs = np.arange(1, len(records[key]) + 1)
        curves = [(records[key], CURVE_COLORS[0], "training" if key != "lr" else key)]
        if "val_" + key in records:
            curves.append((records["val_" + key], CURVE_COLORS[1], "validation"))
        for values, color, label in curves:
            axis.plot(epochs, values, marker="o", markersize=3, color=color, label=label)
        if key == "lr":
            axis.set_yscale("log")
        if best_epoch is not None:
            because = f" ({best_key})" if best_key else ""
            axis.axvline(best_epoch, color="#555555", linestyle=":", linewidth=1.2, label=f"best epoch {best_epoch}{because}")
            for values, color, _ in curves:
                if best_epoch <= len(values):
                    axis.plot([best_epoch], [values[best_epoch - 1]], marker="*", markersize=11, color=color,
                              markeredgecolor="black", markeredgewidth=0.6, linestyle="none")
        _finish_panel(axis, "epoch", ylabels.get(key, key), title=key)
    if title:
        figure.suptitle(title)
    _save(mpl, figure, path, dpi)
    return figure


def plot_comparison(histories: Mapping[str, Any], keys: Iterable[str], path: str | os.PathLike | None = None, *,
                    title: str | None = None, ylabels: Mapping[str, str] | None = None, dpi: float = 110):
    """One panel per key with one curve per run, such as each optimizer's validation loss.

    Args:
        histories: a label (the optimizer's name) mapped to its run's
            :class:`~numbagrad.train.History` or dict of per-epoch lists.
        keys: the values to draw, such as ``["val_loss", "val_accuracy"]``;
            a run without one is left out of that panel.
        path, title, ylabels, dpi: as for :func:`plot_history`.

    Raises:
        ImportError: matplotlib is not installed.
        ValueError: no runs or no keys; KeyError: a key no run recorded.
    """
    runs = {label: _records(history) for label, history in histories.items()}
    keys = list(keys)
    if not runs or not keys:
        raise ValueError("plot_comparison needs at least one run and one key")
    for key in keys:
        if not any(key in records for records in runs.values()):
            raise KeyError(f"no run recorded {key!r}")
    mpl = _matplotlib()
    figure, axes = _curve_figure(mpl, len(keys), dpi)
    for axis, key in zip(axes, keys):
        for i, (label, records) in enumerate(runs.items()):
            if key in records:
                epochs = np.arange(1, len(records[key]) + 1)
                # Colour and line style both vary, so curves that lie on each other stay apart.
                axis.plot(epochs, records[key], color=CURVE_COLORS[i % len(CURVE_COLORS)], linewidth=1.6, label=label,
                          linestyle=CURVE_STYLES[i % len(CURVE_STYLES)], marker=CURVE_MARKERS[i % len(CURVE_MARKERS)],
                          markevery=max(1, len(epochs) // 8), markersize=4)
        drawn = [v for records in runs.values() for v in records.get(key, [])]
        if key.endswith("loss") and drawn and min(drawn) > 0:
            axis.set_yscale("log")  # losses that differ by orders of magnitude stay readable
        _finish_panel(axis, "epoch", (ylabels or {}).get(key, key), title=key)
    if title:
        figure.suptitle(title)
    _save(mpl, figure, path, dpi)
    return figure


def plot_curves(series: Mapping[str, Iterable[float]], path: str | os.PathLike | None = None, *, xlabel: str = "epoch",
                ylabel: str = "", title: str | None = None, log_y: bool = False, dpi: float = 110):
    """One line per entry of ``series`` (a label mapped to its values, drawn against 1, 2, ...)
    in a single panel: a loss per update, an accuracy per epoch for several settings.

    Raises:
        ImportError: matplotlib is not installed; ValueError: ``series`` is empty.
    """
    if not series:
        raise ValueError("series is empty; give at least one label and its values")
    mpl = _matplotlib()
    figure, (axis,) = _curve_figure(mpl, 1, dpi)
    for i, (label, values) in enumerate(series.items()):
        values = np.asarray(list(values), dtype=float)
        axis.plot(np.arange(1, values.size + 1), values, color=CURVE_COLORS[i % len(CURVE_COLORS)], linewidth=1.6, label=str(label))
    if log_y:
        axis.set_yscale("log")
    _finish_panel(axis, xlabel, ylabel, title)
    _save(mpl, figure, path, dpi)
    return figure
