"""The kinds of targets losses and metrics accept, and the checks that enforce them.

Kernels assume valid targets; :func:`check_targets` runs in Python before any
kernel does, and its errors name the argument (``y`` unless told otherwise),
the first offending entry with its index and value, and what is allowed::

    >>> import numpy as np
    >>> from numbagrad.targets import check_targets
    >>> check_targets(np.array([0, 3]), (2, 3), "labels", "CategoricalCrossentropy")
    Traceback (most recent call last):
    ...
    ValueError: CategoricalCrossentropy: y[1] = 3 is not a class label: labels must be integers in [0, 3) for a prediction with 3 columns

Kinds (:data:`TARGET_KINDS`):

* ``"real"``: finite numbers.
* ``"nonnegative"``: finite numbers ``>= 0``.
* ``"probability"``: numbers in [0, 1].
* ``"binary"``: 0 or 1.
* ``"sign"``: -1 or 1, or 0 or 1 (read as -1 and 1); not both -1 and 0.
* ``"labels"``: one integer class label per row, in ``[0, columns)``, as a
  vector or one column; or rows of class probabilities (one-hot or soft)
  shaped like the prediction. With a one-column prediction the targets are
  that column's probabilities (binary labels 0 and 1 included).

Every kind but ``"labels"``-as-a-column has the prediction's shape; a vector
is read as one column.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from numbagrad.data import cast_finite, first_where

__all__ = ["TARGET_KINDS", "check_targets"]

#: Each kind of target, with what its values must be (used in messages).
TARGET_KINDS = {
    "real": "finite numbers",
    "nonnegative": "finite numbers >= 0",
    "probability": "probabilities in [0, 1]",
    "binary": "0 or 1",
    "sign": "-1 or 1 (or 0 or 1)",
    "labels": "integer class labels (one per row) or rows of class probabilities",
}


def _format(value: Any) -> str:
    return f"{float(value):g}"


def check_targets(
    y: Any,
    prediction_shape: tuple[int, int],
    kind: str,
    owner: str,
    argument: str = "y",
    dtype: Any = None,
) -> np.ndarray:
    """Check targets for a prediction of shape ``(rows, columns)``; return them as a matrix.

    Args:
        y: the targets: an array (or nested sequence) of numbers.
        prediction_shape: ``(rows, columns)`` of the prediction they go with.
        kind: one of :data:`TARGET_KINDS`.
        owner: who checks (the loss's or metric's title), first in messages.
        argument: the argument's name in messages.
        dtype: when given, the result is a C-contiguous array of this dtype.

    Returns:
        ``y`` as a 2-D array (a vector becomes one column).

    Raises:
        TypeError: ``y`` is not an array of numbers.
        ValueError: a wrong shape, a NaN or infinity, or a value that the
            kind does not allow; the message gives the first one's index.
    """
    if kind not in TARGET_KINDS:
        raise ValueError(f"{owner}: unknown target kind {kind!r}; known kinds: {', '.join(TARGET_KINDS)}")
    rows, columns = (int(n) for n in prediction_shape)
    original = y
    try:
        y = np.asarray(y)
    except (TypeError, ValueError):
        raise TypeError(f"{owner}: {argument} must be an array of numbers; got {type(original).__name__}") from None
    if y.dtype.kind not in "biuf":
        raise TypeError(f"{owner}: {argument} must be an array of numbers; got an array of dtype {y.dtype}")
    if y.ndim not in (1, 2):
        raise ValueError(f"{owner}: {argument} must be a vector or a matrix (one row per sample); got shape {y.shape}")
    matrix = y.reshape(-1, 1) if y.ndim == 1 else y
    if matrix.shape[0] != rows:
        raise ValueError(f"{owner}: {argument} has {matrix.shape[0]} rows; the prediction has {rows}")
    label_column = kind == "labels" and columns > 1 and matrix.shape[1] == 1
    if matrix.shape[1] != columns and not label_column:
        expected = f"({rows}, {columns}), the prediction's shape"
        if columns == 1:
            expected += f", or ({rows},)"
        if kind == "labels":
            expected += f"; or ({rows},) or ({rows}, 1), one integer class label per row"
        raise ValueError(f"{owner}: {argument} has shape {y.shape}; expected {expected}")

    def check(predicate, message):
        found = first_where(matrix, predicate)
        if found is not None:
            (row, column), value = found
            index = f"[{row}]" if y.ndim == 1 else f"[{row}, {column}]"
            raise ValueError(message(index, value))

    check(lambda v: ~np.isfinite(v), lambda i, v: f"{owner}: {argument}{i} is {_format(v)}; targets must be finite")
    if kind == "labels":
        if label_column:
            check(
                lambda v: (v < 0) | (v >= columns) | (v != np.floor(v)),
                lambda i, v: (
                    f"{owner}: {argument}{i} = {_format(v)} is not a class label: labels must be "
                    f"integers in [0, {columns}) for a prediction with {columns} columns"
                ),
            )
        else:
            check(
                lambda v: (v < 0) | (v > 1),
                lambda i, v: f"{owner}: {argument}{i} = {_format(v)}; class probabilities (one-hot rows) must be in [0, 1]",
            )
    elif kind != "real":
        predicates = {
            "nonnegative": lambda v: v < 0,
            "probability": lambda v: (v < 0) | (v > 1),
            "binary": lambda v: (v != 0) & (v != 1),
            "sign": lambda v: (v != -1) & (v != 0) & (v != 1),
        }
        check(predicates[kind], lambda i, v: f"{owner}: {argument}{i} = {_format(v)}; targets must be {TARGET_KINDS[kind]}")
        if kind == "sign" and (matrix == -1).any() and (matrix == 0).any():
            raise ValueError(f"{owner}: {argument} holds both -1 and 0; use -1 and 1, or 0 and 1")

    if dtype is not None:
        matrix, too_large = cast_finite(matrix, dtype)
        if too_large is not None:
            (row, column), value = too_large
            index = f"[{row}]" if y.ndim == 1 else f"[{row}, {column}]"
            raise ValueError(
                f"{owner}: {argument}{index} = {_format(value)} is beyond the range of {np.dtype(dtype)} "
                f"(largest {np.finfo(dtype).max:.4g}); scale the targets, or use a float64 model"
            )
    return matrix
