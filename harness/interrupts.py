"""SIGTERM as Ctrl-C: one exception and one handler, for every command and for a Ray run.

A light module (the CLI imports it before anything else): no import beyond the standard
library.
"""
from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator
from types import FrameType

#: the signals that end a command: Ctrl-C and SIGTERM
INTERRUPTS = frozenset({signal.SIGINT, signal.SIGTERM})


class Terminated(KeyboardInterrupt):
    """SIGTERM: handled as Ctrl-C (the runs done kept, the folder's lock released, Ray shut
    down); the command ends in one line with exit status 143."""


def sigterm_handler(received: list[int] | None = None) -> Callable[[int, FrameType | None], None]:
    """A SIGTERM handler that raises :class:`Terminated` in this process (noting the signal in
    ``received``).  A process forked from this one (a multiprocessing pool's worker, which its
    pool ends with SIGTERM) inherits the handler but ends silently, as by default."""
    owner = os.getpid()

    def handler(signum: int, frame: FrameType | None) -> None:
        if os.getpid() != owner:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        if received is not None:
            received.append(signum)
        raise Terminated

    return handler


@contextlib.contextmanager
def interrupts_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back while the block runs; one that arrived is raised as it
    ends.  For a fork: what a handler raises in the fork's own hooks (logging's lock release
    in the parent) is printed and ignored by Python, and the interrupt would be lost."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, INTERRUPTS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def ended_by_interrupts() -> None:
    """In a forked child that its parent ends: Ctrl-C and SIGTERM end it silently, as by
    default, and are no longer held back (:func:`interrupts_held` around the fork)."""
    for sig in INTERRUPTS:
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, INTERRUPTS)


__all__ = ["INTERRUPTS", "Terminated", "ended_by_interrupts", "interrupts_held",
           "sigterm_handler"]
