"""Learning-rate schedules: the learning rate as a function of the step.

Start with large steps while the ball is far from the valley floor, take
smaller ones as it gets near::

    >>> from numbagrad import schedules
    >>> cosine = schedules.get("cosine", lr=0.1, T_max=100)
    >>> cosine(0), cosine(50), cosine(100)
    (0.1, 0.05, 0.0)
    >>> warm = schedules.warmup(cosine, warmup_steps=10)
    >>> warm([0, 5, 10]).tolist()
    [0.0, 0.05, 0.1]

Schedules are evaluated in Python, vectorised over steps (a trainer computes
a whole epoch's learning rates with one call), and found by name through the
plugin registry like optimizers: a plugin's schedule is used exactly like a
built-in one. ``lr=None`` (the default) stands for the optimizer's learning
rate, which a trainer fills in with :meth:`Schedule.with_lr`.
"""

from __future__ import annotations

from typing import Any, Mapping

from numbagrad.registry import get_registry
from numbagrad.schedules.combinators import Join, Warmup, join, warmup
from numbagrad.schedules.schedule import PER, NamedSchedule, Schedule
from numbagrad.schedules.spec import ScheduleSpec, check_kernels

__all__ = [
    "Schedule",
    "NamedSchedule",
    "Warmup",
    "Join",
    "ScheduleSpec",
    "PER",
    "get",
    "available",
    "register",
    "unregister",
    "warmup",
    "join",
    "from_config",
    "check_kernels",
    "RUN_LENGTH_HYPERPARAMETERS",
    "needs_run_length",
    "with_run_length",
]


def available() -> dict[str, str]:
    """Every schedule name, sorted, mapped to the distribution that provides it.

    Iterating gives the names: ``list(available())``.
    """
    return get_registry().available("schedule")


def get(name: str, lr: float | None = None, *, per: str = "step", **hyperparameters: Any) -> NamedSchedule:
    """A schedule by name, case-insensitively: ``get("cosine", lr=0.1, T_max=1000)``.

    Args:
        name: a registered schedule (:func:`available`).
        lr: the base learning rate; ``None`` stands for the optimizer's,
            filled in by a trainer with :meth:`Schedule.with_lr`.
        per: what one step counts, ``"step"`` (a batch) or ``"epoch"``.
        **hyperparameters: the schedule's own; the rest take their defaults.

    Raises:
        numbagrad.errors.UnknownNameError: no such schedule; the message
            lists the available ones and the closest match.
        TypeError, ValueError: a bad or missing hyperparameter, ``lr`` or
            ``per``; the message names it, the value and what is allowed.
    """
    entry = get_registry().lookup("schedule", name)
    return NamedSchedule(entry.spec, lr, per, **{**entry.preset, **hyperparameters})


def from_config(config: Mapping[str, Any]) -> Schedule:
    """The schedule a ``get_config()`` described: ``{"name": ..., **options}``,
    ``{"warmup": {...}}`` or ``{"join": {...}}``.

    Raises:
        TypeError, ValueError: a malformed config; UnknownNameError: an unknown name.
    """
    if not isinstance(config, Mapping):
        raise TypeError(f"schedule config must be a dict; got {config!r}")
    if "warmup" in config:
        inner = dict(config["warmup"])
        return warmup(from_config(inner.pop("schedule")), **inner)
    if "join" in config:
        inner = dict(config["join"])
        return join([from_config(c) for c in inner["schedules"]], inner["boundaries"])
    options = dict(config)
    if "name" not in options:
        raise ValueError(f"schedule config {config!r} has no 'name', 'warmup' or 'join'")
    return get(options.pop("name"), **options)


#: Hyperparameters that are the length of the run (filled in by ``fit`` and the command line when left out).
RUN_LENGTH_HYPERPARAMETERS = ("T_max", "total_steps")


def needs_run_length(config: Any) -> bool:
    """Whether ``config`` (a name or a ``{"name": ...}`` dict) leaves out a required run-length hyperparameter."""
    if isinstance(config, str):
        config = {"name": config}
    if not isinstance(config, Mapping) or "name" not in config:
        return False
    spec = get_registry().lookup("schedule", str(config["name"])).spec
    return any(h.name in RUN_LENGTH_HYPERPARAMETERS and h.required and h.name not in config for h in spec.hyperparameters)


def with_run_length(config: Any, steps: int, epochs: int) -> Any:
    """``config`` with its missing run-length hyperparameters (``T_max``, ``total_steps``) set to
    the run's length: ``steps`` optimizer steps, or ``epochs`` for a schedule ``per="epoch"``."""
    if isinstance(config, str):
        config = {"name": config}
    if not isinstance(config, Mapping) or "name" not in config:
        return config  # a warmup/join table is complete as written
    filled = dict(config)
    spec = get_registry().lookup("schedule", str(config["name"])).spec
    length = epochs if filled.get("per", "step") == "epoch" else steps
    for hyperparameter in spec.hyperparameters:
        if hyperparameter.name in RUN_LENGTH_HYPERPARAMETERS and hyperparameter.required and hyperparameter.name not in filled:
            filled[hyperparameter.name] = max(1, int(length))
    return filled


def register(*specs: ScheduleSpec) -> str:
    """Register schedule declarations in code (a notebook, a test); returns the plugin's name.

    The declarations are checked and evaluated once, exactly as an installed
    plugin's. A name already in use is refused unless the declaration says
    ``override=True``.

    Raises:
        numbagrad.errors.PluginError: a declaration is invalid or its name
            is taken; nothing is registered.
    """
    return get_registry().register_specs("schedule", specs)


def unregister(plugin_name: str) -> None:
    """Remove the schedules registered with :func:`register` under ``plugin_name``
    (what it returned) or under one of their names; names they had replaced come back."""
    get_registry().unregister(plugin_name, kind="schedule")
