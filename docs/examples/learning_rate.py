"""One function, one optimizer, three learning rates: too small, about right, too large.

Writes learning-rate.png.
"""

from numbagrad import landscape
from numbagrad.plotting import plot_landscape

paths = []
for lr in (0.005, 0.05, 0.11):
    paths += landscape.trajectories("booth", ["sgd"], start=(-8, 8), steps=60, lr=lr)
print(f"start: loss {paths[0].losses[0]:.3g}")
for path in paths:
    print(f"lr = {path.lr:<6g} loss after 60 steps: {path.final_loss:.3g}")

# A little larger still, and every step overshoots by more than the last.
(too_large,) = landscape.trajectories("booth", ["sgd"], start=(-8, 8), steps=60, lr=0.12)
print(f"lr = {too_large.lr:<6g} loss after 60 steps: {too_large.final_loss:.3g}")

plot_landscape("booth", paths, "learning-rate.png")
