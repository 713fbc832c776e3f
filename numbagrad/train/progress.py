"""What ``fit`` prints: a progress bar per epoch (verbose=1), a line per epoch (verbose=2), or nothing."""

from __future__ import annotations

import sys
import time

__all__ = ["Progress", "format_logs"]


def format_logs(logs: dict[str, float]) -> str:
    return " - ".join(f"{k}: {v:.4g}" for k, v in logs.items())


def _redrawn(stream) -> bool:
    """Whether ``stream`` shows a redrawn bar: a terminal, or a notebook (as Keras decides). A log
    file or a pipe would collect every redraw's carriage-return fragment."""
    try:
        return bool(stream.isatty()) or "ipykernel" in sys.modules
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class Progress:
    """Reports epochs; the bar comes from tqdm when it is installed (``numbagrad[progress]``) and
    the stream is a terminal or a notebook; otherwise verbose=1 prints one line per epoch like
    verbose=2."""

    def __init__(self, verbose: int, epochs: int, stream=None):
        self.verbose = verbose
        self.epochs = epochs
        self.stream = stream or sys.stderr
        self.bar = None
        self._tqdm = None
        if verbose == 1 and _redrawn(self.stream):
            try:
                from tqdm.auto import tqdm
            except ImportError:
                tqdm = None
            self._tqdm = tqdm
        self.started = 0.0

    def begin_epoch(self, epoch: int, batches: int) -> None:
        self.started = time.perf_counter()
        if self._tqdm is not None:
            self.bar = self._tqdm(total=batches, desc=f"Epoch {epoch + 1}/{self.epochs}", unit="batch", file=self.stream, leave=True, dynamic_ncols=True)

    @property
    def live(self) -> bool:
        """Whether a bar shows the running values now (computing them is wasted otherwise)."""
        return self.bar is not None

    def advance(self, batches: int, logs: dict[str, float]) -> None:
        if self.bar is not None:
            self.bar.update(batches)
            self.bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items()}, refresh=False)

    def end_epoch(self, epoch: int, logs: dict[str, float]) -> None:
        elapsed = time.perf_counter() - self.started
        if self.bar is not None:
            self.bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items()})
            self.bar.close()
            self.bar = None
        elif self.verbose >= 1:
            print(f"Epoch {epoch + 1}/{self.epochs} - {elapsed:.2f}s - {format_logs(logs)}", file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
