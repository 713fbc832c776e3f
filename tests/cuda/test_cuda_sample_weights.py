"""Sample weights on the GPU: fit (arrays, chunks, L-BFGS, streamed data), validation and evaluate
weighted as on the CPU, the per-sample penalties scaled by each batch's sum of weights.

13 samples in batches of 4 (the last one shorter), tiny layers, float64.
"""

from __future__ import annotations

import numpy as np
import pytest
from cuda_helpers import assert_same_training

from numbagrad import Dense, Sequential, config
from numbagrad.train.chunks import ArrayChunks

TOLERANCE = 1e-10


def data(samples=13, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((samples, 5))
    labels = rng.integers(0, 3, samples)
    weights = rng.uniform(0.2, 3.0, samples)
    weights[4:8] = 0.0  # a whole batch of weight 0 (batch_size 4, no shuffle)
    return X, labels, weights


def make(device, regularizer=None, **compile_options):
    model = Sequential(
        [Dense(6, "tanh", kernel_regularizer=regularizer), Dense(3, "softmax")], input_dim=5, dtype=np.float64, seed=1, device=device
    )
    options = dict(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy", "f1_macro"])
    options.update(compile_options)
    return model.compile(**options)


# Per-sample L2 (scikit-learn's alpha): the penalty divided by each batch's sum of weights.
REGULARIZERS = {"none": None, "l2": {"name": "l2", "l2": 0.01}, "per_sample": {"name": "l2", "l2": 0.05, "per_sample": True}}


@pytest.mark.parametrize("regularizer", REGULARIZERS)
def test_a_weighted_fit_equals_the_cpu(regularizer):
    X, labels, weights = data()
    validation = (X[:9], labels[:9], weights[:9] + 0.5)
    models = {device: make(device, REGULARIZERS[regularizer], clip_norm=1.0) for device in ("cpu", "cuda")}
    for model in models.values():
        model.fit(X, labels, sample_weight=weights, batch_size=4, epochs=2, shuffle=True, seed=3, validation_data=validation, verbose=0)
    assert_same_training(models["cuda"], models["cpu"], TOLERANCE)


def test_class_weight_and_evaluate_with_weights_equal_the_cpu():
    X, labels, weights = data()
    models = {device: make(device, REGULARIZERS["per_sample"], metrics=["accuracy", "precision_weighted", "mae"], loss="mse")
              for device in ("cpu", "cuda")}
    onehot = np.eye(3)[labels]
    for model in models.values():
        model.fit(X, onehot, class_weight={0: 2.0, 1: 0.5, 2: 1.0}, batch_size=4, epochs=1, verbose=0)
    assert_same_training(models["cuda"], models["cpu"], TOLERANCE)
    got = models["cuda"].evaluate(X, onehot, batch_size=5, sample_weight=weights)
    expected = models["cpu"].evaluate(X, onehot, batch_size=5, sample_weight=weights)
    assert got.keys() == expected.keys()
    for key in expected:
        assert got[key] == pytest.approx(expected[key], rel=TOLERANCE), key


def test_integer_weights_train_as_repeated_rows_on_the_gpu():
    """Batch 1 without shuffling: a row of weight k and k copies of it in k batches differ; one whole
    batch holding every row does not. So: one batch of all rows, weights 1..3 against rows repeated."""
    X, labels, _ = data(samples=6)
    counts = np.array([1, 3, 2, 1, 2, 3])
    weighted, repeated = make("cuda"), make("cuda")
    weighted.fit(X, labels, sample_weight=counts.astype(float), batch_size=6, epochs=3, shuffle=False, verbose=0)
    repeated.fit(np.repeat(X, counts, axis=0), np.repeat(labels, counts), batch_size=int(counts.sum()), epochs=3, shuffle=False, verbose=0)
    np.testing.assert_allclose(weighted.parameters.copy_to_host(), repeated.parameters.copy_to_host(), rtol=1e-10, atol=1e-12)
    for key in ("loss", "accuracy", "f1_macro"):
        np.testing.assert_allclose(weighted.history.history[key], repeated.history.history[key], rtol=1e-10, err_msg=key)


def test_streamed_data_gives_the_resident_fit(monkeypatch):
    X, labels, weights = data()
    resident, streamed = make("cuda"), make("cuda")
    resident.fit(X, labels, sample_weight=weights, batch_size=4, epochs=1, seed=2, verbose=0)
    monkeypatch.setattr(config, "CUDA_RESIDENT_DATA_BYTES", 4 * (6 * 8 + 8))  # one batch of 4 rows at a time
    streamed.fit(X, labels, sample_weight=weights, batch_size=4, epochs=1, seed=2, verbose=0)
    np.testing.assert_array_equal(streamed.parameters.copy_to_host(), resident.parameters.copy_to_host())
    assert streamed.history.history == resident.history.history
    assert streamed.evaluate(X, labels, sample_weight=weights, batch_size=5) == resident.evaluate(X, labels, sample_weight=weights, batch_size=5)


def test_weighted_chunks_and_lbfgs_equal_the_cpu():
    X, labels, weights = data()
    for options in ({}, {"optimizer": {"name": "lbfgs", "lr": 0.5, "max_iter": 3}}):
        models = {device: make(device, REGULARIZERS["per_sample"], **options) for device in ("cpu", "cuda")}
        for model in models.values():
            model.fit(ArrayChunks(X, labels, rows=8, sample_weight=weights), batch_size=4, epochs=2, shuffle=False, verbose=0)
        assert_same_training(models["cuda"], models["cpu"], TOLERANCE)


def test_weighted_r2_and_roc_auc_equal_the_cpu():
    """Their weighted kernels run on the host beside the GPU's forward passes, as the CPU loop runs them."""
    X, labels, weights = data()
    for options in ({"metrics": ["accuracy", "roc_auc"]}, {"metrics": ["r2", "mae"], "loss": "mse"}):
        targets = labels if options.get("loss") is None else np.eye(3)[labels]
        models = {device: make(device, **options) for device in ("cpu", "cuda")}
        for model in models.values():
            model.fit(X, targets, sample_weight=weights, batch_size=4, epochs=2, validation_data=(X, targets, weights + 0.5), verbose=0)
        assert_same_training(models["cuda"], models["cpu"], TOLERANCE)
        got = models["cuda"].evaluate(X, targets, batch_size=5, sample_weight=weights)
        assert got == pytest.approx(models["cpu"].evaluate(X, targets, batch_size=5, sample_weight=weights), rel=TOLERANCE)


def test_a_metric_that_cannot_be_weighted_is_refused_on_the_gpu_too(unweighable_metric):
    X, labels, weights = data()
    onehot = np.eye(3)[labels]
    model = make("cuda", metrics=["accuracy", unweighable_metric], loss="mse")
    before = model.parameters.copy_to_host()
    with pytest.raises(ValueError, match="the metric 'max_error' cannot be weighted"):
        model.fit(X, onehot, sample_weight=weights, verbose=0)
    with pytest.raises(ValueError, match="the metric 'max_error' cannot be weighted"):
        model.evaluate(X, onehot, sample_weight=weights)
    with pytest.raises(ValueError, match="the metric 'max_error' cannot be weighted"):
        model.fit(X, onehot, validation_data=(X, onehot, weights), verbose=0)
    np.testing.assert_array_equal(model.parameters.copy_to_host(), before)
    assert model.evaluate(X, onehot)["max_error"] > 0  # unweighted, it runs on the GPU
