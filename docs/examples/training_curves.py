"""Reading training curves: loss and accuracy on training and validation data,
a learning-rate schedule, and early stopping.

Writes training-curves.png and schedule.png.
"""

import numpy as np
from sklearn.datasets import load_digits

from numbagrad import Dense, Sequential, schedules
from numbagrad.train import EarlyStopping

digits = load_digits()
X = (digits.data / 16.0).astype(np.float32)
y = digits.target

epochs, batch_size = 40, 32
steps_per_epoch = -(-int(len(X) * 0.8) // batch_size)
schedule = schedules.warmup(schedules.get("cosine", T_max=epochs * steps_per_epoch, eta_min=1e-5), warmup_steps=steps_per_epoch)

model = Sequential([Dense(64, activation="relu"), Dense(10, activation="softmax")], input_dim=64, seed=0)
model.compile({"name": "adam", "lr": 3e-3}, "categorical_crossentropy", metrics=["accuracy"], schedule=schedule)
stop = EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)
history = model.fit(X, y, batch_size=batch_size, epochs=epochs, validation_split=0.2, callbacks=[stop], verbose=0, seed=0)

last = len(history.epoch)
print(f"trained {last} epochs; early stopping kept the weights of epoch {stop.best_epoch + 1}")
for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
    print(f"  {key:>12}: first {history.history[key][0]:.3f}, best {min(history.history[key]) if 'loss' in key else max(history.history[key]):.3f}")
history.plot("training-curves.png")
schedule.with_lr(3e-3).plot(epochs * steps_per_epoch, "schedule.png")
