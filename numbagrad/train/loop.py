"""``fit`` and ``evaluate``: the Python around the compiled epoch.

An epoch runs in compiled segments of whole batches, sized to take a fraction
of a second, so that a progress bar moves and Ctrl-C is honoured between two
batches; between segments Python only counts. Callbacks, validation and
history happen at epoch boundaries.

An epoch is a sequence of *pieces*, each an array with its own order of
rows: the whole training set, or each chunk of a chunked fit (see
:mod:`numbagrad.train.chunks`), whose batches never span two chunks.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import time
from typing import Any, Callable, Iterator, Mapping, NamedTuple, Sequence

import numba
import numpy as np

from numbagrad import config, distributed
from numbagrad.checks import flag, integer, row_weights
from numbagrad.data import as_inputs, memory_mapped
from numbagrad.errors import NonFiniteLossError
from numbagrad.kernels.cpu.network import network_value_and_grad, penalize
from numbagrad.kernels.cpu.training import (
    COLLECTIVE_FAILED,
    NON_FINITE_GRADIENT,
    NON_FINITE_LOSS,
    NON_FINITE_UPDATE,
    evaluate_batches,
    prepare_weights,
    train_batches,
)
from numbagrad.kernels.cpu.update import nonfinite
from numbagrad.optim.partition import UpdatePlan
from numbagrad.train.callbacks import Callback
from numbagrad.train.chunks import ChunkSource, is_chunk_source
from numbagrad.train.data_parallel import ALONE, DataParallel
from numbagrad.train.history import History
from numbagrad.train.interrupts import deferred_interrupts
from numbagrad.threads import ThreadTuner, pool_size, single_threaded_blas
from numbagrad.train.progress import Progress

__all__ = ["fit", "evaluate", "run_epochs", "SEGMENT_SECONDS"]

#: Target duration of one compiled segment of an epoch.
SEGMENT_SECONDS = 0.2

#: What the compiled loops take for "no sample weights".
_NO_WEIGHTS = np.empty(0)


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


def _check_validation_args(validation_split: Any, validation_data: Any) -> None:
    if isinstance(validation_split, bool) or not isinstance(validation_split, numbers.Real) or not 0 <= validation_split < 1:
        raise ValueError(f"fit: validation_split must be a number in [0, 1); got {validation_split!r}")
    if validation_data is not None and validation_split:
        raise ValueError("fit: give validation_data or validation_split, not both")
    if validation_data is not None and (not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3)):
        raise TypeError(
            f"fit: validation_data must be a pair (X_val, y_val) or a triple (X_val, y_val, sample_weight_val); "
            f"got {type(validation_data).__name__}"
            + (f" of {len(validation_data)}" if isinstance(validation_data, (tuple, list)) else "")
        )


def _refuse_mapped_conversion(model: Any, X: Any, name: str) -> None:
    """Refuse a memory-mapped ``X`` that ``fit`` would have to convert: converting copies the whole file
    into memory, which is what mapping it was meant to avoid."""
    if model.preprocessing is not None or not isinstance(X, np.ndarray) or X.dtype.kind != "f" or not memory_mapped(X):
        return
    if X.dtype == model.dtype and X.flags.c_contiguous:
        return
    found = f"dtype {X.dtype}" + ("" if X.flags.c_contiguous else " in Fortran (column) order")
    raise ValueError(
        f"fit: {name} is a memory-mapped file of {found}; the model computes in {model.dtype} on C-ordered rows, "
        f"so fit would convert the whole file in memory. Save it once as a C-ordered {model.dtype} .npy file "
        f"(numpy.lib.format.open_memmap, filled chunk by chunk), or pass chunks, which are converted one at a "
        f"time: fit(numbagrad.train.chunks.ArrayChunks({name}, y, rows=...))"
    )


def _split_validation(model, X, y, validation_split, validation_data, sample_weight=None, class_weight=None):
    """``(inputs, targets, validation, weights)``: the training arrays, ``(X_val, y_val, w_val or None)``
    or None, and the training rows' weights or None."""
    _check_validation_args(validation_split, validation_data)
    _refuse_mapped_conversion(model, X, "X")
    inputs, targets = _prepare(model, X, y)
    weights = sample_weights(model, targets, sample_weight, class_weight, "fit")
    if validation_data is not None:
        return inputs, targets, _validation(model, validation_data), weights
    if validation_split:
        # As Keras: the last fraction of the rows, taken before any shuffling.
        held = int(math.floor(inputs.shape[0] * validation_split))
        if held == 0 or held == inputs.shape[0]:
            raise ValueError(
                f"fit: validation_split={validation_split} of {inputs.shape[0]} samples leaves "
                f"{inputs.shape[0] - held} for training and {held} for validation; both need at least one"
            )
        cut = inputs.shape[0] - held
        if weights is None:
            return inputs[:cut], targets[:cut], (inputs[cut:], targets[cut:], None), None
        for part, name in ((weights[:cut], "training"), (weights[cut:], "validation")):
            if not part.sum() > 0:
                raise ValueError(f"fit: the sample weights of the {name} rows (validation_split={validation_split}) sum to 0")
        return inputs[:cut], targets[:cut], (inputs[cut:], targets[cut:], weights[cut:]), weights[:cut]
    return inputs, targets, None, weights


