"""Momentum: faster along a valley, and over a small hill into a deeper valley.

Writes momentum-valley.png (Rosenbrock) and momentum-well.png (the double well).
"""

from numbagrad import landscape
from numbagrad.plotting import plot_landscape

# The same learning rate, 0.001, for both: only the momentum differs.
valley = landscape.trajectories("rosenbrock", ["sgd", "momentum"], steps=2000)
for path in valley:
    print(f"Rosenbrock, {path.label}: loss after 2000 steps {path.final_loss:.2g}")
plot_landscape("rosenbrock", valley, "momentum-valley.png")

well = landscape.get("double_well")
paths = landscape.trajectories(well, ["sgd", "momentum"], steps=200)
for path in paths:
    minimum, distance = well.nearest_minimum(path.final_point)
    print(f"double well, {path.label}: ends in the {minimum.kind} minimum, loss {path.final_loss:.2f}")
plot_landscape(well, paths, "momentum-well.png")
