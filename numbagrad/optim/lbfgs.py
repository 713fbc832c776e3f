"""L-BFGS: a quasi-Newton method stepped with a closure that evaluates the objective.

Unlike the other optimizers, L-BFGS needs the loss and the gradient at
several points per step (its line search), so ``step`` takes a function
instead of a gradient. Its work is a handful of dot products and vector
updates over the flattened parameters per evaluation, done with NumPy's
BLAS; the evaluations (a model's forward and backward passes) are where the
time goes.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from numbagrad.device import is_cuda_array
from numbagrad.hyperparameters import Hyperparameter
from numbagrad.optim.common import lr
from numbagrad.optim.optimizer import Optimizer
from numbagrad.optim.state_checks import scalar_state, step_count
from numbagrad.optim.spec import OptimizerSpec

__all__ = ["LBFGS", "LBFGS_SPEC"]

#: The state entries that are arrays (stacked for the history), then the numbers.
_ARRAY_STATE = ("d", "prev_flat_grad", "old_dirs", "old_stps", "ro")
_NUMBER_STATE = ("t", "H_diag", "prev_loss", "func_evals", "n_iter")

LBFGS_SPEC = OptimizerSpec(
    name="lbfgs",
    title="LBFGS",
    closure=True,
    hyperparameters=(
        lr(1.0),
        Hyperparameter("max_iter", 20, kind="int", minimum=1, doc="iterations per step"),
        Hyperparameter("max_eval", 25, kind="int", minimum=1, doc="evaluations of the closure per step (default max_iter * 5 // 4)"),
        Hyperparameter("tolerance_grad", 1e-7, minimum=0.0, doc="stop when the largest gradient entry is at most this"),
        Hyperparameter("tolerance_change", 1e-9, minimum=0.0, doc="stop when the loss or the parameters change less than this"),
        Hyperparameter("history_size", 100, kind="int", minimum=1, doc="curvature pairs kept"),
        Hyperparameter("line_search_fn", "none", kind="choice", choices=("none", "strong_wolfe"), doc="line search: none or strong_wolfe"),
    ),
)


# --- the line search (Nocedal & Wright, algorithms 3.5 and 3.6), as PyTorch writes it ----------


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through ``(x1, f1)`` and ``(x2, f2)`` with slopes ``g1``, ``g2``, within ``bounds``."""
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square >= 0:
        d2 = np.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _strong_wolfe(evaluate, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """A step length ``t`` along ``d`` meeting the strong Wolfe conditions::

        f(x + t d) <= f(x) + c1 t g.d      and      |g(x + t d).d| <= c2 |g.d|

    ``evaluate(t)`` returns the loss and the flat gradient at ``x + t d``.
    Returns ``(loss, gradient, t, evaluations)``.
    """
    d_norm = np.abs(d).max()
    g = g.copy()
    f_new, g_new = evaluate(t)
    evaluations = 1
    gtd_new = g_new.dot(d)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    # Bracket an interval holding a point that meets the conditions.
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f, bracket_g, bracket_gtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f, bracket_g, bracket_gtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        # Extrapolate.
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        previous = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = previous, f_new, g_new.copy(), gtd_new
        f_new, g_new = evaluate(t)
        evaluations += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    # Zoom in on the bracket until a point meets the conditions.
    insufficient_progress = False
    low, high = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1])
        # Keep away from the bracket's ends: a point too close to one makes little progress.
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insufficient_progress or t >= max(bracket) or t <= min(bracket):
                t = max(bracket) - eps if abs(t - max(bracket)) < abs(t - min(bracket)) else min(bracket) + eps
                insufficient_progress = False
            else:
                insufficient_progress = True
        else:
            insufficient_progress = False
        f_new, g_new = evaluate(t)
        evaluations += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low]:
            bracket[high], bracket_f[high], bracket_g[high], bracket_gtd[high] = t, f_new, g_new.copy(), gtd_new
            low, high = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high] - bracket[low]) >= 0:
                bracket[high], bracket_f[high], bracket_g[high], bracket_gtd[high] = (
                    bracket[low], bracket_f[low], bracket_g[low], bracket_gtd[low],
                )
            bracket[low], bracket_f[low], bracket_g[low], bracket_gtd[low] = t, f_new, g_new.copy(), gtd_new
    return bracket_f[low], bracket_g[low], bracket[low], evaluations


