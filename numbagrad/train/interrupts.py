"""Ctrl-C during ``fit`` stops at the next boundary between compiled segments.

Python raises ``KeyboardInterrupt`` at any bytecode, possibly between a
compiled segment's return and the bookkeeping that records it. Inside
:func:`deferred_interrupts` a SIGINT only sets a flag; ``fit`` checks it
between segments, where the model, the optimizer's step count and the history
agree, and raises ``KeyboardInterrupt`` from there.
"""

from __future__ import annotations

import contextlib
import signal
import threading

__all__ = ["deferred_interrupts"]


class _Flag:
    def __init__(self):
        self.raised = False

    def check(self) -> None:
        if self.raised:
            self.raised = False
            raise KeyboardInterrupt("training interrupted; the model keeps the weights of the last completed step")


@contextlib.contextmanager
def deferred_interrupts():
    flag = _Flag()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is None:  # installed outside Python: restore Python's default afterwards
        previous = signal.default_int_handler

    def handler(signum, frame):
        flag.raised = True

    signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)
