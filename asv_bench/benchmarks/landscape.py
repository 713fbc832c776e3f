"""One optimizer's walk down a 2-D landscape: 1000 steps, each a Python call of opt.step on two parameters.

This is the cost of the guide's pictures and of ``numbagrad landscape``: per-step
overhead (argument checks, one kernel call, the gradient in NumPy), not bandwidth.
"""

from __future__ import annotations

from numbagrad.landscape import trajectories


class Trajectory:
    params = (["sgd", "momentum", "adam"],)
    param_names = ["optimizer"]

    def setup(self, optimizer):
        trajectories("rosenbrock", [optimizer], steps=2)   # compiles the kernel, or loads it from the cache

    def time_trajectory_1000_steps(self, optimizer):
        trajectories("rosenbrock", [optimizer], steps=1000)
