"""scikit-learn estimators: numbagrad networks in pipelines, grid searches and cross-validation.

:class:`MLPClassifier` and :class:`MLPRegressor` wrap a
:class:`numbagrad.Sequential` of dense layers in scikit-learn's estimator
interface (:class:`sklearn.base.BaseEstimator`): ``fit``, ``predict``, ``score``, ``partial_fit``,
``get_params``/``set_params``, fitted attributes with trailing underscores.
They work in :class:`~sklearn.pipeline.Pipeline`, :class:`~sklearn.model_selection.GridSearchCV`
(``n_jobs=-1`` included), :func:`~sklearn.model_selection.cross_val_score` and
:func:`~sklearn.base.clone`, and pass scikit-learn's estimator checks::

    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from numbagrad.sklearn import MLPClassifier

    model = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(64,), random_state=0))
    model.fit(X_train, y_train)
    model.score(X_test, y_test)

Importing this module imports scikit-learn (``pip install "numbagrad[sklearn]"``);
importing numbagrad does not.

The constructor parameters are the compile and fit options of a numbagrad
model, under the names a Keras or numbagrad user knows; the table in the
documentation's scikit-learn page maps them to the parameters of
scikit-learn's own ``MLPClassifier``. As scikit-learn requires, the
constructor stores them unchanged and ``fit`` checks them: a bad value raises
before anything changes, with a message naming the parameter, the value and
what is allowed.

Fitted estimators pickle (scikit-learn's convention for saving estimators):
the network travels as plain data (its configuration, weights, compile
options, optimizer state and counters), never as compiled objects, and is
rebuilt on unpickling. numbagrad's own model files (``model_.save``) stay
free of pickle.
"""

from __future__ import annotations

import contextlib
import math
import numbers
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from numbagrad import activations, losses, optim, schedules
from numbagrad.checks import flag as _flag
from numbagrad.checks import integer as _integer
from numbagrad.device import require_cuda
from numbagrad.nn import Dense, Sequential
from numbagrad.nn.state import model_state, restore_model
from numbagrad.train import Callback, EarlyStopping, History

__all__ = ["MLPClassifier", "MLPRegressor"]

#: scikit-learn's names of activations, accepted beside numbagrad's.
SKLEARN_ACTIVATIONS = {"identity": "linear", "logistic": "sigmoid"}

#: Devices a model can train on.
DEVICES = ("cpu", "cuda")

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_SEED_LIMIT = 2**31 - 1


# --- checking parameters ------------------------------------------------------------------
#
# scikit-learn's convention: __init__ stores every parameter as given, and
# fit checks them. Each check names the estimator, the parameter, the value
# and what is allowed.


def _real(value: Any, name: str, owner: str, what: str, accept) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or not accept(value):
        raise ValueError(f"{owner}: {name} must be {what}; got {value!r}")
    return float(value)


def _positive_or_none(value: Any, name: str, owner: str) -> float | None:
    if value is None:
        return None
    return _real(value, name, owner, "a finite number > 0, or None", lambda v: v > 0)


@contextlib.contextmanager
def _naming(owner: str, name: str, value: Any) -> Iterator[None]:
    """Re-raise numbagrad's own TypeError or ValueError with the estimator's parameter in front."""
    try:
        yield
    except (TypeError, ValueError) as error:
        raise type(error)(f"{owner}: {name}={value!r} is not allowed: {error}") from None


def _hidden_layer_sizes(value: Any, owner: str) -> tuple[int, ...]:
    sizes = (value,) if isinstance(value, numbers.Integral) and not isinstance(value, bool) else value
    message = (
        f"{owner}: hidden_layer_sizes must be a tuple of integers >= 1 (units per hidden layer, () for none); "
        f"got {value!r}"
    )
    if isinstance(sizes, (str, bytes, Mapping)):
        raise TypeError(message)
    try:
        sizes = tuple(sizes)
    except TypeError:
        raise TypeError(message) from None
    if any(isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1 for s in sizes):
        raise ValueError(message)
    return tuple(int(s) for s in sizes)


def _activation(value: Any, owner: str) -> str | dict[str, Any]:
    """The hidden layers' activation as ``Dense`` takes it (scikit-learn's names mapped to numbagrad's)."""
    if isinstance(value, str):
        name, options = SKLEARN_ACTIVATIONS.get(value, value), {}
    elif isinstance(value, Mapping):
        options = dict(value)
        if "name" not in options:
            raise ValueError(
                f"{owner}: activation={value!r} has no 'name'; give a name such as 'relu' "
                "or a dict such as {'name': 'leaky_relu', 'alpha': 0.2}"
            )
        name = options.pop("name")
    else:
        raise TypeError(
            f"{owner}: activation must be a registered name such as 'relu' or a config dict "
            f"{{'name': ..., **options}}; got {value!r}"
        )
    with _naming(owner, "activation", value):
        activations.get(name, **options)
    return {"name": name, **options} if options else name


def _optimizer(optimizer: Any, optimizer_params: Any, learning_rate: Any, owner: str) -> dict[str, Any]:
    """The optimizer as a config dict ``{"name": ..., **hyperparameters}``, every value checked."""
    if isinstance(optimizer, str):
        name, options = optimizer, {}
    elif isinstance(optimizer, Mapping):
        options = dict(optimizer)
        if "name" not in options:
            raise ValueError(
                f"{owner}: optimizer={optimizer!r} has no 'name'; give a name such as 'adam' "
                "or a dict such as {'name': 'sgd', 'momentum': 0.9}"
            )
        name = options.pop("name")
    else:
        raise TypeError(
            f"{owner}: optimizer must be a registered name such as 'adam' or a config dict "
            f"{{'name': ..., **hyperparameters}}; got {optimizer!r}"
        )
    with _naming(owner, "optimizer", optimizer):
        optim.get(name, None, **options)

    if optimizer_params is not None:
        if not isinstance(optimizer_params, Mapping):
            raise TypeError(
                f"{owner}: optimizer_params must be a dict of hyperparameters such as {{'momentum': 0.9}}, "
                f"or None; got {optimizer_params!r}"
            )
        extra = dict(optimizer_params)
        if "name" in extra:
            raise ValueError(f"{owner}: optimizer_params={optimizer_params!r} holds a 'name'; the optimizer's name goes in optimizer")
        twice = sorted(set(extra) & set(options))
        if twice:
            raise ValueError(
                f"{owner}: {twice} given both in optimizer={optimizer!r} and in "
                f"optimizer_params={optimizer_params!r}; give each once"
            )
        options.update(extra)
        with _naming(owner, "optimizer_params", optimizer_params):
            optim.get(name, None, **options)

    if learning_rate is not None:
        lr = _real(learning_rate, "learning_rate", owner, "a finite number > 0, or None (the optimizer's default)", lambda v: v > 0)
        if "lr" in options:
            raise ValueError(
                f"{owner}: learning_rate={learning_rate!r} and lr={options['lr']!r} in optimizer or optimizer_params "
                "both set the learning rate; give it once"
            )
        options["lr"] = lr
    return {"name": name, **options}