def _validation(model: Any, validation_data: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    _refuse_mapped_conversion(model, validation_data[0], "validation_data[0]")
    inputs, targets = _prepare(model, validation_data[0], validation_data[1], name="_val")
    weight = validation_data[2] if len(validation_data) > 2 else None
    return inputs, targets, sample_weights(model, targets, weight, None, "fit", "validation_data[2]")


def sample_weights(model: Any, targets: np.ndarray, sample_weight: Any, class_weight: Any, owner: str,
                   name: str = "sample_weight") -> np.ndarray | None:
    """The float64 weight of each row of ``targets`` (the product of ``sample_weight`` and the class's
    ``class_weight``), checked; None when neither is given.

    ``class_weight``: a dict ``{class index: weight}`` (a class left out weighs 1, as in Keras), or
    ``"balanced"``: ``n_samples / (n_classes * count of the class)``, scikit-learn's.
    """
    if sample_weight is None and class_weight is None:
        return None
    rows = targets.shape[0]
    weights = np.ones(rows)
    if sample_weight is not None:
        weights = row_weights(sample_weight, rows, name, owner)
    if class_weight is not None:
        labels = _class_labels(model, targets, owner)
        weights = weights * _class_weights(model, labels, class_weight, owner)[labels]
    if not weights.sum() > 0:
        raise ValueError(f"{owner}: the sample weights sum to 0; at least one sample needs a weight > 0")
    if (weights == 1.0).all():  # the unweighted loops, bit for bit (scikit-learn passes ones for "none")
        return None
    prepare_weights()  # the loops' weighted loss and metrics, compiled only for weighted rows
    return weights


def _class_labels(model: Any, targets: np.ndarray, owner: str) -> np.ndarray:
    """Each row's class index, from integer labels, 0/1 targets of one output, or one-hot rows."""
    if targets.shape[1] == 1:
        labels = targets[:, 0]
        allowed = np.arange(max(2, model.output_dim))
        if np.isin(labels, allowed).all():
            return labels.astype(np.int64)
    elif ((targets == 0) | (targets == 1)).all() and (targets.sum(axis=1) == 1).all():
        return np.argmax(targets, axis=1)
    raise ValueError(
        f"{owner}: class_weight needs class labels: y must hold integer labels in [0, {max(2, model.output_dim)}), "
        "0 or 1 for a network of one output, or one-hot rows"
    )


def _class_weights(model: Any, labels: np.ndarray, class_weight: Any, owner: str) -> np.ndarray:
    """The weight of each class index, for rows of class ``labels``."""
    classes = max(2, model.output_dim)
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(f"{owner}: class_weight must be a dict {{class index: weight}} or 'balanced'; got {class_weight!r}")
        counts = np.bincount(labels, minlength=classes).astype(np.float64)
        present = counts > 0
        table = np.ones(classes)
        table[present] = labels.size / (present.sum() * counts[present])
        return table
    if not isinstance(class_weight, Mapping):
        raise TypeError(f"{owner}: class_weight must be a dict {{class index: weight}} or 'balanced'; got {type(class_weight).__name__}")
    table = np.ones(classes)
    for key, value in class_weight.items():
        if isinstance(key, bool) or not isinstance(key, numbers.Integral) or not 0 <= key < classes:
            raise ValueError(f"{owner}: class_weight has the key {key!r}; keys are class indices in [0, {classes})")
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{owner}: class_weight[{key}] = {value!r}; weights must be finite numbers >= 0")
        table[int(key)] = float(value)
    return table


def evaluate(model: Any, X: Any, y: Any, batch_size: int | None = None, sample_weight: Any = None) -> dict[str, float]:
    """Loss and metrics of the compiled model on ``(X, y)``, weighted by ``sample_weight`` when given;
    nothing updated."""
    model.require_compiled("evaluate")
    inputs, targets = _prepare(model, X, y)
    size = inputs.shape[0] if batch_size is None else integer(batch_size, "batch_size", 1, "evaluate")
    weights = sample_weights(model, targets, sample_weight, None, "evaluate")
    return _evaluate_arrays(model, inputs, targets, min(size, inputs.shape[0]), weights)


def _check_weighted_metrics(setup: Any, owner: str) -> None:
    for metric in setup.metrics:
        if not metric.spec.weighable:
            raise ValueError(
                f"{owner}: the metric {metric.name!r} cannot be weighted by sample weights (it has no weighted_update "
                "and its totals are not sums over rows); compile without it to train or evaluate with sample_weight "
                "or class_weight"
            )


def _evaluate_arrays(model, inputs, targets, batch_size, weights=None):
    if weights is not None:
        _check_weighted_metrics(model.training, "evaluate")
    if model.device != "cpu":
        from numbagrad.train.cuda_loop import evaluate_arrays

        return evaluate_arrays(model, inputs, targets, batch_size, weights)
    loss, _, totals = _evaluate_totals(model, inputs, targets, batch_size, weights)
    return {"loss": loss, **model.training.metric_values(totals)}


def _evaluate_totals(model, inputs, targets, batch_size, weights=None) -> tuple[float, float, np.ndarray]:
    """``(mean loss, rows or sum of weights, metric totals)`` of a CPU model on ``(inputs, targets)``."""
    setup = model.training
    batch_size = min(batch_size, inputs.shape[0])
    workspace, offsets = model._workspace(batch_size, targets.shape[1])
    totals = setup.new_totals(inputs.shape[0])
    loss = evaluate_batches(
        model.parameters, model.layer_table, model.activation_table, model.activation_params, model.norm_table,
        workspace, offsets, inputs, targets, batch_size,
        setup.loss.table, setup.loss.params, not setup.loss.fused,
        setup.metric_tables, setup.metric_params, totals, model.penalty_table, _NO_WEIGHTS if weights is None else weights,
    )
    return float(loss), float(inputs.shape[0] if weights is None else weights.sum()), totals


def fit(
    model: Any,
    X: Any,
    y: Any = None,
    batch_size: int = 32,
    epochs: int = 1,
    validation_split: float = 0.0,
    validation_data: tuple[Any, Any] | None = None,
    shuffle: bool = True,
    seed: int | None = None,
    callbacks: Sequence[Callback] | None = None,
    verbose: int = 1,
    drop_last: bool = False,
    steps_per_epoch: int | None = None,
    sample_weight: Any = None,
    class_weight: Any = None,
    sharded: bool = False,
    threads: int | None = None,
) -> History:
    """Train ``model`` (see :meth:`numbagrad.nn.Sequential.fit`): on arrays ``X, y``, or on the
    chunks ``X`` gives when ``y`` is left out (see :mod:`numbagrad.train.chunks`); data parallel
    over the ranks of :func:`numbagrad.distributed.init` when it was called."""
    model.require_compiled("fit")
    if threads is not None:
        threads = _integer(threads, "threads", 1)
        if threads > pool_size():
            raise ValueError(
                f"fit: threads must be at most {pool_size()} (Numba's threads here, NUMBA_NUM_THREADS), or None to "
                f"let fit choose; got {threads}"
            )
    with _fit_threads(threads):
        return _fit(model, X, y, batch_size, epochs, validation_split, validation_data, shuffle, seed, callbacks, verbose,
                    drop_last, steps_per_epoch, sample_weight, class_weight, sharded, threads is None)


@contextlib.contextmanager
def _fit_threads(threads: int | None) -> Iterator[None]:
    """Numba's thread count set to ``threads`` for the fit (``None``: the tuner sets it segment by
    segment); the caller's count is restored afterwards either way."""
    previous = numba.get_num_threads()
    if threads is not None:
        numba.set_num_threads(threads)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def _fit(model, X, y, batch_size, epochs, validation_split, validation_data, shuffle, seed, callbacks, verbose, drop_last,
         steps_per_epoch, sample_weight, class_weight, sharded, tune) -> History:
    batch_size = _integer(batch_size, "batch_size", 1)
    epochs = _integer(epochs, "epochs", 0)
    shuffle = _flag(shuffle, "shuffle")
    drop_last = _flag(drop_last, "drop_last")
    sharded = _flag(sharded, "sharded")
    world = distributed.current()
    parallel = None if world is None else DataParallel(world, sharded)
    _check_batch_norm(model, batch_size, parallel)
    if verbose not in (0, 1, 2):
        raise ValueError(f"fit: verbose must be 0, 1 or 2; got {verbose!r}")
    if seed is not None:
        _integer(seed, "seed", 0)
    callbacks = list(callbacks or [])
    for i, callback in enumerate(callbacks):
        if not isinstance(callback, Callback):
            raise TypeError(f"fit: callbacks[{i}] must be a numbagrad.train.Callback; got {type(callback).__name__}")
    if steps_per_epoch is not None:
        steps_per_epoch = _integer(steps_per_epoch, "steps_per_epoch", 1)
    if y is None or is_chunk_source(X):
        if sample_weight is not None:
            raise ValueError(
                "fit: sample_weight is for arrays X, y; chunks carry their own weights: triples "
                "(X_chunk, y_chunk, w_chunk), or ArrayChunks(X, y, rows, sample_weight=w)"
            )
        if isinstance(class_weight, str):
            raise ValueError(
                f"fit: class_weight={class_weight!r} needs every class's count in the whole training set, which "
                "chunks never hold at once; give a dict {class index: weight}"
            )
        if y is not None:
            raise ValueError(
                f"fit: y must be left out when X gives chunks ({type(X).__name__}): each chunk is a pair "
                f"(X_chunk, y_chunk); got y of type {type(y).__name__}"
            )
        if parallel is not None and sharded:
            raise ValueError(
                "fit: sharded=True is for arrays; with chunks every rank reads the same chunks and trains on its "
                "slice of each batch"
            )
        return _fit_chunks(
            model, ChunkSource(X, epochs), batch_size, epochs, validation_split, validation_data, shuffle, seed, callbacks,
            verbose, drop_last, steps_per_epoch, parallel, tune, class_weight,
        )
    if steps_per_epoch is not None:
        raise ValueError(
            f"fit: steps_per_epoch={steps_per_epoch} is for chunks; with arrays an epoch has len(X) / batch_size batches"
        )
    inputs, targets, validation, weights = _split_validation(model, X, y, validation_split, validation_data, sample_weight, class_weight)
    samples = inputs.shape[0]
    batches = samples // batch_size if drop_last else -(-samples // batch_size)
    if parallel is not None:
        parallel.agree(model, samples, batch_size, epochs, shuffle, seed, drop_last, weights is not None, validation is not None)
        batches = parallel.batches(samples, batch_size, drop_last)
    if batches == 0:
        raise ValueError(f"fit: drop_last=True with batch_size={batch_size} leaves no batch of {samples} samples")
    local_batch = batch_size if parallel is None else parallel.local_batch_size(batch_size)
    if model.device != "cpu":
        from numbagrad.train.cuda_loop import fit as fit_on_gpu

        if validation is not None and validation[2] is not None:
            _check_weighted_metrics(model.training, "fit")
        return fit_on_gpu(
            model, inputs, targets, validation, local_batch, epochs, shuffle, seed, callbacks, verbose, drop_last, batches, parallel,
            weights,
        )
    trainer_class = _ClosureTrainer if model.training.optimizer.spec.closure else _HostTrainer
    trainer = trainer_class(model, inputs, targets, local_batch, weights, parallel)
    validate = _host_validation(model, validation, batch_size, parallel)
    return run_epochs(
        model, trainer, validate, samples, batches, local_batch, epochs, shuffle, seed, callbacks, verbose, drop_last, weights,
        parallel, tune,
    )


def _check_batch_norm(model: Any, batch_size: int, parallel: DataParallel | None) -> None:
    """Refuse the fits batch normalization cannot train as one process would."""
    if not model.has_batch_norm:
        return
    layer = next(layer.name for layer in model.layers if layer.running_mean is not None)
    if batch_size < 2:
        raise ValueError(
            f"fit: batch_size={batch_size} with batch normalization (layer {layer!r}): a batch of one row has no "
            "variance to normalize by; use batch_size >= 2 (PyTorch's BatchNorm1d refuses it too), or LayerNormalization"
        )
    if parallel is not None and parallel.size > 1:
        raise ValueError(
            f"fit: batch normalization (layer {layer!r}) in data-parallel training on {parallel.size} ranks: each rank "
            "would normalize by its own slice of every batch, which is not the fit of one process; train in one "
            "process, or use LayerNormalization, which normalizes each row alone"
        )


def _host_validation(model: Any, validation: tuple | None, batch_size: int, parallel: DataParallel | None = None):
    if validation is None:
        return None
    rows = max(batch_size, 256)
    if parallel is not None:
        if validation[2] is not None:
            _check_weighted_metrics(model.training, "fit")
        return parallel.validation(lambda x, y, w: lambda: _evaluate_totals(model, x, y, rows, w), validation, model.training)
    weights = validation[2] if len(validation) > 2 else None
    return lambda: _evaluate_arrays(model, validation[0], validation[1], min(rows, validation[0].shape[0]), weights)


def _fit_chunks(
    model, source, batch_size, epochs, validation_split, validation_data, shuffle, seed, callbacks, verbose, drop_last,
    steps_per_epoch, parallel=None, tune=False, class_weight=None,
) -> History:
    """:func:`fit` on the chunks of ``source`` (a :class:`ChunkSource`), on checked arguments."""
    _check_validation_args(validation_split, validation_data)
    if validation_split:
        raise ValueError(
            f"fit: validation_split={validation_split} needs the whole training set, which chunks never hold at once; "
            "give validation_data=(X_val, y_val) instead"
        )
    known = source.batch_count(batch_size, drop_last)
    if known is not None and steps_per_epoch is not None and known != steps_per_epoch:
        raise ValueError(f"fit: steps_per_epoch={steps_per_epoch}, but the chunks give {known} batches per epoch")
    batches = known if known is not None else steps_per_epoch
    if batches is None and model.training.schedule_config is not None:
        raise ValueError(
            "fit: the schedule takes its length from the fit, and the number of batches in an epoch of chunks is "
            "unknown until it ends: give steps_per_epoch (the batches per epoch), or a schedule with its own length"
        )
    if known == 0:
        raise ValueError(f"fit: drop_last=True with batch_size={batch_size} leaves no batch in any chunk")
    validation = None if validation_data is None else _validation(model, validation_data)
    if model.device != "cpu":
        from numbagrad.train import cuda_loop

        context = contextlib.nullcontext()

        def make(inputs, targets, count, weights):
            return cuda_loop.new_trainer(model, inputs, targets, batch_size, count, parallel, weights)

        if validation is not None and validation[2] is not None:
            _check_weighted_metrics(model.training, "fit")
        validate = None if validation is None else cuda_loop.new_validator(model, validation, batch_size, parallel)
    else:
        trainer_class = _ClosureTrainer if model.training.optimizer.spec.closure else _HostTrainer
        context = trainer = trainer_class(model, None, None, batch_size, None, parallel)
        make = lambda inputs, targets, count, weights: trainer.use(inputs, targets, weights)  # noqa: E731
        validate = _host_validation(model, validation, batch_size, parallel)
    if parallel is not None:
        parallel.agree(model, 0, batch_size, epochs, shuffle, seed, drop_last, False, validation is not None)
    if class_weight is not None:
        _check_weighted_metrics(model.training, "fit")
    chunks = _Chunks(model, source, make, context, batch_size, drop_last, steps_per_epoch, class_weight)
    return run_epochs(
        model, chunks, validate, 0, batches, batch_size, epochs, shuffle, seed, callbacks, verbose, drop_last, None, parallel,
        tune,
    )


class _Piece(NamedTuple):
    """A part of an epoch, trained in one go: an array's rows in ``order``."""

    trainer: Any  # holds the piece's arrays
    order: np.ndarray  # int64, the rows in the order they are trained
    batches: int
    rows: np.ndarray  # float64, the rows of each batch (the weights of the epoch's loss)
    where: str  # the piece in messages: "" for the whole training set, " (chunk 3)"


class _WholeArrays:
    """An epoch of an array fit: one piece, the whole training set, shuffled as a whole."""

    def __init__(self, trainer: Any, samples: int, batches: int, batch_size: int, weights: np.ndarray | None = None,
                 parallel: DataParallel | None = None):
        self.trainer, self.samples, self.batches = trainer, samples, batches
        self.batch_size, self.weights, self.parallel = batch_size, weights, parallel
        self.rows = _batch_rows(batches, batch_size, samples)
        if parallel is not None and weights is None:
            self.rows = parallel.batch_rows(self.rows)

    def __enter__(self) -> "_WholeArrays":
        self.trainer.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.trainer.__exit__(*exc_info)

    def pieces(self, rng: np.random.Generator, shuffle: bool) -> Iterator[_Piece]:
        order = rng.permutation(self.samples) if shuffle else np.arange(self.samples)
        rows = self.rows
        if self.weights is not None:
            rows = _weighted_rows(self.weights, order, self.batches, self.batch_size)
            if self.parallel is not None:
                rows = self.parallel.batch_rows(rows)
        yield _Piece(self.trainer, order.astype(np.int64, copy=False), self.batches, rows, "")

    def end_epoch(self, batches: int) -> None:
        return None


def _weighted_rows(weights: np.ndarray, order: np.ndarray, batches: int, batch_size: int) -> np.ndarray:
    """Each batch's sum of sample weights, what its loss counts for in the epoch's (``rows`` of a piece)."""
    ordered = weights[order[: batches * batch_size]]
    if ordered.size < batches * batch_size:  # the last batch is short, or a rank's own rows end early
        ordered = np.concatenate([ordered, np.zeros(batches * batch_size - ordered.size)])
    return np.add.reduceat(ordered, np.arange(0, ordered.size, batch_size))


class _Chunks:
    """An epoch of a chunked fit: one piece per chunk, checked and converted as it arrives, its rows
    shuffled on their own. ``make(inputs, targets, batches, weights)`` gives the trainer of a chunk's
    arrays; a chunk is a pair, or a triple with its sample weights, which ``class_weight`` (a dict)
    multiplies."""

    def __init__(self, model, source: ChunkSource, make, context, batch_size: int, drop_last: bool, steps_per_epoch: int | None,
                 class_weight: Any = None):
        self.model, self.source, self.make, self.context = model, source, make, context
        self.batch_size, self.drop_last, self.steps_per_epoch = batch_size, drop_last, steps_per_epoch
        self.class_weight = class_weight

    def __enter__(self) -> "_Chunks":
        self.context.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.context.__exit__(*exc_info)

    def pieces(self, rng: np.random.Generator, shuffle: bool) -> Iterator[_Piece]:
        for index, chunk in self.source.epoch(rng, shuffle):
            inputs, targets, weights = self._prepare(index, chunk)
            samples = inputs.shape[0]
            batches = samples // self.batch_size if self.drop_last else -(-samples // self.batch_size)
            if batches == 0:  # drop_last, and fewer rows than batch_size
                continue
            order = (rng.permutation(samples) if shuffle else np.arange(samples)).astype(np.int64, copy=False)
            if weights is None:
                rows = _batch_rows(batches, self.batch_size, samples)
            else:
                rows = _weighted_rows(weights, order, batches, self.batch_size)
            yield _Piece(self.make(inputs, targets, batches, weights), order, batches, rows, f" (chunk {index})")

    def _prepare(self, index: int, chunk: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        if not isinstance(chunk, (tuple, list)) or len(chunk) not in (2, 3):
            raise TypeError(
                f"fit: chunk {index} must be a pair (X_chunk, y_chunk) or a triple (X_chunk, y_chunk, w_chunk); "
                f"got {type(chunk).__name__}" + (f" of {len(chunk)}" if isinstance(chunk, (tuple, list)) else "")
            )
        owner = f"fit: chunk {index} (counting from 0)"
        try:
            inputs, targets = _prepare(self.model, chunk[0], chunk[1])
        except TypeError as error:
            raise TypeError(f"{owner}: {error}") from None
        except ValueError as error:
            raise ValueError(f"{owner}: {error}") from None
        given = chunk[2] if len(chunk) == 3 else None
        weights = sample_weights(self.model, targets, given, self.class_weight, owner, "w_chunk")
        if given is not None:
            _check_weighted_metrics(self.model.training, "fit")
        return inputs, targets, weights

    def end_epoch(self, batches: int) -> None:
        """Check an epoch's number of batches, once it is known."""
        if batches == 0:
            raise ValueError(
                "fit: the chunks gave no batch this epoch"
                + (f" (drop_last=True and every chunk has fewer than batch_size={self.batch_size} rows)" if self.drop_last else "")
            )
        if self.steps_per_epoch is not None and batches != self.steps_per_epoch:
            raise ValueError(f"fit: steps_per_epoch={self.steps_per_epoch}, but this epoch's chunks gave {batches} batches")


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
    #: The key of this epoch's (or chunk's) dropout masks.
    dropout_key = 0

    def __init__(self, model: Any, inputs: np.ndarray | None, targets: np.ndarray | None, batch_size: int,
                 weights: np.ndarray | None = None, parallel: DataParallel | None = None):
        self.model, self.setup = model, model.training
        self.batch_size = batch_size
        self.weights = _NO_WEIGHTS if weights is None else weights
        self.parallel = parallel
        self.share = ALONE if parallel is None else parallel.share()
        self.exchange = np.empty((2, 0)) if parallel is None else parallel.exchange(model.parameters.size)
        self.timeout = 0.0 if parallel is None else parallel.timeout
        self.order = np.arange(0, dtype=np.int64)
        self.totals = self.setup.new_totals()
        self.threads, self.update_threshold = 1, 1 << 62
        self._blas = contextlib.ExitStack()
        if inputs is not None:
            self.use(inputs, targets, weights)

    def use(self, inputs: np.ndarray, targets: np.ndarray, weights: np.ndarray | None = None) -> "_HostTrainer":
        """Train on ``inputs``, ``targets`` and the rows' sample ``weights`` from now on (each chunk of a
        chunked fit in turn); returns self."""
        self.inputs, self.targets = inputs, targets
        self.weights = _NO_WEIGHTS if weights is None else weights
        self.workspace, self.offsets = self.model._workspace(min(self.batch_size, inputs.shape[0]), targets.shape[1])
        return self

    def __enter__(self) -> "_HostTrainer":
        blas_limited = self._blas.enter_context(single_threaded_blas())
        # Numba's threads own the cores when BLAS can be kept to one thread;
        # otherwise BLAS does and the compiled loop stays on this thread. The
        # products are split into one part per thread of the pool whatever
        # count runs them, so that the count changes no number (numbagrad.threads).
        self.threads = pool_size() if blas_limited else 1
        self.update_threshold = config.PARALLEL_THRESHOLD if self.threads > 1 else 1 << 62
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._blas.close()

    def begin_epoch(self, order: np.ndarray, dropout_key: int = 0) -> None:
        """A new epoch (or chunk) in ``order``, its dropout masks drawn with ``dropout_key``."""
        self.order = order
        self.dropout_key = dropout_key
        self.totals = self.setup.new_totals(self.inputs.shape[0])

    def host_totals(self) -> np.ndarray:
        return self.totals

    @property
    def tunable(self) -> bool:
        """Whether the compiled epoch runs on Numba's threads, whose count ``fit`` may tune."""
        return self.threads > 1

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
        arrays = [model.parameters, self.totals] + [a for _, p in parts for a in (p.state_block, p.hyper)]

        def roll_back() -> None:
            for array, copy in zip(arrays, saved):
                array[...] = copy

        # One process checks what the updates wrote once, after the segment: a non-finite weight
        # or state value stays non-finite in every step after it. Only when one is found does the
        # segment run again, checking after every step, to stop at the update that wrote it.
        # Ranks keep the check in every step, so that all of them stop at the same batch.
        alone = self.parallel is None
        completed = self._train(plan, first, stop, rates, losses, check_updates=not alone)
        if alone and self.problem != NON_FINITE_UPDATE and not _finite(arrays[:1] + arrays[2::2]):
            roll_back()
            completed = self._train(plan, first, stop, rates, losses, check_updates=True)
        if self.problem == NON_FINITE_UPDATE:
            bad_loss = losses[completed]
            roll_back()
            # The kernels are deterministic: replaying the finite batches gives the same bits.
            self._train(plan, first, first + completed, rates, losses, check_updates=False)
            self.problem = NON_FINITE_UPDATE
            losses[completed] = bad_loss
        return completed

    def _train(self, plan: UpdatePlan, first: int, stop: int, rates: np.ndarray, losses: np.ndarray, check_updates: bool) -> int:
        model, setup = self.model, self.setup
        problem = np.zeros(2, dtype=np.int64)
        completed = train_batches(
            model.parameters, model.gradients, model.layer_table, model.activation_table, model.activation_params, model.norm_table,
            self.workspace, self.offsets, self.inputs, self.targets, self.order, self.batch_size, first, stop,
            setup.loss.table, setup.loss.params, not setup.loss.fused,
            plan.table, plan.tensors, plan.tasks, rates, self.threads, setup.clip_value, setup.clip_norm,
            setup.metric_tables, setup.metric_params, self.totals, losses, problem, model.penalty_table, self.weights,
            self.share, self.exchange, self.timeout, model.dropout_table, self.dropout_key, check_updates, setup.flush_subnormals,
        )
        self.problem = int(problem[0])
        if self.problem == COLLECTIVE_FAILED:
            raise self.parallel.collective_failed(int(problem[1]))
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
    tunable = False  # each step is Python calling small compiled pieces

    def begin_epoch(self, order: np.ndarray, dropout_key: int = 0) -> None:
        super().begin_epoch(order, dropout_key)
        self._measured = None

    def run(self, parts: list, first: int, stop: int, rates: np.ndarray, losses: np.ndarray) -> int:
        model, setup = self.model, self.setup
        optimizer = setup.optimizer
        grads = gradient_arrays(model, parts)
        for b in range(first, stop):
            rows = self.order[b * self.batch_size : (b + 1) * self.batch_size]
            inputs, targets = self.inputs[rows], self.targets[rows]
            weights = self.weights[rows] if self.weights.size else _NO_WEIGHTS

            def closure(b=b):
                if self.parallel is not None:
                    return self._parallel_closure(rows, b), grads
                value = network_value_and_grad(
                    model.parameters, model.gradients, model.layer_table, model.activation_table, model.activation_params, model.norm_table,
                    self.workspace, self.offsets, inputs, targets, setup.loss.table, setup.loss.params, not setup.loss.fused,
                    model.penalty_table, weights, model.dropout_table, self._draw(b, 0),
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

    def _draw(self, batch: int, first_row: int) -> np.ndarray:
        """The coordinates of a batch's dropout masks (see :mod:`numbagrad.kernels.cpu.dropout`)."""
        return np.array([self.dropout_key, batch, first_row], dtype=np.int64)

    def _parallel_closure(self, batch: np.ndarray, b: int) -> float:
        """The closure's loss and gradient in data-parallel training: each rank's part of the
        rows ``batch`` of batch ``b``, summed over the ranks (see :meth:`DataParallel.closure_gradient`)."""
        model, setup = self.model, self.setup

        def value_and_grad(rows, first_row):
            weights = self.weights[rows] if self.weights.size else _NO_WEIGHTS
            value = network_value_and_grad(
                model.parameters, model.gradients, model.layer_table, model.activation_table, model.activation_params, model.norm_table,
                self.workspace, self.offsets, self.inputs[rows], self.targets[rows], setup.loss.table, setup.loss.params,
                not setup.loss.fused, model.penalty_table[:0], weights, model.dropout_table, self._draw(b, first_row),
            )
            return value, float(rows.size if not self.weights.size else weights.sum())

        def penalty(count):
            return penalize(model.parameters, model.gradients, model.penalty_table, count, True)

        return self.parallel.closure_gradient(value_and_grad, penalty, batch, model.gradients)

    def host_totals(self) -> np.ndarray:
        if self._measured is None:
            setup = self.setup
            inputs, targets, weights = self.inputs, self.targets, self.weights
            if self.parallel is not None:  # each rank counts its slice of the rows (all of its own when sharded)
                part = slice(*self.parallel.part(inputs.shape[0]))
                inputs, targets, weights = inputs[part], targets[part], weights[part] if weights.size else weights
            totals = setup.new_totals(inputs.shape[0])
            if setup.metrics and inputs.shape[0] > 0:
                evaluate_batches(
                    self.model.parameters, self.model.layer_table, self.model.activation_table, self.model.activation_params, self.model.norm_table,
                    self.workspace, self.offsets, inputs, targets, min(self.batch_size, inputs.shape[0]),
                    setup.loss.table, setup.loss.params, not setup.loss.fused,
                    setup.metric_tables, setup.metric_params, totals, self.model.penalty_table, weights,
                )
            self._measured = totals
        return self._measured


def run_epochs(
    model: Any,
    trainer: Any,
    validate: Callable[[], dict[str, float]] | None,
    samples: int,
    batches: int | None,
    batch_size: int,
    epochs: int,
    shuffle: bool,
    seed: int | None,
    callbacks: Sequence[Callback],
    verbose: int,
    drop_last: bool,
    weights: np.ndarray | None = None,
    parallel: DataParallel | None = None,
    tune: bool = False,
) -> History:
    """The epochs of :func:`fit` on checked arguments, wherever the model lives.

    ``trainer`` computes the batches of ``samples`` rows (see
    :class:`_HostTrainer`), or is the :class:`_Chunks` of a chunked fit, which
    gives each chunk's trainer in turn (``samples`` unused, ``batches`` None
    when unknown before an epoch ends); ``validate`` returns the validation
    logs at each epoch's end. Everything else — the order of the samples,
    schedules, callbacks, history, progress, Ctrl-C between segments and the
    stop on a non-finite loss — is the same on the CPU and the GPU, for
    arrays and chunks. An epoch's loss is the mean over its samples: each
    batch's loss weighted by its rows, over every piece; its metrics add up
    the totals of every piece. With sample ``weights``, each batch's loss is weighted by the sum of
    its rows' weights instead.

    Data parallel (``parallel``): every rank starts from rank 0's weights,
    optimizer state and generator, the epoch's metric totals are summed over
    the ranks, and only rank 0 shows progress and runs the callbacks that
    write files.
    """
    setup = model.training
    if weights is not None:
        _check_weighted_metrics(setup, "fit")
    data = trainer if isinstance(trainer, _Chunks) else _WholeArrays(trainer, samples, batches, batch_size, weights, parallel)
    if seed is not None:
        model.reseed(seed)
    parts = _refreshed_partitions(setup)
    if parallel is not None:
        parallel.start_alike(model, parts)
        if parallel.rank != 0:
            verbose = 0
            callbacks = [callback for callback in callbacks if not callback.writes]
    if batches is not None:  # else (chunks) fit made sure that no schedule needs the run's length
        setup.fit_length(parts[0][1].step + epochs * batches, model.epoch + epochs)
    history = History()
    model.history = history
    model.stop_training = False
    every = [history, *callbacks]
    for callback in every:
        callback.set_model(model)
    progress = Progress(verbose, model.epoch + epochs)

    tuner = None
    for callback in every:
        callback.on_train_begin({})
    with deferred_interrupts() as interrupt, data:
        try:
            for _ in range(epochs):
                parts = _refreshed_partitions(setup)  # callbacks may have changed param_groups
                epoch = model.epoch
                for callback in every:
                    callback.on_epoch_begin(epoch, {})
                progress.begin_epoch(epoch, batches)
                losses, rows, totals = np.empty(0), np.empty(0), setup.new_totals()
                segment = max(1, 4096 // batch_size)  # then sized by time, across the epoch's pieces
                for piece in data.pieces(model.rng, shuffle):
                    trainer = piece.trainer
                    # Drawn after the piece's order, and only when there is dropout: the generator of
                    # a model without it runs as it always did.
                    trainer.begin_epoch(piece.order, int(model.rng.integers(1 << 62)) if model.has_dropout else 0)
                    if tuner is None and tune and getattr(trainer, "tunable", False):
                        tuner = ThreadTuner(numba.get_num_threads())
                    piece_losses = np.empty(piece.batches)
                    done = 0
                    segment = max(1, min(piece.batches, trainer.segment_limit, segment))
                    while done < piece.batches:
                        interrupt.check()
                        stop = min(piece.batches, done + segment)
                        if tuner is not None:
                            numba.set_num_threads(tuner.threads)
                            tuner.begin()
                        rates = _learning_rates(setup, parts, epoch, stop - done)
                        began = time.perf_counter()
                        completed = trainer.run(parts, done, stop, rates, piece_losses[done:stop])
                        for _, partition in parts:
                            partition.step += completed
                        done += completed
                        if done < stop:
                            _sync_learning_rates(setup, parts)
                            model.epoch_losses = np.concatenate([losses, piece_losses[:done]])
                            where = (losses.size + done, batches, piece.where)
                            raise NonFiniteLossError(_stop_message(trainer.problem, piece_losses[done], epoch, *where))
                        elapsed = time.perf_counter() - began
                        if tuner is not None:
                            tuner.end()
                        segment = max(1, min(trainer.segment_limit, int(segment * SEGMENT_SECONDS / max(elapsed, 1e-6))))
                        if progress.live:
                            running = setup.combined_totals(totals, trainer.host_totals()) if setup.metrics else totals
                            so_far = (np.concatenate([losses, piece_losses[:done]]), np.concatenate([rows, piece.rows[:done]]))
                            progress.advance(completed, _running_logs(*so_far, setup, running))
                    totals = setup.combined_totals(totals, trainer.host_totals())
                    losses, rows = np.concatenate([losses, piece_losses]), np.concatenate([rows, piece.rows])
                data.end_epoch(losses.size)
                if parallel is not None:
                    totals = parallel.totals(totals, setup)
                batches = losses.size  # the progress bar's length from now on (chunks may not say it before)
                _sync_learning_rates(setup, parts)
                logs = {"loss": _epoch_loss(losses, rows)}
                logs.update(setup.metric_values(totals))
                if validate is not None:
                    logs.update({"val_" + key: value for key, value in validate().items()})
                lr_index = _lr_index(parts[0][0])
                if lr_index >= 0:
                    logs["lr"] = float(parts[0][1].hyper[lr_index])
                model.epoch += 1
                progress.end_epoch(epoch, logs)
                model.epoch_losses = losses
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


def _stop_message(problem: int, loss: float, epoch: int, batch: int, batches: int | None, piece: str = "") -> str:
    """Why an epoch stopped at ``batch`` (counted from 0; of ``batches``, None when unknown; in ``piece``,
    a chunk's " (chunk 3)" or ""), for :class:`NonFiniteLossError`."""
    where = f"at epoch {epoch + 1}, batch {batch + 1}" + ("" if batches is None else f" of {batches}") + piece
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


def _finite(arrays: list[np.ndarray]) -> bool:
    """Whether every value of every array is finite."""
    return not any(nonfinite(array.reshape(-1)) for array in arrays)


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


def _batch_rows(count: int, batch_size: int, samples: int) -> np.ndarray:
    """The rows of each of ``count`` batches of ``samples`` rows: ``batch_size``, fewer in the last
    one, none past the end (a rank whose own rows end before the epoch's last batch)."""
    return np.clip(samples - batch_size * np.arange(count, dtype=np.float64), 0, batch_size)


def _epoch_loss(losses: np.ndarray, rows: np.ndarray) -> float:
    """The epoch's loss: the mean over its samples, ``sum(losses * rows) / sum(rows)`` (each batch's
    mean loss weighted by its rows, or by the sum of its sample weights); NaN when nothing counted."""
    total = rows.sum()
    return float(np.dot(losses, rows) / total) if total > 0 else math.nan


def _running_logs(losses, rows, setup, totals) -> dict[str, float]:
    logs = {"loss": _epoch_loss(losses, rows)} if len(losses) else {}
    logs.update(setup.metric_values(totals))
    return logs
