"""Tensor-wise optimizers: Adafactor and Muon against their references and torch.optim, the contract
for plugins (hand-written kernels with a group reduction), and a model's optimizers by role."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from numba import njit
from reference import tensorwise as reference

import numbagrad
from numbagrad import optim
from numbagrad.errors import PluginError
from numbagrad.nn.placement import tensor_views
from numbagrad.plugin import Hyperparameter, OptimizerSpec, StateSlot

SHAPES = {"adafactor": [(5, 7), (7,), (3, 4, 6), (1,), (6, 1)], "muon": [(5, 7), (9, 4), (6, 6), (1, 3)]}
OPTIONS = {
    "adafactor": [
        {},
        {"lr": 0.05, "weight_decay": 0.1, "d": 2.0},
        {"eps": (1e-20, 1e-2), "beta2_decay": -0.5, "maximize": True},
    ],
    "muon": [
        {},
        {"lr": 0.02, "nesterov": False, "adjust_lr_fn": "match_rms_adamw", "weight_decay": 0.0},
        {"momentum": 0.5, "ns_coefficients": (2.0, -1.5, 0.5), "ns_steps": 3, "eps": 1e-3, "adjust_lr_fn": "original", "matrix_layout": "in_out"},
    ],
}
CASES = [(name, options) for name in OPTIONS for options in OPTIONS[name]]
TOLERANCE = {np.float64: 1e-9, np.float32: 2e-4}


def run(name, options, dtype, steps=60, seed=0):
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(s).astype(dtype) for s in SHAPES[name]]
    grads = [[rng.standard_normal(s).astype(dtype) for s in SHAPES[name]] for _ in range(steps)]
    return params, grads


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name, options", CASES, ids=str)
def test_sixty_steps_follow_the_reference(name, options, dtype):
    params, grads = run(name, options, dtype)
    expected = [p.copy() for p in params]
    states = [getattr(reference, f"{name}_state")(p) for p in params]
    opt = optim.get(name, params, **options)
    for step, step_grads in enumerate(grads, start=1):
        opt.step(step_grads)
        for k, g in enumerate(step_grads):
            expected[k], states[k] = getattr(reference, name)(expected[k], g, states[k], step, **options)
    tolerance = TOLERANCE[dtype]
    saved = opt.state_dict()["state"]
    for k, (p, e) in enumerate(zip(params, expected)):
        scale = max(1.0, float(np.max(np.abs(e))))
        np.testing.assert_allclose(p / scale, e / scale, rtol=0, atol=tolerance, err_msg=f"{name} tensor {k}")
        assert sorted(saved[k]) == sorted(["step", *states[k]])
        for slot, value in states[k].items():
            assert saved[k][slot].shape == value.shape
            np.testing.assert_allclose(saved[k][slot], value, rtol=tolerance * 10, atol=tolerance * 1e-3, err_msg=slot)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name, options", CASES, ids=str)
def test_the_references_follow_torch_optim(name, options, dtype, monkeypatch):
    torch = pytest.importorskip("torch")
    if name == "muon":
        if "matrix_layout" in options:
            pytest.skip("torch.optim.Muon has no matrix_layout (its weights are (out, in))")
        from torch.optim import _muon

        # torch computes the iteration in bfloat16; the reference in the parameters' dtype.
        def iteration(grad, coefficients, steps, eps):
            return torch.from_numpy(reference.newton_schulz(grad.numpy(), coefficients, steps, eps))

        monkeypatch.setattr(_muon, "_zeropower_via_newtonschulz", iteration)
    params, grads = run(name, options, dtype, steps=20)
    tensors = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    opt = {"adafactor": torch.optim.Adafactor, "muon": torch.optim.Muon}[name](tensors, **options)
    states = [getattr(reference, f"{name}_state")(p) for p in params]
    for step, step_grads in enumerate(grads, start=1):
        for t, g in zip(tensors, step_grads):
            t.grad = torch.from_numpy(g.copy())
        opt.step()
        for k, g in enumerate(step_grads):
            params[k], states[k] = getattr(reference, name)(params[k], g, states[k], step, **options)
    for p, t in zip(params, tensors):
        scale = max(1.0, float(np.max(np.abs(p))))
        np.testing.assert_allclose(t.detach().numpy() / scale, p / scale, rtol=0, atol=TOLERANCE[dtype] / 10)


@pytest.mark.parametrize("name, options", CASES, ids=str)
def test_state_dict_resumes_exactly(name, options):
    params, grads = run(name, options, np.float64, steps=8)
    straight = [p.copy() for p in params]
    opt = optim.get(name, straight, **options)
    for g in grads:
        opt.step(g)
    first = optim.get(name, params, **options)
    for g in grads[:3]:
        first.step(g)
    saved = first.state_dict()
    second = optim.get(name, params, **options)
    second.load_state_dict(saved)
    for g in grads[3:]:
        second.step(g)
    for p, q in zip(straight, params):
        np.testing.assert_array_equal(p, q)


def test_muon_in_out_layout_is_torchs_update_of_the_transpose():
    rng = np.random.default_rng(3)
    w = rng.standard_normal((7, 3))
    transposed = np.ascontiguousarray(w.T)
    a, b = optim.Muon([w], matrix_layout="in_out"), optim.Muon([transposed])
    for _ in range(5):
        g = rng.standard_normal((7, 3))
        a.step([g])
        b.step([np.ascontiguousarray(g.T)])
    np.testing.assert_allclose(w, transposed.T, rtol=1e-12, atol=1e-14)


# --- errors -------------------------------------------------------------------------------------


def test_muon_refuses_what_is_not_a_matrix_before_anything_changes():
    with pytest.raises(ValueError, match=r"Muon: params\[1\] has shape \(4,\): Muon updates 2-D parameters .*'biases': 'adamw'"):
        optim.Muon([np.zeros((2, 2)), np.zeros(4)])
    model = numbagrad.Sequential([numbagrad.Dense(3)], input_dim=2)
    with pytest.raises(ValueError, match=r"compile: Muon: params\[1\] has shape \(3,\)"):
        model.compile("muon", "mse")
    assert model.training is None


@pytest.mark.parametrize(
    "name, options, message",
    [
        ("muon", {"ns_coefficients": (1.0, 2.0)}, r"ns_coefficients must be a list of 3 finite numbers; got 2 values"),
        ("muon", {"adjust_lr_fn": "rms"}, r"adjust_lr_fn must be one of None, 'original', 'match_rms_adamw'; got 'rms'"),
        ("muon", {"ns_steps": 100}, r"ns_steps must be an integer in \[0, 99\]; got 100"),
        ("muon", {"matrix_layout": "rows"}, r"matrix_layout must be one of 'out_in', 'in_out'"),
        ("adafactor", {"eps": (None, None)}, r"eps\[1\] must be a finite number >= 0 \(only eps\[0\] may be None\); got None"),
        ("adafactor", {"eps": (-1.0, 1e-3)}, r"eps\[0\] must be a finite number >= 0 or None; got -1.0"),
        ("adafactor", {"beta2_decay": 0.5}, r"beta2_decay must be a finite number <= 0; got 0.5"),
        ("adafactor", {"d": 0.5}, r"d must be a finite number >= 1; got 0.5"),
    ],
)
def test_hyperparameters_out_of_range(name, options, message):
    with pytest.raises((TypeError, ValueError), match=message):
        optim.get(name, [np.zeros((2, 2))], **options)


# --- a model's optimizers by role ----------------------------------------------------------------


def data(rows=48, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, 5))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int)


def network(bias=True):
    return numbagrad.Sequential(
        [numbagrad.Dense(6, activation="tanh", use_bias=bias), numbagrad.Dense(2, activation="softmax", use_bias=bias)],
        input_dim=5, dtype=np.float64, seed=2,
    )


def test_fit_by_role_is_two_optimizers_stepping_their_own_tensors():
    X, y = data()
    model = network()
    model.compile({"weights": {"name": "muon", "lr": 0.05}, "biases": {"name": "adam", "lr": 0.01}}, "sparse_categorical_crossentropy")
    assert {r: o.spec.name for r, o in model.training.optimizers.items()} == {"weights": "muon", "biases": "adam"}
    assert model.training.optimizer is model.training.optimizers["weights"]
    assert model.training.optimizers["weights"].param_groups[0]["matrix_layout"] == "in_out"
    reference_model = network()
    views = tensor_views(reference_model, reference_model.parameters)
    weights = optim.Muon([v for r, v in views if r == "weights"], lr=0.05, matrix_layout="in_out")
    biases = optim.Adam([v for r, v in views if r == "biases"], lr=0.01)
    model.fit(X, y, batch_size=16, epochs=2, verbose=0, seed=4)
    rng = np.random.default_rng(4)
    for _ in range(2):
        order = rng.permutation(len(X))
        for start in range(0, len(X), 16):
            rows = order[start : start + 16]
            _, grad = reference_model.value_and_grad(X[rows], y[rows], "sparse_categorical_crossentropy")
            grads = tensor_views(reference_model, grad)
            weights.step([g for r, g in grads if r == "weights"])
            biases.step([g for r, g in grads if r == "biases"])
    np.testing.assert_allclose(model.parameters, reference_model.parameters, rtol=1e-12, atol=1e-14)


def test_a_schedule_scales_each_roles_learning_rate_from_its_own():
    X, y = data()
    model = network()
    model.compile({"weights": {"name": "sgd", "lr": 0.2}, "biases": {"name": "sgd", "lr": 0.02}}, "sparse_categorical_crossentropy",
                  schedule={"name": "exponential", "gamma": 0.5, "per": "epoch"})
    model.fit(X, y, batch_size=48, epochs=2, verbose=0)
    lrs = {role: opt.param_groups[0]["lr"] for role, opt in model.training.optimizers.items()}
    assert lrs == pytest.approx({"weights": 0.1, "biases": 0.01})
    assert model.history.history["lr"] == pytest.approx([0.2, 0.1])


@pytest.mark.parametrize(
    "optimizer, bias, message",
    [
        ({"weights": "adam"}, True, r"must cover the model's weights and biases exactly; biases missing"),
        ({"weights": "adam", "biases": "adam"}, False, r"the model has no biases"),
        ({"weights": "adam", "kernels": "adam"}, True, r"neither a config dict \(it has no 'name'\) nor optimizers by role"),
        ({"weights": "lbfgs", "biases": "adam"}, True, r"LBFGS steps every parameter together"),
    ],
)
def test_roles_that_do_not_fit_the_model(optimizer, bias, message):
    model = network(bias)
    with pytest.raises(ValueError, match=message):
        model.compile(optimizer, "sparse_categorical_crossentropy")
    assert model.training is None


def test_one_optimizer_object_cannot_take_two_roles():
    opt = optim.Adam()
    with pytest.raises(ValueError, match="give each role its own optimizer object"):
        network().compile({"weights": opt, "biases": opt}, "mse")


def test_a_model_by_role_saves_and_resumes_bit_for_bit(tmp_path):
    X, y = data()
    model = network()
    model.compile({"weights": "adafactor", "biases": "rmsprop"}, "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(X, y, batch_size=16, epochs=1, verbose=0, seed=0)
    model.save(tmp_path / "roles.ngm")
    loaded = numbagrad.load_model(tmp_path / "roles.ngm")
    assert loaded.training.get_config() == model.training.get_config()
    model.fit(X, y, batch_size=16, epochs=1, verbose=0, seed=1)
    loaded.fit(X, y, batch_size=16, epochs=1, verbose=0, seed=1)
    np.testing.assert_array_equal(model.parameters, loaded.parameters)


def test_a_format_1_model_file_loads_and_resumes(tmp_path):
    """Files written before optimizers were bound per tensor held one flat array per slot."""
    X, y = data()
    model = network()
    model.compile({"name": "adam", "lr": 0.01}, "sparse_categorical_crossentropy")
    model.fit(X, y, batch_size=16, epochs=1, verbose=0, seed=0)
    model.save(tmp_path / "new.ngm")
    state = model.training.optimizer.state_dict()
    with zipfile.ZipFile(tmp_path / "new.ngm") as archive:
        metadata = json.loads(archive.read("numbagrad.json"))
        parameters = archive.read("parameters.npy")
    entries = state["state"]
    metadata["format_version"] = 1
    metadata["optimizer"] = {
        "name": "adam",
        "param_groups": [dict(metadata["optimizers"]["all"]["param_groups"][0], params=[0])],
        "scalars": {"step": entries[0]["step"]},
        "slots": ["exp_avg", "exp_avg_sq"],
    }
    del metadata["optimizers"]
    with zipfile.ZipFile(tmp_path / "old.ngm", "w") as archive:
        archive.writestr("numbagrad.json", json.dumps(metadata))
        archive.writestr("parameters.npy", parameters)
        for slot in ("exp_avg", "exp_avg_sq"):
            flat = np.concatenate([entries[i][slot].ravel() for i in range(len(entries))])
            import io

            buffer = io.BytesIO()
            np.save(buffer, flat)
            archive.writestr(f"optimizer/{slot}.npy", buffer.getvalue())
    old = numbagrad.load_model(tmp_path / "old.ngm")
    model.fit(X, y, batch_size=16, epochs=1, verbose=0, seed=1)
    old.fit(X, y, batch_size=16, epochs=1, verbose=0, seed=1)
    np.testing.assert_array_equal(model.parameters, old.parameters)


# --- the contract, as a plugin writes it -------------------------------------------------------


@njit(error_model="numpy", cache=False)
def group_norm_reduce(param, grad, state, hyper, step, shape, statistics, tensor):
    total = 0.0
    for i in range(grad.size):
        total += float(grad[i]) * float(grad[i])
    statistics[tensor, 0] = total


@njit(error_model="numpy", cache=False)
def group_norm_update(param, grad, state, hyper, step, shape, statistics, tensor):
    """Normalised SGD over a whole group: ``p -= lr g / ||g_group||``, and the tensor's column means of
    |g| in a state slot of shape (cols,) for matrices."""
    total = 0.0
    for row in range(statistics.shape[0]):
        total += statistics[row, 0]
    scale = param.dtype.type(hyper[0] / np.sqrt(total))
    for i in range(param.size):
        param[i] -= scale * grad[i]
    if shape.size == 2:
        g = grad.reshape((shape[0], shape[1]))
        for c in range(shape[1]):
            state[c] = np.mean(np.abs(g[:, c]))


GROUP_NORM = OptimizerSpec(
    name="group_norm_sgd",
    tensorwise=True,
    update=group_norm_update,
    reduce=group_norm_reduce,
    statistics=1,
    hyperparameters=(Hyperparameter("lr", 0.1, minimum=0.0),),
    state=(StateSlot("column_mean", shape=lambda s: s[-1:] if len(s) == 2 else None),),
)


def test_a_hand_written_tensor_wise_plugin_with_a_group_reduction(fresh_registry):
    name = optim.register(GROUP_NORM)
    try:
        a, b = np.ones((2, 3)), np.ones(4)
        ga, gb = np.full((2, 3), 2.0), np.full(4, 1.0)
        opt = optim.get("group_norm_sgd", [a, b], lr=0.5)
        opt.step([ga, gb])
        norm = np.sqrt(6 * 4.0 + 4 * 1.0)
        np.testing.assert_allclose(a, 1 - 0.5 * 2.0 / norm)
        np.testing.assert_allclose(b, 1 - 0.5 * 1.0 / norm)
        state = opt.state_dict()["state"]
        assert state[0]["column_mean"].shape == (3,) and "column_mean" not in state[1]
        model = network()
        model.compile({"name": "group_norm_sgd", "lr": 0.05}, "sparse_categorical_crossentropy")
        history = model.fit(*data(), epochs=5, verbose=0)
        assert history.history["loss"][-1] < history.history["loss"][0]
    finally:
        optim.unregister(name)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"tensorwise": False}, r"reduce, statistics belong to tensor-wise optimizers; declare tensorwise=True"),
        ({"statistics": 0}, r"a reduce kernel writes statistics: declare their width, statistics >= 1"),
        ({"statistics": -1}, r"statistics must be an integer >= 0"),
        ({"reduce_over": "layer"}, r"reduce_over must be 'tensor' or 'group'"),
        ({"cuda_reduce": "a.b:c"}, r"cuda_reduce needs a cuda_update beside it"),
        ({"state": (StateSlot("s", shape=(3,)),)}, r"state slot 's' declares a shape; only a tensor-wise optimizer's slots may"),
    ],
)
def test_bad_tensor_wise_declarations_are_refused(changes, message, fresh_registry):
    import dataclasses

    spec = dataclasses.replace(GROUP_NORM, name="bad_tensorwise", **changes)
    with pytest.raises(PluginError, match=message):
        optim.register(spec)


def test_a_slot_shape_function_that_returns_nonsense_is_named():
    spec = dataclasses_replace(GROUP_NORM, state=(StateSlot("s", shape=lambda s: "rows"),))
    with pytest.raises(ValueError, match=r"state slot 's': shape\(\(2, 2\)\) must return a tuple of sizes >= 0 or None; got 'rows'"):
        optim.Optimizer.from_spec(spec, [np.zeros((2, 2))])


def dataclasses_replace(spec, **changes):
    import dataclasses

    return dataclasses.replace(spec, **changes)


# --- mistakes in a rule, reported before anything compiles ------------------------------------


def _lars_like(**changes):
    from typing import NamedTuple

    class C(NamedTuple):
        lr: float

    def coefficients(param, step, lr):
        return C(lr)

    def reduce(p, grad, c):
        return p * p, grad * grad

    def rule(p, grad, c, totals):
        return p - c.lr * grad

    functions = {"coefficients": coefficients, "reduce": reduce, "rule": rule, **changes}
    return OptimizerSpec(
        name="probe_example", tensorwise=True, statistics=2, hyperparameters=(Hyperparameter("lr", 0.1, minimum=0.0),), **functions
    )


def test_a_rule_form_that_works_passes():
    from numbagrad.optim import check_kernels

    check_kernels(_lars_like())


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"reduce": lambda p, grad, c: p * p}, r"reduce\(p, grad, c\) must return a tuple of 2 numbers \(statistics=2\).*got 1.0"),
        ({"rule": lambda p, grad, c, totals: (p, grad)}, r"rule\(p, grad, c, totals\) must return the new p, a number; got"),
        ({"rule": lambda p, grad, c, totals: p - c.learning_rate * grad}, r"rule raised AttributeError: .*learning_rate"),
    ],
)
def test_mistakes_in_a_rule_are_named_before_compiling(changes, message, fresh_registry):
    with pytest.raises(PluginError, match=message):
        optim.register(_lars_like(**changes))
