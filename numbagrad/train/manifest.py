"""The schema of a model file's manifest (``numbagrad.json``).

A model file is data a user may download, so nothing in its manifest is
trusted: every field is checked here for its type, range and length before
anything is built from it, and a value numbagrad could never have written
(a negative epoch, a fractional step, an unknown field, a history whose
columns differ in length) is corruption. The semantic checks of names and
hyperparameters stay with their owners (``Dense``, ``compile``,
``Optimizer.load_state_dict``), which refuse bad values the same way for
files and for code; this module makes sure they only ever see plain data of
the right shape.

Every refusal is a :class:`~numbagrad.train.checkpoint.ModelFileError`
naming the field by its path in the manifest (``model.layers[1].units``).
"""

from __future__ import annotations

import math
from typing import Any, Iterable

__all__ = ["check_manifest", "declared_parameters", "MAX_PARAMETERS"]

#: The largest parameter count a model file may declare (8 TiB of float64).
MAX_PARAMETERS = 1 << 40
#: Bounds no file numbagrad writes comes near: they keep a forged one cheap to refuse.
MAX_LAYERS = 100_000
MAX_NAME = 256
MAX_ITEMS = 10_000_000
MAX_OPTIONS_DEPTH = 8
INT64 = 1 << 63

_TOP = {
    "format": True, "format_version": True, "numbagrad_version": False, "model": True, "epoch": True,
    "rng": True, "history": False, "compile": True, "optimizers": False, "optimizer": False,
}
_MODEL = {"dtype": True, "input_dim": True, "layers": True, "seed": True}
_LAYER = {
    "units": True, "activation": True, "use_bias": True, "kernel_initializer": True, "bias_initializer": True,
    "name": True, "kernel_regularizer": False, "bias_regularizer": False, "dropout": False, "normalization": False,
}
_NORMALIZATION = {"batch": {"name": True, "momentum": True, "epsilon": True}, "layer": {"name": True, "epsilon": True}}
_COMPILE = {
    "optimizer": True, "loss": True, "metrics": False, "schedule": False, "clip_norm": False, "clip_value": False,
    "flush_subnormals": False,
}


