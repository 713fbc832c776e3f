"""The loss as a landscape, and a ball rolling down it.

Writes landscape.png (the terrain) and landscape-ball.gif (a ball let go on it).
"""

from numbagrad import landscape
from numbagrad.plotting import animate_landscape, plot_landscape

well = landscape.get("double_well")
print(f"loss(x, y) = {well.formula}")
for minimum in well.minima:
    x, y = minimum.point
    print(f"{minimum.kind} minimum: loss {minimum.value:.2f} at ({x:.2f}, {y:.2f})")

# The terrain alone: the colour is the height, that is the loss.
plot_landscape(well, path="landscape.png")

# A ball let go at the top right, always stepping straight downhill.
ball = landscape.trajectories(well, ["sgd"], start=(2.3, 1.5), steps=200)
end = ball[0].final_point
print(f"the ball comes to rest at ({end[0]:.2f}, {end[1]:.2f}), loss {ball[0].final_loss:.2f}")
animate_landscape(well, ball, "landscape-ball.gif")