def _schedule(value: Any, owner: str) -> Any:
    if value is None or isinstance(value, schedules.Schedule):
        return value
    if isinstance(value, str):
        with _naming(owner, "schedule", value):
            return schedules.get(value)
    if isinstance(value, Mapping):
        with _naming(owner, "schedule", value):
            return schedules.from_config(value)
    raise TypeError(
        f"{owner}: schedule must be None, a registered name, a config dict {{'name': ..., **options}} "
        f"or a numbagrad.schedules.Schedule; got {value!r}"
    )


def _loss(value: Any, owner: str) -> dict[str, Any]:
    if isinstance(value, str):
        name, options = value, {}
    elif isinstance(value, Mapping):
        options = dict(value)
        if "name" not in options:
            raise ValueError(
                f"{owner}: loss={value!r} has no 'name'; give a name such as 'mse' "
                "or a dict such as {'name': 'huber', 'delta': 2.0}"
            )
        name = options.pop("name")
    else:
        raise TypeError(
            f"{owner}: loss must be a registered name such as 'mse' or a config dict "
            f"{{'name': ..., **options}}; got {value!r}"
        )
    with _naming(owner, "loss", value):
        losses.get(name, **options)
    return {"name": name, **options}


def _dtype(value: Any, owner: str) -> np.dtype:
    message = f"{owner}: dtype must be 'float32' or 'float64'; got {value!r}"
    if value is None:
        raise TypeError(message)
    try:
        dtype = np.dtype(value)
    except TypeError:
        raise TypeError(message) from None
    if dtype not in _FLOAT_DTYPES:
        raise ValueError(message)
    return dtype


def _device(value: Any, owner: str) -> str:
    if not isinstance(value, str) or value not in DEVICES:
        raise ValueError(f"{owner}: device must be one of {', '.join(map(repr, DEVICES))}; got {value!r}")
    if value == "cuda":
        # Raises CudaUnavailableError, saying what is missing, before anything is fitted.
        require_cuda(f"{owner}: device='cuda'")
    return value


def _random_state(value: Any, owner: str) -> np.random.RandomState:
    try:
        return check_random_state(value)
    except ValueError:
        raise ValueError(f"{owner}: random_state must be None, an integer in [0, 2**32) or a numpy.random.RandomState; got {value!r}") from None


# --- scikit-learn's spellings -------------------------------------------------------------------
#
# Code written for sklearn.neural_network.MLPClassifier runs unchanged: its parameter names are
# accepted beside numbagrad's, with their meaning. They default to None ("not given"); giving one
# and also changing its numbagrad twin from its default is refused.

#: scikit-learn's ``solver`` values and the numbagrad optimizer each one means.
SOLVERS = ("adam", "sgd", "lbfgs")
#: scikit-learn's ``learning_rate`` schedules (numbagrad's ``learning_rate`` is a number).
SKLEARN_SCHEDULES = ("constant", "invscaling", "adaptive")


def _twice(owner: str, sklearn_name: str, sklearn_value: Any, own_name: str, own_value: Any, own_default: Any, what: str) -> None:
    if sklearn_value is not None and own_value is not own_default and own_value != own_default:
        raise ValueError(
            f"{owner}: {sklearn_name}={sklearn_value!r} (scikit-learn's name) and {own_name}={own_value!r} both set "
            f"{what}; give one of them"
        )


def _optional(value: Any, name: str, owner: str, what: str, accept) -> float | None:
    return None if value is None else _real(value, name, owner, what + ", or None", accept)


@dataclass
class _Spelled:
    """What scikit-learn's parameters decide, checked."""

    optimizer: Any            # numbagrad's optimizer argument, or a config dict built from solver
    learning_rate: Any        # a number or None
    epochs: Any
    schedule: str | None      # "invscaling" or "adaptive"; None for constant
    power_t: float
    stopping: tuple[float, int] | None   # (tol, n_iter_no_change) of scikit-learn's no-improvement rule
    full_batch: bool          # solver="lbfgs": one L-BFGS run on every sample


