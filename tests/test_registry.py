"""The plugin registry, with fake installed distributions.

``importlib.metadata.entry_points`` is replaced by a function returning
entry-point objects whose distribution, name, value and ``load()`` each test
controls (as pluggy's own tests fake distributions), so nothing here depends
on which plugins happen to be installed.
"""

from __future__ import annotations

import warnings

import importlib.metadata
import threading
import time
import types
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pytest
from numba import njit

import numbagrad
from numbagrad import cli, optim, schedules
from numbagrad.errors import PluginError, PluginWarning, UnknownNameError
from numbagrad.plugin import Hyperparameter, OptimizerSpec, ScheduleSpec, hookimpl
from numbagrad.registry import BUILTIN_SOURCE, CODE_SOURCE, KINDS, get_registry

# --- components the fake plugins declare ------------------------------------------


@njit(cache=True, error_model="numpy")
def sign_sgd_update(param, grad, state, hyper, step, start, stop):
    """p = p - lr * sign(g)."""
    lr = param.dtype.type(hyper[0])
    p = param[start:stop]
    g = grad[start:stop]
    for i in range(p.size):
        p[i] -= lr * np.sign(g[i])


@njit(cache=True, error_model="numpy")
def three_argument_update(param, grad, hyper):
    """Does not fit the update contract."""
    param -= hyper[0] * grad


def sign_sgd(name="sign_sgd", default_lr=1e-3, update=sign_sgd_update, override=False):
    return OptimizerSpec(
        name=name,
        update=update,
        hyperparameters=(Hyperparameter("lr", default_lr, minimum=0.0),),
        override=override,
    )


def halving(step, lr, every):
    return lr * 0.5 ** (step // every)


HALVING = ScheduleSpec(
    name="halving",
    function=halving,
    hyperparameters=(Hyperparameter("every", 10, kind="int", minimum=1),),
)


def plugin(name: str, **hooks: Any) -> types.ModuleType:
    """A plugin module whose hooks (``numbagrad_optimizers=[...]``) return the given
    declarations, or raise the given exception."""
    module = types.ModuleType(name)
    for hook, result in hooks.items():
        setattr(module, hook, hookimpl(_returning(result)))
    return module


def _returning(result):
    def implementation():
        if isinstance(result, BaseException):
            raise result
        return result

    return implementation


@dataclass
class FakeEntryPoint:
    """What ``importlib.metadata.entry_points`` yields, with a ``load`` we control."""

    name: str
    value: str
    dist: Any
    loader: Callable[[], Any]
    group: str = "numbagrad"
    loads: int = 0

    def load(self):
        self.loads += 1
        return self.loader()


@dataclass
class Installed:
    """The fake set of installed distributions."""

    points: list = field(default_factory=list)
    reads: int = 0
    real_entry_points: Callable = importlib.metadata.entry_points

    def add(self, distribution: str, entry_point: str, plugin_object: Any = None, error: BaseException | None = None):
        def loader():
            if error is not None:
                raise error
            return plugin_object

        point = FakeEntryPoint(entry_point, f"{distribution.replace('-', '_')}.plugin", types.SimpleNamespace(name=distribution), loader)
        self.points.append(point)
        return point

    def entry_points(self, **selection):
        if selection.get("group") != "numbagrad":
            return self.real_entry_points(**selection)  # Numba reads its own group
        self.reads += 1
        return list(self.points)


@pytest.fixture
def installed(monkeypatch):
    """Fake installed distributions; a registry that loads them at its next look-up."""
    monkeypatch.delenv("NUMBAGRAD_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.delenv("NUMBAGRAD_STRICT_PLUGINS", raising=False)
    fake = Installed()
    monkeypatch.setattr(importlib.metadata, "entry_points", fake.entry_points)
    get_registry().reset()
    yield fake
    get_registry().reset()


def skipped(record) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, PluginWarning)]


# --- loading ----------------------------------------------------------------------------


