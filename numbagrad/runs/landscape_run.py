"""``numbagrad landscape``'s report: the table, the description, and the run folder's files."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

from numbagrad.runs.folder import write_csv, write_json
from numbagrad.runs.report import number
from numbagrad.runs.report import table as columns

__all__ = ["table", "describe", "write_run"]


def table(function, paths) -> list[str]:
    """One row per optimizer: learning rate, final loss, distance to the nearest known minimum, steps."""
    header = ("optimizer", "lr", "final loss", "distance", "nearest minimum", "steps")
    rows = []
    for trajectory in paths:
        nearest = function.nearest_minimum(trajectory.final_point)
        if nearest is None:
            distance, which = "-", "none (no minimum)"
        else:
            minimum, gap = nearest
            distance = f"{gap:.3g}"
            which = f"({minimum.point[0]:.4g}, {minimum.point[1]:.4g}) {minimum.kind}"
        steps = str(trajectory.steps) if trajectory.diverged_at is None else f"diverged at {trajectory.diverged_at}"
        rows.append((trajectory.optimizer, f"{trajectory.lr:g}", number(trajectory.final_loss), distance, which, steps))
    return columns(list(header), rows)


def describe(function, paths, hyperparameters) -> str:
    start = paths[0].path[0]
    minima = "; ".join(
        f"{m.kind} minimum {m.value:.4g} at ({m.point[0]:.4g}, {m.point[1]:.4g})" for m in function.minima
    ) or "no minimum (unbounded below)"
    extra = f", with {', '.join(f'{k}={v}' for k, v in hyperparameters.items())} for the optimizers that have them" if hyperparameters else ""
    return (
        f"{function.title}: f(x, y) = {function.formula}\n"
        f"{paths[0].steps} steps from ({start[0]:g}, {start[1]:g}){extra}; {minima}."
    )


def write_run(folder: Path, function: Any, paths: list, hyperparameters: dict, chosen_start: bool,
              draw: Callable[[Path], list[Path]] | None) -> list[str]:
    """A landscape run folder: ``paths.csv`` (every optimizer's point and loss at each step),
    ``report.json`` (the settings and the table's figures) and, with matplotlib, the picture
    ``draw(picture path)`` writes (the picture, and
    the GIF with ``--animate``). Returns the names written."""
    rows = []
    for trajectory in paths:
        for step, ((x, y), loss) in enumerate(zip(trajectory.path, trajectory.losses)):
            rows.append([trajectory.optimizer, repr(trajectory.lr), step, repr(float(x)), repr(float(y)), repr(float(loss))])
    write_csv(folder / "paths.csv", ["optimizer", "lr", "step", "x", "y", "loss"], rows)
    report = {
        "function": function.name,
        "formula": function.formula,
        "start": [float(v) for v in paths[0].path[0]],
        "start_chosen": chosen_start,
        "steps": paths[0].steps,
        "hyperparameters": {key: list(value) if isinstance(value, tuple) else value for key, value in hyperparameters.items()},
        "optimizers": [_summary(function, trajectory) for trajectory in paths],
    }
    write_json(folder / "report.json", report)
    names = ["paths.csv", "report.json"]
    if draw is not None:
        names += [path.name for path in draw(folder / f"{function.name}.png")]
    return names


def _summary(function, trajectory) -> dict:
    """One optimizer's row of the table, as data (NaN and infinity as JSON null)."""
    def finite(value: float) -> float | None:
        return float(value) if math.isfinite(value) else None

    nearest = function.nearest_minimum(trajectory.final_point)
    return {
        "optimizer": trajectory.optimizer,
        "lr": trajectory.lr,
        "final_loss": finite(trajectory.final_loss),
        "final_point": [finite(v) for v in trajectory.final_point],
        "nearest_minimum": None if nearest is None else {"point": list(nearest[0].point), "kind": nearest[0].kind},
        "distance": None if nearest is None else finite(nearest[1]),
        "diverged_at": trajectory.diverged_at,
    }