def _sklearn_spelling(estimator: Any, owner: str) -> _Spelled:
    e = estimator
    _twice(owner, "solver", e.solver, "optimizer", e.optimizer, "adam", "the optimizer")
    _twice(owner, "max_iter", e.max_iter, "epochs", e.epochs, 200, "the number of epochs")
    _twice(owner, "tol", e.tol, "min_delta", e.min_delta, 1e-4, "the smallest improvement")
    _twice(owner, "n_iter_no_change", e.n_iter_no_change, "patience", e.patience, 10, "the epochs without improvement")
    schedule = None
    learning_rate = e.learning_rate
    if isinstance(learning_rate, str):
        if learning_rate not in SKLEARN_SCHEDULES:
            raise ValueError(
                f"{owner}: learning_rate must be a number > 0 (the optimizer's lr), None, or one of scikit-learn's "
                f"schedules {', '.join(map(repr, SKLEARN_SCHEDULES))}; got {learning_rate!r}"
            )
        schedule = None if learning_rate == "constant" else learning_rate
        learning_rate = None
    else:
        _twice(owner, "learning_rate_init", e.learning_rate_init, "learning_rate", learning_rate, None, "the learning rate")
    if e.learning_rate_init is not None:
        learning_rate = _real(e.learning_rate_init, "learning_rate_init", owner, "a finite number > 0, or None", lambda v: v > 0)
    if schedule is not None and e.schedule is not None:
        raise ValueError(f"{owner}: learning_rate={e.learning_rate!r} (scikit-learn's schedule) and schedule={e.schedule!r} both set a schedule; give one of them")
    power_t = _optional(e.power_t, "power_t", owner, "a finite number >= 0", lambda v: v >= 0)
    tol = _optional(e.tol, "tol", owner, "a finite number >= 0", lambda v: v >= 0)
    patience = None if e.n_iter_no_change is None else _integer(e.n_iter_no_change, "n_iter_no_change", 1, owner)
    for name in ("beta_1", "beta_2"):
        _optional(getattr(e, name), name, owner, "a number in [0, 1)", lambda v: 0 <= v < 1)
    _optional(e.epsilon, "epsilon", owner, "a finite number > 0", lambda v: v > 0)
    _optional(e.momentum, "momentum", owner, "a number in [0, 1]", lambda v: 0 <= v <= 1)
    if e.nesterovs_momentum is not None:
        _flag(e.nesterovs_momentum, "nesterovs_momentum", owner)
    epochs = e.epochs if e.max_iter is None else _integer(e.max_iter, "max_iter", 1, owner)

    optimizer = e.optimizer
    name = optimizer if isinstance(optimizer, str) else optimizer.get("name") if isinstance(optimizer, Mapping) else None
    if e.solver is not None:
        if e.solver not in SOLVERS:
            raise ValueError(f"{owner}: solver must be one of {', '.join(map(repr, SOLVERS))} (scikit-learn's), or None; got {e.solver!r}")
        name = optimizer = e.solver
    options: dict[str, Any] = {}
    if name == "adam":
        if e.beta_1 is not None or e.beta_2 is not None:
            options["betas"] = (0.9 if e.beta_1 is None else float(e.beta_1), 0.999 if e.beta_2 is None else float(e.beta_2))
        if e.epsilon is not None:
            options["eps"] = float(e.epsilon)
    elif name == "sgd":
        # scikit-learn's solver="sgd" means momentum 0.9 with Nesterov's form unless told otherwise.
        momentum = e.momentum if e.momentum is not None else (0.9 if e.solver == "sgd" else None)
        nesterov = e.nesterovs_momentum if e.nesterovs_momentum is not None else (True if e.solver == "sgd" else None)
        if momentum is not None:
            options["momentum"] = float(momentum)
        if nesterov is not None:
            options["nesterov"] = bool(nesterov) and (momentum or 0) > 0
    full_batch = name == "lbfgs" and e.solver == "lbfgs"
    if full_batch:
        # scipy's L-BFGS-B as scikit-learn runs it: max_iter iterations, gtol=tol, max_fun evaluations.
        options.update(max_iter=epochs, tolerance_grad=1e-4 if tol is None else tol, max_eval=15000, line_search_fn="strong_wolfe")
        epochs, learning_rate = 1, None
    if options:
        given = dict(optimizer) if isinstance(optimizer, Mapping) else {"name": name}
        given.update(e.optimizer_params or {})
        twice = sorted(set(options) & set(given))
        if twice:
            raise ValueError(
                f"{owner}: {twice} set both by scikit-learn's parameters and by optimizer/optimizer_params; give each once"
            )
        optimizer = {**(dict(optimizer) if isinstance(optimizer, Mapping) else {"name": name}), **options}
    stopping = None
    if tol is not None or patience is not None:
        stopping = (1e-4 if tol is None else tol, 10 if patience is None else patience)
    if name != "sgd" or e.solver != "sgd":
        schedule = None  # scikit-learn uses learning_rate's schedules with solver="sgd" only
    return _Spelled(optimizer, learning_rate, epochs, schedule, 0.5 if power_t is None else power_t, stopping, full_batch)


class _InverseScaling(Callback):
    """scikit-learn's ``learning_rate="invscaling"``: after each epoch, ``lr = learning_rate_init /
    (t + 1) ** power_t`` with ``t`` the samples seen so far."""

    def __init__(self, initial: float, power_t: float, samples: int):
        self.initial, self.power_t, self.samples, self.seen = initial, power_t, samples, 0

    def on_epoch_end(self, epoch, logs=None):
        self.seen += self.samples
        for optimizer in self.model.training.optimizers.values():
            for group in optimizer.param_groups:
                group["lr"] = self.initial / (self.seen + 1) ** self.power_t


class _NoImprovement(Callback):
    """scikit-learn's stopping rule on the training loss: an epoch whose loss is not below the best
    so far minus ``tol`` counts; more than ``n_iter_no_change`` in a row stop training, or, with
    ``adaptive``, divide the learning rate by 5 (stopping once it is at most 1e-6)."""

    def __init__(self, tol: float, n_iter_no_change: int, adaptive: bool):
        self.tol, self.n_iter_no_change, self.adaptive = tol, n_iter_no_change, adaptive

    def on_train_begin(self, logs=None):
        self.best, self.count = math.inf, 0

    def on_epoch_end(self, epoch, logs=None):
        loss = logs["loss"]
        self.count = self.count + 1 if loss > self.best - self.tol else 0
        self.best = min(self.best, loss)
        if self.count <= self.n_iter_no_change:
            return
        groups = [g for o in self.model.training.optimizers.values() for g in o.param_groups]
        if self.adaptive and groups[0]["lr"] > 1e-6:
            for group in groups:
                group["lr"] /= 5.0
            self.count = 0
        else:
            self.model.stop_training = True


@dataclass
class _Settings:
    """Every parameter of an estimator, checked, in the form the model takes."""

    hidden_layer_sizes: tuple[int, ...]
    activation: Any
    optimizer: dict[str, Any]
    schedule: Any
    batch_size: int | str
    epochs: int
    shuffle: bool
    early_stopping: bool
    validation_fraction: float
    patience: int
    min_delta: float
    clip_norm: float | None
    clip_value: float | None
    flush_subnormals: bool
    dtype: np.dtype
    device: str
    verbose: int
    loss: dict[str, Any] | None
    alpha: float
    dropout: float
    normalization: str | None
    spelled: _Spelled