class LBFGS(Optimizer):
    r"""L-BFGS: limited-memory BFGS (Liu & Nocedal, 1989), for full-batch training.

    Gradient descent follows the slope; Newton's method also uses the
    curvature, stepping to the bottom of the local quadratic. L-BFGS
    estimates that curvature from the last ``history_size`` steps ``s`` and
    the changes ``y`` of the gradient they caused, and turns the gradient
    into a Newton-like direction with the two-loop recursion. On a smooth
    full-batch loss it reaches a minimum in far fewer steps than first-order
    methods; on noisy mini-batch gradients its curvature pairs are wrong.

    Each :meth:`step` runs up to ``max_iter`` iterations, each evaluating
    ``closure`` once, or several times with ``line_search_fn="strong_wolfe"``
    (at most ``max_eval`` evaluations in all). Iteration ``k`` (as
    implemented; PyTorch's algorithm)::

        g = gradient at p;  stop if max |g| <= tolerance_grad
        y = g - g_prev;  s = t_prev d_prev;  keep (y, s) if y.s > 1e-10
        d = -H g  (two-loop recursion over the kept pairs, H_0 = (y.s / y.y) I)
        t = min(1, 1 / sum |g|) lr on the very first iteration, lr afterwards
        t = strong Wolfe line search along d, starting from t   (if asked)
        p = p + t d
        stop when max |t d| <= tolerance_change or |loss - previous loss| < tolerance_change

    Args:
        params: arrays of one dtype, in one group (L-BFGS works on them as
            one vector).
        lr: the step length before the line search (default 1).
        max_iter: iterations per :meth:`step` (default 20).
        max_eval: evaluations of the closure per step (default
            ``max_iter * 5 // 4``).
        tolerance_grad: stop when the largest gradient entry is at most this
            (default 1e-7).
        tolerance_change: stop when the loss or the step changes less than
            this (default 1e-9).
        history_size: curvature pairs kept (default 100); memory is
            ``2 * history_size`` copies of the parameters.
        line_search_fn: ``None`` or ``"strong_wolfe"`` (default None;
            ``param_groups`` and ``state_dict`` spell ``None`` as ``"none"``).

    State (under parameter 0, as PyTorch keeps it): ``d``, ``t``,
    ``old_dirs`` (the ``y``), ``old_stps`` (the ``s``), ``ro`` (``1 / y.s``),
    ``H_diag``, ``prev_flat_grad``, ``prev_loss``, ``func_evals``, ``n_iter``.

    Registry name: ``"lbfgs"``. In a model, ``compile(optimizer="lbfgs")``
    makes ``fit`` train full-batch: one :meth:`step` per epoch over all the
    training samples. Keras has no L-BFGS. CUDA device arrays may be
    optimized too: the closure computes on the GPU, and the iteration's own
    vector work runs on host copies (the same numbers as for host arrays);
    a model on the GPU trains with it the same way.
    """

    spec = LBFGS_SPEC

    def __init__(self, params=None, **hyperparameters: Any):
        if hyperparameters.get("max_eval") is None:
            max_iter = hyperparameters.get("max_iter", 20)
            if isinstance(max_iter, (int, np.integer)) and not isinstance(max_iter, bool):
                hyperparameters["max_eval"] = max_iter * 5 // 4
            else:
                hyperparameters.pop("max_eval", None)  # max_iter's own check names the problem
        if "line_search_fn" in hyperparameters and hyperparameters["line_search_fn"] is None:
            hyperparameters["line_search_fn"] = "none"
        self._state: dict[str, Any] = {}
        self._steps = 0
        super().__init__(params, **hyperparameters)

    # --- parameters ------------------------------------------------------------------

    def _build_partitions(self) -> None:
        title = self.title
        if len(self.param_groups) != 1:
            raise ValueError(f"{title} works on all its parameters as one vector: give one group; got {len(self.param_groups)}")
        from numbagrad.device import is_cuda_array

        placements = {is_cuda_array(p) for p in self._params}
        if len(placements) != 1:
            raise TypeError(f"{title}: give host arrays only or CUDA device arrays only; got both")
        self._on_device = placements.pop()
        dtypes = {np.dtype(p.dtype) for p in self._params}
        if len(dtypes) != 1:
            raise TypeError(f"{title}: every parameter must have one dtype; got {sorted(str(d) for d in dtypes)}")
        self._partitions = []
        self._group_keys = [self._group_key(self.param_groups[0])]
        self._sizes = [p.size for p in self._params]
        self._dtype = self._params[0].dtype

    @property
    def steps(self) -> int:
        """Calls of :meth:`step` so far."""
        return self._steps

    def training_partitions(self) -> list[SimpleNamespace]:
        """What ``fit``'s epochs read of an optimizer's partitions: the step count, the parameters'
        indices and, at the position of ``lr`` in the layout, the learning rate (L-BFGS has no
        kernels for them to drive)."""
        layout = self.spec.layout()
        hyper = np.zeros(len(layout))
        hyper[layout.index("lr")] = self.param_groups[0]["lr"]
        return [SimpleNamespace(step=self._steps, hyper=hyper, group=0, indices=list(range(len(self._params))))]

    # CUDA parameters: the closure runs on the GPU; the vectors the iteration keeps (directions,
    # steps, the two-loop recursion) live on the host, the parameters are copied each way.

    def _host(self, array: Any) -> np.ndarray:
        return array.copy_to_host() if self._on_device else np.asarray(array, dtype=self._dtype)

    def _flat(self, arrays: Sequence[Any]) -> np.ndarray:
        return np.concatenate([self._host(a).reshape(-1) for a in arrays])

    def _copies(self) -> list[np.ndarray]:
        """Host copies of the parameters."""
        return [self._host(p).copy() for p in self._params]

    def _add(self, step_size, direction: np.ndarray) -> None:
        """``p = p + step_size * direction`` for every parameter (PyTorch's ``add_(..., alpha=step_size)``)."""
        alpha = self._dtype.type(step_size)
        offset = 0
        for p in self._params:
            values = self._host(p) if self._on_device else p
            values += alpha * direction[offset : offset + p.size].reshape(p.shape)
            if self._on_device:
                p.copy_to_device(values)
            offset += p.size

    def _set(self, values: Sequence[np.ndarray]) -> None:
        for p, value in zip(self._params, values):
            if self._on_device:
                p.copy_to_device(np.ascontiguousarray(value))
            else:
                p[...] = value

    def _evaluate(self, closure: Callable) -> tuple[float, np.ndarray]:
        result = closure()
        title = self.title
        if not isinstance(result, tuple) or len(result) != 2:
            raise TypeError(f"{title}.step(closure): closure() must return (loss, grads); got {type(result).__name__}")
        loss, grads = result
        grads = self._collect_grads(grads)
        loss = float(loss)
        return loss, self._flat(grads)

    # --- the step ------------------------------------------------------------------------

    def step(self, closure: Callable[[], tuple[float, Sequence[np.ndarray]]]) -> float:
        """Run up to ``max_iter`` iterations; returns the loss at the parameters it started from.

        Args:
            closure: a function of no arguments returning ``(loss, grads)``
                at the current parameters: the loss as a number and one
                gradient array per parameter (``model.value_and_grad`` gives
                both for a model).
        """
        title = self.title
        if not self._params:
            raise RuntimeError(f"{title} has no parameters yet: pass params= or call bind() first")
        if not callable(closure):
            raise TypeError(f"{title}.step() takes a closure returning (loss, grads); got {type(closure).__name__}")
        refreshed = self._refreshed_groups()
        self._apply_refreshed(refreshed)
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        history_size, line_search = group["history_size"], group["line_search_fn"]
        state = self._state
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss, flat_grad = self._evaluate(closure)
        loss = orig_loss
        current_evals = 1
        state["func_evals"] += 1
        self._steps += 1
        if np.abs(flat_grad).max() <= tolerance_grad:
            return orig_loss

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        H_diag, prev_flat_grad, prev_loss = state.get("H_diag"), state.get("prev_flat_grad"), state.get("prev_loss")
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = y.dot(s)
                if ys > 1e-10:  # keep the pair only where the curvature is positive
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / y.dot(y)
                # The two-loop recursion: d = -H g.
                count = len(old_dirs)
                al = [None] * count
                q = -flat_grad
                for i in range(count - 1, -1, -1):
                    al[i] = old_stps[i].dot(q) * ro[i]
                    q = q + (-al[i]) * old_dirs[i]
                d = r = q * H_diag
                for i in range(count):
                    be_i = old_dirs[i].dot(r) * ro[i]
                    r += (al[i] - be_i) * old_stps[i]
            prev_flat_grad = flat_grad.copy()
            prev_loss = loss
            t = min(1.0, 1.0 / np.abs(flat_grad).sum()) * lr if state["n_iter"] == 1 else lr
            gtd = flat_grad.dot(d)
            if gtd > -tolerance_change:  # not a descent direction
                break
            evaluations = 0
            if line_search == "strong_wolfe":
                start = self._copies()

                def evaluate(step_length):
                    self._add(step_length, d)
                    try:
                        return self._evaluate(closure)
                    finally:
                        self._set(start)

                loss, flat_grad, t, evaluations = _strong_wolfe(evaluate, t, d, loss, flat_grad, gtd, max_ls=max_eval - current_evals)
                self._add(t, d)
                optimal = np.abs(flat_grad).max() <= tolerance_grad
            else:
                self._add(t, d)
                optimal = False
                if n_iter != max_iter:
                    loss, flat_grad = self._evaluate(closure)
                    optimal = np.abs(flat_grad).max() <= tolerance_grad
                    evaluations = 1
            current_evals += evaluations
            state["func_evals"] += evaluations
            if n_iter == max_iter or current_evals >= max_eval or optimal:
                break
            if np.abs(d * t).max() <= tolerance_change or abs(loss - prev_loss) < tolerance_change:
                break
        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=H_diag, prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return orig_loss

    # --- state_dict ----------------------------------------------------------------------

    def snapshot(self) -> tuple[dict[str, Any], int]:
        """The state as it stands, for :meth:`restore`. Cheap: a step replaces the state's arrays
        and edits only its lists (the curvature pairs), which are copied."""
        return {k: list(v) if isinstance(v, list) else v for k, v in self._state.items()}, self._steps

    def restore(self, snapshot: tuple[dict[str, Any], int]) -> None:
        """Return to a :meth:`snapshot` (a training loop undoing a step that overflowed)."""
        state, self._steps = snapshot
        self._state = {k: list(v) if isinstance(v, list) else v for k, v in state.items()}

    def state_is_finite(self) -> bool:
        """Whether every number of the state is finite (a step whose update overflowed leaves some
        that are not)."""
        for value in self._state.values():
            values = value if isinstance(value, list) else [value]
            if not all(np.isfinite(v.copy_to_host() if is_cuda_array(v) else v).all() for v in values):
                return False
        return True

    def state_dict(self) -> dict[str, Any]:
        """The state as plain data: numbers and arrays under parameter 0 (the history stacked
        into ``(pairs, size)`` arrays), and the hyperparameters."""
        if not self._params:
            raise RuntimeError(f"{self.title} has no parameters yet: nothing to save")
        state: dict[int, dict[str, Any]] = {}
        if self._state.get("n_iter"):
            size = sum(self._sizes)
            s = self._state
            entry: dict[str, Any] = {"step": self._steps}
            entry["d"] = np.array(s["d"], dtype=self._dtype)
            entry["prev_flat_grad"] = np.array(s["prev_flat_grad"], dtype=self._dtype)
            entry["old_dirs"] = np.array(s["old_dirs"], dtype=self._dtype).reshape(len(s["old_dirs"]), size)
            entry["old_stps"] = np.array(s["old_stps"], dtype=self._dtype).reshape(len(s["old_stps"]), size)
            entry["ro"] = np.array(s["ro"], dtype=self._dtype).reshape(len(s["ro"]))
            entry["t"] = float(s["t"])
            entry["H_diag"] = float(s["H_diag"])
            entry["prev_loss"] = float(s["prev_loss"])
            entry["func_evals"] = int(s["func_evals"])
            entry["n_iter"] = int(s["n_iter"])
            state[0] = entry
        group = {name: self.param_groups[0][name] for name in self.spec.hyperparameter_names}
        group["params"] = list(range(len(self._params)))
        return {"optimizer": self.spec.name, "state": state, "param_groups": [group]}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned; everything is checked before anything changes."""
        title = self.title
        if not self._params:
            raise RuntimeError(f"{title} has no parameters yet: bind it before loading its state")
        index_of, (validated,) = self._saved_groups(state_dict)
        entries = self._saved_entries(state_dict, index_of)
        restored: dict[str, Any] = {}
        steps = 0
        if entries:
            if set(entries) != {0}:
                raise ValueError(
                    f"{title}.load_state_dict(): L-BFGS keeps its state under the first parameter's index; "
                    f"got state for parameters {sorted(entries)}"
                )
            restored, steps = self._checked_state(entries[0])
        self.param_groups[0].update(validated)
        self._group_keys = [self._group_key(self.param_groups[0])]
        self._state, self._steps = restored, steps

    def _checked_state(self, entry: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
        title = self.title
        size = sum(self._sizes)
        known = (*_ARRAY_STATE, *_NUMBER_STATE, "step")
        missing = [k for k in known if k not in entry]
        if missing:
            raise ValueError(f"{title}.load_state_dict(): state[0] has no {missing}")
        unknown = [k for k in entry if k not in known]
        if unknown:
            raise ValueError(f"{title}.load_state_dict(): state[0] has {unknown[0]!r}, which is no state of L-BFGS (it keeps: {', '.join(known)})")
        arrays = {k: np.asarray(entry[k]) for k in _ARRAY_STATE}
        pairs = arrays["ro"].shape[0] if arrays["ro"].ndim == 1 else -1
        expected = {"d": (size,), "prev_flat_grad": (size,), "old_dirs": (pairs, size), "old_stps": (pairs, size), "ro": (pairs,)}
        for key, shape in expected.items():
            if arrays[key].shape != shape or arrays[key].dtype.kind != "f" or not np.all(np.isfinite(arrays[key])):
                raise ValueError(
                    f"{title}.load_state_dict(): state[0][{key!r}] must be finite numbers of shape {shape}; "
                    f"got shape {arrays[key].shape} and dtype {arrays[key].dtype}"
                )
        if pairs > self.param_groups[0]["history_size"]:
            raise ValueError(f"{title}.load_state_dict(): {pairs} curvature pairs exceed history_size {self.param_groups[0]['history_size']}")
        numbers = {}
        for key in _NUMBER_STATE:
            where = f"{title}.load_state_dict(): state[0][{key!r}]"
            if key in ("func_evals", "n_iter"):
                numbers[key] = step_count(entry[key], where)
                continue
            value = scalar_state(entry[key], where)
            if not math.isfinite(value):
                raise ValueError(f"{where} must be a finite number; got {entry[key]!r}")
            numbers[key] = value
        step = step_count(entry["step"], f"{title}.load_state_dict(): state[0]['step']")
        T = self._dtype.type
        state = {
            "d": arrays["d"].astype(self._dtype),
            "prev_flat_grad": arrays["prev_flat_grad"].astype(self._dtype),
            "old_dirs": [row.astype(self._dtype) for row in arrays["old_dirs"]],
            "old_stps": [row.astype(self._dtype) for row in arrays["old_stps"]],
            "ro": [T(v) for v in arrays["ro"]],
            "t": T(numbers["t"]),
            "H_diag": T(numbers["H_diag"]),
            "prev_loss": float(numbers["prev_loss"]),
            "func_evals": int(numbers["func_evals"]),
            "n_iter": int(numbers["n_iter"]),
        }
        return state, int(step)
