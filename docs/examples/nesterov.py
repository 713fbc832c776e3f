"""Nesterov momentum: jump along the velocity, then correct with the slope found there.

Writes nesterov.png and nesterov.gif (the narrow ravine).
"""

import numpy as np

from numbagrad import landscape
from numbagrad.plotting import animate_landscape, plot_landscape

ravine = landscape.get("ravine")        # loss(x, y) = x^2 / 20 + y^2, minimum at (0, 0)
momentum, nesterov = landscape.trajectories(ravine, ["momentum", "nesterov"], steps=150, lr=0.2)
for path in (momentum, nesterov):
    past = path.path[:, 0].max()                 # the ball starts at x = -9; the minimum is at x = 0
    swing = np.abs(path.path[5:, 1]).max()       # how far across the ravine, once the first fall is over
    print(f"{path.optimizer:>8}: rolls {past:.2f} past the minimum, swings {swing:.2f} across, "
          f"loss after 150 steps {path.final_loss:.1e}")

# "Jump, then correct", written out: theta is the ball, v its velocity.
mu, lr = 0.9, 0.2
theta, v = np.array(ravine.start), np.zeros(2)
looked_ahead = [theta + mu * v]
for _ in range(150):
    _, slope = ravine.loss_and_gradient(theta + mu * v)   # jump along the velocity, measure the slope there
    v = mu * v - lr * slope                                # correct the velocity with it
    theta = theta + v
    looked_ahead.append(theta + mu * v)
# numbagrad (like PyTorch) keeps the look-ahead point itself as the parameters:
print(f"largest difference from numbagrad's path: {np.abs(np.array(looked_ahead) - nesterov.path).max():.1e}")

plot_landscape(ravine, [momentum, nesterov], "nesterov.png")
animate_landscape(ravine, [momentum, nesterov], "nesterov.gif")
