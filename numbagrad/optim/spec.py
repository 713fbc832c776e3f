"""The declaration of an optimizer: what users and plugins see.

An optimizer is data plus kernels: a name, its hyperparameters with defaults
and valid ranges, the names of its per-parameter state slots, and an
``@njit`` update kernel with the contract of
:func:`numbagrad.kernels.signatures.update_signature`. Built-in optimizers are
declared exactly as a plugin declares one::

    import numpy as np
    from numba import njit
    from numbagrad.hyperparameters import Hyperparameter
    from numbagrad.optim import OptimizerSpec

    @njit(error_model="numpy", cache=True)
    def sign_sgd_update(param, grad, state, hyper, step, start, stop):
        lr = param.dtype.type(hyper[0])
        p = param[start:stop]
        g = grad[start:stop]
        for i in range(p.size):
            p[i] -= lr * np.sign(g[i])

    SIGN_SGD = OptimizerSpec(
        name="sign_sgd",
        update=sign_sgd_update,
        hyperparameters=(Hyperparameter("lr", 1e-3, minimum=0.0),),
    )
"""

from __future__ import annotations

import inspect
import math
import types
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from numbagrad.declarations import Declaration, import_cuda, require_kernel
from numbagrad.hyperparameters import KERNEL_KINDS, Hyperparameter

__all__ = ["StateSlot", "OptimizerSpec", "check_kernels"]


@dataclass(frozen=True)
class StateSlot:
    """A named piece of optimizer state.

    Attributes:
        name: named after the math (``exp_avg``, ``momentum_buffer``).
        initial: the value the slot starts at: a number, or the name of a
            hyperparameter whose value it takes (Adagrad's ``sum`` starts at
            ``initial_accumulator_value``).
        when: the name of a hyperparameter; the slot exists only while its
            value is non-zero (AMSGrad's ``max_exp_avg_sq``,
            ``when="amsgrad"``). ``None``: always.
        shape: tensor-wise optimizers only: a function of the parameter's
            shape (a tuple) returning the slot's shape for it, or ``None``
            where the slot does not exist for such a parameter (Adafactor's
            ``row_var``: ``lambda s: s[:-1] + (1,) if len(s) >= 2 else None``).
            ``None`` (the default): the parameter's own shape.
        minimum: the least value the slot can hold (``0.0`` for a running
            average of squares, ``exp_avg_sq``); ``load_state_dict`` and
            ``load_model`` refuse state below it as corrupted. ``None``: any
            finite value.
    """

    name: str
    initial: float | str = 0.0
    when: str | None = None
    shape: Callable[[tuple[int, ...]], tuple[int, ...] | None] | None = None
    minimum: float | None = None

    def shape_for(self, param_shape: Sequence[int]) -> tuple[int, ...] | None:
        """The slot's shape for a parameter of ``param_shape`` (``None``: absent for it).

        Raises ``ValueError`` naming the slot when its ``shape`` function
        returns something other than a tuple of sizes >= 0 or ``None``.
        """
        param_shape = tuple(int(n) for n in param_shape)
        if self.shape is None:
            return param_shape
        shape = self.shape(param_shape)
        if shape is None:
            return None
        try:
            shape = tuple(shape)
        except TypeError:
            shape = None
        if shape is None or not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 0 for n in shape):
            raise ValueError(
                f"state slot {self.name!r}: shape({param_shape}) must return a tuple of sizes >= 0 or None; "
                f"got {self.shape(param_shape)!r}"
            )
        return tuple(int(n) for n in shape)

    def initial_value(self, hyperparameters: Mapping[str, Any]) -> float:
        if isinstance(self.initial, str):
            return float(hyperparameters[self.initial])
        return float(self.initial)


def _as_slot(slot: str | StateSlot) -> StateSlot:
    return slot if isinstance(slot, StateSlot) else StateSlot(slot)