def test_nothing_loads_before_the_first_lookup(installed):
    point = installed.add("numbagrad-signsgd", "sign_sgd", plugin("signsgd", numbagrad_optimizers=[sign_sgd()]))
    registry = get_registry()
    assert registry._table is None and installed.reads == 0 and point.loads == 0
    assert isinstance(optim.get("sign_sgd", [np.zeros(2)]), optim.Optimizer)
    assert installed.reads == 1 and point.loads == 1


def test_a_plugin_optimizer_steps_like_a_builtin(installed):
    installed.add("numbagrad-signsgd", "sign_sgd", plugin("signsgd", numbagrad_optimizers=[sign_sgd()]))
    w = np.array([1.0, -2.0, 3.0])
    opt = optim.get("Sign_SGD", [w], lr=0.5)
    opt.step([np.array([2.0, -0.1, 0.0])])
    np.testing.assert_array_equal(w, [0.5, -1.5, 3.0])
    assert optim.available()["sign_sgd"] == "numbagrad-signsgd"
    assert optim.available()["adam"] == BUILTIN_SOURCE


def test_plugin_that_fails_to_import_warns_naming_distribution_entry_point_and_cause(installed):
    installed.add("numbagrad-broken", "broken", error=ModuleNotFoundError("No module named 'missing_dependency'"))
    installed.add("numbagrad-signsgd", "sign_sgd", plugin("signsgd", numbagrad_optimizers=[sign_sgd()]))
    with pytest.warns(PluginWarning) as record:
        opt = optim.get("sign_sgd", [np.zeros(2)])
    (message,) = skipped(record)
    assert message.startswith(
        "numbagrad plugin 'broken' (numbagrad_broken.plugin) of distribution 'numbagrad-broken' failed to import: "
        "ModuleNotFoundError: No module named 'missing_dependency' (at "
    )
    assert "skipped, every other plugin works (set NUMBAGRAD_STRICT_PLUGINS=1 to make this an error)" in message
    assert record[0].filename == __file__, "the warning points at the caller's line, not numbagrad's"
    assert opt.spec.name == "sign_sgd"
    assert optim.get("adam").spec.name == "adam"
    assert get_registry().problems == [message.split("; skipped")[0]]


def test_duplicate_name_from_two_distributions_is_unusable_and_names_both(installed):
    installed.add("numbagrad-signsgd", "sign_sgd", plugin("a", numbagrad_optimizers=[sign_sgd()]))
    installed.add("other-signsgd", "signs", plugin("b", numbagrad_optimizers=[sign_sgd(), sign_sgd("sign_sgd2")]))
    with pytest.warns(PluginWarning, match=r"the optimizer name 'sign_sgd' is declared by distribution 'numbagrad-signsgd' \(entry point 'sign_sgd'\) and distribution 'other-signsgd' \(entry point 'signs'\); it cannot be used until all but one are uninstalled"):
        available = optim.available()
    assert "sign_sgd" not in available and available["sign_sgd2"] == "other-signsgd"
    with pytest.raises(
        PluginError,
        match=r"the optimizer name 'sign_sgd' is declared by distribution 'numbagrad-signsgd' \(entry point 'sign_sgd'\) "
        r"and distribution 'other-signsgd' \(entry point 'signs'\); numbagrad will not choose between them: "
        r"uninstall all but one, or register the one to use in code with override=True",
    ):
        optim.get("sign_sgd")
    assert optim.get("sign_sgd2").spec.name == "sign_sgd2"
    assert optim.get("adam").spec.name == "adam"


def test_kernel_with_the_wrong_signature_is_rejected_with_a_clear_message(installed):
    installed.add("numbagrad-bad", "bad", plugin("bad", numbagrad_optimizers=[sign_sgd("bad_kernel", update=three_argument_update)]))
    installed.add("numbagrad-signsgd", "sign_sgd", plugin("signsgd", numbagrad_optimizers=[sign_sgd()]))
    with pytest.warns(PluginWarning) as record:
        optim.get("sign_sgd")
    (message,) = skipped(record)
    assert message.startswith(
        "numbagrad plugin 'bad' (numbagrad_bad.plugin) of distribution 'numbagrad-bad' is invalid: TypeError: "
        "optimizer 'bad_kernel': its kernels do not fit the update contract update(param: T[::1], grad: T[::1], "
        "state: T[:, ::1], hyper: float64[::1], step: int64, start: int64, stop: int64)"
    )
    assert "for T = float64" in message
    with pytest.raises(UnknownNameError, match="unknown optimizer 'bad_kernel'"):
        optim.get("bad_kernel")


