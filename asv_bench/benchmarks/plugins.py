"""Plugins: a plugin optimizer's step beside a built-in's, look-ups by name, and import time.

A plugin's kernel is called by the same compiled driver, through its
addresses, as a built-in's: Lion (from ``plugins/numbagrad-lion``) should step
at least as fast as Adam, which reads and writes more memory per parameter.
"""

from __future__ import annotations

import numpy as np

from numbagrad import optim, schedules
from numbagrad.memory import aligned_full
from numbagrad.registry import get_registry


class PluginOptimizerStep:
    """One step over 1e6 float32 parameters: Lion (a plugin) beside Adam (built in)."""

    params = (["adam", "lion"], [1_000_000])
    param_names = ["optimizer", "parameters"]

    def setup(self, name, size):
        if name not in optim.available():
            raise NotImplementedError(f"{name} is not installed (pip install plugins/numbagrad-{name})")
        self.params = [aligned_full(size, 1.0, np.float32)]
        self.grads = [aligned_full(size, 0.01, np.float32)]
        self.optimizer = optim.get(name, self.params)
        self.optimizer.step(self.grads)  # compile (or load from the cache) outside the timing
        self.optimizer.step(self.grads)

    def time_step(self, name, size):
        self.optimizer.step(self.grads)


class Lookup:
    """Finding a component by name once plugins are loaded: a dictionary hit."""

    def setup(self):
        self.registry = get_registry()
        self.registry.lookup("optimizer", "adam")  # loads every plugin outside the timing
        self.cosine = schedules.get("cosine", lr=0.1, T_max=10_000)
        self.steps = np.arange(10_000)

    def time_lookup(self):
        self.registry.lookup("optimizer", "adam")

    def time_get_optimizer_unbound(self):
        optim.get("adam")

    def time_get_schedule(self):
        schedules.get("cosine", lr=0.1, T_max=10_000)

    def time_schedule_10000_steps(self):
        self.cosine(self.steps)


def timeraw_import_numbagrad():
    """``import numbagrad`` in a fresh process: compiles nothing, loads no plugin."""
    return "import numbagrad"
