"""The plugin registry: every optimizer, loss, schedule, activation and metric, by name.

numbagrad is its own first plugin (:mod:`numbagrad.builtins`); third-party
distributions add theirs through entry points in the group ``numbagrad``.
Nothing is loaded at ``import numbagrad``: the first look-up by name loads the
built-ins and then each entry point in isolation. A plugin that fails to
import, declares something invalid or claims a name that is taken is skipped
with a :class:`~numbagrad.errors.PluginWarning` naming its distribution, its
entry point and the cause; every other plugin keeps working.

Environment variables (read at the first look-up):

* ``NUMBAGRAD_STRICT_PLUGINS=1`` raises :class:`~numbagrad.errors.PluginError`
  instead of warning.
* ``NUMBAGRAD_DISABLE_PLUGIN_AUTOLOAD=1`` loads no entry point (the built-ins
  and plugins registered in code still work).

Names are looked up case-insensitively. Two distributions claiming one name
make that name unusable, with an error naming both, rather than letting one
silently shadow the other. A plugin replaces a built-in name only when its
declaration says ``override=True``.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import re
import threading
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import pluggy

from numbagrad.errors import PluginError, PluginWarning, UnknownNameError
from numbagrad.hookspecs import PROJECT, HookSpecs, hookimpl
from numbagrad.hyperparameters import closest_names

__all__ = ["Kind", "Entry", "Registry", "KINDS", "get_registry", "hookimpl", "BUILTIN_SOURCE", "CODE_SOURCE"]

#: Source of the components numbagrad itself registers.
BUILTIN_SOURCE = "numbagrad"
#: Source of plugins registered in code with :meth:`Registry.register`.
CODE_SOURCE = "<registered in code>"

_NAME = re.compile(r"^[a-z][a-z0-9_\-.]*$")


def _flag(variable: str) -> bool:
    return os.environ.get(variable, "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Kind:
    """A kind of component: its hook and the declaration type it returns."""

    name: str
    plural: str
    hook: str
    spec_type: Callable[[], type]
    check_kernels: Callable[[Any], None] | None = None


def _spec_type(module: str, name: str) -> Callable[[], type]:
    def load() -> type:
        return getattr(importlib.import_module(module), name)

    return load


def _kernel_check(module: str) -> Callable[[Any], None]:
    """``module.check_kernels(spec)``: compiles a plugin's kernels and runs them once."""

    def check(spec: Any) -> None:
        importlib.import_module(module).check_kernels(spec)

    return check


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("optimizer", "optimizers", "numbagrad_optimizers", _spec_type("numbagrad.optim.spec", "OptimizerSpec"), _kernel_check("numbagrad.optim.spec")),
        Kind("loss", "losses", "numbagrad_losses", _spec_type("numbagrad.losses.spec", "LossSpec"), _kernel_check("numbagrad.losses.spec")),
        Kind("schedule", "schedules", "numbagrad_schedules", _spec_type("numbagrad.schedules.spec", "ScheduleSpec"), _kernel_check("numbagrad.schedules.spec")),
        Kind("activation", "activations", "numbagrad_activations", _spec_type("numbagrad.activations.spec", "ActivationSpec"), _kernel_check("numbagrad.activations.spec")),
        Kind("metric", "metrics", "numbagrad_metrics", _spec_type("numbagrad.metrics.spec", "MetricSpec"), _kernel_check("numbagrad.metrics.spec")),
    )
}


@dataclass(frozen=True)
class Entry:
    """One registered name."""

    name: str
    spec: Any
    source: str
    plugin: str
    preset: Mapping[str, Any] = field(default_factory=dict)


