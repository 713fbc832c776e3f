"""The plugin registry: every optimizer, loss, schedule, activation and metric, by name.

numbagrad is its own first plugin (:mod:`numbagrad.builtins`); third-party
distributions add theirs through entry points in the group ``numbagrad``
(see :mod:`numbagrad.plugin`). Nothing is loaded at ``import numbagrad``: the
first look-up by name loads the built-ins and then each entry point in
isolation. A plugin that fails to import, whose hook raises, that declares
something invalid (a hyperparameter default out of its range, a kernel that
does not fit its contract) or that implements an unknown hook is skipped with
a :class:`~numbagrad.errors.PluginWarning` naming its distribution, its entry
point and the cause; every other plugin keeps working. After loading, a
look-up is a dictionary hit.

Environment variables (read when plugins load, at the first look-up):

* ``NUMBAGRAD_STRICT_PLUGINS=1`` raises :class:`~numbagrad.errors.PluginError`
  instead of warning, at that look-up and every later one until fixed.
* ``NUMBAGRAD_DISABLE_PLUGIN_AUTOLOAD=1`` loads no entry point (the built-ins
  and plugins registered in code still work).

Names are looked up case-insensitively. Who gets a name:

* Two installed distributions declaring one name make that name unusable: a
  look-up raises :class:`~numbagrad.errors.PluginError` naming both, rather
  than letting one silently shadow the other (a warning says so at loading).
* An installed plugin replaces a built-in name only when its declaration says
  ``override=True``; without it the built-in is kept, with a warning.
* A plugin registered in code (:meth:`Registry.register`, or
  ``numbagrad.optim.register``) may not take a name that is in use, unless
  its declaration says ``override=True``: then it replaces whatever has the
  name, a built-in, an installed plugin or two conflicting ones. Unregistering
  it brings them back. Errors of in-code registration are raised, never only
  warned, and leave the registry as it was.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import os
import re
import sys
import threading
import traceback
import warnings
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import pluggy

from numbagrad.errors import PluginError, PluginWarning, UnknownNameError
from numbagrad.hookspecs import PROJECT, HookSpecs, hookimpl
from numbagrad.hyperparameters import closest_names, did_you_mean

__all__ = ["Kind", "Entry", "Registry", "KINDS", "get_registry", "hookimpl", "BUILTIN_SOURCE", "CODE_SOURCE"]

#: Source of the components numbagrad itself registers.
BUILTIN_SOURCE = "numbagrad"
#: Source of plugins registered in code with :meth:`Registry.register`.
CODE_SOURCE = "<registered in code>"

STRICT_VARIABLE = "NUMBAGRAD_STRICT_PLUGINS"
DISABLE_VARIABLE = "NUMBAGRAD_DISABLE_PLUGIN_AUTOLOAD"

_NAME = re.compile(r"^[a-z][a-z0-9_\-.]*$")


def _flag(variable: str) -> bool:
    return os.environ.get(variable, "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Kind:
    """A kind of component: its hook and the declaration type it returns."""

    name: str
    plural: str
    hook: str
    spec_module: str
    spec_class: str

    def spec_type(self) -> type:
        """The declaration class (imported on first use)."""
        return getattr(self._module(), self.spec_class)

    def check_kernels(self, spec: Any) -> None:
        """``check_kernels(spec)`` of the declaration's module: compiles a
        plugin's kernels (or evaluates its function) once on tiny input."""
        self._module().check_kernels(spec)

    def _module(self):
        return importlib.import_module(self.spec_module)


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("optimizer", "optimizers", "numbagrad_optimizers", "numbagrad.optim.spec", "OptimizerSpec"),
        Kind("loss", "losses", "numbagrad_losses", "numbagrad.losses.spec", "LossSpec"),
        Kind("schedule", "schedules", "numbagrad_schedules", "numbagrad.schedules.spec", "ScheduleSpec"),
        Kind("activation", "activations", "numbagrad_activations", "numbagrad.activations.spec", "ActivationSpec"),
        Kind("metric", "metrics", "numbagrad_metrics", "numbagrad.metrics.spec", "MetricSpec"),
    )
}
_HOOKS = {kind.hook: kind for kind in KINDS.values()}


