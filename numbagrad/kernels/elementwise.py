"""Update kernels generated from an element-wise rule: the public form of an optimizer.

An optimizer declared with ``coefficients`` and ``rule`` (see
:class:`numbagrad.optim.OptimizerSpec`) is written as two plain Python
functions::

    def coefficients(param, step, *, lr, betas, ..., <scalar state>):
        # once per kernel call, in float64: bias corrections, step sizes...;
        # returns them rounded to the parameters' dtype T = param.dtype.type
        # (a NamedTuple reads best)
    def rule(p, grad, <one value per state slot>, c):
        # one element, in T; returns p (no state) or (p, <new slot values>)

and numbagrad generates from them the fused CPU kernel, one loop over
``[start, stop)`` with the rule inlined (the contract of
:func:`numbagrad.kernels.signatures.update_signature`, cached on disk like
the built-ins), and its ``@cuda.jit`` twin, a grid-stride loop (the contract
of :func:`numbagrad.kernels.signatures.cuda_update_signature`). Both run the
same two functions, so they compute the same operations in the same order.

How the generated code calls them:

* ``coefficients`` receives ``param``, ``step``, every hyperparameter and
  the optimizer's scalar state, matched by name in the order its own
  parameters list them: floats as float64, integers as int64, booleans as
  bool, pairs (``betas``) and fixed-length lists as tuples of float64, a
  choice as the index of the chosen name (-1 for ``None``), and an optional
  float left as ``None`` as NaN.
* ``rule`` receives each state slot's value at the element, in the declared
  order of the slots. A slot declared with ``when=`` exists only while that
  hyperparameter is non-zero; where it does not, the rule receives a
  placeholder in its place (the element's gradient) and what it returns for
  it is dropped.
* Plain Python functions the rule or the coefficients call by name (a
  helper such as :func:`numbagrad.kernels.rules.lerp`) are compiled for each
  target with them; ``@njit`` functions are recompiled from their Python
  source for the GPU.

Disk cache: the generated CPU module is written to numbagrad's cache folder
(:mod:`numbagrad._cache`) under a name that hashes the source of the rule,
the coefficients and every helper they call, so that an edit of any of them
compiles anew. A rule whose source cannot be read (typed at a prompt) is
compiled in memory, without the disk cache.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import inspect
import itertools
import os
import sys
import textwrap
import types
from typing import Any, Callable, Sequence

from numba.core.registry import CPUDispatcher

__all__ = ["Layout", "cpu_update", "cuda_update", "retarget", "source_digest", "probe"]


class Layout:
    """How a declaration's hyperparameters, scalars and state slots map onto ``hyper`` and ``state``.

    Attributes:
        arguments: ``(name, expression)`` for each hyperparameter and scalar
            ``coefficients`` receives, the expression reading it from ``hyper``.
        slots: the state slots' names, in declared order.
        conditions: for each slot, the expression of ``hyper`` that says
            whether it exists, or ``None`` when it always does.
    """

    def __init__(self, spec):
        self.arguments: list[tuple[str, str]] = []
        index = 0
        positions = {}
        for h in spec.hyperparameters:
            positions[h.name] = index
            if h.kind in ("pair", "floats"):
                entries = ", ".join(f"hyper[{index + i}]" for i in range(h.width))
                self.arguments.append((h.name, f"({entries},)"))
                index += h.width
                continue
            expression = {"bool": f"hyper[{index}] != 0.0", "int": f"int(hyper[{index}])", "choice": f"int(hyper[{index}])"}.get(
                h.kind, f"hyper[{index}]"
            )
            self.arguments.append((h.name, expression))
            index += 1
        for scalar in spec.scalars:
            self.arguments.append((scalar.name, f"hyper[{index}]"))
            index += 1
        declared = spec.declared_slots()
        self.slots = [slot.name for slot in declared]
        self.conditions = [None if slot.when is None else f"hyper[{positions[slot.when]}] != 0.0" for slot in declared]

    def call_coefficients(self, coefficients) -> str:
        """The call of ``coefficients``, its arguments by position in its own order (CUDA device
        functions take no keywords)."""
        expressions = dict(self.arguments, param="param", step="step")
        arguments = ", ".join(expressions[name] for name in inspect.signature(coefficients).parameters)
        return f"COEFFICIENTS({arguments})"

    def key(self) -> str:
        return repr((self.arguments, self.slots, self.conditions))


def probe(spec) -> None:
    """Call the rule's plain Python functions once, with the default hyperparameters, on float64
    values, exactly as the generated kernels will call them: a mistake (a misspelt field, a wrong
    number of returned values) is reported here, naming the function, instead of as a compiler
    error.

    Raises ``TypeError`` naming the optimizer and the function.
    """
    import numpy as np

    label = spec.label
    values = spec.validate({})
    hyper = spec.encode(values, [s.initial_value(values) for s in spec.scalars])
    if spec.prepare is not None:
        spec.prepare(hyper, 1)  # the scalar state as the first step sees it
    param = np.ones(3)
    layout = Layout(spec)
    arguments = {name: eval(expression, {}, {"hyper": hyper}) for name, expression in layout.arguments}  # noqa: S307 (our own expressions)
    slots = [np.float64(slot.initial_value(values)) for slot in spec.declared_slots()]
    p, g = np.float64(1.0), np.float64(0.5)
    names = "".join(f", {slot.name}" for slot in spec.declared_slots())

    def call(name, function, *args):
        try:
            with np.errstate(all="ignore"):
                return function(*args)
        except Exception as error:
            raise TypeError(f"{label}: {name} raised {type(error).__name__}: {error} when numbagrad called it in Python") from None

    def shown(result):
        plain = lambda v: v.item() if isinstance(v, np.generic) else v  # noqa: E731
        return repr(tuple(map(plain, result)) if isinstance(result, tuple) else plain(result))

    def numbers(result, count):
        return isinstance(result, tuple) and len(result) == count and all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in result)

    c = call("coefficients", lambda: spec.coefficients(param=param, step=1, **arguments))
    if spec.tensorwise:
        contributions = call("reduce", spec.reduce, p, g, *slots, c)
        if not numbers(contributions, spec.statistics):
            raise TypeError(
                f"{label}: reduce(p, grad{names}, c) must return a tuple of {spec.statistics} numbers (statistics="
                f"{spec.statistics}), the element's contributions to its tensor's sums; got {shown(contributions)}"
            )
        result = call("rule", spec.rule, p, g, *slots, c, (np.float64(1.0),) * spec.statistics)
    else:
        result = call("rule", spec.rule, p, g, *slots, c)
    if not slots and not isinstance(result, (float, np.floating)):
        raise TypeError(f"{label}: rule(p, grad, c{', totals' if spec.tensorwise else ''}) must return the new p, a number; got {shown(result)}")
    if slots and not numbers(result, 1 + len(slots)):
        raise TypeError(
            f"{label}: rule(p, grad{names}, c{', totals' if spec.tensorwise else ''}) must return (p{names}), "
            f"the new value of the element and of each state slot; got {shown(result)}"
        )


# --- compiling plain functions for a target ------------------------------------


def _python_function(value: Any) -> types.FunctionType | None:
    """The Python function behind ``value`` when the rule's compilation must follow it."""
    if isinstance(value, CPUDispatcher):
        return value.py_func
    # NumPy's own Python functions (np.clip) are typed by Numba as they are.
    if isinstance(value, types.FunctionType) and (value.__module__ or "").split(".")[0] not in ("numba", "numpy"):
        return value
    return None


