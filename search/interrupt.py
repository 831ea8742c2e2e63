"""SIGTERM handled as Ctrl-C: a scheduler's stop (or `kill`) marks the running work failed
("interrupted") and exits, as Ctrl-C does, instead of leaving its trial RUNNING."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Final

#: Exit codes: 128 + the signal's number, as a shell reports a process that it ended.
EXIT_INTERRUPT: Final = 128 + signal.SIGINT
EXIT_TERMINATED: Final = 128 + signal.SIGTERM


class Terminated(KeyboardInterrupt):
    """The process got SIGTERM; handled wherever Ctrl-C is."""


def _raise(signum: int, frame: FrameType | None) -> None:
    raise Terminated


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises Terminated (a KeyboardInterrupt) in the main thread;
    the SIGINT and SIGTERM handlers of before the block come back after it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def ignore_stops() -> None:
    """Ignore further Ctrl-Cs and SIGTERMs until the end of the sigterm_as_interrupt block:
    the cleanup after the first must not be cut short (a helper that outlasts its grace
    is killed)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def exit_code(e: KeyboardInterrupt) -> int:
    """130 after Ctrl-C, 143 after SIGTERM."""
    return EXIT_TERMINATED if isinstance(e, Terminated) else EXIT_INTERRUPT
