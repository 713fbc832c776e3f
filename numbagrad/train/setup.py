"""Compile options: optimizer, loss, metrics, schedule and clipping, resolved against a model.

``model.compile(...)`` builds a :class:`TrainingSetup`; everything is checked
there, before training starts, and every name goes through the plugin
registry.
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from numbagrad import optim
from numbagrad.nn import placement
from numbagrad.nn.layers import resolve_component
from numbagrad.nn.model import LossChoice
from numbagrad.targets import check_targets

__all__ = ["TrainingSetup", "MetricChoice", "resolve_optimizer", "resolve_optimizers", "ROLES"]


def _needs_run_length(schedule: Any) -> bool:
    from numbagrad import schedules

    return isinstance(schedule, (str, Mapping)) and schedules.needs_run_length(schedule)


@dataclass
class MetricChoice:
    """A metric resolved for a model: name, spec, options and kernel table."""

    name: str
    spec: Any
    options: dict[str, Any]
    table: np.ndarray
    params: np.ndarray
    totals: int
    #: totals per row for a metric that keeps its rows (ROC AUC), else 0.
    row_totals: int = 0

    def width(self, rows: int) -> int:
        """The length of its totals with room for ``rows`` rows."""
        return self.totals + rows * self.row_totals

    def result(self, totals: np.ndarray) -> float:
        return float(self.spec.result(totals))

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, **self.options}


#: The roles of a model's parameters that may each have their own optimizer.
ROLES = ("weights", "biases")


def _bind(optimizer: optim.Optimizer, arrays: list) -> optim.Optimizer:
    """Bind to a model's ``arrays``; a matrix-aware optimizer learns that Dense kernels are (inputs, units)."""
    if "matrix_layout" in optimizer.spec.hyperparameter_names:
        return optimizer.bind([{"params": arrays, "matrix_layout": "in_out"}])
    return optimizer.bind(arrays)


def resolve_optimizer(optimizer: Any, arrays: list, role: str = "") -> optim.Optimizer:
    """An optimizer bound to ``arrays`` (a model's weight and bias views) from a name, a config dict
    or an unbound optimizer."""
    where = f"compile: optimizer for the {role}" if role else "compile: optimizer"
    if isinstance(optimizer, optim.Optimizer):
        if optimizer.bound:
            bound = optimizer.params
            if len(bound) == len(arrays) and all(a is b for a, b in zip(bound, arrays)):
                return optimizer
            raise ValueError(
                f"{where}: the optimizer already optimizes other arrays; pass an unbound one "
                "such as numbagrad.optim.SGD(lr=0.01) or a name such as 'adam'"
            )
        unbound = optimizer
    elif isinstance(optimizer, str):
        unbound = optim.get(optimizer)
    elif isinstance(optimizer, Mapping):
        config = dict(optimizer)
        if "name" not in config:
            raise ValueError(f"{where}: config {optimizer!r} has no 'name'")
        unbound = optim.get(config.pop("name"), **config)
    else:
        raise TypeError(
            f"{where} must be a name, a config dict or an unbound numbagrad.optim optimizer; got {optimizer!r}"
        )
    try:
        return _bind(unbound, arrays)
    except ValueError as error:
        raise ValueError(f"compile: {error}") from None


def resolve_optimizers(optimizer: Any, model: Any) -> dict[str, optim.Optimizer]:
    """The model's optimizers by role: ``{"all": one over every tensor}``, or one per role of
    ``{"weights": ..., "biases": ...}``."""
    views = placement.tensor_views(model, model.parameters)
    by_role = {role: [v for r, v in views if r == role] for role in ROLES}
    if isinstance(optimizer, Mapping) and "name" not in optimizer:
        unknown = [k for k in optimizer if k not in ROLES]
        if unknown or not optimizer:
            raise ValueError(
                f"compile: optimizer {dict(optimizer)!r} is neither a config dict (it has no 'name') nor optimizers "
                f"by role (keys {', '.join(map(repr, ROLES))}); got keys {list(optimizer)}"
            )
        needed = [role for role in ROLES if by_role[role]]
        missing = [role for role in needed if role not in optimizer]
        extra = [role for role in optimizer if role not in needed]
        if missing or extra:
            raise ValueError(
                f"compile: optimizers by role must cover the model's {' and '.join(needed)} exactly"
                + (f"; {', '.join(missing)} missing" if missing else "")
                + (f"; the model has no {', '.join(extra)}" if extra else "")
            )
        if sum(isinstance(optimizer[r], optim.Optimizer) and optimizer[r] is optimizer[o] for r in needed for o in needed) > len(needed):
            raise ValueError("compile: give each role its own optimizer object (one optimizer cannot be bound twice)")
        return {role: resolve_optimizer(optimizer[role], by_role[role], role) for role in needed}
    return {"all": resolve_optimizer(optimizer, [v for _, v in views])}