def _called_functions(function: types.FunctionType) -> dict[str, types.FunctionType]:
    """The plain (or ``@njit``) functions that ``function``'s code reads by global name."""
    names = set()
    codes = [function.__code__]
    while codes:
        code = codes.pop()
        names.update(code.co_names)
        codes.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
    found = {}
    for name in sorted(names):  # sorted: the digest of the sources must not depend on set order
        helper = _python_function(function.__globals__.get(name))
        if helper is not None:
            found[name] = helper
    return found


def retarget(function: Callable, jit: Callable, _memo: dict | None = None) -> Any:
    """``function`` compiled with ``jit``, with every helper it calls by name compiled with ``jit`` too.

    Each function is copied with its own globals, in which the names of the
    plain Python or ``@njit`` functions it calls are bound to their compiled
    versions for the same target (recursively, each once).
    """
    memo = {} if _memo is None else _memo
    original = _python_function(function) or function
    if original in memo:
        return memo[original]
    namespace = dict(original.__globals__)
    copy = types.FunctionType(original.__code__, namespace, original.__name__, original.__defaults__, original.__closure__)
    copy.__kwdefaults__ = original.__kwdefaults__
    copy.__doc__ = original.__doc__
    copy.__qualname__ = original.__qualname__
    compiled = jit(copy)
    memo[original] = compiled
    for name, helper in _called_functions(original).items():
        namespace[name] = retarget(helper, jit, memo)
    return compiled


