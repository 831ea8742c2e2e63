"""search.interrupt: SIGTERM stops work as Ctrl-C does, and the handlers are only borrowed."""

from __future__ import annotations

import os
import signal
import time

import pytest

from search.interrupt import Terminated, exit_code, ignore_stops, sigterm_as_interrupt

STOPS = (signal.SIGINT, signal.SIGTERM)


def test_sigterm_raises_a_keyboard_interrupt_within_the_block() -> None:
    with pytest.raises(KeyboardInterrupt) as caught, sigterm_as_interrupt():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)  # the handler raises long before this ends
    assert isinstance(caught.value, Terminated)
    assert exit_code(caught.value) == 143 and exit_code(KeyboardInterrupt()) == 130


def test_the_handlers_come_back_after_the_block_even_after_ignore_stops() -> None:
    before = [signal.getsignal(s) for s in STOPS]
    with sigterm_as_interrupt():
        assert signal.getsignal(signal.SIGTERM) not in before
        ignore_stops()
        assert [signal.getsignal(s) for s in STOPS] == [signal.SIG_IGN] * 2
    assert [signal.getsignal(s) for s in STOPS] == before
