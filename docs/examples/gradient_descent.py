"""Gradient descent by hand, the same steps by numbagrad's SGD kernel, and two pictures.

Writes gradient-descent.png (Booth's bowl) and gradient-descent-valley.png (Rosenbrock's valley).
"""

import numpy as np

from numbagrad import landscape, optim
from numbagrad.plotting import plot_landscape

booth = landscape.get("booth")          # loss(x, y) = (x + 2y - 7)^2 + (2x + y - 5)^2
lr = 0.01

point = np.array([-8.0, -8.0])
sgd = optim.get("sgd", [point], lr=lr)
for step in range(4):
    loss, gradient = booth.loss_and_gradient(point)
    print(f"step {step}: at ({point[0]:6.3f}, {point[1]:6.3f})  loss {loss:7.2f}  gradient ({gradient[0]:7.2f}, {gradient[1]:7.2f})")
    by_hand = point - lr * gradient     # one step against the gradient, written out
    sgd.step([gradient])                # the same step by numbagrad's kernel: point changes in place
    assert np.array_equal(point, by_hand)

bowl = landscape.trajectories(booth, ["sgd"], start=(-8, -8), steps=200, lr=lr)
print(f"Booth, 200 steps: loss {bowl[0].final_loss:.4f}")
plot_landscape(booth, bowl, "gradient-descent.png")

valley = landscape.trajectories("rosenbrock", ["sgd"], steps=2000, lr=0.001)
x, y = valley[0].final_point
print(f"Rosenbrock, 2000 steps: at ({x:.2f}, {y:.2f}), loss {valley[0].final_loss:.4f}; the minimum is at (1, 1)")
plot_landscape("rosenbrock", valley, "gradient-descent-valley.png")