def test_kernel_that_is_not_compiled_is_rejected(installed):
    installed.add("numbagrad-py", "py", plugin("py", numbagrad_optimizers=[sign_sgd("python_kernel", update=sign_sgd_update.py_func)]))
    with pytest.warns(PluginWarning, match=r"is invalid: TypeError: optimizer 'python_kernel': update must be an @njit function; got <function sign_sgd_update"):
        optim.available()


def test_default_out_of_its_declared_range_is_rejected(installed):
    installed.add("numbagrad-neg", "neg", plugin("neg", numbagrad_optimizers=[sign_sgd("negative_lr", default_lr=-0.1)]))
    with pytest.warns(
        PluginWarning,
        match=r"'neg' \(numbagrad_neg.plugin\) of distribution 'numbagrad-neg' is invalid: ValueError: optimizer 'negative_lr': "
        r"a declared default is invalid: negative_lr: lr must be a finite number >= 0; got -0.1",
    ):
        assert "negative_lr" not in optim.available()


def test_invalid_registry_name_is_rejected(installed):
    installed.add("numbagrad-caps", "caps", plugin("caps", numbagrad_optimizers=[sign_sgd("SignSGD")]))
    with pytest.warns(PluginWarning, match=r"is invalid: optimizer name 'SignSGD' must start with a lower-case letter"):
        optim.available()


def test_unknown_hook_is_rejected_with_a_suggestion(installed):
    installed.add("numbagrad-typo", "typo", plugin("typo", numbagrad_optimisers=[sign_sgd()]))
    with pytest.warns(
        PluginWarning,
        match=r"'typo' \(numbagrad_typo.plugin\) of distribution 'numbagrad-typo' is invalid: it implements the unknown hook "
        r"'numbagrad_optimisers' \(did you mean 'numbagrad_optimizers'\?\); numbagrad's hooks are numbagrad_optimizers, ",
    ):
        optim.available()
    assert "sign_sgd" not in optim.available()


def test_hook_without_the_marker_is_rejected(installed):
    module = types.ModuleType("unmarked")
    module.numbagrad_optimizers = lambda: [sign_sgd()]
    installed.add("numbagrad-unmarked", "unmarked", module)
    with pytest.warns(PluginWarning, match=r"is invalid: it defines numbagrad_optimizers\(\) without the @hookimpl marker \(from numbagrad.plugin import hookimpl\)"):
        optim.available()


def test_hook_that_raises_or_returns_garbage_is_isolated(installed):
    installed.add("numbagrad-raises", "raises", plugin("raises", numbagrad_optimizers=RuntimeError("no GPU found")))
    installed.add("numbagrad-string", "string", plugin("string", numbagrad_optimizers="sign_sgd"))
    installed.add("numbagrad-items", "items", plugin("items", numbagrad_optimizers=[HALVING]))
    installed.add("numbagrad-signsgd", "sign_sgd", plugin("signsgd", numbagrad_optimizers=[sign_sgd()]))
    with pytest.warns(PluginWarning) as record:
        available = optim.available()
    messages = skipped(record)
    assert len(messages) == 3
    assert "'raises' (numbagrad_raises.plugin) of distribution 'numbagrad-raises' is invalid: its numbagrad_optimizers() raised RuntimeError: no GPU found (at " in messages[0]
    assert "is invalid: its numbagrad_optimizers() must return a list of declarations; got str" in messages[1]
    assert "is invalid: its numbagrad_optimizers() returned ScheduleSpec(name='halving'" in messages[2]
    assert "expected OptimizerSpec instances" in messages[2]
    assert available["sign_sgd"] == "numbagrad-signsgd"


