"""``Sequential``: a stack of dense layers whose parameters live in one buffer."""

from __future__ import annotations

import numbers
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from numbagrad.data import as_inputs, compiled_view
from numbagrad.kernels.cpu.network import NO_DRAW, network_predict, network_value_and_grad, prepare_network, workspace_offsets
from numbagrad.kernels.signatures import FLOAT_DTYPES
from numbagrad.memory import aligned_empty, aligned_zeros
from numbagrad.nn import placement
from numbagrad.nn.dropout import Dropout
from numbagrad.nn.layers import Dense, resolve_component
from numbagrad.nn.normalization import Activation, BatchNormalization, LayerNormalization
from numbagrad.targets import check_targets

__all__ = ["Sequential", "LossChoice"]

#: What ``Sequential`` takes as layers.
LAYER_TYPES = (Dense, Dropout, BatchNormalization, LayerNormalization, Activation)


class LossChoice:
    """A resolved loss for a given model: its spec, options, kernels and whether it is fused.

    A loss that declares ``fused_activation`` (categorical cross-entropy:
    softmax; binary cross-entropy: sigmoid) is computed from the last layer's
    pre-activation values with ``from_logits=True`` when the last layer has
    that activation: the numerically stable log-sum-exp form, the same value
    as PyTorch's ``CrossEntropyLoss`` / ``BCEWithLogitsLoss`` on the logits.
    """

    def __init__(self, loss: Any, model: "Sequential"):
        self.spec, self.options = resolve_component("loss", loss, "loss")
        self.fused = self.spec.fuses(model.layers[-1].activation, self.options)
        kernel_options = dict(self.options, from_logits=True) if self.fused else self.options
        self.params = self.spec.encode(kernel_options)
        self.table = self.spec.kernel_table(model.dtype)
        self.name = self.spec.name

    def targets(self, y: Any, rows: int, outputs: int, dtype: np.dtype) -> np.ndarray:
        """``y`` checked against this loss and converted to the kernels' target matrix
        (C-ordered, ``dtype``; one column of labels or the prediction's shape)."""
        targets = check_targets(y, (rows, outputs), self.spec.target, owner=f"loss {self.name!r}", argument="y", dtype=dtype)
        # Shared, not copied, when read-only (a memory-mapped file): see compiled_view.
        return compiled_view(targets)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, **self.options}


def _fold(layers: list) -> list[Dense]:
    """The Dense layers of ``layers``, each :class:`Dropout`, normalization and :class:`Activation`
    folded into the Dense before it (its ``dropout``, ``normalization`` and activation)."""
    dense: list[Dense] = []
    # What the Dense before has had folded into it: nothing may come after its dropout, and a
    # normalization must come before its activation (Linear, normalization, activation).
    for i, layer in enumerate(layers):
        if isinstance(layer, Dense):
            dense.append(layer)
            continue
        kind = type(layer).__name__
        if isinstance(layer, Dropout) and (
            not dense or isinstance(layers[i - 1], Dropout) or i == len(layers) - 1 or not isinstance(layers[i + 1], Dense)
        ):
            raise ValueError(
                f"Sequential: layers[{i}] is a Dropout that is not between two Dense layers; a Dropout drops the "
                "outputs of the Dense before it while training (after its normalization and activation), and the last "
                "layer's outputs are the predictions"
            )
        if not dense:
            raise ValueError(f"Sequential: layers[{i}] is a {kind} before any Dense layer; it belongs to the Dense layer before it")
        owner = dense[-1]
        if owner.dropout and not isinstance(layer, Dropout):
            raise ValueError(f"Sequential: layers[{i}] is a {kind} after a Dropout; put it before the Dropout, which drops the layer's outputs")
        if isinstance(layer, Dropout):
            if owner.dropout and owner.dropout != layer.rate:
                where = next(k for k in range(i - 1, -1, -1) if layers[k] is owner)
                raise ValueError(f"Sequential: layers[{where}] has dropout={owner.dropout} and is followed by {layer!r}; give one")
            owner.dropout = layer.rate
        elif isinstance(layer, (BatchNormalization, LayerNormalization)):
            if owner.normalization is not None:
                raise ValueError(f"Sequential: layers[{i}] is a second normalization of the same Dense layer")
            if owner.activation != "linear":
                raise ValueError(
                    f"Sequential: layers[{i}] ({layer!r}) follows a Dense layer with activation {owner.activation!r}; a "
                    "normalization here normalizes the Dense layer's x @ W + b before its activation, so write "
                    f"Dense(units), {kind}(), Activation({owner.activation!r}) (Linear, norm, activation, as PyTorch's "
                    f"usual order) or Dense(units, {owner.activation!r}, normalization={layer.short!r})"
                )
            owner.normalization = layer
        elif isinstance(layer, Activation):
            if owner.activation != "linear":
                raise ValueError(f"Sequential: layers[{i}] is {layer!r} after a Dense layer that has activation {owner.activation!r} already")
            owner.set_activation(layer.activation)
    if dense and dense[-1].dropout:
        raise ValueError("Sequential: the last Dense layer has dropout; its outputs are the predictions, which are never dropped")
    return dense