def _non_negative(value: Any, name: str) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"compile: {name} must be a finite number > 0 or None; got {value!r}")
    return float(value)


class TrainingSetup:
    """Everything ``compile`` decided, ready for the compiled loops."""

    def __init__(
        self,
        model: Any,
        optimizer: Any = "adam",
        loss: Any = "mse",
        metrics: Sequence[Any] | None = None,
        schedule: Any = None,
        clip_norm: float | None = None,
        clip_value: float | None = None,
        flush_subnormals: bool = True,
    ):
        if not isinstance(flush_subnormals, (bool, np.bool_)):
            raise TypeError(f"compile: flush_subnormals must be True or False; got {flush_subnormals!r}")
        self.flush_subnormals = bool(flush_subnormals)
        self.loss = LossChoice(loss, model)
        if metrics is None:
            metrics = []
        if isinstance(metrics, (str, Mapping)) or not isinstance(metrics, Sequence):
            raise TypeError(f"compile: metrics must be a list of names or config dicts; got {metrics!r}")
        self.metrics: list[MetricChoice] = []
        for metric in metrics:
            spec, options = resolve_component("metric", metric, "compile")
            name = metric if isinstance(metric, str) else spec.name
            if any(m.name == name for m in self.metrics):
                raise ValueError(f"compile: metric {name!r} is given twice")
            self.metrics.append(
                MetricChoice(
                    name, spec, options, spec.kernel_table(model.dtype), spec.encode(options),
                    spec.total_count(model.output_dim), spec.row_count(model.output_dim),
                )
            )
        self.clip_norm = _non_negative(clip_norm, "clip_norm")
        self.clip_value = _non_negative(clip_value, "clip_value")
        # A schedule that leaves out its length (T_max, total_steps) gets it from each fit.
        self.schedule_config = schedule if _needs_run_length(schedule) else None
        self._schedule = None if self.schedule_config is not None else self._resolve_schedule(schedule)
        # The optimizers last: binding them allocates their state.
        self.optimizers = resolve_optimizers(optimizer, model)
        for opt in self.optimizers.values():
            if opt.spec.closure and len(self.optimizers) > 1:
                raise ValueError(f"compile: {opt.title} steps every parameter together; it cannot share the model by role")
            if opt.spec.closure and (self.clip_norm or self.clip_value):
                raise ValueError(
                    f"compile: {opt.title} computes its own steps from the gradient (a line search); "
                    "clip_norm and clip_value cannot apply to it: leave them out"
                )
            if (self._schedule is not None or self.schedule_config is not None) and "lr" not in opt.spec.layout():
                raise ValueError(f"compile: optimizer {opt.spec.name!r} has no 'lr' hyperparameter for a schedule to set")
        self._schedules = self._per_optimizer(self._schedule)

    @property
    def optimizer(self) -> optim.Optimizer:
        """The model's optimizer; with optimizers by role, the weights' (see :attr:`optimizers`)."""
        return self.optimizers.get("all") or self.optimizers["weights"]

    def _per_optimizer(self, schedule: Any) -> list:
        # A schedule without its own lr scales from each optimizer's learning rate at compile time.
        if schedule is None:
            return [None] * len(self.optimizers)
        if schedule.resolved:
            return [schedule] * len(self.optimizers)
        return [schedule.with_lr(opt.param_groups[0]["lr"]) for opt in self.optimizers.values()]

    def schedules(self) -> list:
        """For each optimizer, in order: its schedule, or ``None``."""
        return self._schedules

    @property
    def schedule(self) -> Any:
        """The learning-rate schedule of the model's optimizer (the weights' by role), its ``lr``
        filled in; ``None`` without one, or before a fit gives it its length."""
        return self._schedules[0]

    def rebound_optimizers(self, views: list) -> dict[str, optim.Optimizer]:
        """New optimizers like the current ones, bound to ``views`` (the moved model's
        ``tensor_views``) with the same state."""
        rebound = {}
        for role, old in self.optimizers.items():
            arrays = [v for r, v in views if role in ("all", r)]
            new = _bind(type(old).from_spec(old.spec, None, **old.defaults), arrays)
            new.load_state_dict(old.state_dict())
            rebound[role] = new
        return rebound

    def fit_length(self, steps: int, epochs: int) -> None:
        """Give a schedule compiled without its length (``T_max``, ``total_steps``) this fit's:
        ``steps`` optimizer steps (``epochs`` for a schedule ``per="epoch"``) from the first step."""
        if self.schedule_config is None:
            return
        from numbagrad import schedules

        self._schedule = self._resolve_schedule(schedules.with_run_length(self.schedule_config, steps, epochs))
        self._schedules = self._per_optimizer(self._schedule)

    @staticmethod
    def _resolve_schedule(schedule: Any) -> Any:
        if schedule is None:
            return None
        from numbagrad import schedules

        if isinstance(schedule, schedules.Schedule):
            return schedule
        if isinstance(schedule, str):
            return schedules.get(schedule)
        if isinstance(schedule, Mapping):
            return schedules.from_config(schedule)
        raise TypeError(f"compile: schedule must be a name, a config dict or a numbagrad.schedules.Schedule; got {schedule!r}")

    # Read by the compiled loops every segment; the metrics never change after compile.
    @functools.cached_property
    def metric_tables(self) -> np.ndarray:
        """A row per metric: its kernels' four addresses (``MetricSpec.kernel_table``), then the
        length of its totals (-1: the whole row, for a metric that keeps its rows)."""
        rows = [[*m.table, -1 if m.row_totals else m.totals] for m in self.metrics]
        return np.array(rows, dtype=np.int64).reshape(len(self.metrics), 5)

    @functools.cached_property
    def metric_params(self) -> np.ndarray:
        width = max([1] + [len(m.params) for m in self.metrics])
        params = np.zeros((len(self.metrics), width))
        for row, metric in zip(params, self.metrics):
            row[: len(metric.params)] = metric.params
        return params

    def new_totals(self, rows: int = 0) -> np.ndarray:
        """Zero totals, a row per metric, with room for ``rows`` rows where a metric keeps its rows."""
        width = max([1] + [m.width(rows) for m in self.metrics])
        return np.zeros((len(self.metrics), width))

    def check_metric_targets(self, y: Any, rows: int, outputs: int) -> None:
        """Check ``y`` against every metric's target kind (the loss checked its own)."""
        for metric in self.metrics:
            check_targets(y, (rows, outputs), metric.spec.target, owner=f"metric {metric.name!r}", argument="y")

    @property
    def totals_add_up(self) -> bool:
        """Whether every metric's totals of disjoint sets of rows combine by addition."""
        return all(m.spec.merge is None for m in self.metrics)

    def merged_totals(self, totals: Sequence[np.ndarray]) -> np.ndarray:
        """One set of totals from ``totals[k]`` (each of a disjoint set of rows), metric by metric;
        as wide as the rows kept need."""
        vectors = [
            metric.spec.merged([part[i] if metric.row_totals else part[i, : metric.totals] for part in totals])
            for i, metric in enumerate(self.metrics)
        ]
        merged = np.zeros((len(self.metrics), max([1] + [v.size for v in vectors])))
        for row, vector in zip(merged, vectors):
            row[: vector.size] = vector
        return merged

    def combined_totals(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """The totals of two disjoint sets of rows (an epoch's chunks) as one."""
        return self.merged_totals([first, second])

    def metric_values(self, totals: np.ndarray) -> dict[str, float]:
        return {m.name: m.result(totals[i] if m.row_totals else totals[i, : m.totals]) for i, m in enumerate(self.metrics)}

    def _schedule_config(self) -> dict[str, Any] | None:
        if self.schedule_config is not None:  # still without its length: each fit gives it
            return {"name": self.schedule_config} if isinstance(self.schedule_config, str) else dict(self.schedule_config)
        if self._schedule is None:
            return None
        # One optimizer: the schedule with its learning rate filled in; by role, each scales from its own.
        return (self._schedules[0] if len(self.optimizers) == 1 else self._schedule).get_config()

    def optimizer_config(self) -> dict[str, Any]:
        """The optimizer as ``compile`` takes it: a config dict, or one per role."""
        configs = {role: {"name": opt.spec.name, **opt.defaults} for role, opt in self.optimizers.items()}
        return configs["all"] if "all" in configs else configs

    def get_config(self) -> dict[str, Any]:
        """The compile options as plain data (the optimizer's state is saved separately)."""
        return {
            "optimizer": self.optimizer_config(),
            "loss": self.loss.get_config(),
            "metrics": [m.get_config() for m in self.metrics],
            "schedule": self._schedule_config(),
            "clip_norm": self.clip_norm or None,
            "clip_value": self.clip_value or None,
            "flush_subnormals": self.flush_subnormals,
        }
