"""Workloads shared by the asv benchmarks and the side-by-side script.

Each ``*_step`` builder returns a zero-argument callable doing one unit of
work, already warmed up (compiled) so that timing it never times a compile.
Peers are optional: their builders raise ``NotImplementedError`` (asv's
"skip") when the library is not installed.
"""

from __future__ import annotations

import os

import numpy as np

from numbagrad import optim
from numbagrad.memory import aligned_full

#: Optimizers compared with PyTorch, with the options each is benchmarked with.
OPTIMIZERS = {
    "sgd_nesterov": ("sgd", "SGD", {"lr": 0.01, "momentum": 0.9, "nesterov": True}),
    "adam": ("adam", "Adam", {}),
    "adamw": ("adamw", "AdamW", {}),
    "adagrad": ("adagrad", "Adagrad", {}),
    "rmsprop": ("rmsprop", "RMSprop", {}),
    "nadam": ("nadam", "NAdam", {}),
    "adamax": ("adamax", "Adamax", {}),
    "adadelta": ("adadelta", "Adadelta", {}),
    "radam": ("radam", "RAdam", {}),
    "rprop": ("rprop", "Rprop", {}),
    "asgd": ("asgd", "ASGD", {}),
}
#: PyTorch's fastest CPU path for each: fused kernels where PyTorch has them.
TORCH_FASTEST = {
    "sgd_nesterov": "fused",
    "adam": "fused",
    "adamw": "fused",
    "adagrad": "fused",
    "rmsprop": "foreach",
    "nadam": "foreach",
    "adamax": "foreach",
    "adadelta": "foreach",
    "radam": "foreach",
    "rprop": "foreach",
    "asgd": "foreach",
}


def _warm(step):
    step()
    step()
    return step