def _sources(functions: Sequence[Callable]) -> list[str] | None:
    """The source of ``functions`` and of every helper they call, each once; ``None`` if any is unreadable."""
    seen: dict[Any, None] = {}
    stack = [_python_function(f) or f for f in functions]
    sources = []
    while stack:
        function = stack.pop(0)
        if function in seen:
            continue
        seen[function] = None
        try:
            sources.append(f"{function.__module__}.{function.__qualname__}\n{inspect.getsource(function)}")
        except (OSError, TypeError):
            return None
        stack.extend(_called_functions(function).values())
    return sources


def source_digest(spec) -> str | None:
    """SHA-256 of the rule's, the coefficients' and their helpers' sources and of the layout; ``None``
    when a source cannot be read."""
    sources = _sources([spec.rule, spec.coefficients] + ([spec.reduce] if spec.tensorwise else []))
    if sources is None:
        return None
    form = repr((spec.tensorwise, spec.statistics, spec.reduce_over)) if spec.tensorwise else ""
    return hashlib.sha256("\n".join(sources + [Layout(spec).key(), form]).encode()).hexdigest()


# --- the generated kernels -----------------------------------------------------


def _slot_lines(layout: Layout, read: Callable[[int, str], str], alias: str) -> list[str]:
    """Lines binding ``s<k>`` to each slot's row (or ``alias`` where a slot does not exist), for
    the CUDA kernel, whose threads read single elements: no loop for LLVM to vectorise."""
    lines = ["row = 0"]
    for k, condition in enumerate(layout.conditions):
        if condition is None:
            lines += [f"s{k} = {read(k, 'row')}", "row += 1"]
        else:
            lines += [
                f"present{k} = {condition}",
                f"s{k} = {read(k, 'row')} if present{k} else {alias}",
                f"if present{k}:",
                "    row += 1",
            ]
    return lines


def _store_lines(layout: Layout, target: Callable[[int], str]) -> list[str]:
    lines = []
    for k, condition in enumerate(layout.conditions):
        if condition is None:
            lines.append(f"{target(k)} = new{k}")
        else:
            lines += [f"if present{k}:", f"    {target(k)} = new{k}"]
    return lines


def _rule_call(layout: Layout, element: Callable[[int], str], param: str, grad: str) -> str:
    values = "".join(f"{element(k)}, " for k in range(len(layout.slots)))
    results = "".join(f", new{k}" for k in range(len(layout.slots)))
    return f"new_param{results} = RULE({param}, {grad}, {values}c)"


def _presence_patterns(layout: Layout) -> list[tuple[bool, ...]]:
    """Every combination of the conditional slots' presence, all present first."""
    conditional = sum(condition is not None for condition in layout.conditions)
    return list(itertools.product((True, False), repeat=conditional))


def _pattern_loops(layout: Layout, slot_view: Callable[[int], str], loop: Callable[[Callable[[int], str], list[bool]], list[str]]) -> list[str]:
    """One loop per combination of the conditional slots' presence, each touching
    only the rows that exist: a loop that read an absent slot from another
    array would make LLVM guard it with run-time overlap checks, which it
    gives up on past a handful of arrays, and leave it scalar.

    ``slot_view(row)`` is the expression of the ``row``-th present slot's
    elements; ``loop(element, exists)`` gives the loop's lines, reading slot
    ``k``'s element as ``element(k)``.
    """
    conditional = [k for k, condition in enumerate(layout.conditions) if condition is not None]
    body = [f"present{k} = {layout.conditions[k]}" for k in conditional]
    patterns = _presence_patterns(layout)
    for number, pattern in enumerate(patterns):
        present = dict(zip(conditional, pattern))
        exists = [present.get(k, True) for k in range(len(layout.slots))]
        test = " and ".join(f"{'' if on else 'not '}present{k}" for k, on in present.items())
        indent = ""
        if len(patterns) > 1:
            body.append(f"{'if' if number == 0 else 'elif'} {test}:" if number < len(patterns) - 1 else "else:")
            indent = "    "
        row = 0
        for k, on in enumerate(exists):
            if on:
                body.append(f"{indent}s{k} = {slot_view(row)}")
                row += 1
        element = lambda k, exists=exists: f"s{k}[i]" if exists[k] else "g[i]"  # noqa: E731
        body += [indent + line for line in loop(element, exists)]
    return body