class Sequential:
    """A feed-forward network of :class:`~numbagrad.nn.Dense` layers.

    Every weight and bias lives in one contiguous, 64-byte aligned buffer,
    :attr:`parameters`; each layer's ``weight`` and ``bias`` are views into it,
    and one optimizer step is one compiled call over all of them.

    Args:
        layers: the layers, first to last: :class:`~numbagrad.nn.Dense`, each
            followed where wanted by a :class:`~numbagrad.nn.BatchNormalization`
            or :class:`~numbagrad.nn.LayerNormalization` (of its ``x @ W + b``),
            an :class:`~numbagrad.nn.Activation` (after a normalization) and a
            :class:`~numbagrad.nn.Dropout` (before the next Dense), in that
            order. Each is folded into the Dense before it: :attr:`layers`
            holds the Dense layers only.
        input_dim: number of input features, an integer >= 1.
        dtype: ``np.float32`` (default) or ``np.float64``.
        seed: seed of the weight initializers (an integer >= 0); the same
            seed gives the same weights.
        device: ``"cpu"`` (default) or ``"cuda"``: where the parameters live
            and the model computes (see :meth:`to`). The weights are drawn
            on the host either way, so a seed gives the same weights on both.
    """

    def __init__(self, layers: Sequence[Dense], input_dim: int, dtype: Any = np.float32, seed: int = 0, device: str = "cpu"):
        layers = list(layers) if isinstance(layers, Iterable) and not isinstance(layers, (str, bytes, Mapping)) else layers
        if not isinstance(layers, list) or not layers:
            raise ValueError(f"Sequential: layers must be a non-empty list of Dense layers; got {layers!r}")
        for i, layer in enumerate(layers):
            if not isinstance(layer, LAYER_TYPES):
                raise TypeError(
                    f"Sequential: layers[{i}] must be a numbagrad.nn.Dense, Dropout, BatchNormalization, LayerNormalization "
                    f"or Activation; got {type(layer).__name__}"
                )
            if isinstance(layer, Dense) and layer.built:
                raise ValueError(f"Sequential: layers[{i}] already belongs to a model; create a new Dense layer")
        layers = _fold(layers)
        if isinstance(input_dim, bool) or not isinstance(input_dim, numbers.Integral) or input_dim < 1:
            raise ValueError(f"Sequential: input_dim must be an integer >= 1; got {input_dim!r}")
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"Sequential: dtype must be float32 or float64; got {dtype!r}") from None
        if dtype not in FLOAT_DTYPES:
            raise TypeError(f"Sequential: dtype must be float32 or float64; got {dtype}")
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise ValueError(f"Sequential: seed must be an integer >= 0; got {seed!r}")
        device = placement.check_device(device, "Sequential")
        #: Where the parameters live: "cpu" or "cuda" (see :meth:`to`).
        self.device = "cpu"
        self.layers = layers
        self.input_dim = int(input_dim)
        self.dtype = dtype
        self.seed = int(seed)
        self._workspaces: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        self._build()
        #: The compile options (a :class:`numbagrad.train.setup.TrainingSetup`), once compiled.
        self.training = None
        #: Epochs trained so far.
        self.epoch = 0
        #: Random generator of the shuffling, saved with the model.
        self.rng = np.random.default_rng(self.seed)
        #: The :class:`~numbagrad.train.History` of the last ``fit``.
        self.history = None
        #: Set by a callback to end ``fit`` after the current epoch.
        self.stop_training = False
        #: The data transform a ``numbagrad train`` run learnt (a
        #: :class:`numbagrad.preprocessing.Preprocessing`), which ``load_model`` restores from the
        #: run's model file: ``predict``, ``evaluate`` and ``fit`` then take data as the run read it
        #: (raw features; class labels, or targets in their own units) and apply it. ``None``: the
        #: network takes the data as given.
        self.preprocessing = None
        if device != "cpu":
            self.to(device)

    # --- construction -----------------------------------------------------------

    def _build(self) -> None:
        fan_in = self.input_dim
        table = []
        norms = np.zeros((len(self.layers), 6))
        offset = 0
        for i, layer in enumerate(self.layers):
            if layer.name is None:
                layer.name = f"dense_{i}"
            weight_offset = offset
            offset += fan_in * layer.units
            bias_offset = -1
            if layer.use_bias:
                bias_offset = offset
                offset += layer.units
            table.append((fan_in, layer.units, weight_offset, bias_offset))
            if layer.normalization is not None:  # γ and β follow the layer's bias
                norm = layer.normalization
                norms[i] = (norm.kind, offset, offset + layer.units, -1, norm.epsilon, norm.momentum)
                offset += 2 * layer.units
            fan_in = layer.units
        # Batch normalization's running averages after every trainable parameter: in the buffer, so that
        # restoring, saving and broadcasting it carries them, but in no tensor an optimizer is bound to.
        for i, layer in enumerate(self.layers):
            if norms[i, 0] == BatchNormalization.kind:
                norms[i, 3] = offset
                offset += 2 * layer.units
        self.layer_table = np.array(table, dtype=np.int64)
        #: Each layer's normalization as the kernels read it (see :mod:`numbagrad.kernels.cpu.normalization`).
        self.norm_table = norms
        self.penalty_table = penalty_table(self.layers, self.layer_table)
        #: Each layer's dropout rate while training (see :class:`~numbagrad.nn.Dropout`).
        self.dropout_table = np.array([layer.dropout for layer in self.layers], dtype=np.float64)
        prepare_network(self.norm_table, self.penalty_table, self.dropout_table)
        placement.attach(self, aligned_zeros(offset, self.dtype), aligned_zeros(offset, self.dtype))
        self.activation_table = np.array([layer.activation_spec.kernel_table(self.dtype) for layer in self.layers], dtype=np.int64)
        encoded = [layer.activation_spec.encode(layer.activation_options) for layer in self.layers]
        width = max(1, max(len(e) for e in encoded))
        self.activation_params = np.zeros((len(self.layers), width))
        for row, values in zip(self.activation_params, encoded):
            row[: len(values)] = values
        self.initialize(self.seed)

    def initialize(self, seed: int | None = None) -> None:
        """Draw every weight and bias again from the layers' initializers."""
        rng = np.random.default_rng(self.seed if seed is None else seed)
        if self.device != "cpu":
            return placement.initialize(self, rng)
        for layer in self.layers:
            layer.weight[...] = layer.kernel_initializer(layer.weight.shape, rng)
            if layer.bias is not None:
                layer.bias[...] = layer.bias_initializer(layer.bias.shape, rng)
            if layer.normalization is not None:  # PyTorch's and Keras's start: the identity
                layer.gamma[...] = 1.0
                layer.beta[...] = 0.0
            if layer.running_mean is not None:
                layer.running_mean[...] = 0.0
                layer.running_var[...] = 1.0

    # --- shape facts --------------------------------------------------------------

    @property
    def has_dropout(self) -> bool:
        """Whether any layer drops outputs while training."""
        return bool(self.dropout_table.any())

    @property
    def has_batch_norm(self) -> bool:
        """Whether any layer has batch normalization (whose training needs batches of two rows or more)."""
        return bool((self.norm_table[:, 0] == BatchNormalization.kind).any())

    @property
    def output_dim(self) -> int:
        return self.layers[-1].units

    def count_params(self) -> int:
        """Number of parameters: weights, biases, normalizations' scales and shifts, and batch
        normalization's running averages (not trained, counted as Keras counts them)."""
        return int(self.parameters.size)

    def count_trainable_params(self) -> int:
        """Number of trained parameters: :meth:`count_params` without the running averages."""
        return int(sum(view.size for _, view in placement.tensor_views(self, self.parameters)))

    def weight_shapes(self) -> list[tuple[int, ...]]:
        """Shapes of ``get_weights()``'s arrays: [W1, b1, W2, b2, ...] (no b for layers without bias; after a
        normalized layer's b, its γ and β, and batch normalization's running mean and variance)."""
        return [tuple(view.shape) for _, view in placement.weight_views(self, self.parameters)]

    # --- weights --------------------------------------------------------------------

    def get_weights(self) -> list[np.ndarray]:
        """Copies of [W1, b1, W2, b2, ...] in layer order, each W of shape (in, out) (host arrays, wherever
        the model lives); a normalized layer adds γ and β after its b, and batch normalization its running
        mean and variance after them (Keras's order)."""
        return [view.copy() for _, view in placement.weight_views(self, placement.host_parameters(self))]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Load [W1, b1, W2, b2, ...] (as from :meth:`get_weights`); all are checked before any is written.

        Raises:
            ValueError: wrong count, shapes, or non-finite values.
            TypeError: non-numeric arrays.
        """
        shapes = self.weight_shapes()
        if isinstance(weights, np.ndarray) or not isinstance(weights, Sequence):
            raise TypeError(f"set_weights: weights must be a list of {len(shapes)} arrays; got {type(weights).__name__}")
        if len(weights) != len(shapes):
            raise ValueError(f"set_weights: got {len(weights)} arrays; the model has {len(shapes)} (shapes {shapes})")
        checked = []
        for i, (value, shape) in enumerate(zip(weights, shapes)):
            array = np.asarray(value)
            if array.dtype.kind not in "biuf":
                raise TypeError(f"set_weights: weights[{i}] has dtype {array.dtype}; expected numbers")
            if array.shape != shape:
                raise ValueError(f"set_weights: weights[{i}] has shape {array.shape}; expected {shape}")
            if not np.isfinite(array).all():
                raise ValueError(f"set_weights: weights[{i}] contains NaN or infinity")
            checked.append(array)
        for i, ((role, _), array) in enumerate(zip(placement.weight_views(self, placement.host_parameters(self)), checked)):
            if role == "running_var" and (array < 0).any():
                raise ValueError(f"set_weights: weights[{i}] is a running variance and has negative values")
        if self.device != "cpu":
            return placement.set_weights(self, checked)
        for (_, target), array in zip(placement.weight_views(self, self.parameters), checked):
            target[...] = array

    # --- computation ---------------------------------------------------------------------

    def _workspace(self, capacity: int, target_columns: int) -> tuple[np.ndarray, np.ndarray]:
        key = (capacity, target_columns)
        cached = self._workspaces.get(key)
        if cached is None:
            kinds = [int(kind) for kind in self.norm_table[:, 0]]
            offsets = workspace_offsets(self.input_dim, [l.units for l in self.layers], target_columns, capacity, kinds)
            cached = (aligned_empty(int(offsets[-1]), self.dtype), offsets)
            if len(self._workspaces) > 4:
                self._workspaces.clear()
            self._workspaces[key] = cached
        return cached

    def predict(self, X: Any, batch_size: int = 1024) -> np.ndarray:
        """The network's outputs for every row of ``X``, ``batch_size`` rows at a time.

        The last layer's activation is applied (softmax gives probabilities).
        A model with :attr:`preprocessing` standardizes ``X`` as its run did, and
        gives a regression's predictions in the target's own units (float64).
        """
        if self.preprocessing is not None:
            outputs = self._predict(self.preprocessing.network_inputs(X), batch_size)
            return self.preprocessing.predictions(outputs.astype(np.float64)) if self.preprocessing.task == "regression" else outputs
        return self._predict(X, batch_size)

    def _predict(self, X: Any, batch_size: int) -> np.ndarray:
        X = as_inputs(X, self.dtype, self.input_dim)
        _check_batch_size(batch_size)
        if self.device != "cpu":
            return placement.predict(self, X, batch_size)
        capacity = min(int(batch_size), X.shape[0])
        workspace, offsets = self._workspace(capacity, 0)
        out = np.empty((X.shape[0], self.output_dim), dtype=self.dtype)
        network_predict(
            self.parameters, self.layer_table, self.activation_table, self.activation_params, self.norm_table, workspace, offsets, capacity, X, out
        )
        return out

    def resolve_loss(self, loss: Any) -> LossChoice:
        """The loss ``loss`` (a name, a config dict or a loss object) prepared for this model."""
        return loss if isinstance(loss, LossChoice) else LossChoice(loss, self)

    def value_and_grad(self, X: Any, y: Any, loss: Any) -> tuple[float, np.ndarray]:
        """The loss of the batch ``(X, y)`` and its gradient with respect to :attr:`parameters`.

        The gradient is a new array with the layout of :attr:`parameters`
        (``get_weights`` order, flattened), ready for
        ``optimizer.step([grad])`` with an optimizer over ``[model.parameters]``
        (a CUDA device array for a model on the GPU).

        It is a training pass, without dropout: batch normalization normalizes
        by the batch's moments and moves its running averages, as a PyTorch
        module in training mode does (their gradient is 0).
        """
        choice = self.resolve_loss(loss)
        X = as_inputs(X, self.dtype, self.input_dim)
        Y = choice.targets(y, X.shape[0], self.output_dim, self.dtype)
        if self.device != "cpu":
            return placement.value_and_grad(self, X, Y, choice)
        workspace, offsets = self._workspace(X.shape[0], Y.shape[1])
        value = network_value_and_grad(
            self.parameters, self.gradients, self.layer_table, self.activation_table, self.activation_params, self.norm_table,
            workspace, offsets, X, Y, choice.table, choice.params, not choice.fused, self.penalty_table, np.empty(0),
            np.zeros(len(self.layers)), NO_DRAW,
        )
        return float(value), self.gradients.copy()

    # --- training ------------------------------------------------------------------------------

    def compile(
        self,
        optimizer: Any = "adam",
        loss: Any = "mse",
        metrics: Sequence[Any] | None = None,
        schedule: Any = None,
        clip_norm: float | None = None,
        clip_value: float | None = None,
        flush_subnormals: bool = True,
    ) -> "Sequential":
        """Choose how the model trains (the "compile options").

        Args:
            optimizer: a registered name (``"adam"``, ``"nesterov"``...), a
                config dict (``{"name": "sgd", "lr": 0.01, "momentum": 0.9}``)
                or an unbound optimizer such as
                ``numbagrad.optim.SGD(lr=0.01, momentum=0.9, nesterov=True)``;
                it is bound to the layers' weights and biases
                (``[W1, b1, W2, ...]``). Or one of these per role,
                ``{"weights": "muon", "biases": "adamw"}``: the Dense
                kernels and the biases each get their own optimizer.
            loss: a registered loss name (``"mae"``, ``"categorical_crossentropy"``...)
                or a config dict with its options.
            metrics: names or config dicts of metrics to report per epoch.
            schedule: a learning-rate schedule (name, config dict or
                :class:`numbagrad.schedules.Schedule`); without its own ``lr``
                it scales from the optimizer's learning rate. A name or
                config that leaves out the schedule's length (``T_max``,
                ``total_steps``) gets it from each ``fit``: the steps (or,
                ``per="epoch"``, the epochs) from the first step to the end
                of that fit, as ``numbagrad train`` does.
            clip_norm: rescale the gradient when its global L2 norm exceeds this
                (``torch.nn.utils.clip_grad_norm_``).
            clip_value: clamp each gradient to ``[-clip_value, clip_value]``
                (``torch.nn.utils.clip_grad_value_``).
            flush_subnormals: during ``fit``, treat numbers below the smallest
                normal float (1.2e-38 in float32) as zero, as TensorFlow and JAX
                do: optimizer state that decays into that range otherwise makes
                each step about ten times slower on x86. ``False`` keeps IEEE
                gradual underflow (PyTorch's default); results differ only
                where values are that small.

        Compiling again replaces the optimizer and its state. Returns the model.
        """
        from numbagrad.train.setup import TrainingSetup

        setup = TrainingSetup(self, optimizer, loss, metrics, schedule, clip_norm, clip_value, flush_subnormals)
        if self.device != "cpu":
            placement.check_cuda_support(self, setup, "compile")
        self.training = setup
        return self

    def to(self, device: str) -> "Sequential":
        """Move the model to ``device`` (``"cpu"`` or ``"cuda"``); returns the model.

        The parameters, their gradients and, once compiled, the optimizer's
        state move together and stay there across steps and epochs; a
        compiled model's optimizer becomes a new one, bound to the moved
        buffer, with the same state. See :mod:`numbagrad.nn.placement`.

        Raises (before anything moves):
            ValueError: ``device`` is neither.
            numbagrad.errors.CudaUnavailableError: no usable GPU, saying what is missing.
            TypeError: an activation, the loss, a metric or the optimizer has
                no CUDA code (named, with the distribution that provides it).
        """
        placement.move(self, device)
        return self

    def require_compiled(self, what: str) -> None:
        if self.training is None:
            raise RuntimeError(f"{what}: the model is not compiled; call model.compile(optimizer=..., loss=...) first")

    def reseed(self, seed: int) -> None:
        """Restart the shuffling's random generator from ``seed``."""
        self.rng = np.random.default_rng(seed)

    def fit(
        self,
        X: Any,
        y: Any = None,
        batch_size: int = 32,
        epochs: int = 1,
        validation_split: float = 0.0,
        validation_data: tuple[Any, Any] | None = None,
        shuffle: bool = True,
        seed: int | None = None,
        callbacks: Sequence[Any] | None = None,
        verbose: int = 1,
        drop_last: bool = False,
        steps_per_epoch: int | None = None,
        sample_weight: Any = None,
        class_weight: Any = None,
        sharded: bool = False,
        threads: int | None = None,
    ):
        """Train the compiled model; returns its :class:`~numbagrad.train.History`.

        Each epoch takes the (shuffled) samples in order, ``batch_size`` at a
        time: batch_size=1 is online learning, ``len(X)`` the full batch, 32
        (the default) a mini-batch. The last, shorter batch is used (its loss
        a mean over its own rows) unless ``drop_last``. The whole epoch runs in
        compiled code; Python sees only epoch boundaries (callbacks,
        validation, progress).

        Args:
            X, y: training inputs (samples, features) and targets. A
                memory-mapped ``X`` (``np.load(path, mmap_mode="r")``) in the
                model's dtype and C order is read in place, never copied. Or,
                for data larger than memory, ``X`` gives chunks and ``y`` is
                left out: a function returning a new iterable of
                ``(X_chunk, y_chunk)`` pairs each epoch, a re-iterable
                (a list of pairs, :class:`numbagrad.train.chunks.ArrayChunks`),
                or a generator (one epoch only). Each chunk is split into
                batches on its own. See "Data larger than memory" in the
                training guide.
            batch_size: samples per update, an integer >= 1.
            epochs: passes over the data, an integer >= 0.
            validation_split: fraction in [0, 1) of the samples, taken from the
                end before shuffling, held out for validation.
            validation_data: ``(X_val, y_val)`` to validate on instead, or
                ``(X_val, y_val, sample_weight_val)``.
            shuffle: reshuffle the samples every epoch (with chunks: the rows
                within each chunk, and the order of the chunks of a sequence).
            seed: restart the shuffling from this seed (default: continue the
                model's generator, seeded by the model's ``seed``).
            callbacks: :class:`numbagrad.train.Callback` instances.
            verbose: 0 silent, 1 a progress bar per epoch, 2 one line per epoch.
            drop_last: skip the last batch (of each chunk) when it is shorter
                than ``batch_size``.
            steps_per_epoch: with chunks, the number of batches in an epoch,
                needed only by a schedule that takes its length from the fit
                (it is known without it for ``ArrayChunks``); an epoch with
                another number of batches stops the fit with a ValueError.
            sample_weight: a weight >= 0 per sample, shape (n_samples,): each
                batch's loss is the weighted mean ``sum w_i l_i / sum w_i`` (as
                PyTorch's weighted losses and scikit-learn's; Keras divides by
                the batch's rows instead), the epoch's loss the weighted mean
                over its samples, and the metrics count sample ``i`` ``w_i``
                times. With ``validation_split``, the held-out rows keep their
                weights for the validation values. Integer weights train as
                the data with each row repeated that many times would in one
                batch. A regularizer's ``per_sample`` penalty divides by the
                batch's weight instead of its rows.
            class_weight: a weight per class, multiplying ``sample_weight``:
                a dict ``{class index: weight}`` (classes left out weigh 1),
                or ``"balanced"``, ``n_samples / (n_classes * count)``.
            sharded: in data-parallel training (after
                :func:`numbagrad.distributed.init`), each rank passed only its
                own rows: each batch takes ``batch_size / ranks`` rows from
                every rank. By default every rank passes the same ``X, y``
                and trains on its slice of each batch, which gives the
                weights of one process.
            threads: how many of Numba's threads run the compiled epoch, from
                1 to ``NUMBA_NUM_THREADS``. ``None`` (the default): fit starts
                with the count set by ``numba.set_num_threads`` (all of them
                unless changed) and, segment by segment, runs on the count that
                measures fastest, fewer when other work keeps the cores busy
                (see :class:`numbagrad.threads.ThreadTuner`). The count changes
                the time only: each product is split into the same parts
                whatever count runs them, so a seeded fit gives the same
                numbers. Numba's count is restored when fit returns.

        Raises:
            numbagrad.NonFiniteLossError: a batch's loss or gradient was NaN or
                infinite, or its update left an infinite or NaN weight or
                optimizer state; the model keeps the weights and state of the
                last finite step and ``model.history`` the completed epochs.
        """
        from numbagrad.train.loop import fit

        return fit(
            self, X, y, batch_size, epochs, validation_split, validation_data, shuffle, seed, callbacks, verbose, drop_last,
            steps_per_epoch, sample_weight, class_weight, sharded, threads,
        )

    def evaluate(self, X: Any, y: Any, batch_size: int | None = None, sample_weight: Any = None) -> dict[str, float]:
        """``{"loss": ..., <metric>: ...}`` of the compiled model on ``(X, y)``, weighted by
        ``sample_weight`` (one weight >= 0 per sample) when given, as in :meth:`fit`."""
        from numbagrad.train.loop import evaluate

        return evaluate(self, X, y, batch_size, sample_weight)

    def save(self, path: Any) -> None:
        """Write the model, its compile options, optimizer state and counters to ``path``
        (no pickle; atomic). Load it with :func:`numbagrad.load_model`."""
        from numbagrad.train.checkpoint import save_model

        save_model(self, path)

    def export_onnx(self, path: Any, opset: int | None = None):
        """Write the model as an ONNX graph (with its :attr:`preprocessing`, if any) to ``path``;
        returns the path. See :func:`numbagrad.export.save_onnx`."""
        from numbagrad.export.to_onnx import save_onnx

        return save_onnx(self, path, opset)

    def save_weights(self, path: Any):
        """Write the weights as safetensors, laid out as PyTorch's ``nn.Sequential`` state dict;
        returns the path. See :func:`numbagrad.export.save_weights`."""
        from numbagrad.export.weights import save_weights

        return save_weights(self, path)

    def load_weights(self, path: Any) -> None:
        """Load the weights of a safetensors file, all checked before any is written.
        See :func:`numbagrad.export.load_weights`."""
        from numbagrad.export.weights import load_weights

        load_weights(self, path)

    # --- description -----------------------------------------------------------------------

    def summary(self, print_fn: Callable[[str], Any] | None = print) -> str:
        """A table of the layers, their output shapes and parameter counts (and their regularizers, when
        any layer has one); printed unless ``print_fn`` is None."""
        penalized = any(layer.kernel_regularizer or layer.bias_regularizer for layer in self.layers)
        rows = [("Layer", "Output shape", "Activation", "Params") + (("Regularizer",) if penalized else ())]
        for layer in self.layers:
            count = layer.weight.size + (layer.bias.size if layer.bias is not None else 0)
            activation = f"{layer.activation} (after the norm)" if layer.normalization is not None else layer.activation
            row = (layer.name, f"(None, {layer.units})", activation, f"{count:,}")
            rows.append(row + ((_penalties_text(layer),) if penalized else ()))
            if layer.normalization is not None:  # rows of their own, as Keras shows the layers
                norm = layer.normalization
                statistics = 2 * layer.units if layer.running_mean is not None else 0
                row = (f"{layer.name}_{norm.short}_norm", f"(None, {layer.units})", f"{norm.short} norm", f"{2 * layer.units + statistics:,}")
                rows.append(row + (("",) if penalized else ()))
            if layer.dropout:  # a row of its own, as Keras shows a Dropout layer
                row = (f"{layer.name}_dropout", f"(None, {layer.units})", f"dropout {layer.dropout:g}", "0")
                rows.append(row + (("",) if penalized else ()))
        columns = len(rows[0])
        widths = [max(len(r[i]) for r in rows) for i in range(columns)]
        line = "-" * (sum(widths) + 2 * (columns - 1))
        text = [f"Sequential: input_dim={self.input_dim}, dtype={self.dtype}", line]
        for k, row in enumerate(rows):
            cells = (cell.rjust(w) if i == 3 else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths)))
            text.append("  ".join(cells).rstrip())
            if k == 0:
                text.append(line)
        text += [line, f"Total params: {self.count_params():,}"]
        if self.count_trainable_params() != self.count_params():
            text += [f"Trainable params: {self.count_trainable_params():,}"]
            text += [f"Non-trainable params: {self.count_params() - self.count_trainable_params():,} (running averages)"]
        result = "\n".join(text)
        if print_fn is not None:
            print_fn(result)
        return result

    def get_config(self) -> dict[str, Any]:
        """The architecture as plain data (no weights)."""
        return {
            "input_dim": self.input_dim,
            "dtype": str(self.dtype),
            "seed": self.seed,
            "layers": [layer.get_config() for layer in self.layers],
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "Sequential":
        return cls([Dense.from_config(c) for c in config["layers"]], config["input_dim"], config["dtype"], config["seed"])

    def __reduce__(self):
        """Pickle as plain data (:mod:`numbagrad.nn.state`): worker processes and scikit-learn's
        estimators send models; the receiving process rebuilds this one, compiled, with its
        optimizer state."""
        from numbagrad.nn.state import model_state, restore_model

        return restore_model, (model_state(self),)

    def __repr__(self) -> str:
        inner = ", ".join(repr(layer) for layer in self.layers)
        where = "" if self.device == "cpu" else f", device={self.device!r}"
        return f"Sequential([{inner}], input_dim={self.input_dim}, dtype={self.dtype}{where})"


def _penalties_text(layer: Dense) -> str:
    """``"W: l1_l2(l1=0.01, l2=0.01); b: l2(l2=0.001)"``: a layer's regularizers for :meth:`Sequential.summary`."""
    parts = []
    for tensor, penalty in (("W", layer.kernel_regularizer), ("b", layer.bias_regularizer)):
        if penalty is not None:
            factors = ", ".join(f"{k}={v:g}" for k, v in (("l1", penalty.l1), ("l2", penalty.l2)) if v)
            parts.append(f"{tensor}: {penalty.name}({factors}{', per sample' if penalty.per_sample else ''})")
    return "; ".join(parts) or "-"


def penalty_table(layers: Sequence[Dense], layer_table: np.ndarray) -> np.ndarray:
    """The regularizers as the kernels read them: float64 rows ``[start, stop, l1, l2, per_sample]``
    of the flat parameter buffer (see :mod:`numbagrad.kernels.cpu.network`)."""
    rows = []
    for layer, (fan_in, units, weight_offset, bias_offset) in zip(layers, layer_table):
        for penalty, start, size in (
            (layer.kernel_regularizer, weight_offset, fan_in * units),
            (layer.bias_regularizer, bias_offset, units),
        ):
            if penalty is not None and (penalty.l1 or penalty.l2):
                rows.append((start, start + size, penalty.l1, penalty.l2, float(penalty.per_sample)))
    return np.array(rows, dtype=np.float64).reshape(len(rows), 5)


def _check_batch_size(batch_size: Any) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1; got {batch_size!r}")
