"""The scikit-learn estimators with device="cuda": the CPU's results, pickling across devices."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

pytest.importorskip("sklearn")

from numbagrad.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

SETTINGS = {"hidden_layer_sizes": (5,), "epochs": 2, "batch_size": 8, "random_state": 0, "dtype": "float64"}


def data(classification: bool):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 3))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5) if classification else X @ np.array([1.0, -2.0, 0.5])
    return X, y


@pytest.mark.parametrize("estimator, classification", [(MLPClassifier, True), (MLPRegressor, False)])
def test_a_gpu_estimator_fits_and_predicts_as_on_the_cpu(estimator, classification):
    X, y = data(classification)
    cpu = estimator(**SETTINGS).fit(X, y)
    gpu = estimator(**SETTINGS, device="cuda").fit(X, y)
    assert gpu.model_.device == "cuda"
    for a, b in zip(cpu.model_.get_weights(), gpu.model_.get_weights()):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(cpu.predict(X), gpu.predict(X)) if classification else \
        np.testing.assert_allclose(cpu.predict(X), gpu.predict(X), rtol=0, atol=1e-10)


def test_a_pickled_gpu_estimator_comes_back_on_the_gpu_and_keeps_training():
    X, y = data(True)
    gpu = MLPClassifier(**SETTINGS, device="cuda").fit(X, y)
    restored = pickle.loads(pickle.dumps(gpu))
    assert restored.model_.device == "cuda"
    np.testing.assert_array_equal(restored.predict_proba(X), gpu.predict_proba(X))
    gpu.partial_fit(X, y)
    restored.partial_fit(X, y)
    np.testing.assert_array_equal(restored.model_.get_weights()[0], gpu.model_.get_weights()[0])


def test_a_pickled_gpu_estimator_unpickles_onto_the_cpu_without_cuda(monkeypatch):
    X, y = data(False)
    gpu = MLPRegressor(**SETTINGS, device="cuda").fit(X, y)
    payload = pickle.dumps(gpu)
    import numbagrad.device as module  # where numbagrad.nn.state.restore_model asks

    monkeypatch.setattr(module, "cuda_available", lambda allow_simulator=False: False)
    restored = pickle.loads(payload)
    assert restored.model_.device == "cpu"
    np.testing.assert_allclose(restored.predict(X), gpu.predict(X), rtol=0, atol=1e-12)
