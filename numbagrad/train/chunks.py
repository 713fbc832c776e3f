"""Training data in chunks, for data larger than memory: ``fit(chunks)``.

A chunk is a pair ``(X_chunk, y_chunk)`` of arrays that fits in memory, or a
triple ``(X_chunk, y_chunk, w_chunk)`` with a sample weight per row (as
``fit``'s ``sample_weight``; ``fit``'s ``class_weight``, a dict, multiplies
them). An
epoch is one pass over every chunk; each chunk is split into batches on its
own (a chunk of 1,000 rows with ``batch_size=64`` gives 15 batches of 64 and
one of 40), so chunk sizes that are multiples of ``batch_size`` give the same
batches as one array holding the same rows.

Where the chunks come from (:class:`ChunkSource` accepts each):

* a function of no arguments that returns a new iterable of pairs: called
  once per epoch (``lambda: read_parts(folder)``);
* a re-iterable: a list of pairs, :class:`ArrayChunks`, any object whose
  ``iter()`` starts over;
* a one-shot iterator such as a generator: it can be read once, so only for
  ``epochs=1`` (a function returning the generator serves any number).

Shuffling draws from the model's generator (``model.rng``, seeded), so a
seed gives the same run: the rows within each chunk are shuffled; a
*sequence* of chunks (``len`` and indexing, such as a list or
:class:`ArrayChunks`) is also visited in a new order each epoch. The order
of an iterator's chunks is the iterator's own.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Callable

import numpy as np

__all__ = ["ArrayChunks", "ChunkSource", "is_chunk_source"]


class ArrayChunks(Sequence):
    """Consecutive blocks of ``rows`` rows of two arrays, as chunks: ``(X[a:b], y[a:b])``, or
    ``(X[a:b], y[a:b], sample_weight[a:b])`` with weights.

    The blocks are slices, so a memory-mapped file (``np.load(path,
    mmap_mode="r")``) is read one block at a time: each block's pages are
    read from the file in one sequential sweep, and a block in another dtype
    than the model's is converted on its own. With ``shuffle=True`` the blocks
    are visited in a new order every epoch and the rows shuffled within each.

    Args:
        X: inputs, an array with ``len``, shape ``(samples, features)``.
        y: targets, the same number of rows.
        rows: rows per block, an integer >= 1 (the last block may be shorter);
            best a multiple of ``batch_size``.
        sample_weight: a weight >= 0 per row (checked block by block as
            ``fit`` reads it), or None.
    """

    def __init__(self, X: Any, y: Any, rows: int, sample_weight: Any = None):
        if isinstance(rows, bool) or not isinstance(rows, numbers.Integral) or rows < 1:
            raise ValueError(f"ArrayChunks: rows must be an integer >= 1; got {rows!r}")
        for name, array in (("X", X), ("y", y)):
            if not hasattr(array, "shape") or not hasattr(array, "__getitem__") or len(getattr(array, "shape", ())) == 0:
                raise TypeError(f"ArrayChunks: {name} must be an array with rows (a NumPy array or memory map); got {type(array).__name__}")
        if X.shape[0] != y.shape[0]:
            raise ValueError(f"ArrayChunks: X has {X.shape[0]} rows and y {y.shape[0]}; they must have the same number")
        if sample_weight is not None:
            if not hasattr(sample_weight, "shape") or not hasattr(sample_weight, "__getitem__"):
                raise TypeError(f"ArrayChunks: sample_weight must be an array; got {type(sample_weight).__name__}")
            if len(sample_weight.shape) == 0 or sample_weight.shape[0] != X.shape[0]:
                raise ValueError(
                    f"ArrayChunks: sample_weight must have one weight per row of X ({X.shape[0]}); got shape {sample_weight.shape}"
                )
        if X.shape[0] == 0:
            raise ValueError("ArrayChunks: X is empty: it has no rows")
        self.X, self.y, self.rows, self.sample_weight = X, y, int(rows), sample_weight
        self.samples = int(X.shape[0])

    def __len__(self) -> int:
        return -(-self.samples // self.rows)

    def __getitem__(self, index: int) -> tuple[Any, ...]:
        if isinstance(index, bool) or not isinstance(index, numbers.Integral):
            raise TypeError(f"ArrayChunks: index must be an integer; got {index!r}")
        count = len(self)
        if not -count <= index < count:
            raise IndexError(f"ArrayChunks: chunk {index} of {count}")
        start = (index % count) * self.rows
        block = slice(start, start + self.rows)
        if self.sample_weight is None:
            return self.X[block], self.y[block]
        return self.X[block], self.y[block], self.sample_weight[block]

    def chunk_rows(self) -> list[int]:
        """The number of rows of each chunk, in order."""
        return [min(self.rows, self.samples - i * self.rows) for i in range(len(self))]


def is_chunk_source(X: Any) -> bool:
    """Whether ``fit`` reads ``X`` as chunks rather than as an array: a function, an iterator or
    :class:`ArrayChunks` always; any other iterable that is not array-like only when ``y`` is left out
    (the caller decides that case)."""
    return isinstance(X, (ArrayChunks, Iterator)) or (callable(X) and not hasattr(X, "__array__"))


class ChunkSource:
    """The chunks of each epoch from what ``fit`` was given as ``X`` (see the module's docstring).

    Raises (at construction, before training):
        TypeError: ``chunks`` is none of the accepted kinds.
        ValueError: a one-shot iterator for ``epochs`` > 1, or an empty sequence.
    """

    def __init__(self, chunks: Any, epochs: int):
        if isinstance(chunks, (np.ndarray, str, bytes)) or hasattr(chunks, "__array__"):
            raise TypeError(
                f"fit: X is an array ({type(chunks).__name__}) and y is missing; give y, the targets of X, "
                "or give chunks as X (pairs (X_chunk, y_chunk)) and leave y out"
            )
        self.chunks = chunks
        self.factory: Callable[[], Any] | None = None
        self.sequence = isinstance(chunks, Sequence)
        if isinstance(chunks, Iterator):
            if epochs > 1:
                raise ValueError(
                    f"fit: X is a one-shot iterator ({type(chunks).__name__}), which can serve one epoch only; "
                    f"for epochs={epochs} pass a function that returns a new one each epoch, "
                    "e.g. fit(lambda: read_chunks(...), epochs=...)"
                )
        elif callable(chunks) and not self.sequence:
            self.factory = chunks
        elif not isinstance(chunks, Iterable):
            raise TypeError(
                "fit: chunks (X with y left out) must be a function returning an iterable of (X_chunk, y_chunk) "
                f"pairs, or such an iterable; got {type(chunks).__name__}"
            )
        if self.sequence and len(chunks) == 0:
            raise ValueError("fit: the chunks are empty: there is no (X_chunk, y_chunk) pair to train on")

    def batch_count(self, batch_size: int, drop_last: bool) -> int | None:
        """Batches in an epoch when known without reading the data (:class:`ArrayChunks`), else None."""
        if not isinstance(self.chunks, ArrayChunks):
            return None
        rows = self.chunks.chunk_rows()
        return sum(r // batch_size if drop_last else -(-r // batch_size) for r in rows)

    def epoch(self, rng: np.random.Generator, shuffle: bool) -> Iterator[tuple[int, Any]]:
        """``(index, pair)`` for each chunk of an epoch, in the order it is trained: ``index`` is the
        chunk's position in the sequence (or in the iteration), as error messages give it."""
        if self.sequence:
            count = len(self.chunks)
            order = rng.permutation(count) if shuffle else range(count)
            for index in order:
                yield int(index), self.chunks[int(index)]
            return
        if self.factory is not None:
            made = self.factory()
            if isinstance(made, (np.ndarray, str, bytes)) or not isinstance(made, Iterable):
                raise TypeError(
                    f"fit: the chunks function must return an iterable of (X_chunk, y_chunk) pairs; it returned {type(made).__name__}"
                )
            iterable = made
        else:
            iterable = self.chunks
        yield from enumerate(iterable)