def _error(path: str, message: str) -> Exception:
    from numbagrad.train.checkpoint import ModelFileError

    return ModelFileError(f"{path}: the manifest's {message}; the file is corrupted or was not written by numbagrad")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class _Checker:
    """Checks of one manifest, each naming the field's path in its error."""

    def __init__(self, path: str):
        self.path = path

    def fail(self, where: str, expected: str, value: Any) -> Exception:
        return _error(self.path, f"{where} must be {expected}; got {_shown(value)}")

    def mapping(self, value: Any, where: str, fields: dict[str, bool] | None = None) -> dict:
        """A dict with string keys; with ``fields`` (name -> required), exactly those keys."""
        if not isinstance(value, dict):
            raise self.fail(where, "an object", value)
        if fields is not None:
            unknown = [k for k in value if k not in fields]
            if unknown:
                raise _error(self.path, f"{where} has the unknown field {unknown[0]!r} (allowed: {', '.join(fields)})")
            missing = [k for k, required in fields.items() if required and k not in value]
            if missing:
                raise _error(self.path, f"{where} has no {missing[0]!r}")
        return value

    def sequence(self, value: Any, where: str, longest: int = MAX_ITEMS, shortest: int = 0) -> list:
        if not isinstance(value, list) or not shortest <= len(value) <= longest:
            raise self.fail(where, f"a list of {shortest} to {longest} items", value)
        return value

    def integer(self, value: Any, where: str, low: int = 0, high: int = INT64 - 1) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            power = (high + 1).bit_length() - 1
            upper = f"2**{power})" if high > 1 << 20 and high + 1 == 1 << power else f"{high}]"
            raise self.fail(where, f"an integer in [{low}, {upper}", value)
        return value

    def number(self, value: Any, where: str, finite: bool = True) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(where, "a number", value)
        try:
            number = float(value)
        except OverflowError:
            raise self.fail(where, "a number within float64's range", value) from None
        if finite and not math.isfinite(number):
            raise self.fail(where, "a finite number", value)
        return number

    def string(self, value: Any, where: str, choices: Iterable[str] | None = None, longest: int = MAX_NAME) -> str:
        if choices is not None:
            choices = tuple(choices)
            if value not in choices:
                raise self.fail(where, "one of " + ", ".join(map(repr, choices)), value)
        if not isinstance(value, str) or not 0 < len(value) <= longest:
            raise self.fail(where, f"a string of 1 to {longest} characters", value)
        return value

    def boolean(self, value: Any, where: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(where, "true or false", value)
        return value

    def options(self, value: Any, where: str, depth: int = 0) -> None:
        """A named component's configuration (``{"name": ..., hyperparameters}``): plain data of bounded
        depth whose meaning the component's own validation checks."""
        if depth > MAX_OPTIONS_DEPTH:
            raise _error(self.path, f"{where} is nested more than {MAX_OPTIONS_DEPTH} levels deep")
        if isinstance(value, dict):
            for key, item in value.items():
                self.options(item, f"{where}.{key}", depth + 1)
        elif isinstance(value, list):
            for i, item in enumerate(self.sequence(value, where, longest=100_000)):
                self.options(item, f"{where}[{i}]", depth + 1)
        elif isinstance(value, float):
            self.number(value, where)
        elif isinstance(value, str):
            self.string(value, where)
        elif value is not None and not isinstance(value, int):
            raise self.fail(where, "plain data", value)

    def component(self, value: Any, where: str) -> None:
        self.mapping(value, where)
        self.string(value.get("name"), f"{where}.name")
        self.options(value, where)


def declared_parameters(model: Any, path: str) -> int:
    """Check the manifest's ``model`` (the architecture) and return how many parameters it declares;
    nothing is allocated, so a few bytes declaring a layer of 20000 x 20000 cost nothing to refuse."""
    check = _Checker(path)
    check.mapping(model, "model", _MODEL)
    check.string(model["dtype"], "model.dtype", choices=("float32", "float64"))
    check.integer(model["seed"], "model.seed", 0, (1 << 128) - 1)
    fan_in = check.integer(model["input_dim"], "model.input_dim", 1, MAX_PARAMETERS)
    total = 0
    for i, layer in enumerate(check.sequence(model["layers"], "model.layers", longest=MAX_LAYERS, shortest=1)):
        where = f"model.layers[{i}]"
        check.mapping(layer, where, _LAYER)
        units = check.integer(layer["units"], f"{where}.units", 1, MAX_PARAMETERS)
        use_bias = check.boolean(layer["use_bias"], f"{where}.use_bias")
        check.string(layer["name"], f"{where}.name")
        for key in ("activation", "kernel_initializer", "bias_initializer"):
            check.component(layer[key], f"{where}.{key}")
        for key in ("kernel_regularizer", "bias_regularizer"):
            if key in layer:
                check.component(layer[key], f"{where}.{key}")
        if "dropout" in layer and not 0.0 <= check.number(layer["dropout"], f"{where}.dropout") < 1.0:
            raise check.fail(f"{where}.dropout", "a number in [0, 1)", layer["dropout"])
        total += fan_in * units + (units if use_bias else 0)
        if "normalization" in layer:
            total += _normalization_parameters(check, layer["normalization"], f"{where}.normalization", units)
        fan_in = units
        if total > MAX_PARAMETERS:
            raise _error(path, f"model declares more than {MAX_PARAMETERS} parameters")
    return total


def _normalization_parameters(check: "_Checker", norm: Any, where: str, units: int) -> int:
    """Check a layer's normalization (its kind and settings, in range) and return its parameters:
    γ and β, and batch normalization's running mean and variance."""
    check.mapping(norm, where)
    kind = check.string(norm.get("name"), f"{where}.name", choices=tuple(_NORMALIZATION))
    check.mapping(norm, where, _NORMALIZATION[kind])
    epsilon = check.number(norm["epsilon"], f"{where}.epsilon")
    if not epsilon > 0:
        raise check.fail(f"{where}.epsilon", "a finite number > 0", norm["epsilon"])
    if kind == "batch" and not 0.0 < check.number(norm["momentum"], f"{where}.momentum") <= 1.0:
        raise check.fail(f"{where}.momentum", "a number in (0, 1]", norm["momentum"])
    return (4 if kind == "batch" else 2) * units


def check_manifest(manifest: Any, path: str, format_version: int) -> None:
    """Check every field of a manifest of ``format_version`` (already read from it) except the
    architecture, which :func:`declared_parameters` checks."""
    check = _Checker(path)
    check.mapping(manifest, "top level", _TOP)
    if "numbagrad_version" in manifest:
        check.string(manifest["numbagrad_version"], "numbagrad_version", longest=64)
    check.integer(manifest["epoch"], "epoch")
    _check_rng(check, manifest["rng"])
    if manifest.get("history") is not None:
        _check_history(check, manifest["history"])
    compiled = manifest["compile"]
    if compiled is None:
        for key in ("optimizers", "optimizer"):
            if key in manifest:
                raise _error(path, f"{key} is present although the model is not compiled")
        return
    check.mapping(compiled, "compile", _COMPILE)
    optimizer = compiled["optimizer"]
    check.mapping(optimizer, "compile.optimizer")
    if "name" in optimizer:
        check.component(optimizer, "compile.optimizer")
    else:  # one optimizer per role
        for role, config in optimizer.items():
            check.string(role, "compile.optimizer's role", choices=("weights", "biases"))
            check.component(config, f"compile.optimizer.{role}")
    check.component(compiled["loss"], "compile.loss")
    for i, metric in enumerate(check.sequence(compiled.get("metrics") or [], "compile.metrics", longest=1000)):
        check.component(metric, f"compile.metrics[{i}]")
    if compiled.get("schedule") is not None:
        check.component(compiled["schedule"], "compile.schedule")
    for key in ("clip_norm", "clip_value"):
        if compiled.get(key) is not None:
            check.number(compiled[key], f"compile.{key}")
    check.boolean(compiled.get("flush_subnormals", True), "compile.flush_subnormals")
    if format_version >= 2:
        roles = check.mapping(manifest.get("optimizers"), "optimizers")
        for role, saved in roles.items():
            _check_optimizer(check, role, saved)
    else:
        saved = check.mapping(manifest.get("optimizer"), "optimizer", {"name": True, "param_groups": True, "scalars": True, "slots": True})
        check.string(saved["name"], "optimizer.name")
        _check_groups(check, saved["param_groups"], "optimizer.param_groups", indices=False)
        _check_scalars(check, check.mapping(saved["scalars"], "optimizer.scalars"), "optimizer.scalars")
        _check_slot_names(check, saved["slots"], "optimizer.slots")


def _check_rng(check: _Checker, rng: Any) -> None:
    """The shuffling generator's state: numpy's PCG64 (128-bit state, odd increment)."""
    check.mapping(rng, "rng", {"bit_generator": True, "state": True, "has_uint32": True, "uinteger": True})
    check.string(rng["bit_generator"], "rng.bit_generator", choices=("PCG64",))
    state = check.mapping(rng["state"], "rng.state", {"state": True, "inc": True})
    check.integer(state["state"], "rng.state.state", 0, (1 << 128) - 1)
    if check.integer(state["inc"], "rng.state.inc", 1, (1 << 128) - 1) % 2 == 0:
        raise check.fail("rng.state.inc", "odd (PCG64's increment always is)", state["inc"])
    check.integer(rng["has_uint32"], "rng.has_uint32", 0, 1)
    check.integer(rng["uinteger"], "rng.uinteger", 0, (1 << 32) - 1)


def _check_history(check: _Checker, history: Any) -> None:
    """Per-epoch values: every column as long as the list of epochs."""
    check.mapping(history, "history", {"epoch": True, "history": True})
    epochs = check.sequence(history["epoch"], "history.epoch")
    for i, epoch in enumerate(epochs):
        check.integer(epoch, f"history.epoch[{i}]")
    for key, column in check.mapping(history["history"], "history.history").items():
        check.string(key, "history.history's key")
        where = f"history.history.{key}"
        if not isinstance(column, list) or len(column) != len(epochs):
            raise check.fail(where, f"a list of {len(epochs)} numbers (one per epoch)", column)
        for i, value in enumerate(column):
            check.number(value, f"{where}[{i}]", finite=False)  # a metric may be NaN (R² of constant targets)


def _check_groups(check: _Checker, groups: Any, where: str, indices: bool = True) -> None:
    for g, group in enumerate(check.sequence(groups, where, shortest=1, longest=MAX_LAYERS)):
        check.mapping(group, f"{where}[{g}]")
        for key, value in group.items():
            if key == "params" and indices:
                for i, index in enumerate(check.sequence(value, f"{where}[{g}].params", longest=2 * MAX_LAYERS)):
                    check.integer(index, f"{where}[{g}].params[{i}]", 0, 2 * MAX_LAYERS)
            else:
                check.options(value, f"{where}[{g}].{key}", depth=1)


def _check_scalars(check: _Checker, entry: dict, where: str) -> None:
    for key, value in entry.items():
        if key == "step":
            check.integer(value, f"{where}.step")
        else:
            check.number(value, f"{where}.{key}")


def _check_slot_names(check: _Checker, names: Any, where: str) -> None:
    for i, name in enumerate(check.sequence(names, where, longest=64)):
        check.string(name, f"{where}[{i}]")
        if not name.isidentifier():
            raise check.fail(f"{where}[{i}]", "the name of a state slot", name)


def _check_optimizer(check: _Checker, role: Any, saved: Any) -> None:
    check.string(role, "optimizers' role", choices=("all", "weights", "biases"))
    where = f"optimizers.{role}"
    check.mapping(saved, where, {"name": True, "param_groups": True, "state": True})
    check.string(saved["name"], f"{where}.name")
    _check_groups(check, saved["param_groups"], f"{where}.param_groups")
    for index, entry in check.mapping(saved["state"], f"{where}.state").items():
        if not index.isdigit() or int(index) >= 2 * MAX_LAYERS:
            raise check.fail(f"{where}.state's key", "a parameter index", index)
        entry_where = f"{where}.state.{index}"
        check.mapping(entry, entry_where)
        if "step" not in entry or "slots" not in entry:
            raise _error(check.path, f"{entry_where} has no {'step' if 'step' not in entry else 'slots'!r}")
        _check_slot_names(check, entry["slots"], f"{entry_where}.slots")
        _check_scalars(check, {k: v for k, v in entry.items() if k != "slots"}, entry_where)