def test_plugin_declaring_a_name_twice_is_rejected(installed):
    installed.add("numbagrad-twice", "twice", plugin("twice", numbagrad_optimizers=[sign_sgd(), sign_sgd()]))
    with pytest.warns(PluginWarning, match=r"is invalid: it declares the optimizer name\(s\) \['sign_sgd'\] more than once"):
        optim.available()


def test_builtin_name_is_kept_without_the_override_opt_in(installed):
    installed.add("numbagrad-myadam", "myadam", plugin("myadam", numbagrad_optimizers=[sign_sgd("adam"), sign_sgd("sign_sgd")]))
    with pytest.warns(
        PluginWarning,
        match=r"'myadam' \(numbagrad_myadam.plugin\) of distribution 'numbagrad-myadam' was partly skipped: it declares the "
        r"optimizer 'adam', which numbagrad already provides; the built-in is kept \(a plugin replaces a built-in only "
        r"with override=True in its declaration\)",
    ):
        assert optim.get("adam").title == "Adam"
    assert optim.available()["sign_sgd"] == "numbagrad-myadam"


def test_builtin_name_is_replaced_with_the_override_opt_in(recwarn, installed):
    installed.add("numbagrad-myadam", "myadam", plugin("myadam", numbagrad_optimizers=[sign_sgd("adam", override=True)]))
    assert optim.get("adam").spec.update is sign_sgd_update
    assert optim.available()["adam"] == "numbagrad-myadam"
    assert not skipped(recwarn)


def test_two_overrides_of_one_builtin_conflict(installed):
    installed.add("dist-a", "a", plugin("a", numbagrad_optimizers=[sign_sgd("adam", override=True)]))
    installed.add("dist-b", "b", plugin("b", numbagrad_optimizers=[sign_sgd("adam", override=True)]))
    with pytest.warns(PluginWarning, match="the optimizer name 'adam' is declared by distribution 'dist-a'"):
        with pytest.raises(PluginError, match=r"'adam' is declared by distribution 'dist-a' \(entry point 'a'\) and distribution 'dist-b'"):
            optim.get("adam")


def test_autoload_disabled_reads_no_entry_point(installed, monkeypatch):
    monkeypatch.setenv("NUMBAGRAD_DISABLE_PLUGIN_AUTOLOAD", "1")
    point = installed.add("numbagrad-signsgd", "sign_sgd", plugin("signsgd", numbagrad_optimizers=[sign_sgd()]))
    with pytest.raises(UnknownNameError, match="unknown optimizer 'sign_sgd'"):
        optim.get("sign_sgd")
    assert installed.reads == 0 and point.loads == 0
    assert optim.get("adam").title == "Adam"
    name = optim.register(sign_sgd())
    assert optim.available()["sign_sgd"] == CODE_SOURCE
    optim.unregister(name)


def test_strict_mode_raises_instead_of_warning(installed, monkeypatch):
    monkeypatch.setenv("NUMBAGRAD_STRICT_PLUGINS", "1")
    cause = ModuleNotFoundError("No module named 'missing_dependency'")
    broken = installed.add("numbagrad-broken", "broken", error=cause)
    with pytest.raises(
        PluginError,
        match=r"^numbagrad plugin 'broken' \(numbagrad_broken.plugin\) of distribution 'numbagrad-broken' failed to import: "
        r"ModuleNotFoundError: No module named 'missing_dependency' .*\(NUMBAGRAD_STRICT_PLUGINS is set\)$",
    ) as raised:
        optim.get("adam")
    assert raised.value.__cause__ is cause
    with pytest.raises(PluginError, match="failed to import"):
        optim.available()
    installed.points.remove(broken)
    assert optim.get("adam").title == "Adam"


