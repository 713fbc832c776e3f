"""What each MPI rank runs in tests/test_distributed.py: ``mpiexec -n N python tests/mpi_ranks.py SCENARIO OUT``.

Each scenario trains as :func:`training` describes and writes this rank's weights and history
to ``OUT/rank{r}.npz`` and ``OUT/rank{r}.json``; the test compares them with one process.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

import numbagrad as ng
from numbagrad import distributed
from numbagrad.train import Callback, EarlyStopping, ModelCheckpoint

#: The options of each scenario that trains: ``fit`` keywords, and how the model is compiled.
SCENARIOS = {
    # 203 rows, batch 10: 3 ranks do not divide the batch and the last batch has 3 rows.
    "plain": {"fit": {"batch_size": 10, "epochs": 3}},
    "everything": {
        "fit": {"batch_size": 16, "epochs": 3, "validation_split": 0.2},
        "compile": {"clip_norm": 0.5, "schedule": "cosine", "metrics": ["accuracy", "f1_macro", "roc_auc"]},
        "l2": 1e-3,
        "weighted": True,
    },
    "drop_last": {"fit": {"batch_size": 32, "epochs": 2, "drop_last": True}},
    "lbfgs": {"fit": {"batch_size": 64, "epochs": 2}, "compile": {"optimizer": {"name": "lbfgs", "lr": 0.1, "max_iter": 2}}, "l2": 1e-3},
    # Twenty L-BFGS iterations per batch: the curvature pairs amplify the rounding of the summed
    # gradient (1e-16) to about 1e-7 of the weights; the test allows 1e-6 there.
    "lbfgs_long": {"fit": {"batch_size": 64, "epochs": 2}, "compile": {"optimizer": {"name": "lbfgs", "lr": 0.1}}, "l2": 1e-3},
    "chunks": {"fit": {"batch_size": 10, "epochs": 2}, "chunks": 70},
    "weighted_chunks": {"fit": {"batch_size": 10, "epochs": 2}, "chunks": 70, "weighted": True},
    "early_stopping": {
        "fit": {"batch_size": 8, "epochs": 40, "validation_split": 0.25},
        "compile": {"optimizer": "sgd"},
        "early_stopping": True,
    },
    "float32": {"fit": {"batch_size": 10, "epochs": 2}, "dtype": "float32"},
    # Each rank hashes its rows' places in the whole batch: the masks of one process.
    "dropout": {"fit": {"batch_size": 10, "epochs": 2}, "dropout": 0.3},
    # r2's totals (running means) do not add up over the ranks: they are gathered and merged.
    "regression": {"fit": {"batch_size": 10, "epochs": 2, "validation_split": 0.3}, "regression": True},
    # Weighted r2 (the running count is the sum of the weights) merges over the ranks the same way.
    "regression_weighted": {"fit": {"batch_size": 10, "epochs": 2, "validation_split": 0.3}, "regression": True, "weighted": True},
    # A GPU model (under Numba's CUDA simulator in the tests): the gradient summed through the host.
    "gpu": {
        "fit": {"batch_size": 10, "epochs": 1, "validation_split": 0.25},
        "compile": {"clip_norm": 0.5},
        "rows": 40,
        "device": "cuda",
    },
    "gpu_l2": {"fit": {"batch_size": 8, "epochs": 1}, "compile": {"clip_value": 0.2}, "l2": 1e-2, "rows": 24, "device": "cuda"},
    # Sample weights on the GPU: each rank's loss over its rows' weights, the per-sample penalty over
    # the batch's sum of weights on every rank, the metrics weighted on the host.
    "gpu_weighted": {
        "fit": {"batch_size": 8, "epochs": 1}, "l2": 1e-2, "per_sample": True, "rows": 24, "device": "cuda", "weighted": True,
    },
}


def data(rows: int = 203) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, 8))
    y = (X[:, :3].sum(axis=1) + 0.3 * rng.normal(size=rows) > 0).astype(np.int64)
    weights = rng.uniform(0.2, 2.0, size=rows)
    return X, y, weights


def model(options: dict) -> ng.nn.Sequential:
    regularizer = {"name": "l2", "l2": options["l2"], "per_sample": options.get("per_sample", False)} if "l2" in options else None
    net = ng.nn.Sequential(
        [ng.nn.Dense(16, activation="tanh", kernel_regularizer=regularizer, dropout=options.get("dropout", 0.0)),
         ng.nn.Dense(2, activation="linear" if options.get("regression") else "softmax")],
        input_dim=8, seed=1, dtype=options.get("dtype", "float64"),
    )
    # ROC AUC keeps every row (and its weight): each rank's records are gathered and concatenated.
    compile_options = {"optimizer": "adam", "loss": "sparse_categorical_crossentropy", "metrics": ["accuracy", "roc_auc"]}
    if options.get("regression"):
        compile_options.update(loss="mse", metrics=["r2", "mae"])
    compile_options.update(options.get("compile", {}))
    if "device" in options:
        net.to(options["device"])
    return net.compile(**compile_options)


def training(name: str, net: ng.nn.Sequential | None = None, **extra) -> tuple[ng.nn.Sequential, dict]:
    """Train scenario ``name`` (in one process, or on every rank after ``distributed.init``)."""
    options = SCENARIOS[name]
    net = net if net is not None else model(options)
    X, y, weights = data(options.get("rows", 203))
    if options.get("regression"):
        y = np.c_[X[:, 0] * 3.0 + 10.0, X[:, 1] - 5.0]
    keywords = dict(options["fit"], seed=3, verbose=0, **extra)
    if options.get("weighted") and "chunks" not in options:
        keywords["sample_weight"] = weights
    if options.get("early_stopping"):
        keywords["callbacks"] = [EarlyStopping(monitor="val_loss", patience=1, min_delta=0.01)]
    if "chunks" in options:
        from numbagrad.train.chunks import ArrayChunks

        chunk_weights = weights if options.get("weighted") else None
        history = net.fit(ArrayChunks(X, y, rows=options["chunks"], sample_weight=chunk_weights), **keywords)
    else:
        history = net.fit(X, y, **keywords)
    return net, history.history


def save(out: Path, rank: int, net: ng.nn.Sequential, history: dict, **more) -> None:
    parameters = net.parameters if isinstance(net.parameters, np.ndarray) else net.parameters.copy_to_host()
    np.savez(out / f"rank{rank}.npz", parameters=parameters)
    (out / f"rank{rank}.json").write_text(json.dumps({"history": history, "epoch": net.epoch, **more}))


class _Fails(Callback):
    """Rank ``rank`` fails at the end of epoch 1: ``how`` is "raise" (uncaught), "die"
    (the process exits at once) or "hang" (it raises, catches it and never comes back)."""

    def __init__(self, rank: int, how: str):
        self.rank, self.how = rank, how

    def on_epoch_end(self, epoch, logs=None):
        if epoch != 1 or distributed.current().rank != self.rank:
            return
        if self.how == "die":
            os._exit(3)
        if self.how == "hang":
            time.sleep(600)
        raise RuntimeError("a callback failed on purpose")


def main() -> None:
    scenario, out = sys.argv[1], Path(sys.argv[2])
    if scenario == "cli-mismatch":
        from numbagrad.cli import main as cli

        raise SystemExit(cli(["train", "--ranks", "3", "--data", "iris", "--epochs", "1", "--output", str(out)]))
    world = distributed.init(timeout=float(os.environ.get("TIMEOUT", "60")))
    rank = world.rank
    if scenario in SCENARIOS:
        net, history = training(scenario)
        save(out, rank, net, history, threads=world.threads)
    elif scenario == "sharded":
        # Rank r holds the rows it would train on in each batch of an unshuffled fit of the
        # whole data: its quarter of every batch of 8 (with 2 ranks, its half).
        X, y, _ = data(200)
        batch, share = 8, 8 // world.size
        mine = np.concatenate([np.arange(b + rank * share, b + (rank + 1) * share) for b in range(0, 200, batch)])
        net = model({})
        history = net.fit(X[mine], y[mine], batch_size=batch, epochs=2, shuffle=False, verbose=0, sharded=True).history
        save(out, rank, net, history)
    elif scenario == "checkpoint":
        # Train two epochs on these ranks, rank 0 writing a checkpoint after each.
        net = model(SCENARIOS["plain"])
        X, y, _ = data()
        path = out / "model-{epoch}.ngm"
        history = net.fit(X, y, batch_size=10, epochs=2, seed=3, verbose=0, callbacks=[ModelCheckpoint(str(path))]).history
        save(out, rank, net, history)
    elif scenario == "resume":
        # Load the checkpoint another number of ranks (or one process) wrote and train two more epochs.
        net = ng.load_model(os.environ["CHECKPOINT"])
        X, y, _ = data()
        history = net.fit(X, y, batch_size=10, epochs=2, verbose=0).history
        save(out, rank, net, history)
    elif scenario in ("raise", "die", "hang"):
        net = model(SCENARIOS["plain"])
        X, y, _ = data()
        net.fit(X, y, batch_size=10, epochs=4, seed=3, verbose=0, callbacks=[_Fails(world.size - 1, scenario)])
    elif scenario == "nonfinite":
        # A learning rate that overflows: every rank learns of it from the same summed loss.
        X, y, _ = data()
        net = model({"compile": {"optimizer": {"name": "sgd", "lr": 1e38}}, "dtype": "float32"})
        try:
            net.fit(X * 1e30, y, batch_size=10, epochs=2, seed=3, verbose=0)
            stopped = ""
        except ng.NonFiniteLossError as error:
            stopped = str(error)
        save(out, rank, net, {"stopped": stopped, "losses": [float(v) for v in net.epoch_losses]})
    elif scenario == "other-optimizer":
        X, y, _ = data()
        net = model({"compile": {"optimizer": "adam" if rank == 0 else "sgd"}})
        net.fit(X, y, batch_size=10, epochs=1, verbose=0)
    elif scenario == "other-dropout":
        X, y, _ = data()
        net = model({"dropout": 0.5 if rank == 0 else 0.0})
        net.fit(X, y, batch_size=10, epochs=1, verbose=0)
    elif scenario == "disagree":
        X, y, _ = data()
        rows = 203 - rank  # each rank a different number of rows
        net = model(SCENARIOS["plain"])
        net.fit(X[:rows], y[:rows], batch_size=10, epochs=1, verbose=0)
    else:
        raise SystemExit(f"unknown scenario {scenario!r}")


if __name__ == "__main__":
    main()
