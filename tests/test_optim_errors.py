"""Every documented optimizer error: its type, its message, and that nothing changed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from numbagrad import optim
from numbagrad.errors import UnknownNameError

BAD_HYPERPARAMETERS = [
    ("sgd", {"lr": -0.1}, ValueError, "lr must be a finite number >= 0; got -0.1"),
    ("sgd", {"lr": math.nan}, ValueError, "lr must be a finite number >= 0; got nan"),
    ("sgd", {"lr": math.inf}, ValueError, "lr must be a finite number >= 0; got inf"),
    ("sgd", {"lr": "0.1"}, TypeError, "lr must be a finite number >= 0; got '0.1'"),
    ("sgd", {"lr": True}, TypeError, "lr must be a finite number >= 0; got True"),
    ("sgd", {"momentum": -0.9}, ValueError, "momentum must be a finite number >= 0; got -0.9"),
    ("sgd", {"dampening": 1.5}, ValueError, "dampening must be a finite number in [0, 1]; got 1.5"),
    ("sgd", {"nesterov": True}, ValueError, "nesterov=True requires momentum > 0 and dampening == 0; got momentum=0.0"),
    ("sgd", {"nesterov": True, "momentum": 0.9, "dampening": 0.1}, ValueError, "dampening=0.1"),
    ("sgd", {"nesterov": 1}, TypeError, "nesterov must be True or False; got 1"),
    ("sgd", {"weight_decay": -1e-4}, ValueError, "weight_decay must be a finite number >= 0; got -0.0001"),
    ("adam", {"betas": (1.0, 0.999)}, ValueError, "betas[0] must be a finite number in [0, 1); got 1.0"),
    ("adam", {"betas": (0.9, -0.1)}, ValueError, "betas[1] must be a finite number in [0, 1); got -0.1"),
    ("adam", {"betas": (0.9, math.nan)}, ValueError, "betas[1] must be a finite number in [0, 1); got nan"),
    ("adam", {"betas": 0.9}, TypeError, "betas must be a pair of numbers"),
    ("adam", {"betas": (0.9, 0.99, 0.999)}, TypeError, "betas must be a pair of numbers"),
    ("adam", {"eps": 0.0}, ValueError, "eps must be a finite number > 0; got 0.0"),
    ("adam", {"eps": -1e-8}, ValueError, "eps must be a finite number > 0; got -1e-08"),
    ("adam", {"amsgrad": "yes"}, TypeError, "amsgrad must be True or False; got 'yes'"),
    ("adamw", {"weight_decay": -0.01}, ValueError, "weight_decay must be a finite number >= 0; got -0.01"),
    ("rmsprop", {"alpha": 1.01}, ValueError, "alpha must be a finite number in [0, 1]; got 1.01"),
    ("rmsprop", {"momentum": -0.5}, ValueError, "momentum must be a finite number >= 0; got -0.5"),
    ("adagrad", {"lr_decay": -1.0}, ValueError, "lr_decay must be a finite number >= 0; got -1.0"),
    ("adagrad", {"initial_accumulator_value": -0.1}, ValueError, "initial_accumulator_value must be a finite number >= 0"),
    ("adadelta", {"rho": 2.0}, ValueError, "rho must be a finite number in [0, 1]; got 2.0"),
    ("adamax", {"eps": 0}, ValueError, "eps must be a finite number > 0; got 0"),
    ("nadam", {"momentum_decay": -0.004}, ValueError, "momentum_decay must be a finite number >= 0; got -0.004"),
    ("radam", {"betas": (0.9, 1.0)}, ValueError, "betas[1] must be a finite number in [0, 1); got 1.0"),
    ("radam", {"decoupled_weight_decay": "no"}, TypeError, "decoupled_weight_decay must be True or False; got 'no'"),
    ("rprop", {"etas": (1.5, 1.2)}, ValueError, "etas must be (etaminus, etaplus) with 0 < etaminus < 1 < etaplus; got (1.5, 1.2)"),
    ("rprop", {"etas": (0.5, 0.9)}, ValueError, "0 < etaminus < 1 < etaplus; got (0.5, 0.9)"),
    ("rprop", {"etas": (0.0, 1.2)}, ValueError, "0 < etaminus < 1 < etaplus; got (0.0, 1.2)"),
    ("rprop", {"etas": (-0.5, 1.2)}, ValueError, "etas[0] must be a finite number >= 0; got -0.5"),
    ("rprop", {"step_sizes": (1.0, 0.1)}, ValueError, "step_sizes must be (minimum, maximum) with minimum <= maximum; got (1.0, 0.1)"),
    ("rprop", {"step_sizes": (1e-6, math.inf)}, ValueError, "step_sizes[1] must be a finite number >= 0; got inf"),
    ("asgd", {"lambd": -1e-4}, ValueError, "lambd must be a finite number >= 0; got -0.0001"),
    ("asgd", {"alpha": -0.75}, ValueError, "alpha must be a finite number >= 0; got -0.75"),
    ("asgd", {"t0": math.nan}, ValueError, "t0 must be a finite number >= 0; got nan"),
]


@pytest.mark.parametrize("name, options, error, message", BAD_HYPERPARAMETERS)
def test_bad_hyperparameter_names_argument_value_and_range(name, options, error, message):
    with pytest.raises(error) as raised:
        optim.get(name, [np.zeros(2)], **options)
    assert message in str(raised.value)
    assert str(raised.value).startswith(optim.get(name).title)


def test_unknown_keyword_suggests_the_closest():
    with pytest.raises(TypeError, match=r"Adam: unknown hyperparameter 'beta' \(did you mean 'betas'\?\); allowed: lr, betas"):
        optim.Adam([np.zeros(2)], beta=(0.9, 0.99))


def test_unknown_name_lists_available_and_suggests():
    with pytest.raises(UnknownNameError, match=r"unknown optimizer 'adan'\. Did you mean 'adam'.*Available optimizers: adadelta, adafactor, adagrad, adam"):
        optim.get("adan")
    assert issubclass(UnknownNameError, ValueError)


def test_optimizer_base_is_abstract():
    with pytest.raises(TypeError, match="Optimizer is abstract"):
        optim.Optimizer([np.zeros(2)])


# --- params --------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, error, message",
    [
        (np.zeros(3), TypeError, "params must be a list of arrays or of parameter-group dicts; got a single ndarray"),
        ([], ValueError, "params is empty"),
        ([[1.0, 2.0]], TypeError, "params[0] must be a NumPy array or a Tensor; got list"),
        ([np.zeros(3), 5], TypeError, "params[1] must be a NumPy array or a Tensor; got int"),
        ([np.zeros(3, dtype=np.int64)], TypeError, "params[0] has dtype int64; only float32 and float64"),
        ([np.zeros(3, dtype=np.float16)], TypeError, "params[0] has dtype float16"),
        ([np.zeros((4, 4))[:, 1]], ValueError, "params[0] is not C-contiguous"),
        ([{"params": [np.zeros(2)]}, np.zeros(2)], TypeError, "params mixes arrays and parameter-group dicts"),
        ([{"lr": 0.1}], ValueError, "parameter group 0 has no 'params' entry"),
        ([{"params": []}], ValueError, "parameter group 0 has an empty 'params' list"),
        ([{"params": [np.zeros(2)], "lr": -1}], ValueError, "SGD parameter group 0: lr must be a finite number >= 0; got -1"),
        ([{"params": [np.zeros(2)], "momentun": 0.9}], TypeError, "unknown hyperparameter 'momentun' (did you mean 'momentum'?)"),
    ],
)
def test_bad_params(params, error, message):
    with pytest.raises(error) as raised:
        optim.SGD(params)
    assert message in str(raised.value)


def test_read_only_params_are_rejected():
    w = np.zeros(3)
    w.flags.writeable = False
    with pytest.raises(ValueError, match=r"params\[0\] is read-only"):
        optim.SGD([w])


def test_params_sharing_memory_are_rejected():
    buffer = np.zeros(10)
    with pytest.raises(ValueError, match=r"params\[0\] and params\[1\] share memory"):
        optim.SGD([buffer[:6], buffer[4:]])
    with pytest.raises(ValueError, match=r"params\[0\] and params\[1\] share memory"):
        optim.SGD([buffer, buffer])
    optim.SGD([buffer[:5], buffer[5:]])  # disjoint views of one buffer are fine


def test_step_and_state_dict_need_parameters():
    opt = optim.Adam()
    with pytest.raises(RuntimeError, match=r"Adam has no parameters yet: pass params= or call bind\(\) first"):
        opt.step([np.zeros(2)])
    with pytest.raises(RuntimeError, match="nothing to save"):
        opt.state_dict()


def test_binding_twice_is_refused():
    opt = optim.Adam([np.zeros(2)])
    with pytest.raises(RuntimeError, match="Adam already optimizes 1 arrays"):
        opt.bind([np.zeros(2)])


# --- grads ---------------------------------------------------------------------


def _two_params():
    params = [np.ones(3), np.ones((2, 2), dtype=np.float32)]
    return params, optim.Adam(params, lr=0.1)


@pytest.mark.parametrize(
    "grads, error, message",
    [
        ([np.ones(3)], ValueError, "got 1 gradient arrays for 2 parameters"),
        ([np.ones(3), np.ones((2, 2), np.float32), np.ones(1)], ValueError, "got 3 gradient arrays for 2 parameters"),
        ([np.ones(3), np.ones(4, np.float32)], ValueError, "grads[1] has shape (4,); params[1] has shape (2, 2)"),
        ([np.ones(3), np.ones((2, 2))], TypeError, "grads[1] has dtype float64; params[1] has dtype float32"),
        ([np.ones(3), [[1.0, 1.0], [1.0, 1.0]]], TypeError, "grads[1] must be a NumPy array; got list"),
        ("grads", TypeError, "grads must be a list of arrays; got str"),
        (3.0, TypeError, "grads must be a list of arrays; got float"),
        (None, TypeError, "Adam.step() needs grads"),
    ],
)
def test_bad_grads_change_nothing(grads, error, message):
    params, opt = _two_params()
    opt.step([np.ones(3), np.ones((2, 2), np.float32)])
    before_params = [p.copy() for p in params]
    before_state = opt.state_dict()
    with pytest.raises(error) as raised:
        opt.step(grads)
    assert message in str(raised.value)
    for p, q in zip(params, before_params):
        np.testing.assert_array_equal(p, q)
    after_state = opt.state_dict()
    assert after_state["state"][0]["step"] == 1
    np.testing.assert_array_equal(after_state["state"][1]["exp_avg"], before_state["state"][1]["exp_avg"])


def test_non_contiguous_grads_are_accepted():
    w = np.zeros(3)
    opt = optim.SGD([w], lr=1.0)
    opt.step([np.ones((3, 2))[:, 0]])
    np.testing.assert_array_equal(w, -np.ones(3))


# --- changes between steps -------------------------------------------------------


def test_invalid_change_between_steps_is_caught_before_any_update():
    params = [np.ones(3), np.ones(2)]
    opt = optim.SGD([{"params": params[:1]}, {"params": params[1:]}], lr=0.1)
    opt.step([np.ones(3), np.ones(2)])
    opt.param_groups[1]["lr"] = -1.0
    with pytest.raises(ValueError, match="SGD parameter group 1: lr must be a finite number >= 0; got -1.0"):
        opt.step([np.ones(3), np.ones(2)])
    np.testing.assert_array_equal(params[0], np.full(3, 0.9))
    opt.param_groups[1]["lr"] = 0.1
    opt.step([np.ones(3), np.ones(2)])
    np.testing.assert_allclose(params[0], np.full(3, 0.8))


def test_changing_which_state_exists_after_stepping_is_refused():
    w = np.ones(3)
    opt = optim.Adam([w])
    opt.step([np.ones(3)])
    opt.param_groups[0]["amsgrad"] = True
    with pytest.raises(ValueError, match=r"slots exp_avg, exp_avg_sq -> exp_avg, exp_avg_sq, max_exp_avg_sq\) after 1 steps"):
        opt.step([np.ones(3)])
    opt.param_groups[0]["amsgrad"] = False
    opt.step([np.ones(3)])
    assert opt.steps == 2


# --- load_state_dict ---------------------------------------------------------------


def _stepped_adam():
    params = [np.ones(3), np.ones(2)]
    opt = optim.Adam(params)
    opt.step([np.ones(3), np.ones(2)])
    return opt


@pytest.mark.parametrize(
    "mutate, error, message",
    [
        (lambda s: "not a dict", TypeError, "expected a dict; got str"),
        (lambda s: {k: v for k, v in s.items() if k != "state"}, ValueError, "has no 'state' entry"),
        (lambda s: {**s, "optimizer": "sgd"}, ValueError, "belongs to optimizer 'sgd', not 'adam'"),
        (lambda s: {**s, "param_groups": s["param_groups"] * 2}, ValueError, "has 2 parameter groups; this optimizer has 1"),
        (lambda s: {**s, "param_groups": [{**s["param_groups"][0], "params": [0]}]}, ValueError, "param_groups[0] has 1 parameters"),
        (lambda s: {**s, "param_groups": [{**s["param_groups"][0], "lr": -1}]}, ValueError, "lr must be a finite number >= 0; got -1"),
        (lambda s: {**s, "state": {0: s["state"][0]}}, ValueError, "parameters [1] have no state while others of their group do"),
        (lambda s: {**s, "state": {**s["state"], 5: s["state"][0]}}, ValueError, "state key 5 is none of the parameter indices"),
        (lambda s: {**s, "param_groups": [{**s["param_groups"][0], "params": 2}]}, TypeError, "param_groups[0]['params'] must be a list of parameter indices; got 2"),
        (lambda s: {**s, "param_groups": [{**s["param_groups"][0], "params": [0, 0]}]}, ValueError, "param_groups[0]['params'] entry 0 appears twice"),
        (lambda s: {**s, "param_groups": [{**s["param_groups"][0], "params": [0, "x"]}]}, ValueError, "entry 'x' is not a parameter index"),
        (lambda s: {**s, "param_groups": [{**s["param_groups"][0], "lr": np.ones(2)}]}, TypeError, "parameter group 0: lr must be a finite number"),
        (lambda s: {**s, "state": {**s["state"], 1: {**s["state"][1], "exp_avg": np.array([np.nan, 0])}}}, ValueError, "state[1]['exp_avg'] holds NaN or infinity"),
        (lambda s: {**s, "state": {**s["state"], 1: {**s["state"][1], "exp_avg_sq": np.array([1.0, -1e-3])}}}, ValueError, "state[1]['exp_avg_sq'] holds -0.001, below 0.0"),
        (lambda s: {**s, "state": {**s["state"], 1: {**s["state"][1], "momentum": np.zeros(2)}}}, ValueError, "state[1] has 'momentum', which is no state of Adam"),
        (lambda s: {**s, "state": {**s["state"], 1: {**s["state"][1], "step": 7}}}, ValueError, "different step counts [1, 7]"),
        (lambda s: {**s, "state": {**s["state"], 1: {**s["state"][1], "step": -1}}}, ValueError, "['step'] must be an integer in [0, 2**63); got -1"),
        (lambda s: {**s, "state": {**s["state"], 1: {"step": 1, "exp_avg": np.zeros(2)}}}, ValueError, "state[1] has no 'exp_avg_sq'"),
        (lambda s: {**s, "state": {**s["state"], 1: {**s["state"][1], "exp_avg": np.zeros(3)}}}, ValueError, "state[1]['exp_avg'] has shape (3,); params[1] has shape (2,)"),
        (lambda s: {**s, "state": {**s["state"], 1: {**s["state"][1], "exp_avg": np.array(["a", "b"])}}}, TypeError, "expected numbers"),
    ],
)
def test_bad_state_dict_changes_nothing(mutate, error, message):
    opt = _stepped_adam()
    before = opt.state_dict()
    with pytest.raises(error) as raised:
        opt.load_state_dict(mutate(opt.state_dict()))
    assert message in str(raised.value)
    after = opt.state_dict()
    assert after["param_groups"] == before["param_groups"]
    for index in before["state"]:
        for key, value in before["state"][index].items():
            np.testing.assert_array_equal(after["state"][index][key], value)
