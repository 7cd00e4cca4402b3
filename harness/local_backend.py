"""The local backend: runs one after another on this machine, each in a child process.

A child forked from the driver inherits the table already opened (no start-up cost beyond the
fork, ~ms) and dies with its run: a plug-in optimizer that calls ``sys.exit`` or ``os._exit``,
raises ``KeyboardInterrupt``, crashes the interpreter or hangs in a call past
``budget.ask_timeout`` fails its own run only, as on Ray, and no process-wide change an
optimizer makes (a patched class, a logger level) reaches the next run.
A child drops its copy of the folder's lock and is killed with its parent, so a killed
``nasbench run`` leaves neither a computing orphan nor a held lock.  Where ``fork`` is not
available the runs execute in this process (a hung call is then interrupted where Python can
interrupt it, see :mod:`.watchdog`, else it keeps the command).
"""
from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .config import BenchmarkConfig, BudgetConfig, Experiment
from .interrupts import ended_by_interrupts, interrupts_held
from .plan import RunSpec
from .results import drop_inherited_locks
from .task import execute_alone, execute_run, failed_outcome
from .watchdog import CallTimeout, hard_limit, message, overdue, poll_interval

_PR_SET_PDEATHSIG = 1


def run_locally(experiment: Experiment, todo: list[RunSpec], output: Path,
                finished: Callable[[RunSpec, dict[str, Any]], None]) -> None:
    isolate = "fork" in multiprocessing.get_all_start_methods()
    for run in todo:
        if isolate:
            outcome = _in_child(experiment.benchmark, experiment.budget, run)
        else:
            outcome = execute_run(experiment.benchmark, experiment.budget, run)
        finished(run, outcome)


def _in_child(bench: BenchmarkConfig, budget: BudgetConfig, run: RunSpec) -> dict[str, Any]:
    """``execute_run`` in a forked child; its outcome comes back through a pipe.  The child
    stamps the start of each optimizer call in shared memory: a call it could not interrupt
    (see :mod:`.watchdog`) is ended here, by killing the child."""
    ctx = multiprocessing.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    clock = ctx.RawValue("d", 0.0)
    child = ctx.Process(target=_child_main, args=(sender, bench, budget, run, os.getpid(),
                                                  clock),
                        daemon=True, name=f"nasbench {run.label} seed {run.seed}")
    stuck = False
    try:
        with interrupts_held():   # (an interrupt during the fork would be lost)
            child.start()
        sender.close()
        stuck = _wait(receiver, clock, budget.ask_timeout)
        if stuck:
            child.kill()
            outcome = None
        else:
            outcome = receiver.recv()
    except EOFError:  # the child ended without sending anything
        outcome = None
    except KeyboardInterrupt:   # Ctrl-C or SIGTERM to this process alone: its run ends too
        if child.pid is not None:
            child.kill()
        raise
    finally:
        receiver.close()
        if child.pid is not None:
            child.join()
    if stuck:
        return failed_outcome(f"{CallTimeout.__module__}.CallTimeout: "
                              f"{message(run.label, 'an ask or tell', budget.ask_timeout)}, "
                              f"nor end when interrupted; its process was killed")
    if outcome is None:
        return failed_outcome(f"the run's process ended without a result (exit code "
                              f"{child.exitcode}): the optimizer called os._exit, or the "
                              "process was killed or crashed")
    return outcome


def _wait(receiver, clock, limit: float) -> bool:
    """Wait for the child's outcome (or its end); True if instead one optimizer call has run
    past :func:`~.watchdog.hard_limit`."""
    while not receiver.poll(poll_interval(limit)):
        if overdue(clock, hard_limit(limit)):
            return True
    return False


def _child_main(sender, bench: BenchmarkConfig, budget: BudgetConfig, run: RunSpec,
                parent: int, clock) -> None:
    ended_by_interrupts()   # this process ends when its parent is interrupted
    drop_inherited_locks()
    _die_with(parent)
    sender.send(execute_alone(bench, budget, run, clock))
    sender.close()


def _die_with(parent: int) -> None:
    """Linux: the kernel kills this child when its parent dies (even by SIGKILL), so no run
    goes on computing for nobody; a parent already gone ends it now."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:
        os._exit(1)
