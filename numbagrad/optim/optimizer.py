"""The optimizer object: parameter groups, state, ``step`` and ``state_dict``.

:class:`Optimizer` is the thin Python layer above the fused kernels. It
validates everything a user can get wrong, keeps each parameter group's state
for all its parameters of one dtype in one block, and runs a step as one
compiled call per such block, however many arrays it holds.

Parameters may also be CUDA device arrays (Numba's, or anything exporting
``__cuda_array_interface__``): their state then lives on the GPU and each
step launches the optimizer's CUDA kernel (see
:mod:`numbagrad.optim.cuda_partition`). One optimizer may hold host and
device parameters together; each (group, dtype, placement) is stepped where
its arrays live.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar, Iterable, Mapping, Sequence

import numpy as np

from numbagrad.device import is_cuda_array
from numbagrad.kernels.signatures import FLOAT_DTYPES
from numbagrad.optim.partition import HostPartition, UpdatePlan
from numbagrad.optim.spec import OptimizerSpec
from numbagrad.optim.state_checks import check_state_values, parameter_index, scalar_state, shown, step_count

__all__ = ["Optimizer", "optimizer_class"]

# The class that declares each spec, so that look-ups by name return a built-in
# class's instance (``get("adam")`` is an ``Adam``) and a plugin may do the same.
_CLASSES: dict[int, type] = {}


def _memory_span(array: Any) -> tuple[tuple[str, int], int, int]:
    """``((space, device), first byte, end)`` of an array's memory."""
    if is_cuda_array(array):
        from numbagrad.optim.cuda_partition import memory_span

        return memory_span(array)
    start = array.__array_interface__["data"][0]
    return ("host", 0), start, start + array.nbytes


def optimizer_class(spec: OptimizerSpec) -> type:
    """The :class:`Optimizer` subclass declared with ``spec``, else :class:`Optimizer`."""
    return _CLASSES.get(id(spec), Optimizer)


def _data(value: Any) -> Any:
    """The array behind a parameter: the array itself, or a Tensor's data (CUDA arrays as Numba device arrays)."""
    if isinstance(value, np.ndarray):
        return value
    if not is_cuda_array(value):
        value = getattr(value, "data", value)
    if is_cuda_array(value):
        from numbagrad.optim.cuda_partition import as_device_array

        return as_device_array(value)
    return value


def _comparable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, *(_comparable(v) for v in value))
    return value