def test_strict_mode_makes_a_duplicate_name_an_error(installed, monkeypatch):
    monkeypatch.setenv("NUMBAGRAD_STRICT_PLUGINS", "1")
    installed.add("dist-a", "a", plugin("a", numbagrad_optimizers=[sign_sgd()]))
    installed.add("dist-b", "b", plugin("b", numbagrad_optimizers=[sign_sgd()]))
    with pytest.raises(PluginError, match=r"the optimizer name 'sign_sgd' is declared by distribution 'dist-a' .* and distribution 'dist-b'"):
        optim.get("adam")


def test_same_distribution_found_twice_loads_once(installed, recwarn):
    module = plugin("signsgd", numbagrad_optimizers=[sign_sgd()])
    first = installed.add("numbagrad-signsgd", "sign_sgd", module)
    second = installed.add("numbagrad-signsgd", "sign_sgd", module)
    assert optim.available()["sign_sgd"] == "numbagrad-signsgd"
    assert (first.loads, second.loads) == (1, 0)
    assert not skipped(recwarn)


def test_plugin_that_looks_a_name_up_while_loading_is_skipped(installed):
    def importing_plugin():
        optim.get("adam")
        return plugin("eager", numbagrad_optimizers=[sign_sgd()])

    installed.points.append(FakeEntryPoint("eager", "eager.plugin", types.SimpleNamespace(name="numbagrad-eager"), importing_plugin))
    with pytest.warns(PluginWarning, match=r"failed to import: PluginError: a numbagrad plugin looked a name up while plugins were loading"):
        assert optim.get("adam").title == "Adam"


# --- look-up cost and threads -------------------------------------------------------------


def test_lookup_after_loading_reads_nothing_again(installed):
    point = installed.add("numbagrad-signsgd", "sign_sgd", plugin("signsgd", numbagrad_optimizers=[sign_sgd()]))
    registry = get_registry()
    first = registry.lookup("optimizer", "sign_sgd")
    manager, table = registry._manager, registry._table
    for _ in range(3):
        assert registry.lookup("optimizer", "sign_sgd") is first
        assert registry.lookup("optimizer", "adam").name == "adam"
        registry.available("schedule")
    assert registry._manager is manager and registry._table is table
    assert installed.reads == 1 and point.loads == 1


def test_concurrent_first_lookups_load_plugins_once(installed):
    def slow_plugin():
        time.sleep(0.05)  # let the other threads arrive while this one loads
        return plugin("slow", numbagrad_optimizers=[sign_sgd()])

    point = FakeEntryPoint("slow", "slow.plugin", types.SimpleNamespace(name="numbagrad-slow"), slow_plugin)
    installed.points.append(point)
    results, errors = [], []
    barrier = threading.Barrier(6)

    def look_up():
        barrier.wait()
        try:
            results.append(get_registry().lookup("optimizer", "sign_sgd").source)
        except Exception as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=look_up) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert results == ["numbagrad-slow"] * 6
    assert point.loads == 1 and installed.reads == 1


# --- registration in code -------------------------------------------------------------------


def test_register_and_unregister_in_code(fresh_registry):
    name = optim.register(sign_sgd())
    assert name == f"{CODE_SOURCE}:sign_sgd"
    assert optim.available()["sign_sgd"] == CODE_SOURCE
    assert optim.get("sign_sgd").spec.name == "sign_sgd"
    assert fresh_registry.plugins()[name] == CODE_SOURCE
    optim.unregister(name)
    with pytest.raises(UnknownNameError):
        optim.get("sign_sgd")
    assert name not in fresh_registry.plugins()


def test_unregister_by_the_registry_name_of_what_was_registered(fresh_registry):
    optim.register(sign_sgd("adam", override=True))
    optim.unregister("Adam")  # the name it was registered under, any case
    assert optim.get("adam").title == "Adam"
    schedules.register(HALVING)
    with pytest.raises(ValueError, match="no plugin named 'halving' is registered"):
        optim.unregister("halving")  # a schedule's name means nothing to the optimizers
    schedules.unregister("halving")
    assert "halving" not in schedules.available()


