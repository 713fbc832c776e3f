"""How many threads run a fit: the same numbers on any count, the count chosen from how busy the
cores are (numbagrad.threads.ThreadTuner, driven here by a simulated clock), and fit's threads=."""

from __future__ import annotations

import numba
import numpy as np
import pytest

import numbagrad as ng
from numbagrad import threads as T
from numbagrad.threads import ThreadTuner

POOL = numba.config.NUMBA_NUM_THREADS
needs_two = pytest.mark.skipif(POOL < 2, reason="Numba's pool has one thread here")


class Clock:
    """``(wall seconds, this process's CPU seconds, busy core-seconds of the machine)`` advanced by hand."""

    def __init__(self, readable: bool = True):
        self.wall = self.cpu = self.busy = 0.0
        self.readable = readable

    def __call__(self):
        return self.wall, self.cpu, (self.busy if self.readable else None)

    def run(self, seconds: float, ours: float, others: float) -> None:
        """``seconds`` pass with this process on ``ours`` cores and other work on ``others``."""
        self.wall += seconds
        self.cpu += ours * seconds
        self.busy += (ours + others) * seconds


def segment(tuner: ThreadTuner, clock: Clock, seconds: float, others: float) -> int:
    """One segment on the tuner's count; returns the count it ran on."""
    count = tuner.threads
    tuner.begin()
    clock.run(seconds, ours=count, others=others)
    tuner.end()
    return count


@pytest.fixture
def quiet(monkeypatch):
    monkeypatch.setattr(T, "running_tasks", lambda: 1)


def test_the_candidates_halve_down_to_one(quiet):
    assert ThreadTuner(8, cores=8, clock=Clock()).counts == [8, 4, 2, 1]
    assert ThreadTuner(6, cores=6, clock=Clock()).counts == [6, 3, 1]
    assert ThreadTuner(1, cores=1, clock=Clock()).counts == [1]
    with pytest.raises(ValueError, match="most must be >= 1; got 0"):
        ThreadTuner(0)


def test_a_quiet_machine_keeps_every_thread(quiet):
    clock = Clock()
    tuner = ThreadTuner(2, cores=2, clock=clock)
    assert [segment(tuner, clock, 0.2, others=0.1) for _ in range(20)] == [2] * 20


def test_busy_cores_move_the_fit_to_the_threads_left_and_back(quiet):
    clock = Clock()
    tuner = ThreadTuner(8, cores=8, clock=clock)
    segment(tuner, clock, 0.2, others=5.0)  # 3 cores free: 2 threads of the candidates 8, 4, 2, 1
    assert tuner.threads == 2 and tuner.others == pytest.approx(5.0)
    segment(tuner, clock, 0.2, others=7.5)
    assert tuner.threads == 1
    # More threads only after two windows in a row say so; fewer at once.
    segment(tuner, clock, 0.2, others=0.0)
    assert tuner.threads == 1
    segment(tuner, clock, 0.2, others=0.0)
    assert tuner.threads == 8
    segment(tuner, clock, 0.2, others=4.0)
    assert tuner.threads == 4


def test_the_loaded_two_core_machine_runs_on_one_thread(quiet):
    """The measured case: two other processes on two cores. Our process's own spinning threads
    are its CPU time, not other work."""
    clock = Clock()
    tuner = ThreadTuner(2, cores=2, clock=clock)
    counts = []
    for _ in range(10):
        count = tuner.threads
        tuner.begin()
        clock.wall += 0.2
        clock.cpu += 0.2 * 0.9  # the process gets under half of the two cores
        clock.busy += 0.2 * 2.0  # the cores never idle
        tuner.end()
        counts.append(count)
    assert counts == [2] + [1] * 9


def test_short_segments_add_up_to_one_window(quiet):
    clock = Clock()
    tuner = ThreadTuner(2, cores=2, clock=clock)
    for _ in range(4):
        segment(tuner, clock, 0.02, others=2.0)  # 0.08 s: no measurement yet
    assert tuner.threads == 2
    segment(tuner, clock, 0.02, others=2.0)
    assert tuner.threads == 1


def test_the_first_guess_is_the_tasks_running_at_the_start(monkeypatch):
    monkeypatch.setattr(T, "running_tasks", lambda: 4)  # this process's 2 threads and 2 others
    assert ThreadTuner(2, cores=2, clock=Clock()).threads == 1
    monkeypatch.setattr(T, "running_tasks", lambda: 2)
    assert ThreadTuner(2, cores=2, clock=Clock()).threads == 2
    monkeypatch.setattr(T, "running_tasks", lambda: None)
    assert ThreadTuner(2, cores=2, clock=Clock()).threads == 2


