"""``numbagrad train``'s default run: the digits, 64-64(relu)-10(softmax), Adam, batch 32.

One epoch of its ``fit`` (1,438 training images, 45 batches, then the 359
validation images), and the data preparation before it (load, split,
standardize). The training loop is compiled, or loaded from Numba's cache, in
``setup``, as ``numbagrad train`` does before it starts timing.
"""

from __future__ import annotations

from numbagrad.runs.config import resolve
from numbagrad.runs.prepare import build_model, prepare


def _prepared():
    try:
        return prepare(resolve({}))
    except ImportError:
        raise NotImplementedError("the digits come with scikit-learn, which is not installed") from None


class DefaultTrain:
    def setup(self):
        self.prepared = _prepared()
        self.model = build_model(self.prepared, "adam", {})
        self.time_epoch()  # compiles the loops (or loads them from the cache) outside the timing

    def time_epoch(self):
        prepared = self.prepared
        self.model.fit(prepared.X_train, prepared.y_train, batch_size=32, epochs=1, validation_data=prepared.validation, verbose=0)


class PrepareDigits:
    def setup(self):
        _prepared()  # imports scikit-learn and reads its files once

    def time_prepare(self):
        prepare(resolve({}))
