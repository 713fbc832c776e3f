"""fit on data larger than memory: memory-mapped arrays read in place, and chunks (numbagrad.train.chunks).

The reference for chunks is fit on one array holding the same rows in the same order: with
shuffle=False and chunk sizes that are multiples of batch_size, both train the same batches in the
same order, so the weights agree to the last bit or so (rtol 1e-12 in float64)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import numbagrad as ng
from numbagrad.data import as_inputs
from numbagrad.errors import NonFiniteLossError
from numbagrad.train import Callback
from numbagrad.train.chunks import ArrayChunks

FEATURES = 5


def data(rows=200, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, FEATURES)).astype(dtype)
    y = (X @ rng.normal(size=FEATURES) + 0.1 * rng.normal(size=rows)).astype(dtype)
    return X, y


def model(dtype=np.float64, **compile_options):
    options = {"optimizer": "adam", "loss": "mse", "metrics": ["mae"], **compile_options}
    net = ng.Sequential([ng.Dense(8, activation="tanh"), ng.Dense(1)], input_dim=FEATURES, dtype=dtype, seed=1)
    return net.compile(**options)


def split(X, y, sizes):
    """Consecutive chunks of the given sizes (the last takes the rest)."""
    chunks, start = [], 0
    for size in sizes:
        chunks.append((X[start : start + size], y[start : start + size]))
        start += size
    chunks.append((X[start:], y[start:]))
    return chunks


def assert_same_weights(a, b, rtol=1e-12):
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wb, wa, rtol=rtol, atol=0)


# --- chunks against one array ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["function", "list", "array_chunks"])
def test_chunks_train_exactly_as_one_array(kind):
    X, y = data(205)
    y = y + 20.0  # r2's running means merge across chunks; they do not add up
    whole = model(metrics=["mae", "r2"])
    expected = whole.fit(X, y, batch_size=10, epochs=3, shuffle=False, verbose=0).history
    chunks = split(X, y, [40, 60, 100])  # the last chunk: 5 rows, the array's last short batch
    source = {
        "function": lambda: iter(chunks),
        "list": chunks,
        "array_chunks": ArrayChunks(X, y, rows=50),
    }[kind]
    chunked = model(metrics=["mae", "r2"])
    history = chunked.fit(source, batch_size=10, epochs=3, shuffle=False, verbose=0).history
    assert_same_weights(whole, chunked)
    for key in ("loss", "mae", "r2"):  # the loss: weighted by rows over every batch; metrics: totals of every chunk
        np.testing.assert_allclose(history[key], expected[key], rtol=1e-12)
    assert len(chunked.epoch_losses) == 21 and chunked.epoch == 3


@pytest.mark.parametrize("kind", ["triples", "array_chunks"])
@pytest.mark.parametrize("optimizer", ["adam", {"name": "lbfgs", "lr": 0.5, "max_iter": 3}])
def test_weighted_chunks_train_exactly_as_one_weighted_array(kind, optimizer):
    X, y = data(205)
    weights = np.random.default_rng(5).uniform(0.0, 3.0, 205)
    whole = model(optimizer=optimizer)
    expected = whole.fit(X, y, batch_size=10, epochs=2, shuffle=False, verbose=0, sample_weight=weights).history
    if kind == "triples":
        source = [(Xc, yc, weights[start : start + len(Xc)]) for (Xc, yc), start in zip(split(X, y, [40, 60, 100]), (0, 40, 100, 200))]
    else:
        source = ArrayChunks(X, y, rows=50, sample_weight=weights)
    chunked = model(optimizer=optimizer)
    history = chunked.fit(source, batch_size=10, epochs=2, shuffle=False, verbose=0).history
    assert_same_weights(whole, chunked)
    # Each batch's loss counts by its weight; the metrics count each row w times. (L-BFGS's metrics
    # are those of the rows at the end of each piece: of each chunk, then, not of the epoch.)
    for key in ("loss", "mae") if optimizer == "adam" else ("loss",):
        np.testing.assert_allclose(history[key], expected[key], rtol=1e-12)


def test_integer_weights_on_chunks_train_as_repeated_rows():
    """A row of weight 2 in one batch counts as the row twice in that batch (batch_size rows each)."""
    X, y = data(40)
    weights = np.tile([1.0, 2.0], 20)
    repeated_X, repeated_y = np.repeat(X, weights.astype(int), axis=0), np.repeat(y, weights.astype(int))
    weighted = model(optimizer="sgd")
    weighted.fit([(X, y, weights)], batch_size=40, epochs=3, shuffle=False, verbose=0)
    plain = model(optimizer="sgd")
    plain.fit([(repeated_X, repeated_y)], batch_size=60, epochs=3, shuffle=False, verbose=0)
    assert_same_weights(plain, weighted, rtol=1e-10)


def test_class_weight_multiplies_every_chunks_weights():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, FEATURES))
    labels = (X[:, 0] > 0).astype(np.int64)

    def classifier():
        net = ng.Sequential([ng.Dense(6, activation="tanh"), ng.Dense(2, activation="softmax")], input_dim=FEATURES, seed=1)
        return net.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])

    class_weight = {1: 3.0}
    whole = classifier()
    expected = whole.fit(X, labels, batch_size=10, epochs=2, shuffle=False, verbose=0, class_weight=class_weight).history
    chunked = classifier()
    history = chunked.fit(ArrayChunks(X, labels, rows=20), batch_size=10, epochs=2, shuffle=False, verbose=0,
                          class_weight=class_weight).history
    assert_same_weights(whole, chunked)
    np.testing.assert_allclose(history["loss"], expected["loss"], rtol=1e-12)
    np.testing.assert_allclose(history["accuracy"], expected["accuracy"], rtol=1e-12)


def test_each_chunk_is_batched_on_its_own():
    X, y = data(30)
    seen = []

    class Rows(Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(len(self.model.epoch_losses))

    net = model()
    # Chunks of 7, 7 and 16 rows with batch_size=5: 2 + 2 + 4 batches (the 4-, 2- and 1-row batches short).
    net.fit(split(X, y, [7, 7]), batch_size=5, epochs=1, shuffle=False, verbose=0, callbacks=[Rows()])
    assert seen == [8]
    # The same batches as arrays, one fit per chunk's rows in turn, give the same weights.
    reference = model()
    for Xc, yc in split(X, y, [7, 7]):
        reference.fit(Xc, yc, batch_size=5, epochs=1, shuffle=False, verbose=0)
    assert_same_weights(reference, net)
    # drop_last drops each chunk's short batch: 1 + 1 + 3.
    seen.clear()
    model().fit(split(X, y, [7, 7]), batch_size=5, epochs=1, shuffle=False, verbose=0, drop_last=True, callbacks=[Rows()])
    assert seen == [5]


def test_schedule_with_the_fit_length_needs_steps_per_epoch():
    X, y = data(200)
    whole = model(schedule="one_cycle")
    whole.fit(X, y, batch_size=10, epochs=2, shuffle=False, verbose=0)
    chunks = split(X, y, [50, 50, 50])
    chunked = model(schedule="one_cycle")
    chunked.fit(lambda: iter(chunks), batch_size=10, epochs=2, shuffle=False, verbose=0, steps_per_epoch=20)
    assert_same_weights(whole, chunked)
    known = model(schedule="one_cycle")  # ArrayChunks know their batches: no steps_per_epoch needed
    known.fit(ArrayChunks(X, y, rows=50), batch_size=10, epochs=2, shuffle=False, verbose=0)
    assert_same_weights(whole, known)


def test_validation_data_and_callbacks_with_chunks():
    X, y = data(120)
    X_val, y_val = data(40, seed=7)
    events = []

    class Record(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            events.append(("begin", epoch))

        def on_epoch_end(self, epoch, logs=None):
            events.append(("end", epoch, sorted(logs)))
            if epoch == 1:
                self.model.stop_training = True

    net = model()
    history = net.fit(ArrayChunks(X, y, 40), batch_size=8, epochs=5, validation_data=(X_val, y_val), verbose=0, callbacks=[Record()])
    assert [e[:2] for e in events] == [("begin", 0), ("end", 0), ("begin", 1), ("end", 1)]
    assert events[-1][2] == ["loss", "lr", "mae", "val_loss", "val_mae"]
    final = net.evaluate(X_val, y_val)
    np.testing.assert_allclose(history.history["val_loss"][-1], final["loss"], rtol=1e-12)
    np.testing.assert_allclose(history.history["val_mae"][-1], final["mae"], rtol=1e-12)


def test_lbfgs_trains_on_chunks_as_on_one_array():
    X, y = data(80)
    whole = model(optimizer={"name": "lbfgs", "lr": 1.0}, metrics=[])
    whole.fit(X, y, batch_size=20, epochs=2, shuffle=False, verbose=0)
    chunked = model(optimizer={"name": "lbfgs", "lr": 1.0}, metrics=[])
    chunked.fit(split(X, y, [40]), batch_size=20, epochs=2, shuffle=False, verbose=0)
    assert_same_weights(whole, chunked)


# --- shuffling --------------------------------------------------------------------------------------


class _Visits(list):
    """A list of chunks that records which chunk fit reads, in order."""

    def __init__(self, chunks):
        super().__init__(chunks)
        self.visits = []

    def __getitem__(self, index):
        self.visits.append(index)
        return super().__getitem__(index)


def test_shuffled_chunks_are_seeded_and_reproducible():
    X, y = data(200)
    chunks = _Visits(split(X, y, [40, 40, 40, 40]))
    first = model()
    first.fit(chunks, batch_size=10, epochs=2, seed=5, verbose=0)
    # Epoch 1: the chunk order, then each chunk's rows, all from the model's generator seeded with 5.
    rng = np.random.default_rng(5)
    order = rng.permutation(5)
    assert chunks.visits[:5] == [int(i) for i in order]
    again = model()
    again.fit(_Visits(split(X, y, [40, 40, 40, 40])), batch_size=10, epochs=2, seed=5, verbose=0)
    assert_same_weights(first, again, rtol=0)
    other = model()
    other.fit(_Visits(split(X, y, [40, 40, 40, 40])), batch_size=10, epochs=2, seed=6, verbose=0)
    assert not np.array_equal(first.get_weights()[0], other.get_weights()[0])


def test_rows_are_shuffled_within_each_chunk_of_an_iterator():
    X, y = data(60)
    seen = []

    def chunks():
        for Xc, yc in split(X, y, [20, 20]):
            seen.append(Xc[0, 0])
            yield Xc, yc

    # Shuffling the rows of one chunk equals fitting that chunk alone with the same generator state.
    net = model()
    net.fit(chunks, batch_size=20, epochs=1, seed=3, verbose=0)
    assert seen == [X[0, 0], X[20, 0], X[40, 0]]  # an iterator keeps its own chunk order
    reference = model()
    reference.reseed(3)
    for Xc, yc in split(X, y, [20, 20]):
        reference.fit(Xc, yc, batch_size=20, epochs=1, verbose=0)  # one permutation of each chunk, in turn
    assert_same_weights(reference, net)


# --- memory-mapped arrays -----------------------------------------------------------------------------


def test_memory_mapped_file_is_read_in_place_and_trains_as_in_memory(tmp_path):
    X, y = data(300)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    X_map = np.load(tmp_path / "X.npy", mmap_mode="r")
    y_map = np.load(tmp_path / "y.npy", mmap_mode="r")
    inputs = as_inputs(X_map, np.float64, FEATURES)
    assert np.shares_memory(inputs, X_map)  # not copied, though read-only
    in_memory, mapped = model(), model()
    expected = in_memory.fit(X, y, batch_size=16, epochs=2, seed=4, validation_split=0.2, verbose=0).history
    history = mapped.fit(X_map, y_map, batch_size=16, epochs=2, seed=4, validation_split=0.2, verbose=0).history
    assert_same_weights(in_memory, mapped, rtol=0)
    assert history == expected
    np.testing.assert_array_equal(mapped.predict(X_map), in_memory.predict(X))


def test_memory_mapped_file_in_another_dtype_is_refused(tmp_path):
    X, y = data(50)
    np.save(tmp_path / "X.npy", X)
    X_map = np.load(tmp_path / "X.npy", mmap_mode="r")
    net = model(dtype=np.float32)
    before = net.get_weights()
    with pytest.raises(ValueError, match=r"X is a memory-mapped file of dtype float64; the model computes in float32.*ArrayChunks"):
        net.fit(X_map, y, verbose=0)
    with pytest.raises(ValueError, match=r"validation_data\[0\] is a memory-mapped file"):
        net.fit(X.astype(np.float32), y, validation_data=(X_map, y), verbose=0)
    np.save(tmp_path / "F.npy", np.asfortranarray(X.astype(np.float32)))
    with pytest.raises(ValueError, match="Fortran"):
        net.fit(np.load(tmp_path / "F.npy", mmap_mode="r"), y, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, net.get_weights()))
    # Chunks convert one chunk at a time: the same training as on the converted array.
    chunked, converted = model(dtype=np.float32), model(dtype=np.float32)
    chunked.fit(ArrayChunks(X_map, y, rows=10), batch_size=5, epochs=1, shuffle=False, verbose=0)
    converted.fit(X.astype(np.float32), y, batch_size=5, epochs=1, shuffle=False, verbose=0)
    assert_same_weights(converted, chunked, rtol=0)


# --- errors ---------------------------------------------------------------------------------------------


def test_chunk_errors_name_the_chunk():
    X, y = data(60)
    bad_columns = split(X, y, [20, 20])
    bad_columns[2] = (bad_columns[2][0][:, :3], bad_columns[2][1])
    with pytest.raises(ValueError, match=r"fit: chunk 2 \(counting from 0\): X has 3 columns; the model expects input_dim=5"):
        model().fit(bad_columns, epochs=1, shuffle=False, verbose=0)
    with_nan = split(X.copy(), y, [20, 20])
    with_nan[1][0][4, 2] = np.nan
    with pytest.raises(ValueError, match=r"fit: chunk 1 \(counting from 0\): X contains nan at row 4, column 2"):
        model().fit(with_nan, epochs=1, shuffle=False, verbose=0)
    bad_targets = split(X, y, [20])
    bad_targets[1] = (bad_targets[1][0], y[:5])
    with pytest.raises(ValueError, match=r"fit: chunk 1 \(counting from 0\): .*y has 5 rows"):
        model().fit(bad_targets, epochs=1, shuffle=False, verbose=0)
    with pytest.raises(TypeError, match=r"fit: chunk 0 must be a pair \(X_chunk, y_chunk\) or a triple \(X_chunk, y_chunk, w_chunk\); got ndarray"):
        model().fit([X], epochs=1, verbose=0)
    with pytest.raises(TypeError, match=r"fit: chunk 0 must be a pair .* got tuple of 4"):
        model().fit([(X, y, y, y)], epochs=1, verbose=0)
    negative = [(X[:20], y[:20], -np.ones(20))]
    with pytest.raises(ValueError, match=r"fit: chunk 0 \(counting from 0\): w_chunk\[0\] = -1.0; weights must be finite numbers >= 0"):
        model().fit(negative, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"fit: chunk 0 \(counting from 0\): w_chunk must have one weight per sample, shape \(20,\); got shape \(3,\)"):
        model().fit([(X[:20], y[:20], np.ones(3))], epochs=1, verbose=0)



def test_weighted_chunks_refuse_a_metric_that_weights_cannot_weight(unweighable_metric):
    X, y = data(40)
    with pytest.raises(ValueError, match="the metric 'max_error' cannot be weighted"):
        model(metrics=[unweighable_metric]).fit([(X[:20], y[:20], np.ones(20) * 2)], epochs=1, verbose=0)
    with pytest.raises(ValueError, match="the metric 'max_error' cannot be weighted"):
        model(metrics=[unweighable_metric]).fit(ArrayChunks(X, y, 10), class_weight={0: 2.0}, verbose=0)


def test_bad_chunk_sources_are_refused_before_training():
    X, y = data(40)
    net = model()
    before = net.get_weights()
    with pytest.raises(ValueError, match="the chunks are empty"):
        net.fit([], verbose=0)
    with pytest.raises(ValueError, match=r"one-shot iterator \(generator\), which can serve one epoch only; for epochs=2"):
        net.fit((pair for pair in split(X, y, [20])), epochs=2, verbose=0)
    with pytest.raises(ValueError, match="y must be left out when X gives chunks"):
        net.fit(lambda: iter(split(X, y, [20])), y, verbose=0)
    with pytest.raises(ValueError, match="y must be left out when X gives chunks"):
        net.fit(ArrayChunks(X, y, 10), y, verbose=0)
    with pytest.raises(TypeError, match="X is an array .* and y is missing"):
        net.fit(X, verbose=0)
    with pytest.raises(TypeError, match="chunks .* must be a function .* got int"):
        net.fit(3, verbose=0)
    with pytest.raises(ValueError, match=r"validation_split=0.2 needs the whole training set.*validation_data"):
        net.fit(split(X, y, [20]), validation_split=0.2, verbose=0)
    with pytest.raises(ValueError, match="steps_per_epoch=3 is for chunks"):
        net.fit(X, y, steps_per_epoch=3, verbose=0)
    with pytest.raises(ValueError, match="steps_per_epoch must be an integer >= 1"):
        net.fit(split(X, y, [20]), steps_per_epoch=0, verbose=0)
    with pytest.raises(ValueError, match=r"steps_per_epoch=3, but the chunks give 4 batches"):
        net.fit(ArrayChunks(X, y, 10), batch_size=10, steps_per_epoch=3, verbose=0)
    with pytest.raises(ValueError, match="no batch in any chunk"):
        net.fit(ArrayChunks(X, y, 10), batch_size=20, drop_last=True, verbose=0)
    with pytest.raises(ValueError, match=r"sample_weight is for arrays X, y; chunks carry their own weights: triples"):
        net.fit(ArrayChunks(X, y, 10), sample_weight=np.ones(40), verbose=0)
    with pytest.raises(ValueError, match=r"class_weight='balanced' needs every class's count in the whole training set"):
        net.fit(ArrayChunks(X, y, 10), class_weight="balanced", verbose=0)
    scheduled = model(schedule="one_cycle")
    with pytest.raises(ValueError, match="the schedule takes its length from the fit.*give steps_per_epoch"):
        scheduled.fit(lambda: iter(split(X, y, [20])), verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, net.get_weights()))
    assert net.epoch == 0


def test_chunk_errors_found_while_training():
    X, y = data(40)
    with pytest.raises(ValueError, match="the chunks gave no batch this epoch"):
        model().fit(lambda: iter([]), verbose=0)
    with pytest.raises(TypeError, match="the chunks function must return an iterable .* returned int"):
        model().fit(lambda: 5, verbose=0)
    with pytest.raises(ValueError, match=r"steps_per_epoch=3, but this epoch's chunks gave 2 batches"):
        model().fit(lambda: iter(split(X, y, [20])), batch_size=20, steps_per_epoch=3, verbose=0)


@pytest.mark.parametrize(
    "message",
    [
        ("ArrayChunks: rows must be an integer >= 1; got 0", lambda X, y: ArrayChunks(X, y, 0)),
        ("ArrayChunks: X has 40 rows and y 39", lambda X, y: ArrayChunks(X, y[:39], 5)),
        ("ArrayChunks: X must be an array with rows .* got list", lambda X, y: ArrayChunks([1, 2], y, 5)),
        ("ArrayChunks: X is empty", lambda X, y: ArrayChunks(X[:0], y[:0], 5)),
        ("ArrayChunks: sample_weight must have one weight per row of X \\(40\\); got shape \\(39,\\)",
         lambda X, y: ArrayChunks(X, y, 5, sample_weight=np.ones(39))),
        ("ArrayChunks: sample_weight must be an array; got list", lambda X, y: ArrayChunks(X, y, 5, sample_weight=[1.0] * 40)),
    ],
    ids=["rows", "lengths", "type", "empty", "weight rows", "weight type"],
)
def test_array_chunks_arguments(message):
    X, y = data(40)
    text, make = message
    with pytest.raises((TypeError, ValueError), match=text):
        make(X, y)


def test_array_chunks_indexing():
    X, y = data(25)
    chunks = ArrayChunks(X, y, 10)
    assert len(chunks) == 3 and chunks.chunk_rows() == [10, 10, 5]
    np.testing.assert_array_equal(chunks[-1][0], X[20:])
    assert np.shares_memory(chunks[1][0], X)
    with pytest.raises(IndexError, match="chunk 3 of 3"):
        chunks[3]


def test_non_finite_loss_in_a_chunk_stops_with_the_chunk_named():
    X, y = data(60)
    net = model(optimizer={"name": "sgd", "lr": 1e6}, metrics=[])
    with pytest.raises(NonFiniteLossError, match=r"at epoch \d+, batch \d+( of \d+)? \(chunk \d\)"):
        net.fit(lambda: iter(split(X * 1e3, y * 1e3, [20, 20])), batch_size=5, epochs=20, shuffle=False, verbose=0)
    assert all(np.isfinite(w).all() for w in net.get_weights())
    assert np.isfinite(net.epoch_losses).all()


# --- a memory-mapped file larger than a memory budget ----------------------------------------------------

_CHILD = textwrap.dedent(
    """
    import json, sys, threading, time
    import numpy as np
    import numbagrad as ng
    from numbagrad.train.chunks import ArrayChunks

    def anonymous_bytes():
        # RssAnon: resident memory that is not a file's (a file mapping's pages are RssFile).
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) * 1024

    def peak_during(work):
        peak, done = [anonymous_bytes()], threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], anonymous_bytes())
                time.sleep(0.002)

        thread = threading.Thread(target=sample)
        before = anonymous_bytes()
        thread.start()
        kept = work()
        done.set()
        thread.join()
        return max(peak[0], anonymous_bytes()) - before, kept

    X = np.load(sys.argv[1], mmap_mode="r")
    y = np.load(sys.argv[2], mmap_mode="r")
    net = ng.Sequential([ng.Dense(2, activation="relu"), ng.Dense(1)], input_dim=X.shape[1], dtype=np.float32)
    net.compile("sgd", "mse")
    net.fit(np.zeros((64, X.shape[1]), np.float32), np.zeros(64, np.float32), epochs=1, verbose=0)  # load the kernels
    whole, _ = peak_during(lambda: net.fit(X, y, batch_size=4096, epochs=1, verbose=0))
    chunks, _ = peak_during(lambda: net.fit(ArrayChunks(X, y, rows=1 << 16), batch_size=4096, epochs=1, verbose=0))
    copied, kept = peak_during(lambda: np.array(X))  # what loading the file would cost: the measure sees it
    print(json.dumps({"whole": whole, "chunks": chunks, "copied": copied, "loss": net.history.history["loss"][0]}))
    """
)


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux's /proc/self/status (RssAnon)")
def test_memory_mapped_file_several_times_larger_than_the_memory_budget(tmp_path):
    rows, columns = 1_000_000, 100  # float32: 400 MB
    budget = 100_000_000  # bytes of anonymous memory fit may add: a quarter of the file
    rng = np.random.default_rng(0)
    X = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=np.float32, shape=(rows, columns))
    weights = rng.normal(size=columns).astype(np.float32)
    y = np.lib.format.open_memmap(tmp_path / "y.npy", mode="w+", dtype=np.float32, shape=(rows,))
    for start in range(0, rows, 1 << 16):
        block = rng.standard_normal((min(1 << 16, rows - start), columns), dtype=np.float32)
        X[start : start + len(block)] = block
        y[start : start + len(block)] = block @ weights
    X.flush()
    y.flush()
    file_bytes = X.nbytes
    del X, y
    assert file_bytes >= 4 * budget
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(tmp_path / "X.npy"), str(tmp_path / "y.npy")],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    peaks = json.loads(result.stdout.strip().splitlines()[-1])
    assert peaks["copied"] >= 0.9 * file_bytes  # the measure does see a copy of the file
    assert peaks["whole"] < budget, peaks
    assert peaks["chunks"] < budget, peaks
    assert np.isfinite(peaks["loss"])
