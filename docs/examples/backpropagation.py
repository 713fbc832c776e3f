"""One training step taken apart: forward pass, loss, backward pass, update.

Writes backpropagation.png: the loss over 100 repetitions of those four steps.
"""

import numpy as np
from sklearn.datasets import load_digits

import numbagrad
from numbagrad import Dense, Sequential
from numbagrad.plotting import plot_curves

digits = load_digits()
X = (digits.data / 16.0).astype(np.float32)  # 1797 images of 8x8 pixels, scaled to [0, 1]
y = digits.target  # the digit each image shows, 0 to 9

model = Sequential([Dense(32, activation="relu"), Dense(10, activation="softmax")], input_dim=64, seed=0)
batch, labels = X[:32], y[:32]

# 1. Forward pass: every layer's activations for the batch; the last layer's are
#    the network's predicted probabilities for the ten digits.
probabilities = model.predict(batch)
print(f"forward pass: {probabilities.shape[0]} images -> {probabilities.shape[1]} probabilities each")
print(f"  image 0 is a {labels[0]}; the untrained network gives that digit {probabilities[0, labels[0]]:.3f}")

# 2. Loss and 3. backward pass: value_and_grad runs the forward pass, the loss at
#    the end of the network, and propagates its gradient back through every layer.
loss, gradient = model.value_and_grad(batch, labels, "categorical_crossentropy")
print(f"loss of the batch: {loss:.4f}; gradient: one number per weight ({gradient.size})")

# The gradient says how the loss changes when one weight moves: check one of them.
index, step = 100, 1e-3
model.parameters[index] += step
higher, _ = model.value_and_grad(batch, labels, "categorical_crossentropy")
model.parameters[index] -= step
print(f"  weight {index}: backward pass says {gradient[index]:+.5f}, nudging it says {(higher - loss) / step:+.5f}")

# 4. Update: the optimizer moves every weight against its gradient.
optimizer = numbagrad.optim.SGD([model.parameters], lr=0.5)
optimizer.step([gradient])
after, _ = model.value_and_grad(batch, labels, "categorical_crossentropy")
print(f"after one update: loss {after:.4f} (was {loss:.4f})")

# Training is these four steps, repeated.
losses = [after]
for _ in range(100):
    value, gradient = model.value_and_grad(batch, labels, "categorical_crossentropy")
    optimizer.step([gradient])
    losses.append(value)
print(f"after 100 more: loss {losses[-1]:.4f}")
plot_curves({"loss of the batch": losses}, "backpropagation.png", xlabel="update", title="Forward, loss, backward, update: repeated")
