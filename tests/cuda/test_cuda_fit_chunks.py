"""fit on chunks for a model on "cuda": the same training as one array on the GPU, and as chunks on the CPU.

Each chunk gets its own GPU trainer (buffers of its size); the epoch's loss
weighs every batch of every chunk by its rows and the metrics add up over the
chunks, as on the CPU. Tiny shapes: 13 samples in chunks of 8 and 5, batches of 4.
"""

from __future__ import annotations

import numpy as np
import pytest

from numbagrad import Dense, Sequential, config
from numbagrad.train.chunks import ArrayChunks


def data(samples=13, features=5, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((samples, features)), rng.integers(0, classes, samples)


def make(device):
    model = Sequential([Dense(6, activation="relu"), Dense(3, activation="softmax")], input_dim=5, dtype=np.float64, seed=1, device=device)
    return model.compile("adam", "categorical_crossentropy", metrics=["accuracy", "roc_auc"])


@pytest.mark.parametrize("resident", [True, False], ids=["resident", "staged"])
def test_chunks_on_the_gpu_train_as_one_array(resident, monkeypatch):
    if not resident:  # too large for the GPU's budget: each chunk goes over one segment at a time
        monkeypatch.setattr(config, "CUDA_RESIDENT_DATA_BYTES", 100)
    X, y = data()
    X_val, y_val = data(6, seed=3)
    whole = make("cuda")
    expected = whole.fit(X, y, batch_size=4, epochs=2, shuffle=False, validation_data=(X_val, y_val), verbose=0).history
    chunked = make("cuda")
    chunks = [(X[:8], y[:8]), (X[8:], y[8:])]
    history = chunked.fit(lambda: iter(chunks), batch_size=4, epochs=2, shuffle=False, validation_data=(X_val, y_val), verbose=0).history
    for a, b in zip(whole.get_weights(), chunked.get_weights()):
        np.testing.assert_allclose(b, a, rtol=1e-12)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(history[key], expected[key], rtol=1e-12)


def test_shuffled_chunks_on_the_gpu_match_the_cpu():
    X, y = data()
    on_cpu, on_gpu = make("cpu"), make("cuda")
    expected = on_cpu.fit(ArrayChunks(X, y, 8), batch_size=4, epochs=2, seed=2, verbose=0).history
    history = on_gpu.fit(ArrayChunks(X, y, 8), batch_size=4, epochs=2, seed=2, verbose=0).history
    for a, b in zip(on_cpu.get_weights(), on_gpu.get_weights()):
        np.testing.assert_allclose(b, a, rtol=1e-10)
    np.testing.assert_allclose(history["loss"], expected["loss"], rtol=1e-10)