def _update_loop(layout: Layout, extra: str = ""):
    def loop(element, exists):
        call = _rule_call(layout, element, "p[i]", "g[i]")
        if extra:
            call = call[:-1] + f", {extra})"
        return [
            "for i in range(p.size):",
            "    " + call,
            "    p[i] = new_param",
            *(f"    s{k}[i] = new{k}" for k, on in enumerate(exists) if on),
        ]

    return loop


def cpu_source(spec, digest: str) -> str:
    """The source of the generated CPU module for ``spec``: an element-wise rule's ``update``, or a
    tensor-wise rule's ``reduce`` and ``update``."""
    layout = Layout(spec)
    header = "from numbagrad.kernels.cpu.jit import kernel"
    if spec.tensorwise:
        return _tensor_cpu_source(spec, layout, digest, header)
    body = [
        f"c = {layout.call_coefficients(spec.coefficients)}",
        "p = param[start:stop]",
        "g = grad[start:stop]",
        *_pattern_loops(layout, lambda row: f"state[{row}, start:stop]", _update_loop(layout)),
    ]
    return _module_text(spec, digest, header, [("@kernel", "update(param, grad, state, hyper, step, start, stop)", body)])


def _tensor_cpu_source(spec, layout: Layout, digest: str, header: str) -> str:
    width = spec.statistics
    sums = [f"t{j}" for j in range(width)]

    def reduce_loop(element, exists):
        arguments = "".join(f"{element(k)}, " for k in range(len(layout.slots)))
        return [
            "for i in range(p.size):",
            f"    r = REDUCE(p[i], g[i], {arguments}c)",
            *(f"    t{j} += r[{j}]" for j in range(width)),
        ]

    start = [f"c = {layout.call_coefficients(spec.coefficients)}", "n = param.size", "p = param", "g = grad"]
    reduce_body = start + [f"{t} = 0.0" for t in sums] + _pattern_loops(layout, lambda row: f"state[{row} * n:{row + 1} * n]", reduce_loop)
    reduce_body += [f"statistics[tensor, {j}] = t{j}" for j in range(width)]
    if spec.reduce_over == "group":
        totals = [f"{t} = 0.0" for t in sums] + [
            "for row in range(statistics.shape[0]):",
            *(f"    t{j} += statistics[row, {j}]" for j in range(width)),
        ]
    else:
        totals = [f"t{j} = statistics[tensor, {j}]" for j in range(width)]
    totals.append("totals = (" + "".join(f"{t}, " for t in sums) + ")")
    update_body = start + totals + _pattern_loops(layout, lambda row: f"state[{row} * n:{row + 1} * n]", _update_loop(layout, "totals"))
    arguments = "(param, grad, state, hyper, step, shape, statistics, tensor)"
    return _module_text(spec, digest, header, [("@kernel", "reduce" + arguments, reduce_body), ("@kernel", "update" + arguments, update_body)])


def cuda_source(spec) -> str:
    """The source of the generated CUDA module for ``spec``."""
    layout = Layout(spec)
    body = [
        f"c = {layout.call_coefficients(spec.coefficients)}",
        *_slot_lines(layout, lambda k, row: row, "0"),
        "for i in range(cuda.grid(1), param.size, cuda.gridsize(1)):",
        "    " + _rule_call(layout, lambda k: f"state[s{k}, i] if present{k} else grad[i]" if layout.conditions[k] else f"state[s{k}, i]", "param[i]", "grad[i]"),
        "    param[i] = new_param",
        *("    " + line for line in _store_lines(layout, lambda k: f"state[s{k}, i]")),
    ]
    return _module_text(spec, "", "from numba import cuda", [("@cuda.jit", "update(param, grad, state, hyper, step)", body)])