def numbagrad_optimizer_step(key: str, size: int, arrays: int = 1, dtype=np.float32):
    """One ``step`` of a numbagrad optimizer over ``size`` parameters split into ``arrays`` arrays."""
    name, _, options = OPTIMIZERS[key]
    sizes = [size // arrays + (1 if i < size % arrays else 0) for i in range(arrays)]
    params = [aligned_full(n, 1.0, dtype) for n in sizes]
    grads = [aligned_full(n, 0.01, dtype) for n in sizes]
    opt = optim.get(name, params, **options)
    return _warm(lambda: opt.step(grads))


def torch_optimizer_step(key: str, size: int, mode: str | None = None, arrays: int = 1):
    """One ``step`` of ``torch.optim`` with ``mode`` "fused", "foreach" or "single"."""
    try:
        import torch
    except ImportError:
        raise NotImplementedError("PyTorch is not installed") from None
    _, cls, options = OPTIMIZERS[key]
    mode = mode or TORCH_FASTEST[key]
    sizes = [size // arrays + (1 if i < size % arrays else 0) for i in range(arrays)]
    params = [torch.ones(n, requires_grad=True) for n in sizes]
    for p in params:
        p.grad = torch.full_like(p, 0.01)
    flags = {"fused": {"fused": True}, "foreach": {"foreach": True}, "single": {"foreach": False}}[mode]
    opt = getattr(torch.optim, cls)(params, **options, **flags)
    return _warm(opt.step)


#: Tensor-wise optimizers, compared with ``torch.optim`` on one weight matrix: (torch class, options).
TENSORWISE = {
    "adafactor": ("Adafactor", {}),
    "muon": ("Muon", {}),
}


def tensor_optimizer_step(library: str, key: str, rows: int = 1024, columns: int = 1024):
    """One ``step`` of a tensor-wise optimizer on a ``rows x columns`` float32 matrix: numbagrad's, or
    ``torch.optim``'s fastest path (foreach where it has one, else its only one)."""
    cls, options = TENSORWISE[key]
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((rows, columns)).astype(np.float32)
    grad = (rng.standard_normal((rows, columns)) * 0.01).astype(np.float32)
    if library == "numbagrad":
        opt = optim.get(key, [weight], **options)
        return _warm(lambda: opt.step([grad]))
    try:
        import torch
    except ImportError:
        raise NotImplementedError("PyTorch is not installed") from None
    param = torch.tensor(weight, requires_grad=True)
    param.grad = torch.tensor(grad)
    flags = {"foreach": True} if key == "adafactor" else {}
    return _warm(getattr(torch.optim, cls)([param], **options, **flags).step)


def lbfgs_step(library: str, line_search_fn: str, rows: int = 2000, columns: int = 500):
    """One ``step`` of L-BFGS minimising ``|A x - b|^2 / 2``, from the start each time, for
    ``library`` "numbagrad" or "torch" (float64: L-BFGS's usual precision). Both closures
    compute with NumPy, so that the times differ by the optimizers' own work."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((rows, columns)), rng.standard_normal(rows)
    options = {"line_search_fn": None if line_search_fn == "none" else line_search_fn}
    if library == "torch":
        try:
            import torch
        except ImportError:
            raise NotImplementedError("PyTorch is not installed") from None
        x = torch.zeros(columns, dtype=torch.float64, requires_grad=True)
        view = x.detach().numpy()

        def torch_closure():  # the same NumPy arithmetic as numbagrad's: only the optimizers differ
            residual = a @ view - b
            x.grad = torch.from_numpy(a.T @ residual)
            return torch.tensor(0.5 * residual @ residual, dtype=torch.float64)

        def step():
            with torch.no_grad():
                x.zero_()
            torch.optim.LBFGS([x], **options).step(torch_closure)

        return _warm(step)
    x = np.zeros(columns)

    def closure():
        residual = a @ x - b
        return 0.5 * residual @ residual, [a.T @ residual]

    def step():
        x[...] = 0.0
        optim.LBFGS([x], **options).step(closure)

    return _warm(step)


# --- MLP training ------------------------------------------------------------------------

#: The network of the training benchmarks: 784-256-10, ReLU, softmax cross-entropy, Adam.
MLP_SIZES = (784, 256, 10)


def mlp_data(samples: int, seed: int = 0):
    """MNIST-shaped data: float32 inputs in [0, 1) and integer labels."""
    rng = np.random.default_rng(seed)
    X = rng.random((samples, MLP_SIZES[0]), dtype=np.float32)
    labels = rng.integers(0, MLP_SIZES[-1], samples)
    return X, labels


#: The variants of :func:`numbagrad_mlp_epoch` that normalize the hidden layer.
NORMALIZATIONS = {"batch_norm": "batch", "layer_norm": "layer"}


def numbagrad_mlp_epoch(batch_size: int, samples: int, source: str = "array", folder: str | None = None, variant: str = "plain"):
    """One epoch of ``fit`` (no validation, silent): returns a callable.

    ``source``: ``"array"`` (in memory), ``"memmap"`` (the inputs a memory-mapped ``.npy``
    file in ``folder``, read in place) or ``"chunks"`` (``ArrayChunks`` of 1024 rows).
    ``variant``: ``"plain"``, ``"l2"`` (an L2 penalty on both layers' weights),
    ``"weighted"`` (a sample weight per row), ``"dropout"`` (dropout 0.5 after the hidden layer),
    ``"batch_norm"`` or ``"layer_norm"`` (the hidden layer normalized before its ReLU).
    """
    from numbagrad import Dense, Sequential
    from numbagrad.train import ArrayChunks

    X, labels = mlp_data(samples)
    if source == "memmap":
        path = os.path.join(folder, "X.npy")
        np.save(path, X)
        X = np.load(path, mmap_mode="r")
    penalty = {"name": "l2", "l2": 1e-4} if variant == "l2" else None
    dropout = 0.5 if variant == "dropout" else 0.0
    layers = [
        Dense(MLP_SIZES[1], activation="relu", kernel_regularizer=penalty, dropout=dropout, normalization=NORMALIZATIONS.get(variant)),
        Dense(MLP_SIZES[2], activation="softmax", kernel_regularizer=penalty),
    ]
    model = Sequential(layers, input_dim=MLP_SIZES[0])
    model.compile("adam", "categorical_crossentropy")
    if source == "chunks":
        chunks = ArrayChunks(X, labels, rows=1024)
        return _warm(lambda: model.fit(chunks, batch_size=batch_size, epochs=1, verbose=0))
    weights = np.random.default_rng(1).uniform(0.5, 2.0, samples) if variant == "weighted" else None
    return _warm(lambda: model.fit(X, labels, batch_size=batch_size, epochs=1, verbose=0, sample_weight=weights))


def torch_mlp_loop(batch_size: int, samples: int, device: str = "cpu"):
    """A PyTorch eager epoch of the MLP on ``device`` (fused Adam, data already there):
    returns ``epoch()``, one pass in a fresh shuffled order. Needs PyTorch."""
    import torch

    X, labels = mlp_data(samples)
    inputs = torch.from_numpy(X).to(device)
    targets = torch.from_numpy(labels).to(device)
    net = torch.nn.Sequential(
        torch.nn.Linear(MLP_SIZES[0], MLP_SIZES[1]), torch.nn.ReLU(), torch.nn.Linear(MLP_SIZES[1], MLP_SIZES[2])
    ).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, fused=True)
    criterion = torch.nn.CrossEntropyLoss()
    generator = torch.Generator(device=device).manual_seed(0)

    def epoch():
        order = torch.randperm(samples, generator=generator, device=device)
        for start in range(0, samples, batch_size):
            rows = order[start : start + batch_size]
            opt.zero_grad(set_to_none=True)
            loss = criterion(net(inputs[rows]), targets[rows])
            loss.backward()
            opt.step()

    return epoch


def torch_mlp_epoch(batch_size: int, samples: int):
    """The same epoch as a PyTorch eager loop (fused Adam, its fastest CPU optimizer),
    with subnormal numbers flushed to zero as numbagrad's ``fit`` does."""
    try:
        import torch
    except ImportError:
        raise NotImplementedError("PyTorch is not installed") from None
    torch.set_flush_denormal(True)
    return _warm(torch_mlp_loop(batch_size, samples))


def jax_mlp_epoch(batch_size: int, samples: int):
    """The same epoch compiled by JAX: ``jax.lax.scan`` over the batches, optax's Adam."""
    try:
        import jax
        import jax.numpy as jnp
        import optax
    except ImportError:
        raise NotImplementedError("JAX and optax are not installed") from None
    X, labels = mlp_data(samples)
    batches = samples // batch_size
    key = jax.random.PRNGKey(0)
    k1, k2 = jax.random.split(key)
    params = {
        "W1": jax.random.normal(k1, MLP_SIZES[:2]) * 0.05, "b1": jnp.zeros(MLP_SIZES[1]),
        "W2": jax.random.normal(k2, MLP_SIZES[1:]) * 0.05, "b2": jnp.zeros(MLP_SIZES[2]),
    }
    optimizer = optax.adam(1e-3)
    state = optimizer.init(params)

    def loss(p, x, y):
        hidden = jax.nn.relu(x @ p["W1"] + p["b1"])
        logits = hidden @ p["W2"] + p["b2"]
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    def step(carry, batch):
        p, s = carry
        value, grads = jax.value_and_grad(loss)(p, *batch)
        updates, s = optimizer.update(grads, s, p)
        return (optax.apply_updates(p, updates), s), value

    @jax.jit
    def epoch(p, s, x, y, permutation):
        x = x[permutation].reshape(batches, batch_size, -1)
        y = y[permutation].reshape(batches, batch_size)
        (p, s), values = jax.lax.scan(step, (p, s), (x, y))
        return p, s, values.mean()

    inputs, targets = jnp.asarray(X[: batches * batch_size]), jnp.asarray(labels[: batches * batch_size])
    carry = {"params": params, "state": state, "key": key}

    def run():
        carry["key"], sub = jax.random.split(carry["key"])
        permutation = jax.random.permutation(sub, batches * batch_size)
        p, s, value = epoch(carry["params"], carry["state"], inputs, targets, permutation)
        value.block_until_ready()
        carry["params"], carry["state"] = p, s

    return _warm(run)



# --- forward plus backward ---------------------------------------------------------------


def numbagrad_forward_backward(batch: int):
    """``model.value_and_grad`` of the 784-256-10 MLP on one batch (softmax cross-entropy)."""
    from numbagrad import Dense, Sequential

    X, labels = mlp_data(batch)
    model = Sequential([Dense(MLP_SIZES[1], activation="relu"), Dense(MLP_SIZES[2], activation="softmax")], input_dim=MLP_SIZES[0])
    loss = model.resolve_loss("categorical_crossentropy")
    return _warm(lambda: model.value_and_grad(X, labels, loss))


def torch_forward_backward(batch: int):
    """The same forward and backward pass in PyTorch eager (``CrossEntropyLoss`` on the logits)."""
    try:
        import torch
    except ImportError:
        raise NotImplementedError("PyTorch is not installed") from None
    X, labels = mlp_data(batch)
    inputs, targets = torch.from_numpy(X), torch.from_numpy(labels)
    net = torch.nn.Sequential(torch.nn.Linear(MLP_SIZES[0], MLP_SIZES[1]), torch.nn.ReLU(), torch.nn.Linear(MLP_SIZES[1], MLP_SIZES[2]))
    criterion = torch.nn.CrossEntropyLoss()

    def step():
        net.zero_grad(set_to_none=True)
        criterion(net(inputs), targets).backward()

    return _warm(step)


def busy_machine_fit(threads):
    """A function timing one 3-epoch fit of a 50-256-128-2 network on 50,000 x 50 float32 rows
    (batch 32, Adam) in seconds: on ``fit``'s choice of threads (``threads`` None) or on every
    thread of Numba's pool (``"all"``)."""
    import time

    import numba

    import numbagrad as ng

    rng = np.random.default_rng(0)
    X = rng.normal(size=(50_000, 50)).astype(np.float32)
    y = (X[:, :5].sum(axis=1) > 0).astype(np.int64)
    count = numba.config.NUMBA_NUM_THREADS if threads == "all" else None

    def network():
        layers = [ng.Dense(256, activation="relu"), ng.Dense(128, activation="relu"), ng.Dense(2, activation="softmax")]
        return ng.Sequential(layers, input_dim=50, seed=0).compile(optimizer="adam", loss="sparse_categorical_crossentropy")

    network().fit(X[:256], y[:256], epochs=1, verbose=0, threads=count)  # compiled or loaded from the cache

    def fit() -> float:
        net = network()
        began = time.perf_counter()
        net.fit(X, y, epochs=3, verbose=0, threads=count)
        return time.perf_counter() - began

    return fit


class keep_cores_busy:
    """Inside the block, one process per core of this process spins on the CPU (a busy machine)."""

    def __enter__(self):
        import subprocess
        import sys

        from numbagrad.threads import available_cores

        spin = "import time\nend = time.time() + 600\nwhile time.time() < end: pass"
        self.processes = [subprocess.Popen([sys.executable, "-c", spin]) for _ in range(available_cores())]
        return self

    def __exit__(self, *exc_info):
        for process in self.processes:
            process.kill()
        for process in self.processes:
            process.wait()