def test_without_the_busy_time_the_count_stays(quiet):
    clock = Clock(readable=False)
    tuner = ThreadTuner(2, cores=2, clock=clock)
    assert [segment(tuner, clock, 0.2, others=2.0) for _ in range(5)] == [2] * 5


def test_the_machine_readings():
    busy = T.busy_core_seconds()
    running = T.running_tasks()
    if busy is None:  # not Linux
        assert running is None
        return
    assert busy > 0 and running >= 1
    assert T.busy_core_seconds(frozenset()) == 0.0


# --- fit -------------------------------------------------------------------------------------


def network(dtype: str) -> ng.Sequential:
    net = ng.Sequential(
        [ng.Dense(256, activation="relu"), ng.Dense(128, activation="tanh"), ng.Dense(3, activation="softmax")],
        input_dim=40, seed=0, dtype=dtype,
    )
    return net.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"], clip_norm=1.0)


def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 40))
    return X, (X[:, :3].sum(axis=1) > 0).astype(np.int64) + (X[:, 3] > 1)


@needs_two
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_thread_count_changes_no_number(dtype, monkeypatch):
    """The products and the gradient norm are split by the pool's size, not by the count running
    them: a fit on one thread, on two, and one whose count changes every segment agree bit for bit."""
    X, y = data()
    fits = {}
    for threads in (1, 2, None):
        net = network(dtype)
        fits[threads] = (net.fit(X, y, batch_size=64, epochs=2, seed=1, verbose=0, threads=threads).history, net.parameters.copy())
    monkeypatch.setattr(T.ThreadTuner, "WINDOW", 0.0)  # a measurement after every segment
    flips = iter([1, 2] * 1000)
    monkeypatch.setattr(T.ThreadTuner, "end", lambda self: setattr(self, "threads", next(flips)))
    net = network(dtype)
    fits["changing"] = (net.fit(X, y, batch_size=64, epochs=2, seed=1, verbose=0).history, net.parameters.copy())
    for key, (history, parameters) in fits.items():
        np.testing.assert_array_equal(parameters, fits[1][1], err_msg=str(key))
        assert history == fits[1][0]


@needs_two
def test_fit_runs_its_segments_on_the_count_the_tuner_chooses(monkeypatch):
    """On a machine whose cores are all busy with other work, fit moves to one thread."""
    counts = []
    real = numba.set_num_threads
    monkeypatch.setattr(numba, "set_num_threads", lambda n: (counts.append(n), real(n)))
    monkeypatch.setattr(T, "running_tasks", lambda: 1)
    clock = Clock()

    def loaded():  # each reading: 0.2 s more, this process on 0.9 of a core, the cores always busy
        clock.wall += 0.2
        clock.cpu += 0.18
        clock.busy += 0.4
        return clock()

    monkeypatch.setattr(T, "_clock", loaded)
    X, y = data()
    net = network("float64")
    net.fit(X, y, batch_size=8, epochs=4, verbose=0)  # a segment per epoch: this fit is short
    assert counts[0] == 2 and counts[-1] == numba.get_num_threads()  # restored at the end
    assert counts[1:-1] == [1, 1, 1]


def test_fit_threads_fixes_the_count_and_restores_numbas(monkeypatch):
    counts = []
    real = numba.set_num_threads
    monkeypatch.setattr(numba, "set_num_threads", lambda n: (counts.append(n), real(n)))
    X, y = data()
    before = numba.get_num_threads()
    network("float64").fit(X, y, epochs=1, verbose=0, threads=1)
    assert counts == [1, before] and numba.get_num_threads() == before


@pytest.mark.parametrize("value, message", [
    (0, "fit: threads must be an integer >= 1; got 0"),
    (POOL + 1, f"fit: threads must be at most {POOL} (Numba's threads here, NUMBA_NUM_THREADS), or None"),
    ("2", "fit: threads must be an integer >= 1; got '2'"),
    (True, "fit: threads must be an integer >= 1; got True"),
    (1.5, "fit: threads must be an integer >= 1; got 1.5"),
])
def test_fit_checks_threads_before_training(value, message):
    X, y = data()
    net = network("float64")
    before = net.parameters.copy()
    with pytest.raises((TypeError, ValueError)) as raised:
        net.fit(X, y, epochs=1, verbose=0, threads=value)
    assert message in str(raised.value)
    np.testing.assert_array_equal(net.parameters, before)
    assert net.epoch == 0
