"""Hyperparameter declarations: every kind, required ones, and every declaration error."""

from __future__ import annotations

import numpy as np
import pytest

from numbagrad.hyperparameters import REQUIRED, Hyperparameter, validate_hyperparameters
from numbagrad.optim import OptimizerSpec
from numbagrad.optim.sgd import SGD_SPEC

MILESTONES = Hyperparameter("milestones", REQUIRED, kind="ints", minimum=1, increasing=True)
WEIGHTS = Hyperparameter("weights", (0.5,), kind="floats", minimum=0.0, maximum=1.0)
STRATEGY = Hyperparameter("anneal_strategy", "cos", kind="choice", choices=("cos", "linear"))


def test_sequences_are_validated_element_by_element_and_become_tuples():
    assert MILESTONES.validate([10, 20, np.int64(30)], "owner") == (10, 20, 30)
    assert MILESTONES.validate(np.array([1, 5]), "owner") == (1, 5)
    assert MILESTONES.validate([], "owner") == ()
    assert WEIGHTS.validate((0, 1), "owner") == (0.0, 1.0)
    assert MILESTONES.allowed() == "a list of integers >= 1, strictly increasing"
    assert WEIGHTS.allowed() == "a list of finite numbers in [0, 1]"


@pytest.mark.parametrize(
    "declaration, value, error, message",
    [
        (MILESTONES, 10, TypeError, "owner: milestones must be a list of integers >= 1, strictly increasing; got 10"),
        (MILESTONES, "10, 20", TypeError, "owner: milestones must be a list of integers >= 1, strictly increasing; got '10, 20'"),
        (MILESTONES, np.ones((2, 2), dtype=int), TypeError, "got an array of shape (2, 2)"),
        (MILESTONES, [10, 2.5], TypeError, "owner: milestones[1] must be an integer >= 1; got 2.5"),
        (MILESTONES, [10, True], TypeError, "owner: milestones[1] must be an integer >= 1; got True of type bool"),
        (MILESTONES, [0, 10], ValueError, "owner: milestones[0] must be an integer >= 1; got 0"),
        (MILESTONES, [10, 10], ValueError, "owner: milestones must be strictly increasing; got [10, 10] (milestones[1] = 10 follows 10)"),
        (WEIGHTS, [0.5, float("nan")], ValueError, "owner: weights[1] must be a finite number in [0, 1]; got nan"),
        (STRATEGY, "cosine", ValueError, "owner: anneal_strategy must be one of 'cos', 'linear'; got 'cosine'"),
        (STRATEGY, 1, TypeError, "owner: anneal_strategy must be one of 'cos', 'linear'; got 1 of type int"),
    ],
)
def test_bad_values_name_the_argument_the_value_and_what_is_allowed(declaration, value, error, message):
    with pytest.raises(error) as raised:
        declaration.validate(value, "owner")
    assert str(raised.value) == message or message in str(raised.value)


def test_required_hyperparameter_must_be_given():
    with pytest.raises(TypeError, match=r"^schedule 'multistep': missing required hyperparameter 'milestones' \(a list of integers >= 1, strictly increasing\)$"):
        validate_hyperparameters([MILESTONES], {}, "schedule 'multistep'")
    assert validate_hyperparameters([MILESTONES], {"milestones": [3]}, "owner") == {"milestones": (3,)}
    assert MILESTONES.required and not WEIGHTS.required
    assert repr(REQUIRED) == "REQUIRED"


@pytest.mark.parametrize(
    "arguments, error, message",
    [
        ({"name": "2fast", "default": 1.0}, ValueError, "hyperparameter name must be a Python identifier; got '2fast'"),
        ({"name": "x", "default": 1.0, "kind": "list"}, ValueError, "hyperparameter 'x': kind must be one of"),
        ({"name": "x", "default": "a", "kind": "choice"}, ValueError, "choices must be given for kind 'choice' and only for it"),
        ({"name": "x", "default": 1.0, "choices": ("a",)}, ValueError, "choices must be given for kind 'choice' and only for it"),
        ({"name": "x", "default": "a", "kind": "choice", "choices": "ab"}, TypeError, "choices must be a tuple of strings; got 'ab'"),
        ({"name": "x", "default": 1.0, "increasing": True}, ValueError, "increasing applies to kinds 'floats' and 'ints'"),
        ({"name": "x", "default": 1.0, "minimum": 2.0, "maximum": 1.0}, ValueError, "minimum 2.0 is greater than maximum 1.0"),
    ],
)
def test_bad_declarations_are_refused(arguments, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        Hyperparameter(**arguments)


def test_kernels_cannot_read_lists_or_choices():
    with pytest.raises(TypeError, match="hyperparameter 'milestones' of kind 'ints' cannot be passed to a kernel; kernels read kinds float, int, bool, pair"):
        MILESTONES.encode((1, 2))
    spec = OptimizerSpec(name="listy", update=SGD_SPEC.update_kernel(), hyperparameters=SGD_SPEC.hyperparameters + (WEIGHTS,))
    with pytest.raises(ValueError, match="optimizer 'listy': hyperparameter 'weights' has kind 'floats'; an update kernel reads only kinds float, int, bool, pair"):
        spec.check_declaration()
    required = OptimizerSpec(name="needy", update=SGD_SPEC.update_kernel(), hyperparameters=(Hyperparameter("lr", REQUIRED),))
    with pytest.raises(ValueError, match="optimizer 'needy': hyperparameter 'lr' has no default; every optimizer hyperparameter needs one"):
        required.check_declaration()