# --- the network as plain data (pickling) --------------------------------------------------


def _append_history(before: History | None, after: History) -> History:
    """``before`` followed by ``after``, as a new History detached from any model; a value
    missing from one of them is NaN for its epochs, so every list has one entry per epoch."""
    merged = History()
    earlier = before.epoch if before is not None else []
    merged.epoch = list(earlier) + list(after.epoch)
    keys = list(before.history if before is not None else {}) + [k for k in after.history if before is None or k not in before.history]
    for key in keys:
        first = before.history.get(key, [math.nan] * len(earlier)) if before is not None else []
        second = after.history.get(key, [math.nan] * len(after.epoch))
        merged.history[key] = list(first) + list(second)
    return merged


# --- the estimators ----------------------------------------------------------------------------


def _normalization(value: Any, owner: str) -> str | None:
    if value is None or value in ("batch", "layer"):
        return value
    raise ValueError(f"{owner}: normalization must be None, 'batch' or 'layer'; got {value!r}")


class _BaseMLP(BaseEstimator):
    """What the classifier and the regressor share: parameters, building, training, pickling."""

    # --- parameters ---------------------------------------------------------------------

    def _settings(self) -> _Settings:
        owner = type(self).__name__
        spelled = _sklearn_spelling(self, owner)
        batch_size = self.batch_size if self.batch_size == "auto" else _integer(self.batch_size, "batch_size", 1, owner)
        return _Settings(
            hidden_layer_sizes=_hidden_layer_sizes(self.hidden_layer_sizes, owner),
            activation=_activation(self.activation, owner),
            optimizer=_optimizer(spelled.optimizer, self.optimizer_params, spelled.learning_rate, owner),
            schedule=_schedule(self.schedule, owner),
            batch_size=batch_size,
            epochs=_integer(spelled.epochs, "epochs" if self.max_iter is None else "max_iter", 1, owner),
            shuffle=_flag(self.shuffle, "shuffle", owner),
            early_stopping=_flag(self.early_stopping, "early_stopping", owner),
            validation_fraction=_real(self.validation_fraction, "validation_fraction", owner, "a number in (0, 1)", lambda v: 0 < v < 1),
            patience=_integer(self.patience, "patience", 0, owner),
            min_delta=_real(self.min_delta, "min_delta", owner, "a finite number >= 0", lambda v: v >= 0),
            clip_norm=_positive_or_none(self.clip_norm, "clip_norm", owner),
            clip_value=_positive_or_none(self.clip_value, "clip_value", owner),
            flush_subnormals=_flag(self.flush_subnormals, "flush_subnormals", owner),
            dtype=_dtype(self.dtype, owner),
            device=_device(self.device, owner),
            verbose=self._verbose(owner),
            loss=self._checked_loss(owner),
            alpha=_real(self.alpha, "alpha", owner, "a finite number >= 0", lambda v: v >= 0),
            dropout=_real(self.dropout, "dropout", owner, "a number in [0, 1)", lambda v: 0 <= v < 1),
            normalization=_normalization(self.normalization, owner),
            spelled=spelled,
        )

    def _checked_loss(self, owner: str) -> dict[str, Any] | None:
        """The ``loss`` parameter, checked, for estimators that have one."""
        return None

    def _verbose(self, owner: str) -> int:
        if isinstance(self.verbose, bool):  # scikit-learn's verbose=True: a line per epoch
            return 2 if self.verbose else 0
        if self.verbose not in (0, 1, 2):
            raise ValueError(f"{owner}: verbose must be 0 (silent), 1 (a progress bar per epoch) or 2 (one line per epoch); got {self.verbose!r}")
        return int(self.verbose)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        return tags

    # --- subclass hooks ---------------------------------------------------------------------

    def _targets(self, y: Any, dtype: np.dtype, first: bool, classes: Any = None) -> tuple[np.ndarray, dict[str, Any], int]:
        """``y`` as the network's target matrix, the fitted attributes it decides, and the
        number of outputs the network needs."""
        raise NotImplementedError

    def _compile_loss(self, settings: _Settings, outputs: int) -> dict[str, Any]:
        raise NotImplementedError

    def _stratify(self, targets: np.ndarray) -> np.ndarray | None:
        return None

    def _check_weighted(self, y: np.ndarray, sample_weight: np.ndarray) -> None:
        """Refuse sample weights that leave nothing to learn."""

    # --- data ---------------------------------------------------------------------------------

    def _inputs(self, X: Any, dtype: np.dtype, reset: bool) -> np.ndarray:
        """``X`` checked by scikit-learn (features, names, finiteness) as a C-ordered float
        matrix of ``dtype`` (the model copies read-only ones, such as joblib's memory maps)."""
        return validate_data(self, X, reset=reset, dtype=dtype, order="C")

    def _inputs_and_targets(self, X: Any, y: Any, dtype: np.dtype, reset: bool) -> tuple[np.ndarray, np.ndarray]:
        """``X`` as :meth:`_inputs` makes it, and ``y`` checked by scikit-learn (one per sample)."""
        return validate_data(self, X, y, reset=reset, dtype=dtype, order="C", **self._y_checks)

    _y_checks: dict[str, Any] = {}

    # --- training -----------------------------------------------------------------------------

    def _build(self, settings: _Settings, features: int, outputs: int, seed: int) -> Sequential:
        # scikit-learn's alpha: alpha / (2 n_batch) * ||W||^2 of every layer's weights, added to each batch's loss.
        penalty = {"name": "l2", "l2": settings.alpha / 2, "per_sample": True} if settings.alpha else None
        hidden = [
            Dense(units, activation=settings.activation, kernel_regularizer=penalty, dropout=settings.dropout, normalization=settings.normalization)
            for units in settings.hidden_layer_sizes
        ]
        last = Dense(outputs, kernel_regularizer=penalty)
        model = Sequential([*hidden, last], input_dim=features, dtype=settings.dtype, seed=seed, device=settings.device)
        model.compile(
            optimizer=settings.optimizer,
            loss=self._compile_loss(settings, outputs),
            schedule=settings.schedule,
            clip_norm=settings.clip_norm,
            clip_value=settings.clip_value,
            flush_subnormals=settings.flush_subnormals,
        )
        return model

    def _split(self, settings: _Settings, targets: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Training and validation rows for early stopping: a random split, stratified by class
        for classifiers when every class has at least two samples."""
        from sklearn.model_selection import train_test_split

        samples = targets.shape[0]
        held = math.ceil(samples * settings.validation_fraction)
        if held >= samples:
            raise ValueError(
                f"{type(self).__name__}: validation_fraction={self.validation_fraction!r} of {samples} sample{'s' if samples > 1 else ''} leaves "
                f"{samples - held} for training and {held} for validation; early_stopping needs at least one of each"
            )
        stratify = self._stratify(targets)
        if stratify is not None:
            counts = np.bincount(stratify)
            classes = np.count_nonzero(counts)
            if counts[counts > 0].min() < 2 or held < classes or samples - held < classes:
                stratify = None
        rows = np.arange(samples)
        return train_test_split(rows, test_size=held, random_state=seed, stratify=stratify)

    def _train(self, X: Any, y: Any, *, incremental: bool, classes: Any = None, sample_weight: Any = None):
        """``fit`` (a new network, trained for ``epochs``) or ``partial_fit`` (one more epoch).

        Everything is checked before the estimator changes, and a call that
        raises leaves every attribute as it was. (A network that ``partial_fit``
        continues and whose loss becomes NaN or infinite keeps the weights of
        its last finite step, as :meth:`numbagrad.Sequential.fit` does.)
        """
        settings = self._settings()
        first = not (incremental and hasattr(self, "model_"))
        before = dict(self.__dict__)
        try:
            dtype = settings.dtype if first else self.model_.dtype
            X, y = self._inputs_and_targets(X, y, dtype, reset=first)
            if sample_weight is not None:
                sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
                self._check_weighted(y, sample_weight)
            targets, fitted, outputs = self._targets(y, dtype, first, classes)
            if first:
                seeds = _random_state(self.random_state, type(self).__name__).randint(_SEED_LIMIT, size=3)
                model = self._build(settings, X.shape[1], outputs, int(seeds[0]))
                shuffle_seed = int(seeds[1])
            else:
                model, shuffle_seed = self.model_, None
            validation, callbacks = None, []
            spelled = settings.spelled
            patience, min_delta = settings.patience, settings.min_delta
            if spelled.stopping is not None:  # scikit-learn counts "more than n_iter_no_change" epochs
                min_delta, patience = spelled.stopping[0], spelled.stopping[1] + 1
            if settings.early_stopping and not incremental:
                train, held = self._split(settings, targets, int(seeds[2]))
                X, targets, validation = X[train], targets[train], (X[held], targets[held])
                if sample_weight is not None:
                    validation += (sample_weight[held],)
                    sample_weight = sample_weight[train]
                callbacks.append(EarlyStopping("val_loss", patience=patience, min_delta=min_delta, restore_best_weights=True))
            elif spelled.stopping is not None or spelled.schedule == "adaptive":
                tol, n_iter = spelled.stopping or (1e-4, 10)
                callbacks.append(_NoImprovement(tol, n_iter, adaptive=spelled.schedule == "adaptive"))
            if spelled.schedule == "invscaling":
                rate = model.training.optimizer.param_groups[0]["lr"]
                callbacks.append(_InverseScaling(rate, spelled.power_t, X.shape[0]))
            batch_size = settings.batch_size
            if spelled.full_batch:
                batch_size = X.shape[0]
            elif batch_size == "auto":  # scikit-learn's: min(200, n_samples)
                batch_size = min(200, X.shape[0])
            model.fit(
                X, targets, batch_size=batch_size, epochs=1 if incremental else settings.epochs,
                validation_data=validation, shuffle=settings.shuffle, seed=shuffle_seed, callbacks=callbacks,
                verbose=settings.verbose, sample_weight=sample_weight,
            )
            # One full-batch L-BFGS run: its loss after the run, and its iterations, as scikit-learn reports them.
            final = model.evaluate(X, targets, sample_weight=sample_weight)["loss"] if spelled.full_batch else None
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise
        if first:
            for name, value in fitted.items():
                setattr(self, name, value)
        self.model_ = model
        self.history_ = _append_history(None if first else self.history_, model.history)
        self.n_iter_ = int(model.epoch)
        # scikit-learn's names for the training loss.
        self.loss_curve_ = list(self.history_.history.get("loss", []))
        self.loss_ = self.loss_curve_[-1] if self.loss_curve_ else math.nan
        if final is not None:
            self.loss_curve_, self.loss_ = [final], final
            self.n_iter_ = int(model.training.optimizer._state.get("n_iter", 1))
        return self

    def _outputs(self, X: Any) -> np.ndarray:
        """The network's outputs (logits, for a classifier) for every row of ``X``."""
        check_is_fitted(self)
        X = self._inputs(X, self.model_.dtype, reset=False)
        return self.model_.predict(X)

    # --- pickling -------------------------------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        if "model_" in state:
            state["model_"] = model_state(state["model_"])
        return state

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        state = dict(state)
        saved = state.pop("model_", None)
        super().__setstate__(state)
        if saved is not None:
            self.model_ = restore_model(saved)


_PARAMETERS_DOC = """
    Args:
        hidden_layer_sizes: units of each hidden layer, first to last (an
            integer for one layer; ``()`` for none).
        activation: the hidden layers' activation: a numbagrad name
            (``"relu"``, ``"tanh"``, ``"gelu"``...; scikit-learn's
            ``"identity"`` and ``"logistic"`` are read as ``"linear"`` and
            ``"sigmoid"``) or a config dict such as
            ``{"name": "leaky_relu", "alpha": 0.2}``.
        optimizer: a registered optimizer name (``"adam"``, ``"sgd"``,
            ``"nesterov"``, a plugin's...) or a config dict
            ``{"name": "sgd", "momentum": 0.9}``.
        learning_rate: the optimizer's ``lr``; ``None`` keeps the
            optimizer's own default (PyTorch's: 1e-3 for Adam and SGD, 1e-2
            for RMSprop and Adagrad, 1.0 for Adadelta). scikit-learn's
            schedules are accepted too: ``"constant"``, ``"invscaling"``
            (after each epoch ``lr = learning_rate_init / (t + 1) ** power_t``,
            ``t`` the samples seen) and ``"adaptive"`` (``lr / 5`` whenever
            the training loss has not improved by ``tol`` for more than
            ``n_iter_no_change`` epochs; training stops once it is at most
            1e-6), with ``solver="sgd"`` only, as in scikit-learn.
        optimizer_params: more hyperparameters of the optimizer, by
            PyTorch's names (``{"momentum": 0.9, "nesterov": True}``,
            ``{"betas": (0.9, 0.99), "weight_decay": 1e-4}``).
        schedule: a learning-rate schedule: a name, a config dict
            (``{"name": "cosine", "T_max": 1000}``) or a
            :class:`numbagrad.schedules.Schedule`; without its own ``lr`` it
            scales from the optimizer's.
        batch_size: samples per update; ``"auto"`` is scikit-learn's
            ``min(200, n_samples)``.
        epochs: passes over the training data in ``fit``.
        shuffle: reshuffle the samples every epoch.
        early_stopping: hold out ``validation_fraction`` of the samples
            (stratified by class for a classifier), stop when their loss has
            not improved by more than ``min_delta`` for ``patience`` epochs,
            and keep the weights of the best epoch.
        validation_fraction: the part held out for early stopping, in (0, 1).
        patience: epochs without improvement before early stopping stops.
        min_delta: the smallest decrease of the validation loss that counts
            as an improvement.
        clip_norm: rescale each gradient whose global L2 norm exceeds this.
        clip_value: clamp each gradient element to ``[-clip_value, clip_value]``.
        flush_subnormals: treat numbers below the smallest normal float as
            zero while training (see :meth:`numbagrad.Sequential.compile`).
        random_state: seeds the weights, the shuffling and the validation
            split: an integer for reproducible results, a
            ``numpy.random.RandomState``, or None.
        dtype: ``"float32"`` or ``"float64"``, the precision of the network
            (:obj:`numpy.float32` or :obj:`numpy.float64`).
        device: ``"cpu"`` or ``"cuda"`` (an NVIDIA GPU, with ``numbagrad[cuda]``):
            where the network trains and predicts; the same results to
            rounding. A fitted GPU estimator unpickles on a machine without a
            GPU, onto the CPU.
        verbose: 0 silent, 1 a progress bar per epoch, 2 one line per epoch
            (``True``, scikit-learn's, is 2).
        alpha: scikit-learn's L2 penalty: ``alpha / (2 n_batch) * ||W||^2``
            of every layer's weights (not the biases) is added to each
            batch's loss, as in scikit-learn's MLP (see
            :mod:`numbagrad.nn.regularizers`, ``per_sample``). Default 0
            (scikit-learn's is 1e-4).
        dropout: the rate of dropout after every hidden layer while training
            (see :class:`numbagrad.nn.Dropout`); default 0, none. scikit-learn's
            MLP has no dropout.
        normalization: ``"batch"`` or ``"layer"``: normalize every hidden
            layer's ``x @ W + b`` before its activation (see
            :class:`numbagrad.nn.BatchNormalization`); default None, none.
            scikit-learn's MLP has no normalization.

    scikit-learn's own names are accepted beside these, with scikit-learn's
    meaning; each defaults to ``None`` (not given), and giving one while also
    changing its numbagrad twin from its default raises ``ValueError``:
    ``max_iter`` (``epochs``), ``learning_rate_init`` (``learning_rate``),
    ``solver`` (``optimizer``: ``"adam"``, ``"sgd"`` with ``momentum=0.9`` and
    Nesterov unless told otherwise, ``"lbfgs"``: one full-batch L-BFGS run of
    ``max_iter`` iterations with gradient tolerance ``tol``), ``beta_1``,
    ``beta_2``, ``epsilon`` (Adam's ``betas``, ``eps``), ``momentum``,
    ``nesterovs_momentum`` (SGD's), ``power_t`` (``"invscaling"``), and
    ``tol``, ``n_iter_no_change`` (``min_delta``, ``patience``): given
    without ``early_stopping``, they stop training as scikit-learn does when
    the training loss has not improved by ``tol`` for more than
    ``n_iter_no_change`` epochs; with it, they set the early stopping on the
    validation loss (scikit-learn watches the validation score).
"""

_ATTRIBUTES_DOC = """
    Attributes:
        model_: the trained :class:`numbagrad.Sequential`, compiled; its
            last layer is linear.
        history_: a :class:`numbagrad.train.History` of every epoch trained
            (``history_.history["loss"]``, ``"val_loss"`` with early
            stopping, ``"lr"``), ``partial_fit``'s epochs appended.
        n_iter_: epochs trained, ``partial_fit``'s included.
        loss_curve_, loss_: the training loss of every epoch and of the
            last one (scikit-learn's names; the penalty of ``alpha`` included).
        n_features_in_: number of features seen by ``fit``.
        feature_names_in_: the column names of ``X``, when it had string
            column names (a pandas DataFrame, say).
"""


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """A multi-layer perceptron classifier trained by numbagrad, in scikit-learn's interface.

    Dense hidden layers with ``activation``, then a linear output layer of
    logits trained with cross-entropy (from the logits, in the numerically
    stable form): one logit with binary cross-entropy for two classes, as
    scikit-learn's :class:`~sklearn.neural_network.MLPClassifier`, and one per class with categorical
    cross-entropy for more. Class labels may be any sortable values
    (integers, strings); ``predict`` returns them.
    """

    __doc__ += _PARAMETERS_DOC + _ATTRIBUTES_DOC + """        classes_: the class labels, sorted; the columns of ``predict_proba``.
"""

    def __init__(
        self,
        *,
        hidden_layer_sizes=(100,),
        activation="relu",
        optimizer="adam",
        learning_rate=None,
        optimizer_params=None,
        schedule=None,
        batch_size=32,
        epochs=200,
        shuffle=True,
        early_stopping=False,
        validation_fraction=0.1,
        patience=10,
        min_delta=1e-4,
        clip_norm=None,
        clip_value=None,
        flush_subnormals=True,
        random_state=None,
        dtype="float32",
        device="cpu",
        verbose=0,
        alpha=0.0,
        dropout=0.0,
        normalization=None,
        max_iter=None,
        learning_rate_init=None,
        solver=None,
        tol=None,
        n_iter_no_change=None,
        beta_1=None,
        beta_2=None,
        epsilon=None,
        momentum=None,
        nesterovs_momentum=None,
        power_t=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.optimizer_params = optimizer_params
        self.schedule = schedule
        self.batch_size = batch_size
        self.epochs = epochs
        self.shuffle = shuffle
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.min_delta = min_delta
        self.clip_norm = clip_norm
        self.clip_value = clip_value
        self.flush_subnormals = flush_subnormals
        self.random_state = random_state
        self.dtype = dtype
        self.device = device
        self.verbose = verbose
        self.alpha = alpha
        self.dropout = dropout
        self.normalization = normalization
        self.max_iter = max_iter
        self.learning_rate_init = learning_rate_init
        self.solver = solver
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.power_t = power_t

    # --- training ---------------------------------------------------------------------------

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> "MLPClassifier":
        """Train a new network on ``(X, y)`` for ``epochs`` epochs (fewer with early stopping).

        Args:
            X: training samples, shape (n_samples, n_features).
            y: their class labels, shape (n_samples,); at least two classes.
            sample_weight: a weight >= 0 per sample, or None: each batch's
                loss is the weighted mean (see :meth:`numbagrad.Sequential.fit`);
                the held-out samples of early stopping keep theirs.

        Returns:
            The estimator.

        Raises:
            ValueError, TypeError: a bad parameter (named, with its value and
                what is allowed) or bad data; nothing changes.
            numbagrad.NonFiniteLossError: the loss became NaN or infinite
                (lower the learning rate); the estimator stays as it was.
        """
        return self._train(X, y, incremental=False, sample_weight=sample_weight)

    def partial_fit(self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None) -> "MLPClassifier":
        """Train one more epoch on ``(X, y)``, from where the network stands.

        The first call builds the network (as ``fit`` would, without early
        stopping) and needs ``classes``, every label that ``y`` may ever
        hold, as scikit-learn's ``SGDClassifier``; later calls may repeat
        them. The network and its compile options stay as they were built:
        parameters such as ``hidden_layer_sizes`` or ``learning_rate`` take
        effect at the next ``fit``, while ``batch_size``, ``shuffle`` and
        ``verbose`` apply to each call. The shuffling continues its random
        sequence, so ``n`` calls on the same data train exactly as
        ``fit`` with ``epochs=n``.

        Raises:
            ValueError: ``classes`` missing on the first call, different from
                ``classes_`` later, or ``y`` holding a label outside them;
                a bad parameter or bad data, as in ``fit``. Nothing changes.
            numbagrad.NonFiniteLossError: the loss became NaN or infinite;
                the network keeps the weights of its last finite step.
        """
        return self._train(X, y, incremental=True, classes=classes, sample_weight=sample_weight)

    def _targets(self, y, dtype, first, classes=None):
        owner = type(self).__name__
        check_classification_targets(y)
        if classes is not None:
            check_classification_targets(classes)
            classes = np.unique(np.asarray(classes))
            if not first and not np.array_equal(classes, self.classes_):
                raise ValueError(f"{owner}: partial_fit: classes {classes.tolist()} differ from classes_ {self.classes_.tolist()} of the first call")
        if first:
            known = np.unique(y) if classes is None else classes
        else:
            known = self.classes_
        if len(known) < 2:
            raise ValueError(f"{owner}: y has only one class ({known.tolist()[0]!r}); a classifier needs at least 2 classes")
        index = np.searchsorted(known, y)
        unknown = (index >= len(known)) | (known[np.minimum(index, len(known) - 1)] != y)
        if unknown.any():
            raise ValueError(f"{owner}: y holds labels {np.unique(y[unknown]).tolist()} that are not among classes {known.tolist()}")
        # Two classes: one logit (binary cross-entropy); more: one logit per class.
        outputs = 1 if len(known) == 2 else len(known)
        return np.ascontiguousarray(index.reshape(-1, 1), dtype=dtype), {"classes_": known}, outputs

    def _train(self, X, y, *, incremental, classes=None, sample_weight=None):
        if incremental and classes is None and not hasattr(self, "model_"):
            raise ValueError(
                f"{type(self).__name__}: partial_fit needs classes= on its first call: every class label y may hold, "
                "as in partial_fit(X, y, classes=np.unique(y_all))"
            )
        return super()._train(X, y, incremental=incremental, classes=classes, sample_weight=sample_weight)

    def _check_weighted(self, y, sample_weight):
        weighted = np.unique(np.asarray(y)[sample_weight > 0])
        if len(weighted) < 2:
            raise ValueError(
                f"{type(self).__name__}: only {len(weighted)} class has a sample weight > 0 "
                f"({weighted.tolist()}); a classifier needs at least 2 classes with weight"
            )

    def _compile_loss(self, settings, outputs):
        name = "binary_crossentropy" if outputs == 1 else "categorical_crossentropy"
        return {"name": name, "from_logits": True}

    def _stratify(self, targets):
        return targets[:, 0].astype(np.intp)

    # --- predictions ---------------------------------------------------------------------------

    def decision_function(self, X: Any) -> np.ndarray:
        """The network's logits: shape (n_samples,) for two classes (the second class's score,
        positive when it is predicted), else (n_samples, n_classes). Float64."""
        scores = self._outputs(X).astype(np.float64)
        return scores[:, 0] if len(self.classes_) == 2 else scores

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Logarithms of the class probabilities, shape (n_samples, n_classes), computed from the
        logits in float64 without overflow."""
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return np.column_stack([-np.logaddexp(0.0, scores), -np.logaddexp(0.0, -scores)])
        shifted = scores - scores.max(axis=1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), columns in the order of ``classes_``
        (the sigmoid or softmax of the logits, in float64)."""
        return np.exp(self.predict_log_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each sample, as one of the labels in ``classes_``."""
        scores = self.decision_function(X)
        index = (scores > 0).astype(np.intp) if scores.ndim == 1 else np.argmax(scores, axis=1)
        return self.classes_[index]


class MLPRegressor(RegressorMixin, _BaseMLP):
    """A multi-layer perceptron regressor trained by numbagrad, in scikit-learn's interface.

    Dense hidden layers with ``activation``, then a linear output layer with
    one unit per target; ``y`` may have several columns (multi-output
    regression). The loss is mean squared error unless ``loss`` says
    otherwise.
    """

    __doc__ += _PARAMETERS_DOC.replace(
        "    Args:\n",
        "    Args:\n        loss: a registered loss name (``\"mse\"``, ``\"mae\"``, ``\"huber\"``, ``\"log_cosh\"``...)\n"
        "            or a config dict such as ``{\"name\": \"huber\", \"delta\": 2.0}``.\n",
    ) + _ATTRIBUTES_DOC + """        n_outputs_: number of targets (columns of ``y``).
"""

    _y_checks: dict[str, Any] = {"multi_output": True, "y_numeric": True}

    def __init__(
        self,
        *,
        loss="mse",
        hidden_layer_sizes=(100,),
        activation="relu",
        optimizer="adam",
        learning_rate=None,
        optimizer_params=None,
        schedule=None,
        batch_size=32,
        epochs=200,
        shuffle=True,
        early_stopping=False,
        validation_fraction=0.1,
        patience=10,
        min_delta=1e-4,
        clip_norm=None,
        clip_value=None,
        flush_subnormals=True,
        random_state=None,
        dtype="float32",
        device="cpu",
        verbose=0,
        alpha=0.0,
        dropout=0.0,
        normalization=None,
        max_iter=None,
        learning_rate_init=None,
        solver=None,
        tol=None,
        n_iter_no_change=None,
        beta_1=None,
        beta_2=None,
        epsilon=None,
        momentum=None,
        nesterovs_momentum=None,
        power_t=None,
    ):
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.optimizer_params = optimizer_params
        self.schedule = schedule
        self.batch_size = batch_size
        self.epochs = epochs
        self.shuffle = shuffle
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.min_delta = min_delta
        self.clip_norm = clip_norm
        self.clip_value = clip_value
        self.flush_subnormals = flush_subnormals
        self.random_state = random_state
        self.dtype = dtype
        self.device = device
        self.verbose = verbose
        self.alpha = alpha
        self.dropout = dropout
        self.normalization = normalization
        self.max_iter = max_iter
        self.learning_rate_init = learning_rate_init
        self.solver = solver
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.power_t = power_t

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> "MLPRegressor":
        """Train a new network on ``(X, y)`` for ``epochs`` epochs (fewer with early stopping).

        Args:
            X: training samples, shape (n_samples, n_features).
            y: targets, shape (n_samples,) or (n_samples, n_outputs).
            sample_weight: a weight >= 0 per sample, or None (see the classifier's ``fit``).

        Returns:
            The estimator.

        Raises:
            ValueError, TypeError: a bad parameter (named, with its value and
                what is allowed) or bad data; nothing changes.
            numbagrad.NonFiniteLossError: the loss became NaN or infinite
                (lower the learning rate); the estimator stays as it was.
        """
        return self._train(X, y, incremental=False, sample_weight=sample_weight)

    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> "MLPRegressor":
        """Train one more epoch on ``(X, y)``, from where the network stands.

        The first call builds the network (as ``fit`` would, without early
        stopping). The network and its compile options stay as they were
        built: parameters such as ``hidden_layer_sizes``, ``loss`` or
        ``learning_rate`` take effect at the next ``fit``, while
        ``batch_size``, ``shuffle`` and ``verbose`` apply to each call. The
        shuffling continues its random sequence, so ``n`` calls on the same
        data train exactly as ``fit`` with ``epochs=n``.

        Raises:
            ValueError: ``y`` has a different number of targets than before;
                a bad parameter or bad data, as in ``fit``. Nothing changes.
            numbagrad.NonFiniteLossError: the loss became NaN or infinite;
                the network keeps the weights of its last finite step.
        """
        return self._train(X, y, incremental=True, sample_weight=sample_weight)

    def _targets(self, y, dtype, first, classes=None):
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 0:
            raise ValueError(f"{type(self).__name__}: y has shape {y.shape}: no targets")
        wide = np.asarray(y, dtype=np.float64) if y.dtype.kind in "biuf" else None
        if wide is not None and wide.size and np.isfinite(wide).all():
            largest = float(np.abs(wide).max())
            if largest > float(np.finfo(dtype).max):
                raise ValueError(
                    f"{type(self).__name__}: y holds {largest:g}, beyond what the network's dtype {np.dtype(dtype)} holds "
                    f"(up to {float(np.finfo(dtype).max):.3g}); rescale the targets or pass dtype='float64'"
                )
        targets = np.array(y.reshape(len(y), -1), dtype=dtype, order="C")
        if not first and targets.shape[1] != self.n_outputs_:
            raise ValueError(
                f"{type(self).__name__}: partial_fit: y has {targets.shape[1]} targets; the network was built for {self.n_outputs_}"
            )
        return targets, {"n_outputs_": targets.shape[1], "_single_target": y.ndim == 1}, targets.shape[1]

    def _checked_loss(self, owner):
        return _loss(self.loss, owner)

    def _compile_loss(self, settings, outputs):
        return settings.loss

    def predict(self, X: Any) -> np.ndarray:
        """The predicted targets, in float64 (as scikit-learn's regressors): shape (n_samples,)
        when ``fit`` was given a vector ``y``, else (n_samples, n_outputs)."""
        outputs = self._outputs(X).astype(np.float64)
        return outputs[:, 0] if self._single_target else outputs
