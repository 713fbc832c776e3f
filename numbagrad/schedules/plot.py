"""Drawing a schedule with matplotlib, an optional dependency (``pip install 'numbagrad[plot]'``)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from numbagrad.files import write_atomically

__all__ = ["plot_schedule"]


def _matplotlib():
    try:
        import matplotlib
    except ImportError:
        raise ImportError(
            "Schedule.plot needs matplotlib, an optional dependency of numbagrad: pip install 'numbagrad[plot]'"
        ) from None
    return matplotlib


def plot_schedule(schedule, steps: Any, path: Any = None, ax: Any = None):
    """Draw ``schedule`` over ``steps`` (a count or an array of steps); see :meth:`Schedule.plot`."""
    owner = f"{schedule!r}.plot"
    if isinstance(steps, (int, np.integer)) and not isinstance(steps, (bool, np.bool_)):
        if steps < 1:
            raise ValueError(f"{owner}: steps must be a number of steps >= 1 or an array of steps; got {steps!r}")
        steps = np.arange(int(steps))
    values = schedule(np.asarray(steps) if isinstance(steps, (list, tuple, range)) else steps)
    if np.ndim(values) == 0:
        raise ValueError(f"{owner}: steps must be a number of steps >= 1 or an array of steps; got {steps!r}")
    _matplotlib()
    if ax is None:
        if path is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(6.4, 3.6))
        else:
            from matplotlib.figure import Figure

            ax = Figure(figsize=(6.4, 3.6)).add_subplot()
    ax.plot(np.asarray(steps).reshape(-1), np.asarray(values).reshape(-1), label=repr(schedule))
    ax.set_xlabel(schedule.per)
    ax.set_ylabel("learning rate")
    ax.grid(True, alpha=0.3)
    if path is not None:
        _save(ax.figure, os.fspath(path))
    return ax


def _save(figure, path: str) -> None:
    """Save ``figure`` to ``path`` atomically: written aside, then renamed."""
    suffix = os.path.splitext(path)[1].lstrip(".").lower() or "png"
    write_atomically(path, lambda temporary: figure.savefig(temporary, format=suffix, bbox_inches="tight"))