def test_register_a_plugin_module_in_code(fresh_registry):
    name = fresh_registry.register(plugin("mine", numbagrad_optimizers=[sign_sgd()], numbagrad_schedules=[HALVING]), name="mine")
    assert name == "mine"
    assert schedules.get("halving", lr=1.0, every=2)([0, 2, 4]).tolist() == [1.0, 0.5, 0.25]
    assert optim.available()["sign_sgd"] == CODE_SOURCE
    with pytest.raises(PluginError, match="a plugin named 'mine' is already registered"):
        fresh_registry.register(plugin("again"), name="mine")
    fresh_registry.unregister("mine")
    assert "halving" not in schedules.available()


def test_register_in_code_refuses_a_taken_name_and_changes_nothing(fresh_registry):
    first = optim.register(sign_sgd())
    plugins_before, table_before = fresh_registry.plugins(), fresh_registry._table
    with pytest.raises(
        PluginError,
        match=r"could not be registered: the optimizer name 'sign_sgd' is already provided by plugin "
        r"'<registered in code>:sign_sgd' \(registered in code\); declare override=True to replace it",
    ):
        optim.register(sign_sgd(), sign_sgd("other"))
    with pytest.raises(PluginError, match=r"the optimizer name 'adam' is already provided by numbagrad \(built-in\)"):
        optim.register(sign_sgd("adam"))
    assert fresh_registry.plugins() == plugins_before and fresh_registry._table is table_before
    assert "other" not in optim.available()
    optim.unregister(first)


def test_register_in_code_with_override_replaces_and_unregister_restores(fresh_registry):
    name = optim.register(sign_sgd("adam", override=True))
    assert optim.get("adam").spec.update is sign_sgd_update
    assert optim.available()["adam"] == CODE_SOURCE
    optim.unregister(name)
    assert optim.get("adam").title == "Adam"


def test_register_in_code_with_override_resolves_a_conflict(installed):
    installed.add("dist-a", "a", plugin("a", numbagrad_optimizers=[sign_sgd()]))
    installed.add("dist-b", "b", plugin("b", numbagrad_optimizers=[sign_sgd()]))
    with pytest.warns(PluginWarning):
        optim.available()
    chosen = sign_sgd(override=True)
    name = optim.register(chosen)
    assert optim.get("sign_sgd").spec is chosen
    optim.unregister(name)
    with pytest.raises(PluginError, match="is declared by distribution 'dist-a'"):
        optim.get("sign_sgd")


def test_register_invalid_in_code_raises_and_registers_nothing(fresh_registry):
    before = fresh_registry.plugins()
    with pytest.raises(PluginError, match=r"^numbagrad plugin '<registered in code>:bad' is invalid: TypeError: optimizer 'bad': its kernels do not fit") as raised:
        optim.register(sign_sgd("bad", update=three_argument_update))
    assert raised.value.__cause__ is not None
    with pytest.raises(PluginError, match=r"is invalid: ValueError: optimizer 'neg': a declared default is invalid"):
        optim.register(sign_sgd("neg", default_lr=-1.0))
    assert fresh_registry.plugins() == before
    with pytest.raises(TypeError, match="register\\(\\) needs at least one optimizer declaration"):
        optim.register()


def test_unregister_errors(fresh_registry):
    with pytest.raises(ValueError, match=r"no plugin named 'nothing' is registered; registered: none besides the built-ins"):
        optim.unregister("nothing")
    with pytest.raises(ValueError, match="numbagrad's built-ins cannot be unregistered; register a replacement with override=True"):
        optim.unregister(BUILTIN_SOURCE)


# --- names, kinds and the command line ----------------------------------------------------------


def test_available_lists_every_kind(fresh_registry):
    for kind in KINDS:
        assert isinstance(fresh_registry.available(kind), dict)
    assert set(schedules.available()) >= {"constant", "cosine", "one_cycle"}
    with pytest.raises(ValueError, match=r"unknown kind of component 'optimiser'; kinds: optimizer, loss, schedule"):
        fresh_registry.available("optimiser")
    with pytest.raises(ValueError, match="unknown kind of component"):
        fresh_registry.lookup("optimiser", "adam")


