"""What ``fit`` does differently across the ranks of :mod:`numbagrad.distributed`.

The compiled epoch sums each batch's gradient over the ranks (see
:func:`numbagrad.kernels.cpu.training.train_batches`); this module is the
Python around it: agreeing on what is trained before anything changes,
starting every rank from rank 0's weights, optimizer state and random
generator, each rank's share of the batches, and the sums at an epoch's end
(metric totals, validation, the rows of each batch when ranks hold their own).
"""

from __future__ import annotations

import json
import zlib
from typing import Any, Callable

import numpy as np

from numbagrad.errors import DistributedError
from numbagrad.kernels.cpu.training import SHARE_RANK, SHARE_REDUCER, SHARE_SIZE, prepare_ranks

__all__ = ["DataParallel", "ALONE"]

#: The ``share`` table of a fit in one process: the whole batch, no all-reduce.
ALONE = np.array([0, 1, 0], dtype=np.int64)


class DataParallel:
    """One data-parallel ``fit`` on ``world``: ``sharded`` when each rank passed only its own rows."""

    def __init__(self, world: Any, sharded: bool):
        self.world, self.sharded = world, sharded
        self.rank, self.size = world.rank, world.size
        self.timeout = world.timeout

    # --- before training -----------------------------------------------------------------

    def local_batch_size(self, batch_size: int) -> int:
        """The rows of each batch this rank trains on when it holds its own rows: an equal share
        of ``batch_size`` (the first ``batch_size % size`` ranks one more). With the same rows on
        every rank, each rank takes its slice inside the compiled loop instead."""
        if not self.sharded:
            return batch_size
        return batch_size // self.size + (1 if self.rank < batch_size % self.size else 0)

    def share(self) -> np.ndarray:
        """The compiled loop's ``share`` table for this rank."""
        table = np.zeros(3, dtype=np.int64)
        table[SHARE_RANK] = 0 if self.sharded else self.rank
        table[SHARE_SIZE] = 1 if self.sharded else self.size
        table[SHARE_REDUCER] = self.world.reducer_address()
        if table[SHARE_REDUCER] != 0:
            prepare_ranks()
        return table

    def part(self, rows: int) -> tuple[int, int]:
        """``(first, last)``: the rows of a batch (or of any rows every rank holds alike) that this
        rank computes; all of them when each rank holds its own."""
        if self.sharded:
            return 0, rows
        return rows * self.rank // self.size, rows * (self.rank + 1) // self.size

    def exchange(self, parameters: int) -> np.ndarray:
        return np.empty((2, parameters + 2))

    def agree(self, model: Any, samples: int, batch_size: int, epochs: int, shuffle: bool, seed: int | None,
              drop_last: bool, weighted: bool, validated: bool) -> None:
        """Raise :class:`DistributedError` on every rank, before anything changes, when the ranks
        were not given the same fit (the same data, unless sharded)."""
        fields = {
            "batch_size": batch_size, "epochs": epochs, "shuffle": int(shuffle), "seed": -1 if seed is None else seed,
            "drop_last": int(drop_last), "sharded": int(self.sharded), "sample weights": int(weighted),
            "validation": int(validated), "parameters": model.parameters.size, "model.epoch": model.epoch,
        }
        setup = model.training
        compiled = json.dumps(
            [[optimizer.spec.name, [repr({k: v for k, v in group.items() if k != "params"}) for group in optimizer.param_groups]]
             for optimizer in setup.optimizers.values()]
            + [setup.loss.name, [metric.name for metric in setup.metrics]], default=repr,
        )
        fields["the compile options (optimizer, its hyperparameters, loss, metrics)"] = zlib.crc32(compiled.encode())
        # The seed may differ: every rank starts from rank 0's weights.
        architecture = json.dumps({**model.get_config(), "seed": 0}, sort_keys=True, default=repr)
        fields["the architecture (layers, activations, dropout, regularizers)"] = zlib.crc32(architecture.encode())
        if not self.sharded:
            fields["rows of X"] = samples
        values = np.array(list(fields.values()), dtype=np.float64)
        seen = self.world.gather(values, "fit's check that every rank trains the same way")
        for column, name in enumerate(fields):
            if not (seen[:, column] == seen[0, column]).all():
                found = ", ".join(f"rank {r}: {_shown(seen[r, column])}" for r in range(self.size))
                if name.startswith("the compile options"):
                    found = "compile every rank's model with the same options"
                elif name.startswith("the architecture"):
                    found = "build every rank's model alike"
                hint = (
                    " (every rank passes the same X, y; pass sharded=True when each rank has only its own rows)"
                    if name == "rows of X" else ""
                )
                error = DistributedError(f"fit: the ranks disagree about {name}: {found}{hint}")
                error.every_rank = True  # every rank saw the same gathered values and raises this
                raise error

    def start_alike(self, model: Any, parts: list) -> None:
        """Every rank takes rank 0's weights, optimizer state and random generator."""
        self._broadcast(model.parameters, "fit's broadcast of rank 0's weights")
        for _, partition in parts:
            # A CPU partition's state is one block, a GPU one's an array per tensor; an optimizer
            # that steps from Python (L-BFGS) has neither.
            block = getattr(partition, "state_block", None)
            for state in [block] if block is not None else getattr(partition, "states", []):
                self._broadcast(state, "fit's broadcast of rank 0's optimizer state")
        state = np.frombuffer(json.dumps(model.rng.bit_generator.state).encode(), dtype=np.uint8)
        length = np.array([state.size], dtype=np.int64)
        self.world.broadcast(length, "fit's broadcast of rank 0's random generator")
        received = np.zeros(int(length[0]), dtype=np.uint8)
        received[: min(state.size, received.size)] = state[: received.size]
        self.world.broadcast(received, "fit's broadcast of rank 0's random generator")
        model.rng.bit_generator.state = json.loads(received.tobytes().decode())

    def _broadcast(self, values: Any, what: str) -> None:
        """:meth:`World.broadcast` of a host array, or of a GPU array through the host."""
        if values.size == 0:
            return
        if isinstance(values, np.ndarray):
            self.world.broadcast(values, what)
            return
        host = np.ascontiguousarray(values.copy_to_host())
        self.world.broadcast(host, what)
        values.copy_to_device(host)

    def batches(self, samples: int, batch_size: int, drop_last: bool) -> int:
        """Batches per epoch: with own rows, as many as the rank that needs the most (a rank past
        its last row trains on none), or, with ``drop_last``, the fewest whole ones of any rank."""
        if not self.sharded:
            return samples // batch_size if drop_last else -(-samples // batch_size)
        local = self.local_batch_size(batch_size)
        mine = samples // local if drop_last else -(-samples // local)
        counts = self.world.gather([mine], "fit's count of batches per epoch")[:, 0]
        return int(counts.min() if drop_last else counts.max())

    # --- during training ---------------------------------------------------------------------

    def batch_rows(self, rows: np.ndarray) -> np.ndarray:
        """The rows (or weights) of each whole batch, summed over the ranks when each holds its own."""
        return self.world.sum(rows, "fit's sum of each batch's rows") if self.sharded else rows

    def totals(self, totals: np.ndarray, setup: Any) -> np.ndarray:
        """The epoch's metric totals of every rank's rows: summed, or gathered and merged in rank
        order where a metric's totals do not add up (r2's means)."""
        if totals.size == 0:
            return totals
        if setup.totals_add_up:
            return self.world.sum(totals, "fit's sum of the epoch's metrics").reshape(totals.shape).astype(totals.dtype)
        return setup.merged_totals(self._gather_totals(totals, "fit's gather of the epoch's metrics"))

    def _gather_totals(self, totals: np.ndarray, what: str) -> np.ndarray:
        """Every rank's ``totals`` (one row per metric), in rank order. A metric that keeps its rows
        (ROC AUC) makes them as wide as each rank's rows need: they are padded with zeros to the
        widest, which its merge ignores."""
        width = int(self.world.gather([totals.shape[1]], what)[:, 0].max())
        padded = np.zeros((totals.shape[0], width))
        padded[:, : totals.shape[1]] = totals
        return self.world.gather(padded, what).reshape((-1, *padded.shape))

    def validation(self, evaluation: Callable, validation: tuple, setup: Any) -> Callable[[], dict[str, float]]:
        """The validation logs, each rank evaluating its slice of the rows (or its own rows) and the
        sums taken over the ranks. ``evaluation(inputs, targets, weights)`` gives the function that
        evaluates those rows: ``() -> (mean loss, rows or sum of weights, metric totals)``."""
        inputs, targets = validation[0], validation[1]
        weights = validation[2] if len(validation) > 2 else None
        first, last = self.part(inputs.shape[0])
        inputs, targets = inputs[first:last], targets[first:last]
        weights = None if weights is None else weights[first:last]
        evaluate = evaluation(inputs, targets, weights) if inputs.shape[0] > 0 else None
        empty = setup.new_totals()

        def validate() -> dict[str, float]:
            own = np.zeros(2)
            totals = empty
            if evaluate is not None:
                loss, count, totals = evaluate()
                own[0], own[1] = (loss * count if count > 0 else 0.0), count
            if setup.totals_add_up:  # the loss, its count and the totals in one collective
                summed = self.world.sum(np.concatenate([own, totals.ravel()]), "fit's validation")
                total, merged = summed[:2], summed[2:].reshape(totals.shape)
            else:
                total = self.world.sum(own, "fit's validation")
                merged = setup.merged_totals(self._gather_totals(totals, "fit's validation"))
            values = setup.metric_values(merged)
            return {"loss": float(total[0] / total[1]) if total[1] > 0 else float("nan"), **values}

        return validate

    def collective_failed(self, code: int) -> DistributedError:
        if code == -1:
            return DistributedError(self.world.waited("the all-reduce of a batch's gradient"))
        return DistributedError(f"rank {self.rank} of {self.size}: MPI failed in the all-reduce of a batch's gradient (error code {code})")

    def sum_gradient(self, gradient: np.ndarray, value: float, count: float) -> tuple[np.ndarray, float, float]:
        """``(g, loss, total)`` over the ranks from this rank's mean ``gradient`` and ``value`` over
        its ``count`` rows (or sum of weights): ``g = sum_r count_r g_r / sum_r count_r`` in
        float64, the loss likewise, in one all-reduce of ``[count g, count loss, count]``, as
        :func:`numbagrad.kernels.cpu.training.all_reduce_gradient` sums in compiled code. A rank
        without rows adds nothing (not even a NaN of an empty mean); a total count of 0 gives
        gradient 0 and loss 0."""
        size = gradient.size
        own = np.zeros(size + 2)
        if count > 0:
            own[:size] = gradient.ravel()
            own[:size] *= count
            own[size] = value * count
        own[size + 1] = count
        total = self.world.sum(own, "the all-reduce of a batch's gradient")
        if not total[size + 1] > 0:
            return np.zeros(size), 0.0, 0.0
        scale = 1.0 / total[size + 1]
        return total[:size] * scale, float(total[size] * scale), float(total[size + 1])

    def closure_gradient(self, value_and_grad: Callable, penalize: Callable, order_rows: np.ndarray,
                         grads: np.ndarray) -> float:
        """An L-BFGS closure's loss and gradient (in ``grads``) of the batch of rows ``order_rows``:
        each rank its slice, summed over the ranks (:meth:`sum_gradient`), then the regularizers'
        penalty.

        ``value_and_grad(rows, first_row)`` gives ``(loss, count)`` of the data's ``rows`` (from
        place ``first_row`` of the batch on) without the penalty, its gradient in ``grads``;
        ``penalize(count)`` adds the penalty's gradient for a batch of that count and returns its
        value."""
        first, last = self.part(order_rows.size)
        order_rows = order_rows[first:last]
        value, count = value_and_grad(order_rows, first) if order_rows.size else (0.0, 0.0)
        summed, loss, total = self.sum_gradient(grads, value, count)
        grads[:] = summed
        return loss + penalize(total)

def _shown(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