@dataclass(frozen=True)
class OptimizerSpec(Declaration):
    """Declaration of an optimizer.

    An optimizer gives either its update rule, from which numbagrad
    generates the CPU and CUDA kernels (``coefficients`` and ``rule``, see
    :mod:`numbagrad.kernels.elementwise`), or hand-written kernels
    (``update`` and, optionally, ``cuda_update``).

    Attributes:
        name: registry name, lower case (``"adam"``); looked up case-insensitively.
        update: the fused ``@njit`` update kernel
            ``update(param, grad, state, hyper, step, start, stop)``;
            ``None`` with ``rule``.
        hyperparameters: declarations in the order the kernel reads them
            from ``hyper``.
        state: per-parameter state slots, one row of ``state`` each, in
            order; or a function of the validated hyperparameters returning
            them, when a slot exists only with some options (AMSGrad's
            ``max_exp_avg_sq``).
        scalars: per-step scalar state (float64, shared by a parameter
            group), appended to ``hyper`` after the hyperparameters.
        prepare: ``@njit`` ``prepare(hyper, step)`` run once per step before
            the update, to advance ``scalars``; ``None`` when there are none.
        check: extra validation across hyperparameters: called with the
            validated values and the optimizer's title, raises ``ValueError``.
        presets: other registry names for preset hyperparameters
            (``{"amsgrad": {"amsgrad": True}}``).
        title: the name in messages and documentation (``"Adam"``).
        cuda_update: the ``@cuda.jit`` twin of ``update``, used for CUDA
            device arrays (contract in :mod:`numbagrad.kernels.cuda`): the
            kernel itself, or preferably its import path
            ``"package.module:kernel"``, imported on first use so that
            declaring it does not import ``numba.cuda``. ``None``: the
            optimizer runs on the host only.
        override: a plugin's declaration replaces a built-in of the same name
            only when this is true.
        coefficients: plain Python ``coefficients(param, step, **hyperparameters)``
            computing, once per step, what the rule needs, rounded to
            ``param``'s dtype.
        rule: plain Python ``rule(p, grad, *slot_values, c)`` updating one
            element from the coefficients ``c``; returns the new ``p``, or
            ``(p, *new_slot_values)`` when there is state.
        closure: the optimizer evaluates the objective itself, several times
            per step (L-BFGS): its class implements ``step(closure)`` and it
            has no kernels.
        tensorwise: the kernels see whole parameter tensors with their
            shapes instead of slices (Adafactor, Muon, LAMB): ``update`` (and
            ``reduce``) follow :func:`numbagrad.kernels.signatures.tensor_update_signature`
            and ``cuda_update`` (``cuda_reduce``) are host functions
            ``(param, grad, state, hyper, step, shape, statistics, tensor, host_hyper)``
            on device arrays (``shape`` a tuple, ``host_hyper`` a host copy
            of ``hyper`` for what the host must know, such as a loop count)
            that launch the GPU work on the default stream.
        reduce: a tensor-wise ``@njit`` kernel run on every tensor of a
            group before any ``update``, writing that tensor's row of
            ``statistics``; ``None`` when the update needs none.
        statistics: the width of a tensor-wise optimizer's statistics rows.
        cuda_reduce: the CUDA twin of ``reduce`` (its import path preferably).
        reduce_over: a tensor-wise rule's sums: ``"tensor"``, each tensor's
            own (LAMB's norms), or ``"group"``, summed over every tensor of
            the group (a global norm).
        check_shape: a function of a parameter's shape that raises
            ``ValueError`` saying what is allowed when the optimizer cannot
            update such a parameter (Muon: matrices only); ``None``: any.
    """

    name: str
    update: Any = None
    hyperparameters: tuple[Hyperparameter, ...] = ()
    state: Sequence[str | StateSlot] | Callable[[Mapping[str, Any]], Sequence[str | StateSlot]] = ()
    scalars: tuple[StateSlot, ...] = ()
    prepare: Any = None
    check: Callable[[Mapping[str, Any], str], None] | None = None
    presets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    title: str = ""
    cuda_update: Any = None
    override: bool = False
    coefficients: Any = None
    rule: Any = None
    closure: bool = False
    tensorwise: bool = False
    reduce: Any = None
    statistics: int = 0
    cuda_reduce: Any = None
    check_shape: Callable[[tuple[int, ...]], None] | None = None
    reduce_over: str = "tensor"

    kind = "optimizer"

    def __post_init__(self):
        self._normalize()
        object.__setattr__(self, "scalars", tuple(_as_slot(s) for s in self.scalars))

    def validate(self, values: Mapping[str, Any], base: Mapping[str, Any] | None = None, owner: str = "") -> dict[str, Any]:
        """Validated hyperparameters: ``values`` over ``base`` (or the defaults), then
        the declaration's ``check`` across them.

        Raises ``TypeError`` or ``ValueError`` naming the hyperparameter,
        the value and what is allowed.
        """
        validated = super().validate(values, base, owner)
        if self.check is not None:
            self.check(validated, owner or self.title)
        return validated

    def check_representable(self, values: Mapping[str, Any], dtype, owner: str) -> None:
        """Raise ``ValueError`` naming a float hyperparameter whose value overflows ``dtype``
        (``lr=1e39`` for float32 parameters: the kernels would compute with infinity)."""
        largest = float(np.finfo(dtype).max)
        for h in self.hyperparameters:
            if h.kind not in ("float", "pair", "floats"):
                continue
            value = values[h.name]
            for i, v in enumerate(value if isinstance(value, tuple) else (value,)):
                if v is not None and abs(v) > largest:
                    label = f"{h.name}[{i}]" if isinstance(value, tuple) else h.name
                    raise ValueError(
                        f"{owner}: {label}={v!r} cannot be represented in the parameters' dtype {np.dtype(dtype)} "
                        f"(largest finite value {largest:g})"
                    )

    def check_shapes(self, owner: str, shapes: Sequence[tuple[int, ...]], indices: Sequence[int]) -> None:
        """Raise ``ValueError`` naming ``params[i]`` when ``check_shape`` refuses its shape."""
        if self.check_shape is None:
            return
        for shape, index in zip(shapes, indices):
            try:
                self.check_shape(tuple(shape))
            except ValueError as error:
                raise ValueError(f"{owner}: params[{index}] has shape {tuple(shape)}: {error}") from None

    def slots(self, hyperparameters: Mapping[str, Any]) -> tuple[StateSlot, ...]:
        """The state slots used with these (validated) hyperparameters."""
        declared = self.state(hyperparameters) if callable(self.state) else self.state
        slots = (_as_slot(s) for s in declared)
        return tuple(s for s in slots if s.when is None or hyperparameters[s.when])

    def declared_slots(self) -> tuple[StateSlot, ...]:
        """Every state slot a rule may see, in order, present or not (``state`` must be a sequence)."""
        return tuple(_as_slot(s) for s in self.state)

    @property
    def generated(self) -> bool:
        """Whether the kernels are generated from ``coefficients`` and ``rule``."""
        return self.rule is not None

    @property
    def has_cuda_kernel(self) -> bool:
        """Whether the optimizer can update CUDA device arrays."""
        return self.generated or self.cuda_update is not None

    def update_kernel(self) -> Any:
        """The ``@njit`` update kernel: ``update``, or the one generated from the rule."""
        if self.generated:
            from numbagrad.kernels.elementwise import cpu_tensor_update, cpu_update

            return cpu_tensor_update(self) if self.tensorwise else cpu_update(self)
        return self.update

    def encode(self, hyperparameters: Mapping[str, Any], scalars: Sequence[float] = ()) -> np.ndarray:
        """The float64 ``hyper`` vector the kernels read: hyperparameters, then scalars."""
        return np.concatenate([super().encode(hyperparameters), np.asarray(scalars, dtype=np.float64)])

    def layout(self) -> list[str]:
        """Name of each entry of ``hyper`` in order (``betas`` gives ``betas[0]``, ``betas[1]``)."""
        names: list[str] = []
        for h in self.hyperparameters:
            names.extend([f"{h.name}[{i}]" for i in range(h.width)] if h.kind in ("pair", "floats") else [h.name])
        names.extend(s.name for s in self.scalars)
        return names

    def reduce_kernel(self) -> Any:
        """The tensor-wise ``@njit`` reduce kernel: ``reduce``, the generated one, or one that does nothing."""
        if self.generated and self.tensorwise:
            from numbagrad.kernels.elementwise import cpu_reduce

            return cpu_reduce(self)
        if self.reduce is not None:
            return self.reduce
        from numbagrad.kernels.cpu.update import no_reduce

        return no_reduce

    @property
    def has_reduce(self) -> bool:
        """Whether a tensor-wise optimizer computes statistics before its updates."""
        return self.tensorwise and (self.reduce is not None or self.generated)

    def kernel_table(self, dtype) -> np.ndarray:
        """The int64 addresses ``[update C, update JIT, prepare C, prepare JIT]`` for ``dtype``,
        then ``[reduce C, reduce JIT]`` for a tensor-wise optimizer.

        Compiles the kernels for ``dtype`` (or loads them from Numba's cache)
        on first use; :func:`numbagrad.kernels.cpu.update.apply_plan` calls
        them through these addresses.
        """
        from numbagrad.kernels.cpu.update import no_prepare
        from numbagrad.kernels.pointers import kernel_addresses
        from numbagrad.kernels.signatures import PREPARE_SIGNATURE, tensor_update_signature, update_signature

        signature = tensor_update_signature(dtype) if self.tensorwise else update_signature(dtype)
        update = kernel_addresses(self.update_kernel(), signature)
        prepare = kernel_addresses(self.prepare if self.prepare is not None else no_prepare, PREPARE_SIGNATURE)
        reduce = kernel_addresses(self.reduce_kernel(), signature) if self.tensorwise else ()
        return np.array(update + prepare + reduce, dtype=np.int64)

    def cuda_kernel(self):
        """The ``@cuda.jit`` update kernel, imported if declared by path or generated from the rule;
        ``None`` when there is none.

        Raises ``TypeError`` naming the optimizer when the path cannot be
        imported or names nothing.
        """
        if self.generated:
            from numbagrad.kernels.elementwise import cuda_tensor_update, cuda_update

            return cuda_tensor_update(self) if self.tensorwise else cuda_update(self)
        return import_cuda(self.label, "cuda_update", self.cuda_update)

    def cuda_reduce_kernel(self):
        """The CUDA twin of the tensor-wise ``reduce``: imported if declared by path, or generated from the rule."""
        if self.generated:
            from numbagrad.kernels.elementwise import cuda_reduce

            return cuda_reduce(self)
        return import_cuda(self.label, "cuda_reduce", self.cuda_reduce)

    def check_declaration(self) -> None:
        """Check the declaration itself: kernels, names, defaults, slots and presets.

        Raises ``TypeError`` or ``ValueError`` saying what is wrong.
        """
        label = self.label
        if self.closure is not False and self.closure is not True:
            raise TypeError(f"{label}: closure must be True or False; got {self.closure!r}")
        if self.closure:
            self._check_closure_form()
            return
        self._check_tensorwise()
        if self.generated or self.coefficients is not None:
            self._check_rule_form()
        else:
            require_kernel(label, "update", self.update)
        require_kernel(label, "prepare", self.prepare, optional=True)
        if not self.generated:
            require_kernel(label, "reduce", self.reduce, optional=True)
        for field_name in ("cuda_update", "cuda_reduce"):
            value = getattr(self, field_name)
            what = "a host function launching the GPU work" if self.tensorwise else "a @cuda.jit kernel"
            if isinstance(value, str):
                module_name, colon, attribute = value.partition(":")
                if not colon or not attribute.isidentifier() or not all(p.isidentifier() for p in module_name.split(".")):
                    shape = "function" if self.tensorwise else "kernel"
                    raise TypeError(f"{label}: {field_name} must be 'package.module:{shape}'; got {value!r}")
            elif value is not None and not callable(value):
                raise TypeError(f"{label}: {field_name} must be {what}, its import path or None; got {value!r}")
        for h in self.hyperparameters:
            if not isinstance(h, Hyperparameter):
                continue  # _check_common says so
            if h.kind not in KERNEL_KINDS or (h.kind == "floats" and h.length is None):
                raise ValueError(
                    f"{label}: hyperparameter {h.name!r} has kind {h.kind!r}; an update kernel reads only "
                    f"kinds {', '.join(KERNEL_KINDS)} (floats with a fixed length)"
                )
            if h.required:
                raise ValueError(f"{label}: hyperparameter {h.name!r} has no default; every optimizer hyperparameter needs one")
        self._check_common()
        names = self.hyperparameter_names
        kinds = {h.name: h.kind for h in self.hyperparameters}
        declared = self.state(self.validate({})) if callable(self.state) else self.state
        for slot in (_as_slot(s) for s in declared):
            if slot.when is not None and kinds.get(slot.when) not in ("bool", "float", "int"):
                raise ValueError(
                    f"{label}: state slot {slot.name!r} has when={slot.when!r}, which must name a bool, float or int "
                    f"hyperparameter of the optimizer ({', '.join(kinds) or 'it has none'})"
                )
        slots = self.slots(self.validate({}))
        for slot in slots + self.scalars:
            if not isinstance(slot.name, str) or not slot.name.isidentifier():
                raise ValueError(f"{label}: state slot name {slot.name!r} is not an identifier")
            if isinstance(slot.initial, str) and slot.initial not in names:
                raise ValueError(f"{label}: state slot {slot.name!r} starts at unknown hyperparameter {slot.initial!r}")
            if slot.minimum is not None and (isinstance(slot.minimum, bool) or not isinstance(slot.minimum, (int, float)) or not math.isfinite(slot.minimum)):
                raise TypeError(f"{label}: state slot {slot.name!r}: minimum must be a finite number or None; got {slot.minimum!r}")
        slot_names = [s.name for s in slots + self.scalars]
        if len(set(slot_names)) != len(slot_names) or "step" in slot_names:
            raise ValueError(f"{label}: state slot names {slot_names} must be unique and not 'step'")

    def _check_tensorwise(self) -> None:
        label = self.label
        if self.tensorwise is not False and self.tensorwise is not True:
            raise TypeError(f"{label}: tensorwise must be True or False; got {self.tensorwise!r}")
        if isinstance(self.statistics, bool) or not isinstance(self.statistics, int) or self.statistics < 0:
            raise ValueError(f"{label}: statistics must be an integer >= 0 (the width of each tensor's statistics row); got {self.statistics!r}")
        if not self.tensorwise:
            given = [n for n in ("reduce", "cuda_reduce") if getattr(self, n) is not None] + (["statistics"] if self.statistics else [])
            if given:
                raise TypeError(f"{label}: {', '.join(given)} belong to tensor-wise optimizers; declare tensorwise=True")
        if self.reduce_over not in ("tensor", "group"):
            raise ValueError(f"{label}: reduce_over must be 'tensor' or 'group'; got {self.reduce_over!r}")
        if self.cuda_reduce is not None and self.cuda_update is None:
            raise TypeError(f"{label}: cuda_reduce needs a cuda_update beside it")
        if self.reduce is not None and not self.statistics:
            raise ValueError(f"{label}: a reduce kernel writes statistics: declare their width, statistics >= 1")
        declared = self.state if not callable(self.state) else self.state(self.validate({}))
        for slot in (_as_slot(s) for s in declared):
            if slot.shape is not None and (not self.tensorwise or not callable(slot.shape)):
                raise TypeError(
                    f"{label}: state slot {slot.name!r} declares a shape; only a tensor-wise optimizer's slots "
                    "may (a function of the parameter's shape)"
                )

    def _check_closure_form(self) -> None:
        from numbagrad.optim.optimizer import Optimizer, optimizer_class

        label = self.label
        if any(v is not None for v in (self.update, self.cuda_update, self.rule, self.coefficients, self.prepare)):
            raise TypeError(f"{label}: an optimizer stepped with a closure has no kernels, rule or prepare")
        if self.state or self.scalars:
            raise TypeError(f"{label}: an optimizer stepped with a closure keeps its own state; declare no state slots")
        if optimizer_class(self) is Optimizer:
            raise TypeError(f"{label}: an optimizer stepped with a closure needs its class (an Optimizer subclass with spec = ...)")
        self._check_common()

    def _check_rule_form(self) -> None:
        label = self.label
        for field_name in ("coefficients", "rule"):
            value = getattr(self, field_name)
            if not isinstance(value, types.FunctionType):
                raise TypeError(
                    f"{label}: {field_name} must be a plain Python function (numbagrad compiles it for the CPU and "
                    f"for CUDA); got {value!r}"
                )
        if any(v is not None for v in (self.update, self.cuda_update, self.cuda_reduce)):
            raise TypeError(
                f"{label}: give either coefficients and rule (numbagrad generates the kernels) or update and "
                "cuda_update (hand-written kernels), not both"
            )
        if callable(self.state):
            raise TypeError(
                f"{label}: with a rule, state must be a sequence of slots (StateSlot(..., when='option') for a slot "
                "that exists with some options only), not a function"
            )
        slot_list = "".join(f"{s.name}, " for s in self.declared_slots())
        if self.tensorwise:
            if not isinstance(self.reduce, types.FunctionType):
                raise TypeError(
                    f"{label}: a tensor-wise rule needs reduce, a plain Python function reduce(p, grad, {slot_list}c) "
                    f"returning the element's {self.statistics or 'n'} contributions to its tensor's sums; got {self.reduce!r}"
                )
            if not self.statistics:
                raise ValueError(f"{label}: a tensor-wise rule reduces to statistics: declare how many sums, statistics >= 1")
            if any(s.shape is not None for s in self.declared_slots()):
                raise TypeError(f"{label}: a tensor-wise rule's state slots have the parameter's shape; declare no slot shape")
            reduce_parameters = list(inspect.signature(self.reduce).parameters)
            if len(reduce_parameters) != 3 + len(self.declared_slots()):
                raise TypeError(
                    f"{label}: reduce{tuple(reduce_parameters)} must take {3 + len(self.declared_slots())} arguments: "
                    f"(p, grad, {slot_list}c)"
                )
        parameters = list(inspect.signature(self.rule).parameters)
        expected = 3 + len(self.declared_slots()) + self.tensorwise
        if len(parameters) != expected:
            raise TypeError(
                f"{label}: rule{tuple(parameters)} must take {expected} arguments: (p, grad, {slot_list}c"
                + (", totals" if self.tensorwise else "")
                + "), the element's value of each state slot in order, then the coefficients"
                + (" and the tensor's sums" if self.tensorwise else "")
            )
        accepted = inspect.signature(self.coefficients).parameters
        names = ["param", "step", *self.hyperparameter_names, *(s.name for s in self.scalars)]
        plain = all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in accepted.values())
        if not plain or sorted(accepted) != sorted(names):
            missing = [n for n in names if n not in accepted]
            unknown = [n for n in accepted if n not in names]
            raise TypeError(
                f"{label}: coefficients{tuple(accepted)} must take param, step and every hyperparameter and scalar "
                f"by name ({', '.join(names[2:]) or 'none'}), in any order, as plain parameters"
                + (f"; missing {missing}" if missing else "")
                + (f"; unknown {unknown}" if unknown else "")
            )


