"""LAMB, found by name, trains: a model on digits inside fit, by role beside another optimizer, saved and resumed."""

from __future__ import annotations

import numpy as np
import pytest
import numbagrad


def digits():
    sklearn = pytest.importorskip("sklearn.datasets")
    X, y = sklearn.load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float32), y


def model(seed=0):
    return numbagrad.Sequential(
        [numbagrad.Dense(32, activation="relu"), numbagrad.Dense(10, activation="softmax")], input_dim=64, seed=seed
    )


def test_trains_digits_inside_fit():
    X, y = digits()
    net = model()
    net.compile(optimizer={"name": "lamb", "lr": 0.01}, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = net.fit(X, y, epochs=8, batch_size=64, verbose=0, seed=0)
    assert net.training.optimizer.spec.name == "lamb"
    assert history.history["accuracy"][-1] > 0.95
    assert history.history["loss"][-1] < 0.3 * history.history["loss"][0]


def test_the_weights_by_role():
    X, y = digits()
    net = model()
    net.compile(optimizer={"weights": {"name": "lamb", "lr": 0.01}, "biases": "adam"}, loss="sparse_categorical_crossentropy")
    history = net.fit(X, y, epochs=3, verbose=0, seed=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_a_saved_model_resumes_bit_for_bit(tmp_path):
    X, y = digits()
    net = model()
    net.compile(optimizer="lamb", loss="sparse_categorical_crossentropy")
    net.fit(X, y, epochs=1, verbose=0, seed=0)
    net.save(tmp_path / "lamb.ngm")
    loaded = numbagrad.load_model(tmp_path / "lamb.ngm")
    net.fit(X, y, epochs=1, verbose=0, seed=1)
    loaded.fit(X, y, epochs=1, verbose=0, seed=1)
    np.testing.assert_array_equal(net.parameters, loaded.parameters)