class Registry:
    """Loads plugins and resolves names; one per process (:func:`get_registry`)."""

    def __init__(self):
        self._lock = threading.RLock()
        self._manager: pluggy.PluginManager | None = None
        self._entries: dict[str, dict[str, Entry]] = {}
        self._conflicts: dict[str, dict[str, list[str]]] = {}
        self._plugins: dict[str, dict[str, list[Entry]]] = {}
        self.problems: list[str] = []

    # --- loading -------------------------------------------------------------

    def _ensure_loaded(self) -> pluggy.PluginManager:
        manager = self._manager
        if manager is not None:
            return manager
        with self._lock:
            if self._manager is not None:
                return self._manager
            self._entries = {kind: {} for kind in KINDS}
            self._conflicts = {kind: {} for kind in KINDS}
            self._plugins = {}
            self.problems = []
            manager = pluggy.PluginManager(PROJECT)
            manager.add_hookspecs(HookSpecs)
            self._manager = manager
            try:
                from numbagrad import builtins

                self._add(builtins, BUILTIN_SOURCE, BUILTIN_SOURCE, strict=True)
                if not _flag("NUMBAGRAD_DISABLE_PLUGIN_AUTOLOAD"):
                    self._load_entry_points()
            except BaseException:
                self._manager = None
                raise
            return manager

    def _load_entry_points(self) -> None:
        strict = _flag("NUMBAGRAD_STRICT_PLUGINS")
        for point in importlib.metadata.entry_points(group=PROJECT):
            distribution = point.dist.name if point.dist is not None else "an unknown distribution"
            where = f"entry point {point.name!r} ({point.value}) of distribution {distribution!r}"
            try:
                plugin = point.load()
            except Exception as error:
                self._report(f"numbagrad plugin {where} failed to import: {type(error).__name__}: {error}", strict, error)
                continue
            self._add(plugin, f"{distribution}:{point.name}", distribution, strict, where)

    def _report(self, message: str, strict: bool, cause: BaseException | None = None) -> None:
        self.problems.append(message)
        if strict:
            raise PluginError(message) from cause
        warnings.warn(message + " (skipped; set NUMBAGRAD_STRICT_PLUGINS=1 to make this an error)", PluginWarning, stacklevel=4)

    def _add(self, plugin: Any, plugin_name: str, source: str, strict: bool, where: str | None = None) -> None:
        """Register ``plugin`` and its declarations, all or nothing."""
        manager = self._manager
        where = where or f"plugin {plugin_name!r}"
        try:
            manager.register(plugin, name=plugin_name)
        except Exception as error:
            self._report(f"numbagrad plugin {where} could not be registered: {error}", strict, error)
            return
        try:
            staged = self._collect(plugin, plugin_name, source)
        except Exception as error:
            manager.unregister(name=plugin_name)
            self._report(f"numbagrad plugin {where} is invalid: {error}", strict, error)
            return
        self._plugins[plugin_name] = staged
        for kind, entries in staged.items():
            for entry in entries:
                refused = self._claim(kind, entry)
                if refused:
                    self._report(refused, strict)

    def _collect(self, plugin: Any, plugin_name: str, source: str) -> dict[str, list[Entry]]:
        manager = self._manager
        for attribute in dir(plugin):
            if attribute.startswith("numbagrad_") and not hasattr(manager.hook, attribute):
                known = ", ".join(kind.hook for kind in KINDS.values())
                raise ValueError(f"it defines the unknown hook {attribute!r} (known hooks: {known})")
        staged: dict[str, list[Entry]] = {}
        for kind in KINDS.values():
            caller = getattr(manager.hook, kind.hook)
            implementations = [i for i in caller.get_hookimpls() if i.plugin_name == plugin_name]
            entries: list[Entry] = []
            for implementation in implementations:
                declared = implementation.function()
                if declared is None:
                    declared = ()
                if isinstance(declared, (str, bytes, Mapping)) or not isinstance(declared, Iterable):
                    raise TypeError(f"{kind.hook}() must return a list of declarations; got {type(declared).__name__}")
                spec_type = kind.spec_type()
                for spec in declared:
                    if not isinstance(spec, spec_type):
                        raise TypeError(f"{kind.hook}() returned {spec!r}; expected {spec_type.__name__} instances")
                    entries.extend(self._entries_for(kind, spec, source, plugin_name))
            names = [e.name for e in entries]
            duplicated = sorted({n for n in names if names.count(n) > 1})
            if duplicated:
                raise ValueError(f"it declares the {kind.name} name(s) {duplicated} more than once")
            staged[kind.name] = entries
        return staged

    def _entries_for(self, kind: Kind, spec: Any, source: str, plugin_name: str) -> list[Entry]:
        name = spec.name
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(
                f"{kind.name} name {name!r} must start with a lower-case letter and contain only "
                "lower-case letters, digits, '_', '-' and '.'"
            )
        check = getattr(spec, "check_declaration", None)
        if check is not None:
            check()
        if kind.check_kernels is not None and source != BUILTIN_SOURCE:
            # Built-in kernels are checked by numbagrad's own test suite.
            kind.check_kernels(spec)
        entries = [Entry(name, spec, source, plugin_name)]
        for preset_name, preset in getattr(spec, "presets", {}).items():
            if not _NAME.match(preset_name):
                raise ValueError(f"preset name {preset_name!r} of {kind.name} {name!r} is not a valid name")
            entries.append(Entry(preset_name, spec, source, plugin_name, dict(preset)))
        return entries

    def _claim(self, kind: str, entry: Entry) -> str | None:
        """Give ``entry`` its name; returns why it was refused, if it was."""
        entries = self._entries[kind]
        conflicts = self._conflicts[kind]
        if entry.name in conflicts:
            conflicts[entry.name].append(entry.source)
            return None
        current = entries.get(entry.name)
        if current is None:
            entries[entry.name] = entry
            return None
        if current.source == BUILTIN_SOURCE:
            if getattr(entry.spec, "override", False):
                entries[entry.name] = entry
                return None
            return (
                f"{entry.source} declares the {kind} {entry.name!r}, which numbagrad already provides; "
                "the built-in is kept (a plugin replaces a built-in only with override=True in its declaration)"
            )
        del entries[entry.name]
        conflicts[entry.name] = [current.source, entry.source]
        return None

    def _rebuild(self) -> None:
        self._entries = {kind: {} for kind in KINDS}
        self._conflicts = {kind: {} for kind in KINDS}
        for staged in self._plugins.values():
            for kind, entries in staged.items():
                for entry in entries:
                    self._claim(kind, entry)

    # --- public interface ------------------------------------------------------

    def lookup(self, kind: str, name: str) -> Entry:
        """The entry registered as ``name`` (case-insensitive).

        Raises:
            UnknownNameError: no such name; the message lists the known
                names and the closest matches.
            PluginError: several distributions claim the name.
        """
        self._ensure_loaded()
        plural = KINDS[kind].plural
        if not isinstance(name, str):
            raise TypeError(f"{kind} name must be a string; got {name!r}")
        key = name.strip().lower()
        entries = self._entries[kind]
        if key in entries:
            return entries[key]
        if key in self._conflicts[kind]:
            claimants = " and ".join(repr(s) for s in self._conflicts[kind][key])
            raise PluginError(
                f"the {kind} name {name!r} is claimed by {claimants}; uninstall one of them "
                f"(or register the one you want in code with override=True)"
            )
        known = sorted(entries)
        hint = closest_names(key, known)
        suggestion = f" Did you mean {' or '.join(map(repr, hint))}?" if hint else ""
        raise UnknownNameError(f"unknown {kind} {name!r}.{suggestion} Available {plural}: {', '.join(known)}")

    def available(self, kind: str) -> dict[str, str]:
        """Every usable name of ``kind``, sorted, mapped to the distribution that provides it."""
        self._ensure_loaded()
        return {name: self._entries[kind][name].source for name in sorted(self._entries[kind])}

    def register(self, plugin: Any, name: str | None = None) -> str:
        """Register a plugin object or module in code (notebooks, tests); returns its plugin name.

        Errors are raised, never only warned: the caller asked for this plugin.
        """
        self._ensure_loaded()
        with self._lock:
            plugin_name = name or f"{CODE_SOURCE}:{getattr(plugin, '__name__', type(plugin).__name__)}:{id(plugin)}"
            self._add(plugin, plugin_name, CODE_SOURCE if name is None else name, strict=True)
            return plugin_name

    def unregister(self, plugin_name: str) -> None:
        """Remove a plugin registered with :meth:`register` and everything it declared."""
        self._ensure_loaded()
        with self._lock:
            if plugin_name not in self._plugins:
                raise ValueError(f"no plugin named {plugin_name!r} is registered; registered: {', '.join(self._plugins)}")
            self._manager.unregister(name=plugin_name)
            del self._plugins[plugin_name]
            self._rebuild()

    def reset(self) -> None:
        """Forget every plugin; the next look-up loads them again (for tests)."""
        with self._lock:
            self._manager = None


_REGISTRY = Registry()


def get_registry() -> Registry:
    """The process-wide registry."""
    return _REGISTRY
