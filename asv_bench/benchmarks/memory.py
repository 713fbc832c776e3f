"""Peak memory of ``fit``: the data, the model and its optimizer state, and little else."""

from __future__ import annotations

import numpy as np

from numbagrad import Dense, Sequential


class Fit:
    """One epoch over 40 MB of float32 inputs (asv reports the process's peak resident memory)."""

    def setup(self):
        rng = np.random.default_rng(0)
        self.X = rng.standard_normal((200_000, 50)).astype(np.float32)
        self.y = rng.integers(0, 3, 200_000)
        self.model = Sequential([Dense(64, activation="relu"), Dense(3, activation="softmax")], input_dim=50)
        self.model.compile("adam", "categorical_crossentropy")
        self.model.fit(self.X[:256], self.y[:256], epochs=1, verbose=0)

    def peakmem_fit(self):
        self.model.fit(self.X, self.y, batch_size=256, epochs=1, verbose=0)

    def track_data_megabytes(self):
        return (self.X.nbytes + self.y.nbytes) / 1e6

    track_data_megabytes.unit = "MB"