@dataclass(frozen=True)
class Entry:
    """One registered name.

    Attributes:
        name: the registry name.
        spec: the declaration.
        source: the distribution that provides it (``"numbagrad"`` for the
            built-ins, ``"<registered in code>"`` for in-code plugins).
        plugin: the plugin's name in the plugin manager
            (``"numbagrad-lion:lion"``: distribution and entry point).
        preset: hyperparameters a preset name sets (``"amsgrad"``).
    """

    name: str
    spec: Any
    source: str
    plugin: str
    preset: Mapping[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """Where this entry comes from, for messages."""
        if self.source == BUILTIN_SOURCE:
            return "numbagrad (built-in)"
        if self.source == CODE_SOURCE:
            return f"plugin {self.plugin!r} (registered in code)"
        entry_point = self.plugin.split(":", 1)[-1]
        return f"distribution {self.source!r} (entry point {entry_point!r})"


@dataclass(frozen=True)
class _Plugin:
    """A registered plugin and what it declared."""

    name: str
    source: str
    where: str
    entries: Mapping[str, tuple[Entry, ...]]


@dataclass(frozen=True)
class _Table:
    """Who has each name, resolved from the registered plugins in order."""

    entries: dict[str, dict[str, Entry]]
    conflicts: dict[str, dict[str, tuple[Entry, ...]]]
    refusals: list[tuple[Entry, str]]


def _resolve(plugins: Iterable[_Plugin]) -> _Table:
    """Give every declared name to its owner, by the rules of the module docstring."""
    entries: dict[str, dict[str, Entry]] = {kind: {} for kind in KINDS}
    conflicts: dict[str, dict[str, tuple[Entry, ...]]] = {kind: {} for kind in KINDS}
    refusals: list[tuple[Entry, str]] = []
    for plugin in plugins:
        for kind, declared in plugin.entries.items():
            owners, contested = entries[kind], conflicts[kind]
            for entry in declared:
                name = entry.name
                in_code = entry.source == CODE_SOURCE
                override = bool(getattr(entry.spec, "override", False))
                current = owners.get(name)
                holders = contested.get(name, (current,) if current is not None else ())
                builtin_held = current is not None and current.source == BUILTIN_SOURCE
                if not holders or (override and (in_code or builtin_held)):
                    # A free name; or an explicit override of a built-in, or of anything from code.
                    contested.pop(name, None)
                    owners[name] = entry
                elif in_code:
                    who = " and ".join(h.describe() for h in holders)
                    reason = f"the {kind} name {name!r} is already provided by {who}; declare override=True to replace it"
                    refusals.append((entry, reason))
                elif builtin_held:
                    reason = (
                        f"it declares the {kind} {name!r}, which numbagrad already provides; the built-in is kept "
                        "(a plugin replaces a built-in only with override=True in its declaration)"
                    )
                    refusals.append((entry, reason))
                else:
                    # Two distributions want the name: neither gets it.
                    owners.pop(name, None)
                    contested[name] = holders + (entry,)
    return _Table(entries, conflicts, refusals)


class _Rejected(Exception):
    """A plugin that cannot be registered; the message says why."""


def _cause(error: BaseException) -> str:
    """``Type: message (at file:line)``, the line being the innermost frame that raised."""
    text = f"{type(error).__name__}: {error}".rstrip(": ")
    frames = traceback.extract_tb(error.__traceback__)
    if frames:
        text += f" (at {frames[-1].filename}:{frames[-1].lineno})"
    return text


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


def _stacklevel() -> int:
    """The ``stacklevel`` that points a warning at the first caller outside numbagrad."""
    frame, level = sys._getframe(1), 1
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module != "numbagrad" and not module.startswith("numbagrad."):
            break
        frame, level = frame.f_back, level + 1
    return level


class _CodePlugin:
    """A plugin made in code from the declarations of one kind (see :meth:`Registry.register_specs`)."""

    def __init__(self, kind: Kind, specs: Sequence[Any]):
        self.specs = list(specs)
        self.__name__ = "+".join(str(getattr(s, "name", s)) for s in self.specs)

        def declarations():
            return self.specs

        declarations.__name__ = kind.hook
        setattr(self, kind.hook, hookimpl(declarations))


class Registry:
    """Loads plugins and resolves names; one per process (:func:`get_registry`).

    Thread-safe: the first look-up loads every plugin under a lock while
    other threads wait; afterwards look-ups read an immutable table without
    locking, and registration swaps in a new table when it is complete.
    """

    def __init__(self):
        self._lock = threading.RLock()
        self._loading = False
        self._manager: pluggy.PluginManager | None = None
        self._plugins: list[_Plugin] = []
        self._table: _Table | None = None
        #: Messages of the plugins skipped at loading (``python -m numbagrad plugins`` prints them).
        self.problems: list[str] = []

    # --- loading -------------------------------------------------------------

    def _loaded(self) -> _Table:
        table = self._table
        if table is not None:
            return table
        with self._lock:
            if self._table is not None:
                return self._table
            if self._loading:
                raise PluginError(
                    "a numbagrad plugin looked a name up while plugins were loading (at import or in a hook); "
                    "look names up when they are used instead"
                )
            self._loading = True
            try:
                self._load()
            finally:
                self._loading = False
            return self._table

    def _load(self) -> None:
        """Load the built-ins, then every entry point; publish only when all is done."""
        manager = pluggy.PluginManager(PROJECT)
        manager.add_hookspecs(HookSpecs)
        strict = _flag(STRICT_VARIABLE)
        problems: list[str] = []
        from numbagrad import builtins

        try:
            plugins = [self._admit(manager, builtins, BUILTIN_SOURCE, BUILTIN_SOURCE, "numbagrad's built-in components")]
        except _Rejected as rejection:
            raise PluginError(f"numbagrad's built-in components {rejection}") from rejection.__cause__
        if not _flag(DISABLE_VARIABLE):
            for point in importlib.metadata.entry_points(group=PROJECT):
                admitted = self._load_entry_point(manager, point, plugins, strict, problems)
                if admitted is not None:
                    plugins.append(admitted)
        table = _resolve(plugins)
        for entry, reason in table.refusals:
            self._report(f"numbagrad plugin {self._where(plugins, entry)} was partly skipped: {reason}", strict, problems)
        for kind, contested in table.conflicts.items():
            for name, holders in contested.items():
                claimants = " and ".join(h.describe() for h in holders)
                self._report(
                    f"the {kind} name {name!r} is declared by {claimants}; it cannot be used until all but one "
                    "are uninstalled",
                    strict,
                    problems,
                )
        self._manager, self._plugins, self.problems, self._table = manager, plugins, problems, table

    @staticmethod
    def _where(plugins: Sequence[_Plugin], entry: Entry) -> str:
        return next((p.where for p in plugins if p.name == entry.plugin), repr(entry.plugin))

    def _load_entry_point(self, manager, point, plugins, strict: bool, problems: list[str]) -> _Plugin | None:
        dist = getattr(point, "dist", None)
        distribution = getattr(dist, "name", None) or "an unknown distribution"
        where = f"{point.name!r} ({point.value}) of distribution {distribution!r}"
        plugin_name = f"{distribution}:{point.name}"
        if any(p.name == plugin_name for p in plugins):
            # The same distribution found twice on sys.path: its first copy wins, as in Python's imports.
            return None
        try:
            plugin = point.load()
        except Exception as error:
            self._report(f"numbagrad plugin {where} failed to import: {_cause(error)}", strict, problems, error)
            return None
        try:
            return self._admit(manager, plugin, plugin_name, distribution, where)
        except _Rejected as rejection:
            self._report(f"numbagrad plugin {where} {rejection}", strict, problems, rejection.__cause__)
            return None

    @staticmethod
    def _report(message: str, strict: bool, problems: list[str], cause: BaseException | None = None) -> None:
        problems.append(message)
        if strict:
            raise PluginError(f"{message} ({STRICT_VARIABLE} is set)") from cause
        warnings.warn(
            f"{message}; skipped, every other plugin works (set {STRICT_VARIABLE}=1 to make this an error)",
            PluginWarning,
            stacklevel=_stacklevel(),
        )

    def _admit(self, manager, plugin: Any, plugin_name: str, source: str, where: str) -> _Plugin:
        """Register ``plugin`` with ``manager`` and collect its declarations, all or nothing.

        Raises:
            _Rejected: the plugin cannot be used; the message says why.
        """
        self._check_hook_names(manager, plugin)
        try:
            manager.register(plugin, name=plugin_name)
        except Exception as error:
            raise _Rejected(f"could not be registered: {_first_line(error)}") from error
        try:
            entries = self._collect(manager, plugin_name, source)
        except BaseException:
            manager.unregister(name=plugin_name)
            raise
        return _Plugin(plugin_name, source, where, entries)

    @staticmethod
    def _check_hook_names(manager, plugin: Any) -> None:
        for attribute in dir(plugin):
            if not attribute.startswith("numbagrad_"):
                continue
            try:
                options = manager.parse_hookimpl_opts(plugin, attribute)
            except Exception:
                options = None
            if attribute in _HOOKS:
                if options is None and callable(getattr(plugin, attribute, None)):
                    raise _Rejected(
                        f"is invalid: it defines {attribute}() without the @hookimpl marker "
                        "(from numbagrad.plugin import hookimpl)"
                    )
                if options and (options.get("hookwrapper") or options.get("wrapper")):
                    raise _Rejected(f"is invalid: {attribute}() is a hook wrapper; numbagrad's hooks take plain implementations")
            elif options is not None:
                hint = difflib.get_close_matches(attribute, list(_HOOKS), n=1, cutoff=0.8)
                suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
                raise _Rejected(
                    f"is invalid: it implements the unknown hook {attribute!r}{suggestion}; "
                    f"numbagrad's hooks are {', '.join(_HOOKS)}"
                )

    def _collect(self, manager, plugin_name: str, source: str) -> dict[str, tuple[Entry, ...]]:
        collected: dict[str, tuple[Entry, ...]] = {}
        for kind in KINDS.values():
            caller = getattr(manager.hook, kind.hook)
            implementations = [i for i in caller.get_hookimpls() if i.plugin_name == plugin_name]
            entries: list[Entry] = []
            for implementation in implementations:
                try:
                    declared = implementation.function()
                except Exception as error:
                    raise _Rejected(f"is invalid: its {kind.hook}() raised {_cause(error)}") from error
                if declared is None:
                    declared = ()
                if isinstance(declared, (str, bytes, Mapping)) or not isinstance(declared, Iterable):
                    raise _Rejected(
                        f"is invalid: its {kind.hook}() must return a list of declarations; got {type(declared).__name__}"
                    )
                spec_type = kind.spec_type()
                for spec in declared:
                    if not isinstance(spec, spec_type):
                        raise _Rejected(
                            f"is invalid: its {kind.hook}() returned {spec!r}; expected {spec_type.__name__} instances"
                        )
                    entries.extend(self._entries_for(kind, spec, source, plugin_name))
            names = [e.name for e in entries]
            duplicated = sorted({n for n in names if names.count(n) > 1})
            if duplicated:
                raise _Rejected(f"is invalid: it declares the {kind.name} name(s) {duplicated} more than once")
            collected[kind.name] = tuple(entries)
        return collected

    @staticmethod
    def _entries_for(kind: Kind, spec: Any, source: str, plugin_name: str) -> list[Entry]:
        name = spec.name
        if not isinstance(name, str) or not _NAME.match(name):
            raise _Rejected(
                f"is invalid: {kind.name} name {name!r} must start with a lower-case letter and contain only "
                "lower-case letters, digits, '_', '-' and '.'"
            )
        try:
            check = getattr(spec, "check_declaration", None)
            if check is not None:
                check()
            if source != BUILTIN_SOURCE:
                # Built-in kernels are checked by numbagrad's own test suite.
                kind.check_kernels(spec)
        except Exception as error:
            raise _Rejected(f"is invalid: {_first_line(error)}") from error
        entries = [Entry(name, spec, source, plugin_name)]
        for preset_name, preset in getattr(spec, "presets", {}).items():
            if not isinstance(preset_name, str) or not _NAME.match(preset_name):
                raise _Rejected(f"is invalid: preset name {preset_name!r} of {kind.name} {name!r} is not a valid name")
            entries.append(Entry(preset_name, spec, source, plugin_name, dict(preset)))
        return entries

    # --- look-up -----------------------------------------------------------------

    def lookup(self, kind: str, name: str) -> Entry:
        """The entry registered as ``name`` (case-insensitive).

        Raises:
            UnknownNameError: no such name; the message lists the known
                names and the closest matches.
            PluginError: several distributions declare the name, or (strict
                mode) a plugin could not be loaded.
        """
        table = self._table or self._loaded()
        entries = table.entries.get(kind)
        if entries is None:
            raise ValueError(f"unknown kind of component {kind!r}; kinds: {', '.join(KINDS)}")
        entry = entries.get(name) if isinstance(name, str) else None
        if entry is not None:
            return entry
        if not isinstance(name, str):
            raise TypeError(f"{kind} name must be a string; got {name!r} of type {type(name).__name__}")
        key = name.strip().lower()
        if key in entries:
            return entries[key]
        holders = table.conflicts[kind].get(key)
        if holders:
            claimants = " and ".join(h.describe() for h in holders)
            raise PluginError(
                f"the {kind} name {name!r} is declared by {claimants}; numbagrad will not choose between them: "
                "uninstall all but one, or register the one to use in code with override=True"
            )
        plural = KINDS[kind].plural
        known = sorted(entries)
        hint = closest_names(key, known)
        suggestion = did_you_mean(hint)
        listing = ", ".join(known) if known else "none are registered"
        raise UnknownNameError(f"unknown {kind} {name!r}.{suggestion} Available {plural}: {listing}")

    def available(self, kind: str) -> dict[str, str]:
        """Every usable name of ``kind``, sorted, mapped to the distribution that provides it."""
        table = self._table or self._loaded()
        if kind not in table.entries:
            raise ValueError(f"unknown kind of component {kind!r}; kinds: {', '.join(KINDS)}")
        entries = table.entries[kind]
        return {name: entries[name].source for name in sorted(entries)}

    def replaced_builtins(self, kind: str) -> dict[str, Entry]:
        """The built-in declarations of ``kind`` that a plugin replaced (with ``override=True``), by name."""
        table = self._table or self._loaded()
        builtins = next((p for p in self._plugins if p.source == BUILTIN_SOURCE), None)
        if builtins is None:
            return {}
        owners = table.entries.get(kind, {})
        return {
            e.name: e for e in builtins.entries.get(kind, ())
            if e.name in owners and owners[e.name].source != BUILTIN_SOURCE
        }

    def provider(self, kind: str, spec: Any) -> str:
        """Who provides the declaration ``spec``, in words for messages
        ("numbagrad itself", "the distribution 'numbagrad-lion'", ...)."""
        try:
            entry = self.lookup(kind, spec.name)
        except Exception:
            return "a declaration that is not registered"
        if entry.spec is not spec:
            return "a declaration that is not registered"
        if entry.source == BUILTIN_SOURCE:
            return "numbagrad itself"
        if entry.source == CODE_SOURCE:
            return "a plugin registered in code"
        return f"the distribution {entry.source!r}"

    def plugins(self) -> dict[str, str]:
        """Every registered plugin's name mapped to its distribution, in loading order."""
        self._table or self._loaded()
        return {p.name: p.source for p in self._plugins}

    # --- registration in code -------------------------------------------------------

    def register(self, plugin: Any, name: str | None = None) -> str:
        """Register a plugin object or module in code (notebooks, tests); returns its plugin name.

        The plugin is checked exactly as an installed one. Errors are raised,
        never only warned (the caller asked for this plugin), and leave the
        registry unchanged.

        Raises:
            PluginError: the plugin is invalid or takes a name in use
                without ``override=True``; the message says which and why.
        """
        self._loaded()
        with self._lock:
            taken = {p.name for p in self._plugins}
            if name is not None:
                if not isinstance(name, str) or not name:
                    raise TypeError(f"plugin name must be a non-empty string; got {name!r}")
                if name in taken:
                    raise PluginError(f"a plugin named {name!r} is already registered; unregister it first or choose another name")
                plugin_name = name
            else:
                label = getattr(plugin, "__name__", type(plugin).__name__)
                plugin_name = f"{CODE_SOURCE}:{label}"
                counter = 2
                while plugin_name in taken:
                    plugin_name, counter = f"{CODE_SOURCE}:{label}#{counter}", counter + 1
            where = f"{plugin_name!r}"
            manager = self._manager
            try:
                admitted = self._admit(manager, plugin, plugin_name, CODE_SOURCE, where)
            except _Rejected as rejection:
                raise PluginError(f"numbagrad plugin {where} {rejection}") from rejection.__cause__
            plugins = self._plugins + [admitted]
            table = _resolve(plugins)
            refused = [reason for entry, reason in table.refusals if entry.plugin == plugin_name]
            if refused:
                manager.unregister(name=plugin_name)
                raise PluginError(f"numbagrad plugin {where} could not be registered: {'; '.join(refused)}")
            self._plugins, self._table = plugins, table
            return plugin_name

    def register_specs(self, kind: str, specs: Sequence[Any]) -> str:
        """Register declarations of one ``kind`` in code as one plugin; returns its plugin name.

        Every kind's ``register(*specs)`` (``numbagrad.optim.register``,
        ``numbagrad.losses.register``, ...) calls this.
        """
        if kind not in KINDS:
            raise ValueError(f"unknown kind of component {kind!r}; kinds: {', '.join(KINDS)}")
        if not specs:
            raise TypeError(f"register() needs at least one {kind} declaration")
        return self.register(_CodePlugin(KINDS[kind], specs))

    def unregister(self, plugin_name: str, kind: str | None = None) -> None:
        """Remove a plugin and everything it declared; names it had shadowed come back.

        ``plugin_name`` is what :meth:`register` returned or, for a plugin
        registered in code, the registry name of one of its declarations of
        ``kind`` (``optim.unregister("lion")``).

        Raises:
            ValueError: no such plugin, or the built-ins (which cannot be removed).
        """
        self._loaded()
        with self._lock:
            if plugin_name == BUILTIN_SOURCE:
                raise ValueError("numbagrad's built-ins cannot be unregistered; register a replacement with override=True")
            names = [p.name for p in self._plugins]
            if plugin_name not in names and kind is not None and isinstance(plugin_name, str):
                # The latest in-code plugin that declared this name (it shadows any earlier one).
                declaring = [
                    p.name for p in self._plugins
                    if p.source == CODE_SOURCE and any(e.name == plugin_name.lower() for e in p.entries.get(kind, ()))
                ]
                plugin_name = declaring[-1] if declaring else plugin_name
            if plugin_name not in names:
                registered = ", ".join(repr(n) for n in names if n != BUILTIN_SOURCE) or "none besides the built-ins"
                raise ValueError(f"no plugin named {plugin_name!r} is registered; registered: {registered}")
            plugins = [p for p in self._plugins if p.name != plugin_name]
            table = _resolve(plugins)
            self._manager.unregister(name=plugin_name)
            self._plugins, self._table = plugins, table

    def reset(self) -> None:
        """Forget every plugin, in-code ones included; the next look-up loads them again (for tests)."""
        with self._lock:
            self._table = None
            self._manager = None
            self._plugins = []
            self.problems = []


_REGISTRY = Registry()


def get_registry() -> Registry:
    """The process-wide registry."""
    return _REGISTRY
