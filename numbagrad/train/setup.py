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
from numbagrad.nn.layers import resolve_component
from numbagrad.nn.model import LossChoice
from numbagrad.targets import check_targets

__all__ = ["TrainingSetup", "MetricChoice", "resolve_optimizer"]


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

    def result(self, totals: np.ndarray) -> float:
        return float(self.spec.result(totals))

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, **self.options}


def resolve_optimizer(optimizer: Any, parameters: np.ndarray) -> optim.Optimizer:
    """An optimizer bound to ``[parameters]`` from a name, a config dict or an unbound optimizer."""
    if isinstance(optimizer, optim.Optimizer):
        if optimizer.bound:
            bound = optimizer.params
            if len(bound) == 1 and bound[0] is parameters:
                return optimizer
            raise ValueError(
                "compile: the optimizer already optimizes other arrays; pass an unbound one "
                "such as numbagrad.optim.SGD(lr=0.01) or a name such as 'adam'"
            )
        return optimizer.bind([parameters])
    if isinstance(optimizer, str):
        return optim.get(optimizer, [parameters])
    if isinstance(optimizer, Mapping):
        config = dict(optimizer)
        if "name" not in config:
            raise ValueError(f"compile: optimizer config {optimizer!r} has no 'name'")
        return optim.get(config.pop("name"), [parameters], **config)
    raise TypeError(
        f"compile: optimizer must be a name, a config dict or an unbound numbagrad.optim optimizer; got {optimizer!r}"
    )


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
                MetricChoice(name, spec, options, spec.kernel_table(model.dtype), spec.encode(options), spec.total_count(model.output_dim))
            )
        self.clip_norm = _non_negative(clip_norm, "clip_norm")
        self.clip_value = _non_negative(clip_value, "clip_value")
        # A schedule that leaves out its length (T_max, total_steps) gets it from each fit.
        self.schedule_config = schedule if _needs_run_length(schedule) else None
        self.schedule = None if self.schedule_config is not None else self._resolve_schedule(schedule)
        # The optimizer last: binding it allocates its state.
        self.optimizer = resolve_optimizer(optimizer, model.parameters)
        if self.optimizer.spec.closure and (self.clip_norm or self.clip_value):
            raise ValueError(
                f"compile: {self.optimizer.title} computes its own steps from the gradient (a line search); "
                "clip_norm and clip_value cannot apply to it: leave them out"
            )
        layout = self.optimizer.spec.layout()
        self.lr_index = layout.index("lr") if "lr" in layout else -1
        if (self.schedule is not None or self.schedule_config is not None) and self.lr_index < 0:
            raise ValueError(f"compile: optimizer {self.optimizer.spec.name!r} has no 'lr' hyperparameter for a schedule to set")
        if self.schedule is not None and not self.schedule.resolved:
            self.schedule = self.schedule.with_lr(self.optimizer.param_groups[0]["lr"])

    def fit_length(self, steps: int, epochs: int) -> None:
        """Give a schedule compiled without its length (``T_max``, ``total_steps``) this fit's:
        ``steps`` optimizer steps (``epochs`` for a schedule ``per="epoch"``) from the first step."""
        if self.schedule_config is None:
            return
        from numbagrad import schedules

        schedule = self._resolve_schedule(schedules.with_run_length(self.schedule_config, steps, epochs))
        self.schedule = schedule if schedule.resolved else schedule.with_lr(self.optimizer.param_groups[0]["lr"])

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
        return np.array([m.table for m in self.metrics], dtype=np.int64).reshape(len(self.metrics), 2)

    @functools.cached_property
    def metric_params(self) -> np.ndarray:
        width = max([1] + [len(m.params) for m in self.metrics])
        params = np.zeros((len(self.metrics), width))
        for row, metric in zip(params, self.metrics):
            row[: len(metric.params)] = metric.params
        return params

    def new_totals(self) -> np.ndarray:
        width = max([1] + [m.totals for m in self.metrics])
        return np.zeros((len(self.metrics), width))

    def check_metric_targets(self, y: Any, rows: int, outputs: int) -> None:
        """Check ``y`` against every metric's target kind (the loss checked its own)."""
        for metric in self.metrics:
            check_targets(y, (rows, outputs), metric.spec.target, owner=f"metric {metric.name!r}", argument="y")

    def metric_values(self, totals: np.ndarray) -> dict[str, float]:
        return {m.name: m.result(totals[i, : m.totals]) for i, m in enumerate(self.metrics)}

    def _schedule_config(self) -> dict[str, Any] | None:
        if self.schedule_config is not None:  # still without its length: each fit gives it
            return {"name": self.schedule_config} if isinstance(self.schedule_config, str) else dict(self.schedule_config)
        return None if self.schedule is None else self.schedule.get_config()

    def get_config(self) -> dict[str, Any]:
        """The compile options as plain data (the optimizer's state is saved separately)."""
        spec = self.optimizer.spec
        return {
            "optimizer": {"name": spec.name, **self.optimizer.defaults},
            "loss": self.loss.get_config(),
            "metrics": [m.get_config() for m in self.metrics],
            "schedule": self._schedule_config(),
            "clip_norm": self.clip_norm or None,
            "clip_value": self.clip_value or None,
            "flush_subnormals": self.flush_subnormals,
        }
