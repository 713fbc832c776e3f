"""Every optimizer, with every option, against its documented update rule, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import awkward_arrays, gradients
from reference.optimizers import REFERENCE_STEPS

import numbagrad
from numbagrad import optim

# One table drives the tests: each optimizer with option sets that together
# exercise every option and both branches of lerp (weights below and above 0.5).
CASES = {
    "sgd": [
        {},
        {"momentum": 0.9},
        {"momentum": 0.9, "dampening": 0.1},
        {"momentum": 0.9, "nesterov": True},
        {"weight_decay": 0.01},
        {"momentum": 0.9, "weight_decay": 0.01, "maximize": True},
        {"lr": 0.05, "momentum": 0.5, "nesterov": True, "weight_decay": 0.1},
    ],
    "adam": [
        {},
        {"amsgrad": True},
        {"weight_decay": 0.1},
        {"weight_decay": 0.1, "decoupled_weight_decay": True},
        {"maximize": True},
        {"eps_hat": True},
        {"betas": (0.3, 0.8), "eps": 1e-3, "amsgrad": True, "weight_decay": 0.05, "eps_hat": True, "lr": 0.01},
    ],
    "adamw": [
        {},
        {"amsgrad": True},
        {"weight_decay": 0.0},
        {"maximize": True, "eps_hat": True},
        {"betas": (0.2, 0.5), "lr": 0.01},
    ],
    "rmsprop": [
        {},
        {"centered": True},
        {"momentum": 0.9},
        {"momentum": 0.9, "centered": True},
        {"weight_decay": 0.01},
        {"maximize": True},
        {"eps_inside_sqrt": True},
        {"centered": True, "eps_inside_sqrt": True, "momentum": 0.5, "alpha": 0.3},
    ],
    "adagrad": [
        {},
        {"lr_decay": 0.1},
        {"weight_decay": 0.01},
        {"initial_accumulator_value": 0.5},
        {"eps_inside_sqrt": True},
        {"maximize": True, "eps": 1e-3},
    ],
    "adadelta": [
        {},
        {"rho": 0.5},
        {"weight_decay": 0.01},
        {"maximize": True},
        {"eps": 1e-3, "lr": 0.5},
    ],
    "adamax": [
        {},
        {"weight_decay": 0.01},
        {"maximize": True},
        {"betas": (0.3, 0.5)},
        {"eps": 1e-3},
    ],
    "nadam": [
        {},
        {"weight_decay": 0.01},
        {"weight_decay": 0.01, "decoupled_weight_decay": True},
        {"maximize": True},
        {"momentum_decay": 0.1},
        {"betas": (0.3, 0.5)},
    ],
    "radam": [
        {},
        {"weight_decay": 0.1},
        {"weight_decay": 0.1, "decoupled_weight_decay": True},
        {"maximize": True},
        {"betas": (0.3, 0.5), "eps": 1e-3},
        {"betas": (0.9, 0.5)},  # rho_t > 5 from the start
    ],
    "rprop": [
        {},
        {"etas": (0.3, 1.5)},
        {"step_sizes": (1e-3, 0.05)},
        {"maximize": True},
        {"lr": 0.1, "etas": (0.9, 1.01)},
    ],
    "asgd": [
        {},
        {"t0": 5},
        {"t0": 0, "lambd": 0.1, "alpha": 0.5},
        {"weight_decay": 0.1},
        {"maximize": True, "lr": 0.05, "t0": 3},
    ],
}

PARAMETRIZED = [
    pytest.param(name, options, id=f"{name}-{'-'.join(f'{k}={v}' for k, v in options.items()) or 'defaults'}")
    for name, cases in CASES.items()
    for options in cases
]
DTYPES = [np.float32, np.float64]
STEPS = 20


def test_table_covers_every_builtin_optimizer():
    # (Closure and tensor-wise optimizers have their own tests: test_lbfgs.py, test_tensorwise.py.)
    builtin = {
        name for name, source in optim.available().items()
        if source == "numbagrad" and not optim.get(name).spec.closure and not optim.get(name).spec.tensorwise
    }
    presets = {"momentum", "nesterov", "amsgrad"}
    assert builtin - presets == set(CASES)


def test_table_covers_every_option():
    for name, cases in CASES.items():
        used = {key for options in cases for key in options}
        declared = set(optim.get(name).defaults)
        assert declared - used <= {"lr", "betas", "eps", "weight_decay", "alpha", "rho"}, name


def run_against_reference(name, options, dtype, steps=STEPS, params=None):
    params = params if params is not None else awkward_arrays(dtype)
    reference = [p.copy() for p in params]
    states = [{} for _ in params]
    opt = optim.get(name, params, **options)
    h = opt.param_groups[0]
    for t in range(1, steps + 1):
        grads = gradients(params, t)
        opt.step(grads)
        for p, g, state in zip(reference, grads, states):
            REFERENCE_STEPS[name](p, g, state, h, t)
        for i, (got, expected) in enumerate(zip(params, reference)):
            np.testing.assert_array_equal(got, expected, err_msg=f"{name} {options} step {t} params[{i}]")
    return opt, params, states


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, options", PARAMETRIZED)
def test_matches_reference_bit_for_bit(name, options, dtype):
    opt, params, states = run_against_reference(name, options, dtype)
    saved = opt.state_dict()["state"]
    for i, state in enumerate(states):
        assert saved[i]["step"] == STEPS
        for slot, value in state.items():
            if isinstance(value, np.ndarray):
                np.testing.assert_array_equal(saved[i][slot], value, err_msg=f"{name} state {slot}")
            else:
                assert saved[i][slot] == value


@pytest.mark.parametrize("name, options", [p for p in PARAMETRIZED if not p.values[1] or len(p.values[1]) > 2])
def test_parallel_chunks_match_reference(name, options, tiny_chunks):
    """Chunks of 4 elements over many threads: same bits as the serial rule."""
    run_against_reference(name, options, np.float64, steps=5)
    run_against_reference(name, options, np.float32, steps=5, params=[np.linspace(-1, 1, 37, dtype=np.float32)])


@pytest.mark.parametrize("name", sorted(CASES))
def test_single_flat_array_matches_reference(name):
    run_against_reference(name, {}, np.float64, steps=5, params=[np.linspace(-2, 2, 101)])


def test_parameter_groups_use_their_own_hyperparameters():
    weights = awkward_arrays(np.float64, seed=1, shapes=((4, 3), (5,)))
    biases = awkward_arrays(np.float64, seed=2, shapes=((3,), (1,)))
    opt = optim.Adam(
        [{"params": weights, "weight_decay": 0.1}, {"params": biases, "lr": 0.01}],
        lr=0.003,
    )
    assert opt.param_groups[0]["lr"] == 0.003 and opt.param_groups[0]["weight_decay"] == 0.1
    assert opt.param_groups[1]["lr"] == 0.01 and opt.param_groups[1]["weight_decay"] == 0.0
    params = weights + biases
    reference = [p.copy() for p in params]
    states = [{} for _ in params]
    hyper = [opt.param_groups[0]] * 2 + [opt.param_groups[1]] * 2
    for t in range(1, 11):
        grads = gradients(params, t)
        opt.step(grads)
        for p, g, s, h in zip(reference, grads, states, hyper):
            REFERENCE_STEPS["adam"](p, g, s, h, t)
    for got, expected in zip(params, reference):
        np.testing.assert_array_equal(got, expected)


def test_mixed_dtypes_in_one_group():
    params = [np.linspace(-1, 1, 9, dtype=np.float32), np.linspace(-1, 1, 5), np.ones(3, np.float32)]
    reference = [p.copy() for p in params]
    states = [{} for _ in params]
    opt = optim.RMSprop(params, lr=0.01, momentum=0.9, centered=True)
    for t in range(1, 8):
        grads = gradients(params, t)
        opt.step(grads)
        for p, g, s in zip(reference, grads, states):
            REFERENCE_STEPS["rmsprop"](p, g, s, opt.param_groups[0], t)
    for got, expected in zip(params, reference):
        np.testing.assert_array_equal(got, expected)
    assert [opt.state_dict()["state"][i]["square_avg"].dtype for i in range(3)] == [np.float32, np.float64, np.float32]


def test_learning_rate_changes_between_steps():
    params = awkward_arrays(np.float64)
    reference = [p.copy() for p in params]
    states = [{} for _ in params]
    opt = optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True)
    for t in range(1, 11):
        opt.param_groups[0]["lr"] = 0.1 / t
        grads = gradients(params, t)
        opt.step(grads)
        for p, g, s in zip(reference, grads, states):
            REFERENCE_STEPS["sgd"](p, g, s, opt.param_groups[0], t)
    for got, expected in zip(params, reference):
        np.testing.assert_array_equal(got, expected)


def test_options_may_change_before_the_first_step():
    params = [np.linspace(-1, 1, 5)]
    opt = optim.Adagrad(params)
    opt.param_groups[0]["initial_accumulator_value"] = 0.5
    opt.param_groups[0]["eps_inside_sqrt"] = True
    opt.step(gradients(params, 1))
    reference = np.linspace(-1, 1, 5)
    REFERENCE_STEPS["adagrad"](reference, gradients([reference], 1)[0], {}, opt.param_groups[0], 1)
    np.testing.assert_array_equal(params[0], reference)


@pytest.mark.parametrize("name, options", PARAMETRIZED)
def test_state_dict_round_trip_continues_bit_identically(name, options):
    uninterrupted = awkward_arrays(np.float64, seed=3)
    resumed = [p.copy() for p in uninterrupted]
    first = optim.get(name, uninterrupted, **options)
    for t in range(1, 6):
        first.step(gradients(uninterrupted, t))
    saved = first.state_dict()
    second_params = [p.copy() for p in uninterrupted]
    second = optim.get(name, second_params, **options)
    second.load_state_dict(saved)
    for t in range(6, 11):
        first.step(gradients(uninterrupted, t))
        second.step(gradients(second_params, t))
    for a, b in zip(uninterrupted, second_params):
        np.testing.assert_array_equal(a, b)
    del resumed


def test_state_dict_is_plain_data_and_a_copy():
    params = awkward_arrays(np.float32, shapes=((2, 3),))
    opt = optim.NAdam(params)
    opt.step(gradients(params, 1))
    saved = opt.state_dict()

    def check(value):
        if isinstance(value, dict):
            for k, v in value.items():
                assert isinstance(k, (str, int))
                check(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                check(v)
        else:
            assert isinstance(value, (int, float, bool, str, np.ndarray)), type(value)

    check(saved)
    assert saved["optimizer"] == "nadam"
    assert saved["state"][0]["exp_avg"].shape == (2, 3)
    assert saved["state"][0]["mu_product"] == pytest.approx(0.9 * (1 - 0.5 * 0.96**0.004))
    before = saved["state"][0]["exp_avg"].copy()
    opt.step(gradients(params, 2))
    np.testing.assert_array_equal(saved["state"][0]["exp_avg"], before)


def test_old_state_dict_without_new_options_loads_with_defaults():
    params = [np.ones(4)]
    opt = optim.Adam(params)
    opt.step([np.ones(4)])
    saved = opt.state_dict()
    for group in saved["param_groups"]:
        del group["eps_hat"], group["decoupled_weight_decay"]
    fresh = optim.Adam([np.ones(4)])
    fresh.load_state_dict(saved)
    assert fresh.param_groups[0]["eps_hat"] is False
    assert fresh.steps == 1


def test_get_is_case_insensitive_and_presets_set_options():
    w = [np.zeros(2)]
    assert isinstance(optim.get("ADAM", w), optim.Adam)
    amsgrad = optim.get("AMSGrad", [np.zeros(2)])
    assert isinstance(amsgrad, optim.Adam) and amsgrad.defaults["amsgrad"] is True
    nesterov = optim.get("nesterov", [np.zeros(2)], lr=0.5)
    assert nesterov.defaults["nesterov"] is True and nesterov.defaults["momentum"] == 0.9
    assert nesterov.defaults["lr"] == 0.5
    momentum = optim.get("momentum", momentum=0.5)
    assert isinstance(momentum, optim.SGD) and momentum.defaults["momentum"] == 0.5 and not momentum.bound


def test_available_lists_names_with_their_source():
    names = optim.available()
    for name in ["sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta", "adamax", "nadam", "amsgrad", "momentum", "nesterov"]:
        assert names[name] == "numbagrad"
    assert list(names) == sorted(names)


def test_defaults_follow_pytorch():
    expected = {
        "sgd": {"lr": 1e-3, "momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False},
        "adam": {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False},
        "adamw": {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 1e-2, "amsgrad": False},
        "rmsprop": {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0, "momentum": 0.0, "centered": False},
        "adagrad": {"lr": 1e-2, "lr_decay": 0.0, "weight_decay": 0.0, "initial_accumulator_value": 0.0, "eps": 1e-10},
        "adadelta": {"lr": 1.0, "rho": 0.9, "eps": 1e-6, "weight_decay": 0.0},
        "adamax": {"lr": 2e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0},
        "nadam": {"lr": 2e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "momentum_decay": 4e-3},
    }
    for name, values in expected.items():
        defaults = optim.get(name).defaults
        assert defaults["maximize"] is False
        for key, value in values.items():
            assert defaults[key] == value, (name, key)


def test_signature_lists_hyperparameters_for_help():
    import inspect

    signature = inspect.signature(optim.Adam)
    assert list(signature.parameters)[:3] == ["params", "lr", "betas"]
    assert signature.parameters["eps"].default == 1e-8


def test_repr_names_the_optimizer_and_its_options():
    text = repr(optim.SGD(lr=0.1))
    assert text.startswith("SGD(lr=0.1") and "unbound" in text


def test_tensor_like_params_read_their_grad():
    class Holder:
        def __init__(self, data):
            self.data = data
            self.grad = None
            self.requires_grad = True

    holder = Holder(np.ones(3))
    opt = optim.SGD([holder], lr=0.5)
    holder.grad = np.full(3, 2.0)
    opt.step()
    np.testing.assert_array_equal(holder.data, np.zeros(3))
    opt.zero_grad()
    assert holder.grad is None


def test_package_version_is_exposed():
    assert numbagrad.__version__.count(".") == 2