def test_lookup_is_case_insensitive_and_checks_the_name_type(fresh_registry):
    assert fresh_registry.lookup("optimizer", " AdamW ").name == "adamw"
    with pytest.raises(TypeError, match="optimizer name must be a string; got 3 of type int"):
        fresh_registry.lookup("optimizer", 3)
    with pytest.raises(UnknownNameError, match=r"unknown schedule 'cosin'\. Did you mean 'cosine'"):
        schedules.get("cosin")


def test_plugin_schedule_registers_through_its_hook(installed):
    installed.add("numbagrad-halving", "halving", plugin("halving", numbagrad_schedules=[HALVING]))
    assert schedules.available()["halving"] == "numbagrad-halving"
    assert schedules.get("halving", lr=0.8, every=1)(3) == 0.1


def test_plugin_schedule_with_a_bad_function_is_rejected(installed):
    negative = ScheduleSpec(name="negative", function=lambda step, lr: -lr * np.ones(step.shape))
    scalar = ScheduleSpec(name="scalar", function=lambda step, lr: lr)
    installed.add("numbagrad-bad", "bad", plugin("bad", numbagrad_schedules=[negative]))
    installed.add("numbagrad-scalar", "scalar", plugin("scalar", numbagrad_schedules=[scalar]))
    with pytest.warns(PluginWarning) as record:
        available = schedules.available()
    negative_message, scalar_message = skipped(record)
    assert "is invalid: ValueError: schedule 'negative' with lr=1.0 and no hyperparameters gives the learning rate -1.0 at step 0; learning rates must be finite and >= 0" in negative_message
    assert "is invalid: TypeError: schedule 'scalar': function(step, lr, **hyperparameters) must return a float64 NumPy array of the steps' shape; got float (is it vectorised over step?)" in scalar_message
    assert "negative" not in available and "scalar" not in available


def test_cli_prints_every_name_and_its_distribution(installed, capsys):
    installed.add("numbagrad-signsgd", "sign_sgd", plugin("signsgd", numbagrad_optimizers=[sign_sgd()], numbagrad_schedules=[HALVING]))
    installed.add("numbagrad-broken", "broken", error=ImportError("cannot import name 'x'"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", PluginWarning)  # listed once, as "skipped:", not also warned
        assert cli.main(["plugins"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].split() == ["kind", "name", "provided", "by"]
    assert ["optimizer", "sign_sgd", "numbagrad-signsgd"] in [line.split() for line in lines]
    assert ["optimizer", "adam", "numbagrad"] in [line.split() for line in lines]
    assert ["schedule", "halving", "numbagrad-signsgd"] in [line.split() for line in lines]
    assert "skipped: numbagrad plugin 'broken' (numbagrad_broken.plugin) of distribution 'numbagrad-broken' failed to import: ImportError: cannot import name 'x'" in err


def test_cli_says_which_builtin_a_plugin_replaced_and_what_it_loses(installed, capsys):
    installed.add("numbagrad-myadam", "myadam", plugin("myadam", numbagrad_optimizers=[sign_sgd("adam", override=True)]))
    assert cli.main(["plugins"]) == 0
    lines = capsys.readouterr().out.splitlines()
    (adam,) = [line for line in lines if line.split()[:2] == ["optimizer", "adam"]]
    assert adam.split(None, 2)[2] == "numbagrad-myadam  (replaces the built-in; CPU only, where the built-in also ran on GPUs)"
    (sgd,) = [line for line in lines if line.split()[:2] == ["optimizer", "sgd"]]
    assert sgd.split() == ["optimizer", "sgd", "numbagrad"]


def test_public_plugin_interface_is_complete():
    import numbagrad.plugin as public

    for name in public.__all__:
        assert getattr(public, name) is not None
    assert public.ENTRY_POINT_GROUP == "numbagrad"
    for declaration in ("OptimizerSpec", "ScheduleSpec", "ActivationSpec", "LossSpec", "MetricSpec"):
        assert declaration in public.__all__
    assert numbagrad.PluginError is public.PluginError
