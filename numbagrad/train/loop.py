"""``fit`` and ``evaluate``: the Python around the compiled epoch.

An epoch runs in compiled segments of whole batches, sized to take a fraction
of a second, so that a progress bar moves and Ctrl-C is honoured between two
batches; between segments Python only counts. Callbacks, validation and
history happen at epoch boundaries.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import time
from typing import Any, Callable, Sequence

import numba
import numpy as np

from numbagrad import config
from numbagrad.checks import flag, integer
from numbagrad.data import as_inputs
from numbagrad.errors import NonFiniteLossError
from numbagrad.kernels.cpu.network import network_value_and_grad
from numbagrad.kernels.cpu.training import (
    NON_FINITE_GRADIENT,
    NON_FINITE_LOSS,
    NON_FINITE_UPDATE,
    evaluate_batches,
    train_batches,
)
from numbagrad.optim.partition import UpdatePlan
from numbagrad.train.callbacks import Callback
from numbagrad.train.history import History
from numbagrad.train.interrupts import deferred_interrupts
from numbagrad.threads import single_threaded_blas
from numbagrad.train.progress import Progress

__all__ = ["fit", "evaluate", "run_epochs", "SEGMENT_SECONDS"]

#: Target duration of one compiled segment of an epoch.
SEGMENT_SECONDS = 0.2


def _integer(value: Any, name: str, minimum: int) -> int:
    return integer(value, name, minimum, "fit")


def _flag(value: Any, name: str) -> bool:
    return flag(value, name, "fit")


def _prepare(model: Any, X: Any, y: Any, name: str = "") -> tuple[np.ndarray, np.ndarray]:
    setup = model.training
    if model.preprocessing is not None:  # data as the run read it: apply the run's transform
        X = model.preprocessing.network_inputs(X, name="X" + name)
        y = model.preprocessing.network_targets(y, setup.loss.name, name="y" + name)
    inputs = as_inputs(X, model.dtype, model.input_dim, name="X" + name)
    targets = setup.loss.targets(y, inputs.shape[0], model.output_dim, model.dtype)
    setup.check_metric_targets(targets, inputs.shape[0], model.output_dim)
    return inputs, targets


def _split_validation(model, X, y, validation_split, validation_data):
    if isinstance(validation_split, bool) or not isinstance(validation_split, numbers.Real) or not 0 <= validation_split < 1:
        raise ValueError(f"fit: validation_split must be a number in [0, 1); got {validation_split!r}")
    if validation_data is not None and validation_split:
        raise ValueError("fit: give validation_data or validation_split, not both")
    inputs, targets = _prepare(model, X, y)
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise TypeError(f"fit: validation_data must be a pair (X_val, y_val); got {type(validation_data).__name__}")
        return inputs, targets, _prepare(model, *validation_data, name="_val")
    if validation_split:
        # As Keras: the last fraction of the rows, taken before any shuffling.
        held = int(math.floor(inputs.shape[0] * validation_split))
        if held == 0 or held == inputs.shape[0]:
            raise ValueError(
                f"fit: validation_split={validation_split} of {inputs.shape[0]} samples leaves "
                f"{inputs.shape[0] - held} for training and {held} for validation; both need at least one"
            )
        cut = inputs.shape[0] - held
        return inputs[:cut], targets[:cut], (inputs[cut:], targets[cut:])
    return inputs, targets, None


def evaluate(model: Any, X: Any, y: Any, batch_size: int | None = None) -> dict[str, float]:
    """Loss and metrics of the compiled model on ``(X, y)``, nothing updated."""
    model.require_compiled("evaluate")
    inputs, targets = _prepare(model, X, y)
    size = inputs.shape[0] if batch_size is None else integer(batch_size, "batch_size", 1, "evaluate")
    return _evaluate_arrays(model, inputs, targets, min(size, inputs.shape[0]))


def _evaluate_arrays(model, inputs, targets, batch_size):
    if model.device != "cpu":
        from numbagrad.train.cuda_loop import evaluate_arrays

        return evaluate_arrays(model, inputs, targets, batch_size)
    setup = model.training
    workspace, offsets = model._workspace(batch_size, targets.shape[1])
    totals = setup.new_totals()
    loss = evaluate_batches(
        model.parameters, model.layer_table, model.activation_table, model.activation_params,
        workspace, offsets, inputs, targets, batch_size,
        setup.loss.table, setup.loss.params, not setup.loss.fused,
        setup.metric_tables, setup.metric_params, totals,
    )
    return {"loss": float(loss), **setup.metric_values(totals)}


def fit(
    model: Any,
    X: Any,
    y: Any,
    batch_size: int = 32,
    epochs: int = 1,
    validation_split: float = 0.0,
    validation_data: tuple[Any, Any] | None = None,
    shuffle: bool = True,
    seed: int | None = None,
    callbacks: Sequence[Callback] | None = None,
    verbose: int = 1,
    drop_last: bool = False,
) -> History:
    """Train ``model`` (see :meth:`numbagrad.nn.Sequential.fit`)."""
    model.require_compiled("fit")
    batch_size = _integer(batch_size, "batch_size", 1)
    epochs = _integer(epochs, "epochs", 0)
    shuffle = _flag(shuffle, "shuffle")
    drop_last = _flag(drop_last, "drop_last")
    if verbose not in (0, 1, 2):
        raise ValueError(f"fit: verbose must be 0, 1 or 2; got {verbose!r}")
    if seed is not None:
        _integer(seed, "seed", 0)
    callbacks = list(callbacks or [])
    for i, callback in enumerate(callbacks):
        if not isinstance(callback, Callback):
            raise TypeError(f"fit: callbacks[{i}] must be a numbagrad.train.Callback; got {type(callback).__name__}")
    inputs, targets, validation = _split_validation(model, X, y, validation_split, validation_data)
    samples = inputs.shape[0]
    batches = samples // batch_size if drop_last else -(-samples // batch_size)
    if batches == 0:
        raise ValueError(f"fit: drop_last=True with batch_size={batch_size} leaves no batch of {samples} samples")
    if model.device != "cpu":
        from numbagrad.train.cuda_loop import fit as fit_on_gpu

        return fit_on_gpu(model, inputs, targets, validation, batch_size, epochs, shuffle, seed, callbacks, verbose, drop_last, batches)
    trainer_class = _ClosureTrainer if model.training.optimizer.spec.closure else _HostTrainer
    trainer = trainer_class(model, inputs, targets, batch_size)
    validate = None
    if validation is not None:
        rows = min(max(batch_size, 256), validation[0].shape[0])
        validate = lambda: _evaluate_arrays(model, validation[0], validation[1], rows)  # noqa: E731
    return run_epochs(model, trainer, validate, samples, batches, batch_size, epochs, shuffle, seed, callbacks, verbose, drop_last)


class _HostTrainer:
    """Runs segments of a CPU model's epoch through the compiled loop (:func:`train_batches`).

    The trainer interface :func:`run_epochs` drives (``numbagrad.train.cuda_loop``
    has the GPU's): a context manager around the epochs, ``begin_epoch(order)``,
    ``run(parts, first, stop, rates, losses)`` returning the number of
    batches completed before a non-finite loss, ``host_totals()`` and
    ``segment_limit``.
    """

    segment_limit = 1 << 62
    #: Why the last ``run`` stopped early: 0, or one of the NON_FINITE_* codes.
    problem = 0

    def __init__(self, model: Any, inputs: np.ndarray, targets: np.ndarray, batch_size: int):
        self.model, self.setup = model, model.training
        self.inputs, self.targets, self.batch_size = inputs, targets, batch_size
        self.workspace, self.offsets = model._workspace(min(batch_size, inputs.shape[0]), targets.shape[1])
        self.order = np.arange(0, dtype=np.int64)
        self.totals = self.setup.new_totals()
        self.threads, self.update_threshold = 1, 1 << 62
        self._blas = contextlib.ExitStack()

    def __enter__(self) -> "_HostTrainer":
        blas_limited = self._blas.enter_context(single_threaded_blas())
        # Numba's threads own the cores when BLAS can be kept to one thread;
        # otherwise BLAS does and the compiled loop stays on this thread.
        self.threads = numba.get_num_threads() if blas_limited else 1
        self.update_threshold = config.PARALLEL_THRESHOLD if self.threads > 1 else 1 << 62
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._blas.close()

    def begin_epoch(self, order: np.ndarray) -> None:
        self.order = order
        self.totals = self.setup.new_totals()

    def host_totals(self) -> np.ndarray:
        return self.totals

    def plan(self, parts: list) -> UpdatePlan:
        """The update plan of the model's optimizer partitions ``parts`` (rebuilt when they change)."""
        partitions = [p for _, p in parts]
        cached = getattr(self, "_plan", None)
        if cached is None or len(cached.partitions) != len(partitions) or any(a is not b for a, b in zip(cached.partitions, partitions)):
            cached = self._plan = UpdatePlan(partitions, parallel_threshold=self.update_threshold)
            cached.set_grads(gradient_arrays(self.model, parts))
        return cached

    def run(self, parts: list, first: int, stop: int, rates: np.ndarray, losses: np.ndarray) -> int:
        model = self.model
        plan = self.plan(parts)
        plan.sync_steps()
        # What a segment may have to be rolled back to: an update that overflows has already
        # written the weights and the state when the loop sees it.
        saved = [model.parameters.copy(), self.totals.copy()]
        saved += [a.copy() for _, p in parts for a in (p.state_block, p.hyper)]
        completed = self._train(plan, first, stop, rates, losses)
        if self.problem == NON_FINITE_UPDATE:
            bad_loss = losses[completed]
            model.parameters[...] = saved[0]
            self.totals[...] = saved[1]
            arrays = [a for _, p in parts for a in (p.state_block, p.hyper)]
            for array, copy in zip(arrays, saved[2:]):
                array[...] = copy
            # The kernels are deterministic: replaying the finite batches gives the same bits.
            self._train(plan, first, first + completed, rates, losses)
            self.problem = NON_FINITE_UPDATE
            losses[completed] = bad_loss
        return completed

    def _train(self, plan: UpdatePlan, first: int, stop: int, rates: np.ndarray, losses: np.ndarray) -> int:
        model, setup = self.model, self.setup
        problem = np.zeros(1, dtype=np.int64)
        completed = train_batches(
            model.parameters, model.gradients, model.layer_table, model.activation_table, model.activation_params,
            self.workspace, self.offsets, self.inputs, self.targets, self.order, self.batch_size, first, stop,
            setup.loss.table, setup.loss.params, not setup.loss.fused,
            plan.table, plan.tensors, plan.tasks, rates, self.threads, setup.clip_value, setup.clip_norm,
            setup.metric_tables, setup.metric_params, self.totals, losses, problem, setup.flush_subnormals,
        )
        self.problem = int(problem[0])
        return completed


class _ClosureTrainer(_HostTrainer):
    """Steps an optimizer that evaluates the objective itself (L-BFGS): one ``step(closure)`` per batch.

    The closure is the batch's loss and gradient (the model's forward and
    backward passes, compiled). A batch's loss is the one at the weights the
    step started from; the metrics of an epoch are those of the training rows
    at its end (an L-BFGS step evaluates the batch many times: there is no one
    forward pass to take them from).
    """

    _measured: np.ndarray | None = None

    def begin_epoch(self, order: np.ndarray) -> None:
        super().begin_epoch(order)
        self._measured = None

    def run(self, parts: list, first: int, stop: int, rates: np.ndarray, losses: np.ndarray) -> int:
        model, setup = self.model, self.setup
        optimizer = setup.optimizer
        grads = gradient_arrays(model, parts)
        for b in range(first, stop):
            rows = self.order[b * self.batch_size : (b + 1) * self.batch_size]
            inputs, targets = self.inputs[rows], self.targets[rows]

            def closure():
                value = network_value_and_grad(
                    model.parameters, model.gradients, model.layer_table, model.activation_table, model.activation_params,
                    self.workspace, self.offsets, inputs, targets, setup.loss.table, setup.loss.params, not setup.loss.fused,
                )
                return value, grads

            parts[0][1].hyper[_lr_index(optimizer)] = rates[b - first, 0]
            optimizer.param_groups[0]["lr"] = float(rates[b - first, 0])
            before, state = model.parameters.copy(), optimizer.snapshot()
            losses[b - first] = optimizer.step(closure)
            if not (math.isfinite(losses[b - first]) and np.isfinite(model.parameters).all() and optimizer.state_is_finite()):
                model.parameters[...] = before  # the weights and state of the last finite step
                optimizer.restore(state)
                self.problem = NON_FINITE_LOSS if not math.isfinite(losses[b - first]) else NON_FINITE_UPDATE
                return b - first
        self._measured = None
        return stop - first

    def host_totals(self) -> np.ndarray:
        if self._measured is None:
            setup = self.setup
            totals = setup.new_totals()
            if setup.metrics:
                workspace, offsets = self.workspace, self.offsets
                evaluate_batches(
                    self.model.parameters, self.model.layer_table, self.model.activation_table, self.model.activation_params,
                    workspace, offsets, self.inputs, self.targets, self.batch_size,
                    setup.loss.table, setup.loss.params, not setup.loss.fused,
                    setup.metric_tables, setup.metric_params, totals,
                )
            self._measured = totals
        return self._measured


def run_epochs(
    model: Any,
    trainer: Any,
    validate: Callable[[], dict[str, float]] | None,
    samples: int,
    batches: int,
    batch_size: int,
    epochs: int,
    shuffle: bool,
    seed: int | None,
    callbacks: Sequence[Callback],
    verbose: int,
    drop_last: bool,
) -> History:
    """The epochs of :func:`fit` on checked arguments, wherever the model lives.

    ``trainer`` computes the batches (see :class:`_HostTrainer`); ``validate``
    returns the validation logs at each epoch's end. Everything else — the
    order of the samples, schedules, callbacks, history, progress, Ctrl-C
    between segments and the stop on a non-finite loss — is the same on the
    CPU and the GPU.
    """
    setup = model.training
    if seed is not None:
        model.reseed(seed)
    parts = _refreshed_partitions(setup)
    setup.fit_length(parts[0][1].step + epochs * batches, model.epoch + epochs)
    history = History()
    model.history = history
    model.stop_training = False
    every = [history, *callbacks]
    for callback in every:
        callback.set_model(model)
    progress = Progress(verbose, model.epoch + epochs)

    for callback in every:
        callback.on_train_begin({})
    with deferred_interrupts() as interrupt, trainer:
        try:
            for _ in range(epochs):
                parts = _refreshed_partitions(setup)  # callbacks may have changed param_groups
                epoch = model.epoch
                order = model.rng.permutation(samples) if shuffle else np.arange(samples)
                order = order.astype(np.int64, copy=False)
                for callback in every:
                    callback.on_epoch_begin(epoch, {})
                progress.begin_epoch(epoch, batches)
                trainer.begin_epoch(order)
                losses = np.empty(batches)
                done = 0
                segment = max(1, min(batches, trainer.segment_limit, 4096 // batch_size))
                while done < batches:
                    interrupt.check()
                    stop = min(batches, done + segment)
                    rates = _learning_rates(setup, parts, epoch, stop - done)
                    began = time.perf_counter()
                    completed = trainer.run(parts, done, stop, rates, losses[done:stop])
                    for _, partition in parts:
                        partition.step += completed
                    done += completed
                    if done < stop:
                        _sync_learning_rates(setup, parts)
                        model.epoch_losses = losses[:done].copy()
                        raise NonFiniteLossError(_stop_message(trainer.problem, losses[done], epoch, done, batches))
                    elapsed = time.perf_counter() - began
                    segment = max(1, min(trainer.segment_limit, int(segment * SEGMENT_SECONDS / max(elapsed, 1e-6))))
                    if progress.live:
                        totals = trainer.host_totals() if setup.metrics else setup.new_totals()
                        progress.advance(completed, _running_logs(losses[:done], batch_size, samples, drop_last, setup, totals))
                _sync_learning_rates(setup, parts)
                logs = {"loss": _epoch_loss(losses, batch_size, samples, drop_last)}
                logs.update(setup.metric_values(trainer.host_totals()))
                if validate is not None:
                    logs.update({"val_" + key: value for key, value in validate().items()})
                lr_index = _lr_index(parts[0][0])
                if lr_index >= 0:
                    logs["lr"] = float(parts[0][1].hyper[lr_index])
                model.epoch += 1
                progress.end_epoch(epoch, logs)
                for callback in every:
                    callback.on_epoch_end(epoch, logs)
                interrupt.check()
                if model.stop_training:
                    break
        finally:
            progress.close()
    for callback in every:
        callback.on_train_end({})
    return history


def _stop_message(problem: int, loss: float, epoch: int, batch: int, batches: int) -> str:
    """Why an epoch stopped at ``batch`` (counted from 0), for :class:`NonFiniteLossError`."""
    where = f"at epoch {epoch + 1}, batch {batch + 1} of {batches}"
    advice = "(lower the learning rate, or check the data)"
    if problem == NON_FINITE_UPDATE:
        return (
            f"the optimizer's update {where} made weights or optimizer state infinite or NaN (the loss was {loss}); "
            f"training stopped and the model keeps the weights and optimizer state of the last finite step {advice}"
        )
    if problem == NON_FINITE_GRADIENT or (problem != NON_FINITE_LOSS and math.isfinite(loss)):
        return (
            f"the gradient became infinite or NaN {where} (the loss was {loss}); training stopped and the model "
            f"keeps the weights of the last finite step {advice}"
        )
    return f"the loss became {loss} {where}; training stopped and the model keeps the weights of the last finite step {advice}"


def _lr_index(optimizer: Any) -> int:
    layout = optimizer.spec.layout()
    return layout.index("lr") if "lr" in layout else -1


def _refreshed_partitions(setup) -> list[tuple[Any, Any]]:
    """``(optimizer, partition)`` for every partition of the model's optimizers, in order, after
    applying any change made to their ``param_groups``."""
    parts = []
    for optimizer in setup.optimizers.values():
        optimizer.refresh()
        parts.extend((optimizer, partition) for partition in optimizer.training_partitions())
    return parts


def gradient_arrays(model: Any, parts: list[tuple[Any, Any]]) -> list:
    """The model's gradient views in the order of the partitions' parameters."""
    from numbagrad.nn.placement import tensor_views

    views = tensor_views(model, model.gradients)
    by_role = {role: [v for r, v in views if role in ("all", r)] for role in model.training.optimizers}
    role_of = {id(optimizer): role for role, optimizer in model.training.optimizers.items()}
    return [by_role[role_of[id(optimizer)]][i] for optimizer, partition in parts for i in partition.indices]


def _learning_rates(setup, parts: list, epoch: int, count: int) -> np.ndarray:
    """The learning rate of each of the next ``count`` batches: one column per partition (0 for one without)."""
    schedules = dict(zip(map(id, setup.optimizers.values()), setup.schedules()))
    rates = np.zeros((count, len(parts)))
    for p, (optimizer, partition) in enumerate(parts):
        if _lr_index(optimizer) < 0:
            continue
        schedule = schedules[id(optimizer)]
        if schedule is None:
            rates[:, p] = float(optimizer.param_groups[partition.group]["lr"])
        elif schedule.per == "epoch":
            rates[:, p] = float(schedule(epoch))
        else:
            rates[:, p] = schedule(np.arange(partition.step, partition.step + count, dtype=np.int64))
    return rates


def _sync_learning_rates(setup, parts: list) -> None:
    """Show the learning rates the loop last used in ``param_groups`` (as Keras's optimizer.learning_rate)."""
    if setup.schedule is None:
        return
    for optimizer, partition in parts:
        lr_index = _lr_index(optimizer)
        if lr_index >= 0:
            group = optimizer.param_groups[partition.group]
            group["lr"] = float(partition.hyper[lr_index])
            optimizer._group_keys[partition.group] = optimizer._group_key(group)


def _batch_rows(count: int, batch_size: int, samples: int, drop_last: bool) -> np.ndarray:
    rows = np.full(count, batch_size, dtype=np.float64)
    if not drop_last and count and count * batch_size > samples:
        rows[-1] = samples - (count - 1) * batch_size
    return rows


def _epoch_loss(losses, batch_size, samples, drop_last) -> float:
    """The epoch's loss: the mean over its samples (each batch weighted by its rows)."""
    rows = _batch_rows(len(losses), batch_size, samples, drop_last)
    return float(np.dot(losses, rows) / rows.sum())


def _running_logs(losses, batch_size, samples, drop_last, setup, totals) -> dict[str, float]:
    logs = {"loss": _epoch_loss(losses, batch_size, samples, drop_last)} if len(losses) else {}
    logs.update(setup.metric_values(totals))
    return logs