def check_kernels(spec: OptimizerSpec) -> None:
    """Compile ``spec``'s kernels for the update contract and run them once on tiny arrays.

    Raises ``TypeError`` naming the optimizer when a kernel does not fit the
    contract of :func:`numbagrad.kernels.signatures.update_signature`.
    """
    from numbagrad.optim.partition import HostPartition, UpdatePlan

    if spec.closure:
        return  # no kernels: its class evaluates the objective
    if spec.generated:
        from numbagrad.kernels.elementwise import probe

        probe(spec)
    defaults = spec.validate({})
    contract = (
        "update(param: T[::1], grad: T[::1], state: T[::1], hyper: float64[::1], step: int64, shape: int64[::1], "
        "statistics: float64[:, ::1], tensor: int64)"
        if spec.tensorwise
        else "update(param: T[::1], grad: T[::1], state: T[:, ::1], hyper: float64[::1], step: int64, start: int64, stop: int64)"
    )
    for dtype in (np.dtype(np.float64), np.dtype(np.float32)):
        # A matrix and a vector: a tensor-wise kernel meets both shapes in a model.
        params = [np.ones((2, 3), dtype=dtype), np.ones(3, dtype=dtype)] if spec.tensorwise else [np.ones(3, dtype=dtype)]
        grads = [np.full_like(p, 0.5) for p in params]
        hyper = spec.encode(defaults, [s.initial_value(defaults) for s in spec.scalars])
        try:
            partition = HostPartition.create(spec, 0, list(range(len(params))), params, defaults, hyper)
            partition.step = 1
            plan = UpdatePlan([partition], parallel_threshold=1 << 40)
            plan.set_grads(grads)
            plan.run(threads=1)
        except Exception as error:
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise TypeError(
                f"optimizer {spec.name!r}: its kernels do not fit the update contract {contract} "
                f"and prepare(hyper: float64[::1], step: int64) for T = {dtype}: {type(error).__name__}: {first_line}"
            ) from None
