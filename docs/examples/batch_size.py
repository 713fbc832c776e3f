"""Online, mini-batch and full-batch training of the same network from the same start.

Writes batch-size.png: validation accuracy per epoch and per second for each batch size.
"""

import time

import numpy as np
from sklearn.datasets import load_digits

from numbagrad import Dense, Sequential
from numbagrad.plotting import plot_curves

digits = load_digits()
X = (digits.data / 16.0).astype(np.float32)
y = digits.target

start = Sequential([Dense(32, activation="relu"), Dense(10, activation="softmax")], input_dim=64, seed=0).get_weights()
accuracy, seconds = {}, {}
print(f"{'batch size':<16}{'updates/epoch':>14}{'seconds':>9}{'val accuracy':>14}")
for batch_size, lr, name in [(1, 0.01, "online (1)"), (32, 0.1, "mini-batch (32)"), (len(X), 0.5, "full batch")]:
    model = Sequential([Dense(32, activation="relu"), Dense(10, activation="softmax")], input_dim=64, seed=0)
    model.set_weights(start)
    model.compile({"name": "sgd", "lr": lr, "momentum": 0.9}, "categorical_crossentropy", metrics=["accuracy"])
    model.fit(X[:64], y[:64], epochs=1, batch_size=batch_size, validation_split=0.5, verbose=0)  # compile outside the timing
    model.set_weights(start)
    model.compile({"name": "sgd", "lr": lr, "momentum": 0.9}, "categorical_crossentropy", metrics=["accuracy"])
    began = time.perf_counter()
    history = model.fit(X, y, batch_size=batch_size, epochs=20, validation_split=0.2, verbose=0, seed=0)
    elapsed = time.perf_counter() - began
    accuracy[name] = history.history["val_accuracy"]
    seconds[name] = elapsed
    updates = -(-int(len(X) * 0.8) // batch_size)
    print(f"{name:<16}{updates:>14}{elapsed:>9.2f}{accuracy[name][-1]:>14.3f}")

plot_curves(accuracy, "batch-size.png", xlabel="epoch", ylabel="validation accuracy", title="SGD with momentum, same initial weights")
