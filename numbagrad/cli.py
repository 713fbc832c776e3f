"""The ``numbagrad`` command line.

Subcommands:

* ``plugins``: the installed optimizers and where each comes from.
* ``race``: every optimizer started from the same point of a 2-D test
  function, a few thousand steps each, with the same kernels that train
  networks; prints how close each got to the minimum.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

__all__ = ["main"]


def _plugins(arguments) -> int:
    from numbagrad.registry import KINDS, get_registry

    registry = get_registry()
    rows = []
    for kind in KINDS.values():
        for name, source in registry.available(kind.name).items():
            rows.append((kind.name, name, source))
    width = max(len(r[1]) for r in rows)
    print(f"{'kind':<12}{'name':<{width + 2}}provided by")
    for kind, name, source in rows:
        print(f"{kind:<12}{name:<{width + 2}}{source}")
    for problem in registry.problems:
        print(f"skipped: {problem}", file=sys.stderr)
    return 0


def rosenbrock(point: np.ndarray) -> tuple[float, np.ndarray]:
    """Rosenbrock's valley ``(1 - x)^2 + 100 (y - x^2)^2`` and its gradient; minimum 0 at (1, 1)."""
    x, y = point
    value = (1 - x) ** 2 + 100 * (y - x * x) ** 2
    gradient = np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])
    return float(value), gradient


RACE_SETTINGS = {
    "sgd": {"lr": 1e-3},
    "momentum": {"lr": 1e-3},
    "nesterov": {"lr": 1e-3},
    "rmsprop": {"lr": 1e-3},
    "adagrad": {"lr": 0.3},
    "adadelta": {"lr": 1.0},
    "adam": {"lr": 0.02},
    "adamw": {"lr": 0.02, "weight_decay": 0.0},
    "amsgrad": {"lr": 0.02},
    "adamax": {"lr": 0.02},
    "nadam": {"lr": 0.02},
}


def _race(arguments) -> int:
    from numbagrad import optim

    start = np.array([-1.5, 2.0])
    print(f"Rosenbrock's valley from ({start[0]:g}, {start[1]:g}), {arguments.steps} steps each; the minimum is 0 at (1, 1).")
    print(f"{'optimizer':<10}{'settings':<40}{'loss':>12}{'distance':>11}{'time':>9}")
    for name, settings in RACE_SETTINGS.items():
        point = start.copy()
        opt = optim.get(name, [point], **settings)
        began = time.perf_counter()
        for _ in range(arguments.steps):
            _, gradient = rosenbrock(point)
            opt.step([gradient])
        elapsed = time.perf_counter() - began
        loss, _ = rosenbrock(point)
        described = ", ".join(f"{k}={v}" for k, v in opt.defaults.items() if k in settings or k in ("momentum", "nesterov", "amsgrad") and v)
        print(f"{name:<10}{described:<40}{loss:>12.3g}{np.linalg.norm(point - 1):>11.3g}{elapsed:>8.2f}s")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="numbagrad", description="Dense neural networks trained by Numba kernels.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("plugins", help="list installed optimizers and the distribution of each")
    race = commands.add_parser("race", help="optimizers racing down Rosenbrock's valley")
    race.add_argument("--steps", type=int, default=3000)
    arguments = parser.parse_args(argv)
    return {"plugins": _plugins, "race": _race}[arguments.command](arguments)