class Optimizer:
    """Base of every optimizer: built-in classes and those made from a plugin's spec.

    Args:
        params: the arrays to optimize, updated in place (C-contiguous,
            writeable, float32 or float64); or a list of parameter groups,
            dicts ``{"params": [...], "lr": ..., ...}`` whose entries
            override the optimizer's hyperparameters for their arrays. With
            ``None`` the optimizer is unbound: :meth:`bind` (or a model's
            ``compile``) gives it its parameters later.
        **hyperparameters: the optimizer's hyperparameters; the rest take
            their defaults.

    The hyperparameters of each group live in ``param_groups[i]`` and may be
    changed between steps (a schedule changes ``"lr"``); a change is
    validated at the next :meth:`step`. Options that decide which state
    exists (AMSGrad, momentum on or off, centered) cannot change once
    stepping has begun.
    """

    spec: ClassVar[OptimizerSpec]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        spec = cls.__dict__.get("spec")
        if spec is None:
            return
        _CLASSES[id(spec)] = cls
        parameters = [inspect.Parameter("params", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None)]
        parameters += [
            inspect.Parameter(h.name, inspect.Parameter.KEYWORD_ONLY, default=h.default) for h in spec.hyperparameters
        ]
        cls.__signature__ = inspect.Signature(parameters)

    def __init__(self, params: Iterable[Any] | None = None, **hyperparameters: Any):
        spec = getattr(self, "spec", None)
        if not isinstance(spec, OptimizerSpec):
            raise TypeError("Optimizer is abstract: use a concrete class such as numbagrad.optim.Adam, or numbagrad.optim.get(name)")
        self.defaults: dict[str, Any] = spec.validate(hyperparameters)
        self.param_groups: list[dict[str, Any]] = []
        self._params: list[np.ndarray] = []
        self._sources: list[Any] = []
        self._partitions: list[Any] = []
        self._plans: dict[np.dtype, UpdatePlan] | None = None
        self._group_keys: list[tuple] = []
        if params is not None:
            self.bind(params)

    @classmethod
    def from_spec(cls, spec: OptimizerSpec, params: Iterable[Any] | None = None, **hyperparameters: Any) -> "Optimizer":
        """An optimizer for any declaration, a plugin's included."""
        declared = optimizer_class(spec)
        if declared is not Optimizer:
            return declared(params, **hyperparameters)
        instance = cls.__new__(cls)
        instance.spec = spec
        instance.__init__(params, **hyperparameters)
        return instance

    @property
    def title(self) -> str:
        return type(self).__name__ if "spec" in type(self).__dict__ else self.spec.title

    # --- binding -----------------------------------------------------------

    @property
    def bound(self) -> bool:
        """Whether the optimizer has parameters."""
        return bool(self._params)

    @property
    def params(self) -> list[np.ndarray]:
        """The arrays being optimized, in order (groups one after another)."""
        return list(self._params)

    def bind(self, params: Iterable[Any]) -> "Optimizer":
        """Give an unbound optimizer its parameters; returns ``self``.

        Raises:
            RuntimeError: the optimizer already has parameters.
            TypeError, ValueError: see the class documentation.
        """
        if self._params:
            raise RuntimeError(
                f"{self.title} already optimizes {len(self._params)} arrays; create a new optimizer to optimize others"
            )
        groups, sources = self._parse_params(params)
        self.param_groups = groups
        self._sources = sources
        self._params = [_data(s) for s in sources]
        self._build_partitions()
        return self

    def _parse_params(self, params: Any) -> tuple[list[dict[str, Any]], list[Any]]:
        title = self.title
        if isinstance(params, np.ndarray) or hasattr(params, "requires_grad") or isinstance(params, (dict, str, bytes)) or is_cuda_array(params):
            raise TypeError(
                f"{title}: params must be a list of arrays or of parameter-group dicts; got a single "
                f"{type(params).__name__} (wrap it in a list)"
            )
        try:
            entries = list(params)
        except TypeError:
            raise TypeError(f"{title}: params must be a list of arrays or of parameter-group dicts; got {params!r}") from None
        if not entries:
            raise ValueError(f"{title}: params is empty; give at least one array to optimize")
        is_group = [isinstance(e, Mapping) for e in entries]
        if any(is_group) and not all(is_group):
            raise TypeError(f"{title}: params mixes arrays and parameter-group dicts; use one or the other")
        raw_groups = [dict(e) for e in entries] if all(is_group) else [{"params": entries}]

        groups: list[dict[str, Any]] = []
        sources: list[Any] = []
        for g, raw in enumerate(raw_groups):
            if "params" not in raw:
                raise ValueError(f"{title}: parameter group {g} has no 'params' entry")
            members = raw.pop("params")
            if isinstance(members, np.ndarray) or hasattr(members, "requires_grad") or is_cuda_array(members):
                members = [members]
            members = list(members)
            if not members:
                raise ValueError(f"{title}: parameter group {g} has an empty 'params' list")
            group = self.spec.validate(raw, base=self.defaults, owner=f"{title} parameter group {g}")
            for member in members:
                self._check_param(member, len(sources))
                sources.append(member)
            group["params"] = members
            groups.append(group)
        arrays = [_data(s) for s in sources]
        self._check_disjoint(arrays)
        if any(is_cuda_array(a) for a in arrays):
            from numbagrad.optim.cuda_partition import check_devices

            check_devices(self.title, arrays)
        return groups, sources

    def _check_param(self, value: Any, index: int) -> None:
        title = self.title
        if is_cuda_array(value) or is_cuda_array(getattr(value, "data", None)):
            from numbagrad.optim.cuda_partition import check_param

            check_param(title, self.spec, value if is_cuda_array(value) else value.data, index)
            return
        array = _data(value)
        if not isinstance(array, np.ndarray):
            raise TypeError(f"{title}: params[{index}] must be a NumPy array or a Tensor; got {type(value).__name__}")
        if array.dtype not in FLOAT_DTYPES:
            raise TypeError(f"{title}: params[{index}] has dtype {array.dtype}; only float32 and float64 arrays can be optimized")
        if not array.flags.c_contiguous:
            raise ValueError(
                f"{title}: params[{index}] is not C-contiguous; the optimizer updates arrays in place, "
                "so pass the array itself rather than a strided view"
            )
        if not array.flags.writeable:
            raise ValueError(f"{title}: params[{index}] is read-only; the optimizer updates arrays in place")

    def _check_disjoint(self, arrays: Sequence[np.ndarray]) -> None:
        spans = sorted(
            (*_memory_span(a), i) for i, a in enumerate(arrays) if a.size
        )
        for (space, start, end, i), (next_space, next_start, _, j) in zip(spans, spans[1:]):
            if space == next_space and next_start < end:
                first, second = sorted((i, j))
                raise ValueError(
                    f"{self.title}: params[{first}] and params[{second}] share memory; "
                    "each element must belong to one parameter"
                )

    # --- state layout --------------------------------------------------------

    def _group_key(self, group: Mapping[str, Any]) -> tuple:
        """What ``refresh`` compares to see whether a group changed. Arrays (``lr`` set to
        ``np.array(...)``) become their bytes: comparing them would be ambiguous."""
        return (len(group),) + tuple(_comparable(group.get(name)) for name in self.spec.hyperparameter_names)

    def _build_partitions(self) -> None:
        self._partitions = []
        self._plans = None
        self._group_keys = []
        index = 0
        for g, group in enumerate(self.param_groups):
            count = len(group["params"])
            members = list(range(index, index + count))
            index += count
            for dtype in FLOAT_DTYPES:
                for on_device in (False, True):
                    chosen = [i for i in members if self._params[i].dtype == dtype and is_cuda_array(self._params[i]) == on_device]
                    if chosen:
                        self._partitions.append(self._new_partition(g, chosen, dict(group)))
            self._group_keys.append(self._group_key(group))

    def _new_partition(self, g: int, indices: list[int], hyperparameters: Mapping[str, Any]):
        arrays = [self._params[i] for i in indices]
        self.spec.check_shapes(self.title, [a.shape for a in arrays], indices)
        self.spec.check_representable(hyperparameters, arrays[0].dtype, f"{self.title} parameter group {g}")
        hyper = self.spec.encode(hyperparameters, [s.initial_value(hyperparameters) for s in self.spec.scalars])
        if is_cuda_array(arrays[0]):
            from numbagrad.optim.cuda_partition import CudaPartition

            return CudaPartition.create(self.spec, g, indices, arrays, hyperparameters, hyper)
        return HostPartition.create(self.spec, g, indices, arrays, hyperparameters, hyper)

    def update_plans(self) -> dict[np.dtype, UpdatePlan]:
        """The plan stepping the host partitions of each dtype (built once, after the partitions change)."""
        if self._plans is None:
            plans = {}
            for dtype in FLOAT_DTYPES:
                partitions = [p for p in self._partitions if not p.on_device and p.dtype == dtype]
                if partitions:
                    plans[dtype] = UpdatePlan(partitions)
            self._plans = plans
        return self._plans

    # --- stepping ------------------------------------------------------------

    def _refreshed_groups(self) -> list[dict[str, Any] | None]:
        """Validate every changed group; ``None`` for unchanged ones. Changes nothing."""
        refreshed: list[dict[str, Any] | None] = []
        for g, group in enumerate(self.param_groups):
            if self._group_key(group) == self._group_keys[g]:
                refreshed.append(None)
                continue
            values = {k: v for k, v in group.items() if k != "params"}
            validated = self.spec.validate(values, base=self.defaults, owner=f"{self.title} parameter group {g}")
            slots = self.spec.slots(validated)
            for partition in self._partitions:
                if partition.group == g:
                    self.spec.check_representable(validated, partition.dtype, f"{self.title} parameter group {g}")
                if partition.group == g and partition.step > 0 and slots != partition.slots:
                    before = ", ".join(s.name for s in partition.slots) or "none"
                    after = ", ".join(s.name for s in slots) or "none"
                    raise ValueError(
                        f"{self.title} parameter group {g}: this change would alter the optimizer's state "
                        f"(slots {before} -> {after}) after {partition.step} steps; create a new optimizer instead"
                    )
            refreshed.append(validated)
        return refreshed

    def _apply_refreshed(self, refreshed: Sequence[dict[str, Any] | None]) -> None:
        for g, validated in enumerate(refreshed):
            if validated is None:
                continue
            group = self.param_groups[g]
            group.update(validated)
            self._group_keys[g] = self._group_key(group)
            for p, partition in enumerate(self._partitions):
                if partition.group != g:
                    continue
                if partition.step == 0:
                    # Nothing stepped yet: start from this group's options afresh.
                    self._partitions[p] = self._new_partition(g, partition.indices, validated)
                    self._plans = None
                else:
                    # In place: update plans read the vector through its address.
                    tail = partition.hyper[len(partition.hyper) - len(self.spec.scalars) :]
                    partition.hyper[:] = self.spec.encode(validated, tail)

    def _collect_grads(self, grads: Any) -> list[np.ndarray]:
        title = self.title
        if grads is None:
            collected = []
            for i, source in enumerate(self._sources):
                grad = getattr(source, "grad", None)
                if grad is None:
                    raise TypeError(
                        f"{title}.step() needs grads: pass one gradient array per parameter, "
                        f"or optimize Tensors whose .grad is set (params[{i}] has none)"
                    )
                collected.append(grad if is_cuda_array(grad) else np.asarray(grad))
            grads = collected
        elif isinstance(grads, np.ndarray) or is_cuda_array(grads):
            grads = [grads]
        elif isinstance(grads, (str, bytes, Mapping)):
            raise TypeError(f"{title}.step(): grads must be a list of arrays; got {type(grads).__name__}")
        else:
            try:
                grads = list(grads)
            except TypeError:
                raise TypeError(f"{title}.step(): grads must be a list of arrays; got {type(grads).__name__}") from None
        if len(grads) != len(self._params):
            raise ValueError(
                f"{title}.step(): got {len(grads)} gradient arrays for {len(self._params)} parameters; "
                "give one per parameter, in the order of params"
            )
        checked = []
        for i, (param, grad) in enumerate(zip(self._params, grads)):
            if is_cuda_array(param):
                from numbagrad.optim.cuda_partition import check_grad

                checked.append(check_grad(title, i, grad, param))
                continue
            if not isinstance(grad, np.ndarray):
                raise TypeError(f"{title}.step(): grads[{i}] must be a NumPy array; got {type(grad).__name__}")
            if grad.shape != param.shape:
                raise ValueError(f"{title}.step(): grads[{i}] has shape {grad.shape}; params[{i}] has shape {param.shape}")
            if grad.dtype != param.dtype:
                raise TypeError(f"{title}.step(): grads[{i}] has dtype {grad.dtype}; params[{i}] has dtype {param.dtype}")
            checked.append(grad if grad.flags.c_contiguous else np.ascontiguousarray(grad))
        return checked

    def step(self, grads: Sequence[np.ndarray] | np.ndarray | None = None) -> None:
        """Update every parameter in place from its gradient.

        Args:
            grads: one array per parameter, same shapes and dtypes, in the
                order of ``params`` (a single array when there is one
                parameter). ``None`` reads ``.grad`` of Tensor parameters.

        Every check runs before any parameter or state changes.
        """
        if not self._params:
            raise RuntimeError(f"{self.title} has no parameters yet: pass params= or call bind() first")
        grads = self._collect_grads(grads)
        refreshed = self._refreshed_groups()
        self._apply_refreshed(refreshed)
        for partition in self._partitions:
            partition.step += 1
            if partition.on_device:
                partition.run([grads[i] for i in partition.indices])
        for plan in self.update_plans().values():
            plan.set_grads([grads[i] for partition in plan.partitions for i in partition.indices])
            plan.run()

    def zero_grad(self) -> None:
        """Clear ``.grad`` of Tensor parameters (arrays have none)."""
        for source in self._sources:
            if hasattr(source, "grad"):
                source.grad = None

    def refresh(self) -> None:
        """Validate and apply changes made to ``param_groups`` since the last step
        (``step`` does this itself; compiled training loops call it before they run)."""
        self._apply_refreshed(self._refreshed_groups())

    def training_partitions(self) -> list[Any]:
        """The partitions a compiled training loop steps (each with ``group``, ``indices``, ``hyper``, ``step``)."""
        return self._partitions

    # --- state_dict ----------------------------------------------------------

    @property
    def steps(self) -> int:
        """Steps taken so far (by the first parameter group)."""
        return self._partitions[0].step if self._partitions else 0

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as plain data: nested dicts, lists, numbers and arrays.

        Layout, as in PyTorch::

            {"optimizer": "adam",
             "state": {0: {"step": 3, "exp_avg": array, "exp_avg_sq": array}, ...},
             "param_groups": [{"lr": 0.001, "betas": (0.9, 0.999), ..., "params": [0, 1]}]}

        Arrays are copies, shaped like their parameters; parameters not yet
        stepped have no entry in ``state``.
        """
        if not self._params:
            raise RuntimeError(f"{self.title} has no parameters yet: nothing to save")
        spec = self.spec
        scalar_start = len(spec.encode(self.defaults))
        state: dict[int, dict[str, Any]] = {}
        for partition in self._partitions:
            if partition.step == 0:
                continue
            for local, index in enumerate(partition.indices):
                values = partition.read_state(local)
                entry: dict[str, Any] = {"step": partition.step}
                for slot, value in zip(partition.slots, values):
                    if value is not None:  # a tensor-wise slot may not exist for this parameter's shape
                        entry[slot.name] = value
                for k, scalar in enumerate(spec.scalars):
                    entry[scalar.name] = float(partition.hyper[scalar_start + k])
                state[index] = entry
        groups = []
        index = 0
        for group in self.param_groups:
            saved = {name: group[name] for name in spec.hyperparameter_names}
            count = len(group["params"])
            saved["params"] = list(range(index, index + count))
            index += count
            groups.append(saved)
        return {"optimizer": spec.name, "state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned; continuing then repeats the saved run exactly.

        Hyperparameters missing from an older state dict take their
        defaults. Everything is checked before anything changes.

        Raises:
            TypeError, ValueError: a state dict of another optimizer or
                another set of parameters, or with invalid content.
        """
        title = self.title
        if not self._params:
            raise RuntimeError(f"{title} has no parameters yet: bind it before loading its state")
        index_of, new_groups = self._saved_groups(state_dict)
        entries = self._saved_entries(state_dict, index_of)

        # Build the new partitions aside; commit only when all of them are valid.
        old = (self.param_groups, self._partitions, self._group_keys)
        staged_groups = []
        for group, validated in zip(self.param_groups, new_groups):
            staged = dict(validated)
            staged["params"] = group["params"]
            staged_groups.append(staged)
        try:
            self.param_groups = staged_groups
            self._build_partitions()
            for partition in self._partitions:
                self._load_partition(partition, entries, new_groups[partition.group])
        except Exception:
            self.param_groups, self._partitions, self._group_keys = old
            self._plans = None
            raise
        for group, staged in zip(old[0], staged_groups):
            group.update({k: v for k, v in staged.items() if k != "params"})
        self.param_groups = old[0]
        self._group_keys = [self._group_key(group) for group in self.param_groups]

    def _saved_groups(self, state_dict: Any) -> tuple[dict[int, int], list[dict[str, Any]]]:
        """Check a state dict's outline and its ``param_groups``: the map from its parameter indices
        to this optimizer's (as in PyTorch, the saved groups' ``params`` name the state's keys, matched
        in order) and each group's validated hyperparameters."""
        title = self.title
        spec = self.spec
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"{title}.load_state_dict(): expected a dict; got {type(state_dict).__name__}")
        for key in ("state", "param_groups"):
            if key not in state_dict:
                raise ValueError(f"{title}.load_state_dict(): the state dict has no {key!r} entry")
        name = state_dict.get("optimizer", spec.name)
        if not isinstance(name, str) or name != spec.name:
            raise ValueError(f"{title}.load_state_dict(): the state dict belongs to optimizer {shown(name)}, not {spec.name!r}")
        saved_groups = state_dict["param_groups"]
        if isinstance(saved_groups, (str, bytes, Mapping)) or not isinstance(saved_groups, Sequence):
            raise TypeError(f"{title}.load_state_dict(): 'param_groups' must be a list of dicts; got {type(saved_groups).__name__}")
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{title}.load_state_dict(): the state dict has {len(saved_groups)} parameter groups; "
                f"this optimizer has {len(self.param_groups)}"
            )
        # As in PyTorch, the saved groups' "params" name the state's keys, matched in order to this
        # optimizer's parameters: saved index -> this optimizer's index.
        index_of: dict[int, int] = {}
        new_groups = []
        position = 0
        for g, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if not isinstance(saved, Mapping):
                raise TypeError(f"{title}.load_state_dict(): param_groups[{g}] must be a dict; got {type(saved).__name__}")
            members = saved.get("params", ())
            if (
                isinstance(members, (str, bytes, Mapping))
                or not isinstance(members, (Sequence, np.ndarray))
                or (isinstance(members, np.ndarray) and members.ndim != 1)
            ):
                raise TypeError(
                    f"{title}.load_state_dict(): param_groups[{g}]['params'] must be a list of parameter indices; "
                    f"got {shown(members)}"
                )
            if len(members) != len(group["params"]):
                raise ValueError(
                    f"{title}.load_state_dict(): param_groups[{g}] has {len(members)} parameters; "
                    f"this optimizer's group {g} has {len(group['params'])}"
                )
            for member in members:
                key = parameter_index(member)
                if key is None or key in index_of:
                    problem = "is not a parameter index" if key is None else "appears twice"
                    raise ValueError(f"{title}.load_state_dict(): param_groups[{g}]['params'] entry {shown(member)} {problem}")
                index_of[key] = position
                position += 1
            values = {k: (tuple(v) if isinstance(v, list) else v) for k, v in saved.items() if k != "params"}
            new_groups.append(spec.validate(values, owner=f"{title}.load_state_dict(): parameter group {g}"))

        return index_of, new_groups

    def _saved_entries(self, state_dict: Mapping[str, Any], index_of: Mapping[int, int]) -> dict[int, Mapping[str, Any]]:
        """The state dict's ``state``, keyed by this optimizer's parameter indices."""
        title = self.title
        saved_state = state_dict["state"]
        if not isinstance(saved_state, Mapping):
            raise TypeError(f"{title}.load_state_dict(): 'state' must be a dict; got {type(saved_state).__name__}")
        entries: dict[int, Mapping[str, Any]] = {}
        for key, entry in saved_state.items():
            index = index_of.get(parameter_index(key))
            if index is None:
                raise ValueError(
                    f"{title}.load_state_dict(): state key {shown(key)} is none of the parameter indices the "
                    f"state dict's param_groups list"
                )
            if not isinstance(entry, Mapping):
                raise TypeError(f"{title}.load_state_dict(): state[{key!r}] must be a dict; got {type(entry).__name__}")
            entries[index] = entry
        return entries

    def _load_partition(self, partition: Any, entries: Mapping[int, Mapping[str, Any]], hyperparameters: Mapping[str, Any]) -> None:
        title = self.title
        spec = self.spec
        present = [i for i in partition.indices if i in entries]
        if not present:
            return
        if len(present) != len(partition.indices):
            missing = sorted(set(partition.indices) - set(present))
            raise ValueError(
                f"{title}.load_state_dict(): parameters {missing} have no state while others of their group do"
            )
        steps = set()
        for index in present:
            steps.add(step_count(entries[index].get("step"), f"{title}.load_state_dict(): state[{index}]['step']"))
        if len(steps) != 1:
            raise ValueError(f"{title}.load_state_dict(): parameters of one group have different step counts {sorted(steps)}")
        known = {"step", *(slot.name for slot in partition.slots), *(scalar.name for scalar in spec.scalars)}
        for local, index in enumerate(partition.indices):
            entry = entries[index]
            unknown = [key for key in entry if key not in known]
            if unknown:
                raise ValueError(
                    f"{title}.load_state_dict(): state[{index}] has {shown(unknown[0])}, which is no state of "
                    f"{title} with these hyperparameters (it keeps: {', '.join(sorted(known))})"
                )
            values = []
            for slot, shape in zip(partition.slots, partition.slot_shapes(local)):
                if shape is None:
                    values.append(None)
                    continue
                if slot.name not in entry:
                    raise ValueError(f"{title}.load_state_dict(): state[{index}] has no {slot.name!r}")
                value = np.asarray(entry[slot.name])
                if value.shape != shape:
                    owner = "params" if shape == tuple(self._params[index].shape) else f"{slot.name} of params"
                    raise ValueError(
                        f"{title}.load_state_dict(): state[{index}][{slot.name!r}] has shape {value.shape}; "
                        f"{owner}[{index}] has shape {shape}"
                    )
                if value.dtype.kind not in "fiu":
                    raise TypeError(
                        f"{title}.load_state_dict(): state[{index}][{slot.name!r}] has dtype {value.dtype}; expected numbers"
                    )
                value = value.astype(partition.dtype)
                check_state_values(value, slot, f"{title}.load_state_dict(): state[{index}][{slot.name!r}]")
                values.append(value)
            partition.write_state(local, values)
        scalar_start = len(spec.encode(hyperparameters))
        first = entries[present[0]]
        for k, scalar in enumerate(spec.scalars):
            if scalar.name not in first:
                raise ValueError(f"{title}.load_state_dict(): state[{present[0]}] has no {scalar.name!r}")
            value = scalar_state(first[scalar.name], f"{title}.load_state_dict(): state[{present[0]}][{scalar.name!r}]")
            check_state_values(np.float64(value), scalar, f"{title}.load_state_dict(): state[{present[0]}][{scalar.name!r}]")
            partition.hyper[scalar_start + k] = value
        partition.step = steps.pop()

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self.defaults.items())
        bound = f", {len(self._params)} arrays in {len(self.param_groups)} groups" if self._params else ", unbound"
        return f"{self.title}({options}{bound})"
