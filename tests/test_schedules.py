"""Every schedule against its formula and PyTorch's scheduler; combinators; every documented error."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from reference import schedules as reference

from numbagrad import schedules
from numbagrad.errors import PluginError, UnknownNameError
from numbagrad.hyperparameters import REQUIRED, Hyperparameter
from numbagrad.schedules import ScheduleSpec

STEPS = 200
LR = 0.1


def _lambda(factor):
    return lambda o, lr_scheduler: lr_scheduler.LambdaLR(o, factor)


# One table drives the tests: each schedule with hyperparameter sets that exercise
# every option, and the PyTorch scheduler with the same settings.
CASES = {
    "constant": [({}, _lambda(lambda t: 1.0))],
    "step": [
        ({"step_size": 7, "gamma": 0.5}, lambda o, L: L.StepLR(o, step_size=7, gamma=0.5)),
        ({"step_size": 30}, lambda o, L: L.StepLR(o, step_size=30)),
    ],
    "multistep": [
        ({"milestones": [10, 50, 120], "gamma": 0.3}, lambda o, L: L.MultiStepLR(o, milestones=[10, 50, 120], gamma=0.3)),
        ({"milestones": [1]}, lambda o, L: L.MultiStepLR(o, milestones=[1])),
    ],
    "exponential": [
        ({"gamma": 0.97}, lambda o, L: L.ExponentialLR(o, gamma=0.97)),
        ({"gamma": 0.5, "decay_steps": 10, "staircase": True}, lambda o, L: L.StepLR(o, step_size=10, gamma=0.5)),
        ({"gamma": 0.5, "decay_steps": 10}, _lambda(lambda t: 0.5 ** (t / 10))),
    ],
    "inverse_time": [
        ({"decay": 0.1}, _lambda(lambda t: 1 / (1 + 0.1 * t))),
        ({"decay": 0.5, "decay_steps": 10, "staircase": True}, _lambda(lambda t: 1 / (1 + 0.5 * (t // 10)))),
    ],
    "polynomial": [
        ({"total_steps": 150, "power": 2.0}, lambda o, L: L.PolynomialLR(o, total_iters=150, power=2.0)),
        ({"total_steps": 100}, lambda o, L: L.PolynomialLR(o, total_iters=100)),
        ({"total_steps": 100, "power": 0.5, "end_lr": 0.01}, _lambda(lambda t: ((LR - 0.01) * (1 - min(t, 100) / 100) ** 0.5 + 0.01) / LR)),
    ],
    "cosine": [
        ({"T_max": 50, "eta_min": 0.001}, lambda o, L: L.CosineAnnealingLR(o, T_max=50, eta_min=0.001)),
        ({"T_max": 200}, lambda o, L: L.CosineAnnealingLR(o, T_max=200)),
    ],
    "cosine_warm_restarts": [
        ({"T_0": 10, "T_mult": 2, "eta_min": 0.001}, lambda o, L: L.CosineAnnealingWarmRestarts(o, T_0=10, T_mult=2, eta_min=0.001)),
        ({"T_0": 7}, lambda o, L: L.CosineAnnealingWarmRestarts(o, T_0=7)),
        ({"T_0": 1, "T_mult": 3}, lambda o, L: L.CosineAnnealingWarmRestarts(o, T_0=1, T_mult=3)),
    ],
    "one_cycle": [
        ({"total_steps": STEPS}, lambda o, L: L.OneCycleLR(o, max_lr=LR, total_steps=STEPS, cycle_momentum=False)),
        (
            {"total_steps": STEPS, "pct_start": 0.25, "anneal_strategy": "linear", "three_phase": True},
            lambda o, L: L.OneCycleLR(o, max_lr=LR, total_steps=STEPS, pct_start=0.25, anneal_strategy="linear", three_phase=True, cycle_momentum=False),
        ),
        (
            {"total_steps": STEPS, "div_factor": 10.0, "final_div_factor": 100.0, "pct_start": 0.0},
            lambda o, L: L.OneCycleLR(o, max_lr=LR, total_steps=STEPS, div_factor=10.0, final_div_factor=100.0, pct_start=0.0, cycle_momentum=False),
        ),
    ],
}

PARAMETERS = [
    pytest.param(name, hyperparameters, factory, id=f"{name}-{i}")
    for name, cases in CASES.items()
    for i, (hyperparameters, factory) in enumerate(cases)
]


def torch_learning_rates(factory, lr, steps):
    """``get_last_lr()`` after 0, 1, ..., steps - 1 calls of ``scheduler.step()``."""
    torch = pytest.importorskip("torch")
    from torch.optim import lr_scheduler

    param = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=lr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SequentialLR's deprecation notices
        scheduler = factory(optimizer, lr_scheduler)
        rates = [scheduler.get_last_lr()[0]]
        for _ in range(steps - 1):
            optimizer.step()
            scheduler.step()
            rates.append(scheduler.get_last_lr()[0])
    return np.array(rates)


def test_every_builtin_schedule_is_covered(fresh_registry):
    assert set(CASES) == set(schedules.available())


@pytest.mark.parametrize("name, hyperparameters, factory", PARAMETERS)
def test_schedule_matches_its_formula(name, hyperparameters, factory):
    schedule = schedules.get(name, lr=LR, **hyperparameters)
    steps = np.concatenate([np.arange(STEPS), [1_000, 12_345, 10**6]])
    expected = [getattr(reference, name)(int(t), LR, **hyperparameters) for t in steps]
    np.testing.assert_allclose(schedule(steps), expected, rtol=1e-13, atol=1e-300)
    assert schedule(7) == pytest.approx(expected[7], rel=1e-13)


@pytest.mark.torch
@pytest.mark.parametrize("name, hyperparameters, factory", PARAMETERS)
def test_schedule_matches_torch(name, hyperparameters, factory):
    expected = torch_learning_rates(factory, LR, STEPS)
    np.testing.assert_allclose(schedules.get(name, lr=LR, **hyperparameters)(np.arange(STEPS)), expected, rtol=1e-12, atol=1e-17)


# --- combinators ---------------------------------------------------------------------


def test_warmup_matches_its_formula_and_torch_sequential_linear_lr():
    cosine = schedules.get("cosine", lr=LR, T_max=100)
    warm = schedules.warmup(cosine, warmup_steps=10, start_factor=0.1)
    steps = np.arange(STEPS)
    expected = [reference.warmup(int(t), lambda s: reference.cosine(s, LR, 100), 10, 0.1) for t in steps]
    np.testing.assert_allclose(warm(steps), expected, rtol=1e-13)
    assert warm(0) == pytest.approx(0.1 * LR) and warm(10) == LR
    if "torch" in sys.modules or _has_torch():
        torch_rates = torch_learning_rates(
            lambda o, L: L.SequentialLR(
                o, [L.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=10), L.CosineAnnealingLR(o, T_max=100)], milestones=[10]
            ),
            LR,
            STEPS,
        )
        np.testing.assert_allclose(warm(steps), torch_rates, rtol=1e-12)


def test_warmup_defaults_start_from_zero_and_zero_steps_change_nothing():
    constant = schedules.get("constant", lr=1.0)
    assert schedules.warmup(constant, 4)([0, 1, 2, 3, 4, 5]).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    cosine = schedules.get("cosine", lr=1.0, T_max=10)
    np.testing.assert_array_equal(schedules.warmup(cosine, 0)(np.arange(30)), cosine(np.arange(30)))


def test_join_counts_each_schedule_from_its_boundary_like_torch_sequential_lr():
    parts = [schedules.get("step", lr=LR, step_size=5), schedules.get("exponential", lr=LR, gamma=0.9), schedules.get("constant", lr=0.001)]
    joined = schedules.join(parts, boundaries=[30, 150])
    steps = np.arange(STEPS)
    expected = [
        reference.join(int(t), [lambda s: reference.step(s, LR, 5), lambda s: reference.exponential(s, LR, 0.9), lambda s: 0.001], [30, 150])
        for t in steps
    ]
    np.testing.assert_allclose(joined(steps), expected, rtol=1e-13)
    assert joined(30) == LR and joined(150) == 0.001
    if _has_torch():
        torch_rates = torch_learning_rates(
            lambda o, L: L.SequentialLR(o, [L.StepLR(o, step_size=5), L.ExponentialLR(o, gamma=0.9)], milestones=[30]), LR, STEPS
        )
        np.testing.assert_allclose(schedules.join(parts[:2], [30])(steps), torch_rates, rtol=1e-12)


def test_combinators_nest():
    cosine = schedules.get("cosine", T_max=90)
    plan = schedules.join([schedules.warmup(cosine, 10), schedules.get("constant", lr=0.0)], [100]).with_lr(1.0)
    assert plan([0, 5, 10, 55, 100, 150]).tolist() == pytest.approx([0.0, 0.5, 1.0, 0.5, 0.0, 0.0])
    assert repr(plan) == (
        "join([warmup(cosine(lr=1.0, T_max=90, eta_min=0.0), warmup_steps=10, start_factor=0.0), "
        "constant(lr=0.0)], boundaries=[100])"
    )


# --- calling, resolving, units ------------------------------------------------------------


def test_steps_may_be_an_integer_or_an_array_of_any_shape():
    schedule = schedules.get("step", lr=1.0, step_size=2, gamma=0.5)
    assert schedule(np.int32(3)) == 0.5 and isinstance(schedule(3), float)
    result = schedule(np.array([[0, 1, 2], [3, 4, 5]], dtype=np.uint16))
    assert result.shape == (2, 3) and result.dtype == np.float64
    assert result.tolist() == [[1.0, 1.0, 0.5], [0.5, 0.25, 0.25]]
    assert schedule(range(3)).tolist() == [1.0, 1.0, 0.5]
    assert schedule(np.array([], dtype=np.int64)).shape == (0,)
    assert schedule([]).shape == (0,)


@pytest.mark.parametrize(
    "step, error, message",
    [
        (-1, ValueError, "step must be an integer >= 0 or an array of them; got -1"),
        ([3, -2], ValueError, "step must be an integer >= 0 or an array of them; got -2"),
        (1.5, TypeError, "step must be an integer >= 0 or an array of them; got 1.5 of type float"),
        (True, TypeError, "step must be an integer >= 0 or an array of them; got True"),
        (np.array([0.0, 1.0]), TypeError, "step must be an integer >= 0 or an array of them; got an array of dtype float64"),
        ("3", TypeError, "step must be an integer >= 0 or an array of them; got '3' of type str"),
    ],
)
def test_bad_steps(step, error, message):
    schedule = schedules.get("cosine", lr=1.0, T_max=10)
    with pytest.raises(error) as raised:
        schedule(step)
    assert str(raised.value) == f"cosine(lr=1.0, T_max=10, eta_min=0.0): {message}"


def test_unresolved_schedule_names_the_fix_and_with_lr_resolves_it():
    schedule = schedules.get("cosine", T_max=10)
    assert schedule.lr is None and not schedule.resolved
    with pytest.raises(RuntimeError) as raised:
        schedule(0)
    assert str(raised.value) == (
        "schedule 'cosine' has no base learning rate (lr=None stands for the optimizer's): "
        "pass lr= to numbagrad.schedules.get('cosine', ...) or call .with_lr(lr) first"
    )
    resolved = schedule.with_lr(0.5)
    assert resolved.resolved and resolved(0) == 0.5 and schedule.lr is None
    assert schedules.get("cosine", lr=0.1, T_max=10).with_lr(0.5)(0) == 0.1, "a schedule given its own lr keeps it"


def test_unresolved_part_of_a_join_is_named():
    joined = schedules.join([schedules.get("constant", lr=1.0), schedules.warmup(schedules.get("constant"), 5)], [10])
    assert not joined.resolved
    with pytest.raises(RuntimeError, match=r"^join: schedules\[1\]: schedule 'constant' has no base learning rate"):
        joined(0)
    resolved = joined.with_lr(0.1)
    assert resolved.resolved and resolved([0, 10, 15]).tolist() == [1.0, 0.0, 0.1]


def test_per_is_step_or_epoch():
    assert schedules.get("constant", lr=1.0).per == "step"
    epochs = schedules.get("step", lr=1.0, step_size=30, per="epoch")
    assert epochs.per == "epoch" and schedules.warmup(epochs, 2).per == "epoch"
    assert repr(epochs) == "step(lr=1.0, step_size=30, gamma=0.1, per='epoch')"
    with pytest.raises(ValueError, match=r"^schedule 'constant': per must be one of 'step', 'epoch'; got 'batch'$"):
        schedules.get("constant", per="batch")
    with pytest.raises(ValueError, match=r"^join: every schedule must count the same unit; got schedules\[0\] per='step', schedules\[1\] per='epoch'$"):
        schedules.join([schedules.get("constant"), epochs], [5])


# --- errors --------------------------------------------------------------------------------

BAD_HYPERPARAMETERS = [
    ("step", {}, TypeError, "schedule 'step': missing required hyperparameter 'step_size' (an integer >= 1)"),
    ("step", {"step_size": 0}, ValueError, "schedule 'step': step_size must be an integer >= 1; got 0"),
    ("step", {"step_size": 2.5}, TypeError, "schedule 'step': step_size must be an integer >= 1; got 2.5"),
    ("step", {"step_size": 5, "gamma": 0}, ValueError, "schedule 'step': gamma must be a finite number > 0; got 0"),
    ("step", {"step_size": 5, "gama": 0.5}, TypeError, "schedule 'step': unknown hyperparameter 'gama' (did you mean 'gamma'?); allowed: step_size, gamma"),
    ("multistep", {"milestones": [30, 10]}, ValueError, "schedule 'multistep': milestones must be strictly increasing; got [30, 10] (milestones[1] = 10 follows 30)"),
    ("multistep", {"milestones": 30}, TypeError, "schedule 'multistep': milestones must be a list of integers >= 1, strictly increasing; got 30"),
    ("exponential", {"gamma": float("inf")}, ValueError, "schedule 'exponential': gamma must be a finite number > 0; got inf"),
    ("exponential", {"gamma": 0.9, "staircase": 1}, TypeError, "schedule 'exponential': staircase must be True or False; got 1"),
    ("inverse_time", {"decay": -0.1}, ValueError, "schedule 'inverse_time': decay must be a finite number >= 0; got -0.1"),
    ("polynomial", {"total_steps": 10, "power": -1}, ValueError, "schedule 'polynomial': power must be a finite number >= 0; got -1"),
    ("cosine", {}, TypeError, "schedule 'cosine': missing required hyperparameter 'T_max' (an integer >= 1)"),
    ("cosine", {"T_max": 10, "eta_min": -1e-3}, ValueError, "schedule 'cosine': eta_min must be a finite number >= 0; got -0.001"),
    ("cosine_warm_restarts", {"T_0": 10, "T_mult": 0}, ValueError, "schedule 'cosine_warm_restarts': T_mult must be an integer >= 1; got 0"),
    ("one_cycle", {"total_steps": 10, "pct_start": 1.5}, ValueError, "schedule 'one_cycle': pct_start must be a finite number in [0, 1]; got 1.5"),
    ("one_cycle", {"total_steps": 10, "anneal_strategy": "cosine"}, ValueError, "schedule 'one_cycle': anneal_strategy must be one of 'cos', 'linear'; got 'cosine'"),
    ("one_cycle", {"total_steps": 4, "pct_start": 0.25}, ValueError, "schedule 'one_cycle': pct_start * total_steps must not be 1 (the rise would take no steps); got pct_start=0.25, total_steps=4"),
    ("constant", {"lr": -0.1}, ValueError, "schedule 'constant': lr must be a finite number >= 0; got -0.1"),
    ("constant", {"lr": "0.1"}, TypeError, "schedule 'constant': lr must be a finite number >= 0; got '0.1' of type str"),
]


@pytest.mark.parametrize("name, options, error, message", BAD_HYPERPARAMETERS)
def test_bad_hyperparameters_name_the_argument_value_and_range(name, options, error, message):
    with pytest.raises(error) as raised:
        schedules.get(name, **options)
    assert str(raised.value) == message


def test_unknown_name_lists_available_and_suggests():
    with pytest.raises(UnknownNameError, match=r"^unknown schedule 'cosine_annealing'\. Did you mean 'cosine_warm_restarts' or 'cosine'\? Available schedules: constant, cosine, cosine_warm_restarts, exponential, inverse_time, multistep, one_cycle, polynomial, step$"):
        schedules.get("cosine_annealing")


def test_a_learning_rate_that_overflows_names_the_step():
    growing = schedules.get("exponential", lr=1.0, gamma=2.0)
    assert growing(1023) == 2.0**1023
    with pytest.raises(ValueError) as raised:
        growing([0, 1023, 1024, 2000])
    assert str(raised.value) == (
        "schedule 'exponential' with lr=1.0 and gamma=2.0, decay_steps=1, staircase=False gives the learning rate "
        "inf at step 1024; learning rates must be finite and >= 0"
    )


@pytest.mark.parametrize(
    "build, error, message",
    [
        (lambda c: schedules.warmup("cosine", 5), TypeError, "warmup: schedule must be a Schedule (from numbagrad.schedules.get, warmup or join); got 'cosine' of type str"),
        (lambda c: schedules.warmup(c, -1), ValueError, "warmup: warmup_steps must be an integer >= 0; got -1"),
        (lambda c: schedules.warmup(c, 5, start_factor=1.5), ValueError, "warmup: start_factor must be a finite number in [0, 1]; got 1.5"),
        (lambda c: schedules.join(c, []), TypeError, "join: schedules must be a list of Schedules; got cosine("),
        (lambda c: schedules.join([], []), ValueError, "join: schedules is empty; give at least one schedule"),
        (lambda c: schedules.join([c, 0.1], [5]), TypeError, "join: schedules[1] must be a Schedule (from numbagrad.schedules.get, warmup or join); got 0.1 of type float"),
        (lambda c: schedules.join([c, c], []), ValueError, "join: 2 schedules need 1 boundaries (one where each schedule after the first starts); got 0: []"),
        (lambda c: schedules.join([c, c, c], [20, 10]), ValueError, "join: boundaries must be strictly increasing; got [20, 10] (boundaries[1] = 10 follows 20)"),
        (lambda c: schedules.join([c, c], [0]), ValueError, "join: boundaries[0] must be an integer >= 1; got 0"),
    ],
)
def test_bad_combinator_arguments(build, error, message):
    cosine = schedules.get("cosine", lr=1.0, T_max=10)
    with pytest.raises(error) as raised:
        build(cosine)
    assert str(raised.value).startswith(message)


# --- declarations and registration -------------------------------------------------------------


def _linear(step, lr, total_steps):
    return lr * np.maximum(0.0, 1.0 - step / total_steps)


TOTAL = Hyperparameter("total_steps", REQUIRED, kind="int", minimum=1)


@pytest.mark.parametrize(
    "spec, error, message",
    [
        (ScheduleSpec(name="x", function="linear"), TypeError, "schedule 'x': function must be callable as function(step, lr, **hyperparameters); got 'linear'"),
        (ScheduleSpec(name="x", function=_linear, hyperparameters=(TOTAL,)), ValueError, "schedule 'x': required hyperparameter 'total_steps' needs a value in example="),
        (ScheduleSpec(name="x", function=_linear, hyperparameters=(TOTAL,), example={"total_steps": 0}), ValueError, "schedule 'x': example is invalid: schedule 'x': total_steps must be an integer >= 1; got 0"),
        (ScheduleSpec(name="x", function=_linear, hyperparameters=(Hyperparameter("lr", 1.0),)), ValueError, "schedule 'x': hyperparameter name 'lr' is reserved (lr, per, step)"),
        (ScheduleSpec(name="x", function=_linear, hyperparameters=(Hyperparameter("a", 1.0), Hyperparameter("a", 2.0))), ValueError, "schedule 'x': hyperparameter names ['a'] are declared twice"),
        (ScheduleSpec(name="x", function=_linear, hyperparameters=(Hyperparameter("a", -1.0, minimum=0.0),)), ValueError, "schedule 'x': a declared default is invalid: schedule 'x': a must be a finite number >= 0; got -1.0"),
        (ScheduleSpec(name="x", function=_linear, hyperparameters=("a",)), TypeError, "schedule 'x': hyperparameters must be Hyperparameter instances; got 'a'"),
        (ScheduleSpec(name="x", function=_linear, hyperparameters=(TOTAL,), example={"total_steps": 5}, presets={"y": {"total_steps": -5}}), ValueError, "schedule 'x': preset 'y' is invalid"),
    ],
)
def test_bad_declarations_name_the_schedule_and_the_problem(spec, error, message):
    with pytest.raises(error) as raised:
        spec.check_declaration()
    assert str(raised.value).startswith(message)


def test_check_kernels_evaluates_a_schedule_once():
    spec = ScheduleSpec(name="linear", function=_linear, hyperparameters=(TOTAL,), example={"total_steps": 100})
    schedules.check_kernels(spec)
    raising = ScheduleSpec(name="raising", function=lambda step, lr: float(step) * lr)
    with pytest.raises(TypeError, match=r"^schedule 'raising': function\(step, lr, \*\*hyperparameters\) raised TypeError: only 0-dimensional arrays can be converted"):
        schedules.check_kernels(raising)
    wrong_shape = ScheduleSpec(name="short", function=lambda step, lr: np.ones(3))
    with pytest.raises(TypeError, match=r"^schedule 'short': its function must return a float array of the steps' shape \(10,\); got an array of dtype float64 and shape \(3,\)$"):
        schedules.check_kernels(wrong_shape)


def test_register_a_schedule_in_code(fresh_registry):
    spec = ScheduleSpec(name="linear", title="Linear decay", function=_linear, hyperparameters=(TOTAL,), example={"total_steps": 10})
    name = schedules.register(spec)
    assert schedules.available()["linear"] == "<registered in code>"
    assert schedules.get("linear", lr=1.0, total_steps=4)([0, 2, 4, 8]).tolist() == [1.0, 0.5, 0.0, 0.0]
    with pytest.raises(PluginError, match="the schedule name 'linear' is already provided by plugin"):
        schedules.register(spec)
    schedules.unregister(name)
    assert "linear" not in schedules.available()


# --- plotting ----------------------------------------------------------------------------------


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "cosine.png"
    ax = schedules.warmup(schedules.get("cosine", lr=0.1, T_max=90), 10).plot(100, path=path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cosine.png"], "nothing left aside"
    assert ax.get_xlabel() == "step" and ax.get_ylabel() == "learning rate"
    line = ax.get_lines()[0]
    assert len(line.get_xdata()) == 100 and max(line.get_ydata()) == 0.1


def test_plot_draws_into_given_axes(tmp_path):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    ax = Figure().add_subplot()
    returned = schedules.get("step", lr=1.0, step_size=3, per="epoch").plot(np.arange(0, 20, 2), ax=ax)
    assert returned is ax and ax.get_xlabel() == "epoch"
    assert ax.get_lines()[0].get_xdata().tolist() == list(range(0, 20, 2))
    with pytest.raises(ValueError, match=r"plot: steps must be a number of steps >= 1 or an array of steps; got 0"):
        schedules.get("constant", lr=1.0).plot(0, ax=ax)


def test_plot_without_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"^Schedule.plot needs matplotlib, an optional dependency of numbagrad: pip install 'numbagrad\[plot\]'$"):
        schedules.get("constant", lr=1.0).plot(10)


def test_importing_schedules_does_not_import_matplotlib():
    code = "import numbagrad.schedules, sys; print('matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "False", result.stderr


def _has_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True
