"""The local backend: runs one after another on this machine, each in a child process.

A child forked from the driver inherits the table already opened (no start-up cost beyond the
fork, ~ms) and dies with its run: a plug-in optimizer that calls ``sys.exit`` or ``os._exit``,
raises ``KeyboardInterrupt`` or crashes the interpreter fails its own run only, as on Ray, and no
process-wide change an optimizer makes (a patched class, a logger level) reaches the next run.
A child drops its copy of the folder's lock and is killed with its parent, so a killed
``nasbench run`` leaves neither a computing orphan nor a held lock.  Where ``fork`` is not
available the runs execute in this process.
"""
from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .config import BenchmarkConfig, BudgetConfig, Experiment
from .plan import RunSpec
from .results import drop_inherited_locks
from .task import execute_run, failed_outcome

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
    """``execute_run`` in a forked child; its outcome comes back through a pipe."""
    ctx = multiprocessing.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child_main, args=(sender, bench, budget, run, os.getpid()),
                        daemon=True, name=f"nasbench {run.label} seed {run.seed}")
    child.start()
    sender.close()
    try:
        outcome = receiver.recv()
    except EOFError:  # the child ended without sending anything
        outcome = None
    finally:
        receiver.close()
        child.join()
    if outcome is None:
        return failed_outcome(f"the run's process ended without a result (exit code "
                              f"{child.exitcode}): the optimizer called os._exit, or the "
                              "process was killed or crashed")
    return outcome


def _child_main(sender, bench: BenchmarkConfig, budget: BudgetConfig, run: RunSpec,
                parent: int) -> None:
    drop_inherited_locks()
    _die_with(parent)
    try:
        outcome = execute_run(bench, budget, run)
    except BaseException:  # noqa: BLE001 - sys.exit or KeyboardInterrupt from the optimizer
        outcome = failed_outcome(traceback.format_exc())
    sender.send(outcome)
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