def _module_text(spec, digest: str, imports: str, functions: list[tuple[str, str, list[str]]]) -> str:
    """A module of ``(decorator, signature, body lines)`` functions after ``imports``."""
    origin = f"{spec.rule.__module__}.{spec.rule.__qualname__} and {spec.coefficients.__module__}.{spec.coefficients.__qualname__}"
    doc = f'"""The update kernels of optimizer {spec.name!r}, generated by numbagrad from {origin}."""'
    key = f"# source digest: {digest}\n" if digest else ""
    parts = [f"{decorator}\ndef {signature}:\n" + textwrap.indent("\n".join(body), "    ") + "\n" for decorator, signature, body in functions]
    return f"{doc}\n{key}\n{imports}\n\n\n" + "\n\n".join(parts)


def _load(module_name: str, path: str | None, source: str, namespace: dict) -> types.ModuleType:
    """Import the generated module (from ``path`` when given, else from ``source`` in memory)."""
    if path is None:
        module = types.ModuleType(module_name)
        module.__dict__.update(namespace)
        exec(compile(source, f"<numbagrad generated {module_name}>", "exec"), module.__dict__)
        return module
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    module.__dict__.update(namespace)
    sys.modules[module_name] = module  # Numba's cache finds a function's module by name
    spec.loader.exec_module(module)
    return module


def _write_once(path: str, text: str) -> None:
    """Write ``text`` to ``path`` unless it is there already (atomically: other processes may race)."""
    try:
        with open(path, encoding="utf-8") as existing:
            if existing.read() == text:
                return
    except OSError:
        pass
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w", encoding="utf-8") as file:
        file.write(text)
    os.replace(temporary, path)


def _once(function):
    """Cache ``function(spec)`` on the declaration itself (declarations hold dicts: not hashable)."""
    attribute = f"_generated_{function.__name__}"

    @functools.wraps(function)
    def cached(spec):
        if attribute not in spec.__dict__:
            object.__setattr__(spec, attribute, function(spec))
        return spec.__dict__[attribute]

    return cached


@_once
def _cpu_module(spec) -> types.ModuleType:
    from numbagrad._cache import cache_directory
    from numbagrad.kernels.cpu.jit import inline

    memo: dict = {}
    namespace = {"RULE": retarget(spec.rule, inline, memo), "COEFFICIENTS": retarget(spec.coefficients, inline, memo)}
    if spec.tensorwise:
        namespace["REDUCE"] = retarget(spec.reduce, inline, memo)
    digest = source_digest(spec)
    if digest is None:
        return _load(f"_numbagrad_generated_{spec.name}", None, cpu_source(spec, "").replace("@kernel", "@kernel(cache=False)"), namespace)
    name = f"{spec.name}_{digest[:16]}"
    path = os.path.join(cache_directory(), "generated", f"{name}.py")
    _write_once(path, cpu_source(spec, digest))
    return _load(f"_numbagrad_generated_{name}", path, "", namespace)


def cpu_update(spec) -> Any:
    """The ``@njit`` update kernel generated from ``spec.rule`` and ``spec.coefficients``."""
    return _cpu_module(spec).update


def cpu_tensor_update(spec) -> Any:
    """The tensor-wise ``@njit`` update kernel generated from a tensor-wise rule."""
    return _cpu_module(spec).update


def cpu_reduce(spec) -> Any:
    """The tensor-wise ``@njit`` reduce kernel generated from ``spec.reduce``."""
    return _cpu_module(spec).reduce


def _cuda_namespace(spec) -> dict:
    """``RULE``, ``COEFFICIENTS`` (and ``REDUCE``) compiled for the GPU.

    Under Numba's CUDA simulator the rule is compiled for the CPU instead,
    so that it computes in the parameters' precision as a GPU does (the
    simulator would run it as Python, whose ``math.sqrt`` of a float32 is a
    float64), and the coefficients run as Python (the simulator's arrays
    cannot enter compiled code; their float64 arithmetic is the same).
    """
    from numba import cuda

    from numbagrad.device import simulator_enabled
    from numbagrad.kernels.cpu.jit import inline

    memo: dict = {}
    functions = {"RULE": spec.rule, **({"REDUCE": spec.reduce} if spec.tensorwise else {})}
    if simulator_enabled():
        namespace = {name: retarget(f, inline, memo) for name, f in functions.items()}
        namespace["COEFFICIENTS"] = spec.coefficients
    else:
        device = cuda.jit(device=True)
        namespace = {name: retarget(f, device, memo) for name, f in {**functions, "COEFFICIENTS": spec.coefficients}.items()}
    return namespace


