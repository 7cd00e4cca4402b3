"""A time limit on each of an optimizer's calls (``budget.ask_timeout``): an ``ask`` or ``tell``
that does not return within it fails its own run, and no hung call keeps a process forever.

The simulator sees the optimizer through :class:`Guarded`, which stamps the start of each call
on a clock (a ``.value`` of monotonic seconds, 0 between calls: a plain cell, or shared memory
that a parent process reads).  A watchdog thread (:func:`call_limit`) reads the stamp; when a
call has run past the limit it interrupts the run's thread: a signal raises
:class:`CallTimeout` there (the main thread: a forked child, a Ray worker, the command itself),
which ends a wait, a sleep or a Python loop and leaves the optimizer's traceback in the run's
failure.  A call that neither returns nor ends on the interrupt (C code holding the
interpreter, an optimizer that swallows it) is the process's to end: the local backend's parent
kills its child after :func:`grace` more seconds (:func:`hard_limit`), a Ray worker exits
(``on_stuck``), and a run in the command's own process (no ``fork``) stays stuck.
"""
from __future__ import annotations

import contextlib
import ctypes
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol

#: the signal that interrupts the run's thread
SIGNAL = signal.SIGALRM


class CallTimeout(BaseException):
    """An optimizer's call that did not return within ``budget.ask_timeout``.  A
    ``BaseException`` (as ``KeyboardInterrupt``): an optimizer's ``except Exception`` does not
    swallow it."""


class Clock(Protocol):
    value: float


class _Cell:
    value = 0.0


def grace(limit: float) -> float:
    """Seconds a call may take to end once interrupted, before its process is ended."""
    return min(limit, 30.0)


def hard_limit(limit: float) -> float:
    """Seconds after a call's start at which a process that still runs it is killed."""
    return limit + 2 * grace(limit)


def poll_interval(limit: float) -> float:
    """How often a watcher looks at a call's start stamp."""
    return min(limit / 4, 1.0)


def overdue(clock: Clock, seconds: float) -> bool:
    """Whether the call stamped on ``clock`` (0: none running) started over ``seconds`` ago."""
    since = clock.value
    return bool(since) and time.monotonic() - since > seconds


def message(name: str, what: str, limit: float) -> str:
    return f"{name}: {what} did not return within {limit:g} s (budget.ask_timeout)"


class Guarded:
    """The optimizer as the simulator sees it: ``ask`` and ``tell`` with their start stamped
    on ``clock``; a call made after the limit was hit raises :class:`CallTimeout`."""

    def __init__(self, optimizer: Any, clock: Clock, limit: float, label: str):
        self.optimizer = optimizer
        self.name = optimizer.name
        self.label = label
        self.clock = clock
        self.limit = limit
        self.current = "ask"
        self.expired = False

    def _timeout(self) -> CallTimeout:
        return CallTimeout(message(self.label, self.current, self.limit))

    def _named(self, exc: CallTimeout) -> CallTimeout:
        """``exc`` with its message (one raised off the main thread has none), its frames kept:
        they show where the optimizer was when interrupted."""
        return exc if exc.args else self._timeout().with_traceback(exc.__traceback__)

    def ask(self):
        self.current = "ask"
        self.clock.value = time.monotonic()
        try:
            trial = self.optimizer.ask()
        except CallTimeout as exc:
            raise self._named(exc) from None
        finally:
            self.clock.value = 0.0
        if self.expired:   # it returned, but late (it swallowed the interrupt)
            raise self._timeout()
        return trial

    def tell(self, trial, result) -> None:
        self.current = "tell"
        self.clock.value = time.monotonic()
        try:
            self.optimizer.tell(trial, result)
        except CallTimeout as exc:
            raise self._named(exc) from None
        finally:
            self.clock.value = 0.0
        if self.expired:
            raise self._timeout()


@contextlib.contextmanager
def call_limit(optimizer: Any, limit: float, label: str, clock: Clock | None = None,
               on_stuck: Callable[[str], None] | None = None) -> Iterator[Guarded]:
    """The optimizer guarded (:class:`Guarded`) for the block, a watchdog thread alive.

    Args:
        optimizer: what ``ask`` and ``tell`` are called on.
        limit: seconds one call may take.
        label: the run's optimizer, as the failure names it.
        clock: where each call's start is stamped (shared memory read by a parent process);
            default: a cell of this process.
        on_stuck: called (in the watchdog thread, with the failure's message) when a call has
            not ended :func:`grace` seconds after it was interrupted: the process should end.
    """
    clock = clock if clock is not None else _Cell()
    guarded = Guarded(optimizer, clock, limit, label)
    target = threading.current_thread()
    in_main = target is threading.main_thread()
    stop = threading.Event()

    def interrupt(signum, frame):
        if guarded.expired and clock.value:
            raise guarded._timeout()

    def watch() -> None:
        while not stop.wait(poll_interval(limit)):
            since = clock.value
            if not overdue(clock, limit):
                continue
            guarded.expired = True
            assert target.ident is not None   # the target thread has started
            if in_main:
                signal.pthread_kill(target.ident, SIGNAL)
            else:   # no signal handler off the main thread: an exception at its next bytecode
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(target.ident),
                                                           ctypes.py_object(CallTimeout))
            if not stop.wait(grace(limit)) and clock.value == since and on_stuck:
                on_stuck(f"{message(label, guarded.current, limit)}, nor end when "
                         "interrupted")
            return

    previous = signal.signal(SIGNAL, interrupt) if in_main else None
    thread = threading.Thread(target=watch, name="nasbench ask_timeout", daemon=True)
    thread.start()
    try:
        yield guarded
    finally:
        stop.set()
        thread.join()
        if in_main:
            guarded.expired = False   # a signal still pending now raises nothing
            signal.signal(SIGNAL, previous)