@_once
def cuda_update(spec) -> Any:
    """The ``@cuda.jit`` update kernel generated from ``spec.rule`` and ``spec.coefficients``."""
    return _load(f"_numbagrad_generated_{spec.name}_cuda", None, cuda_source(spec), _cuda_namespace(spec)).update


def cuda_tensor_source(spec) -> str:
    """The source of the generated CUDA module of a tensor-wise rule: its two kernels.

    ``reduce_kernel`` runs in one block and sums in a fixed order
    (:func:`numbagrad.kernels.cuda.reduction.block_sum`), so that a replayed
    step gives the same bits; ``update_kernel`` reads the sums and applies the
    rule, element by element.
    """
    layout = Layout(spec)
    width = spec.statistics
    start = [f"c = {layout.call_coefficients(spec.coefficients)}", "n = param.size", *_slot_lines(layout, lambda k, row: row, "0")]

    def element(k):
        read = f"state[s{k} * n + i]"
        return f"{read} if present{k} else grad[i]" if layout.conditions[k] else read

    arguments = "".join(f"{element(k)}, " for k in range(len(layout.slots)))
    reduce_body = start + ["shared = cuda.shared.array(MAX_THREADS, float64)"] + [f"t{j} = 0.0" for j in range(width)] + [
        "for i in range(cuda.threadIdx.x, n, cuda.blockDim.x):",
        f"    r = REDUCE(param[i], grad[i], {arguments}c)",
        *(f"    t{j} += r[{j}]" for j in range(width)),
        *(f"t{j} = block_sum(t{j}, shared)" for j in range(width)),
        "if cuda.threadIdx.x == 0:",
        *(f"    statistics[tensor, {j}] = t{j}" for j in range(width)),
    ]
    if spec.reduce_over == "group":
        totals = [f"t{j} = 0.0" for j in range(width)] + [
            "for row in range(statistics.shape[0]):",
            *(f"    t{j} += statistics[row, {j}]" for j in range(width)),
        ]
    else:
        totals = [f"t{j} = statistics[tensor, {j}]" for j in range(width)]
    totals.append("totals = (" + "".join(f"t{j}, " for j in range(width)) + ")")
    call = _rule_call(layout, element, "param[i]", "grad[i]")[:-1] + ", totals)"
    update_body = start + totals + [
        "for i in range(cuda.grid(1), n, cuda.gridsize(1)):",
        "    " + call,
        "    param[i] = new_param",
        *("    " + line for line in _store_lines(layout, lambda k: f"state[s{k} * n + i]")),
    ]
    signature = "(param, grad, state, hyper, step, statistics, tensor)"
    imports = "from numba import float64\n\nfrom numbagrad.kernels.cuda.context import cuda\nfrom numbagrad.kernels.cuda.reduction import MAX_THREADS, block_sum"
    return _module_text(
        spec, "", imports,
        [("@cuda.jit", "reduce_kernel" + signature, reduce_body), ("@cuda.jit", "update_kernel" + signature, update_body)],
    )


@_once
def _cuda_tensor_module(spec) -> types.ModuleType:
    return _load(f"_numbagrad_generated_{spec.name}_cuda_tensor", None, cuda_tensor_source(spec), _cuda_namespace(spec))


def cuda_reduce(spec) -> Callable:
    """The host function launching the generated tensor-wise reduce on device arrays."""
    from numbagrad.kernels.cuda.tensors import sum_threads

    kernel = _cuda_tensor_module(spec).reduce_kernel

    def reduce(param, grad, state, hyper, step, shape, statistics, tensor, host_hyper):
        kernel[1, sum_threads()](param, grad, state, hyper, step, statistics, tensor)

    return reduce


def cuda_tensor_update(spec) -> Callable:
    """The host function launching the generated tensor-wise update on device arrays."""
    from numbagrad.kernels.cuda.update import launch_tensor_kernel

    kernel = _cuda_tensor_module(spec).update_kernel

    def update(param, grad, state, hyper, step, shape, statistics, tensor, host_hyper):
        launch_tensor_kernel(kernel, param, grad, state, hyper, step, statistics, tensor)

    return update
