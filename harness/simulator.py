"""Simulated wall-clock time: a discrete-event simulation of N workers (as syne-tune's simulator).

Each free worker asks the optimizer for a trial; the evaluation is looked up at once and the job
finishes at ``start + cost`` (invalid configurations cost 0).  Completions are processed in time
order, ties first-in first-out, and every completion at a time is told to the optimizer before
free workers ask again.  A worker whose ask returns ``None`` (a rung waiting for results) stays
idle until the next completion.  Jobs still running at the time budget are dropped.  An ask
that raises :class:`~optimizers.SearchExhausted` ends the asking: the jobs running finish.
"""
from __future__ import annotations

import heapq
import time

import numpy as np

from benchmark.objectives import Objective
from optimizers import Optimizer, Result

from .bookkeeping import MAX_FREE_EVALUATIONS, RunBook, SimulationError
from .events import Events

__all__ = ["MAX_FREE_EVALUATIONS", "SimulationError", "simulate"]


def simulate(objective: Objective, optimizer: Optimizer, time_budget: float, workers: int,
             bench_rng: np.random.Generator, *, charge_optimizer_time: bool = False,
             max_evaluations: int | None = None, record_invalid: bool = True) -> Events:
    """Run one optimizer against the objective for ``time_budget`` simulated seconds.

    One event-queue loop for every worker count; its bookkeeping (free workers, limits,
    exhaustion, events) is the live loop's, :class:`~harness.bookkeeping.RunBook`.
    ``charge_optimizer_time`` delays each new job by the wall time of its ask and look-up plus
    the tells made since the previous ask (the optimizer's compute then costs simulated time,
    as on a real cluster); ``max_evaluations`` stops asking after that many;
    ``record_invalid`` False tells invalid results but records none.
    """
    if not (isinstance(time_budget, (int, float)) and 0 < time_budget < float("inf")):
        raise ValueError(f"time_budget must be a positive finite number of simulated seconds, "
                         f"got {time_budget!r}")
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    if max_evaluations is not None and (isinstance(max_evaluations, bool) or not isinstance(
            max_evaluations, (int, np.integer)) or max_evaluations < 1):
        raise ValueError(f"max_evaluations must be a positive integer or None, got "
                         f"{max_evaluations!r}")
    book = RunBook(optimizer.name, workers, time_budget, max_evaluations)
    may_ask, book_ask, complete = book.may_ask, book.ask, book.complete
    take, release = book.take, book.release
    perf_counter, heappush, heappop = time.perf_counter, heapq.heappush, heapq.heappop
    ask, tell, evaluate = optimizer.ask, optimizer.tell, objective.evaluate
    told_invalid: dict[int, Result] = {}   # budget -> the (immutable) Result of an invalid cell
    running: list[tuple] = []              # heap of (end, seq, worker, start, trial, result)
    seq = 0
    clock = told = 0.0                     # told: the optimizer's seconds in the tells since
    while True:                            # the last ask
        while may_ask(clock):
            t0 = perf_counter()
            trial = book_ask(ask, clock)
            if trial is None:
                break
            result = evaluate(trial.config, trial.budget, bench_rng)
            if charge_optimizer_time:
                start = clock + told + (perf_counter() - t0)
                told = 0.0
            else:
                start = clock
            heappush(running, (start + result[2], seq, take(), start, trial, result))
            seq += 1
        if not running:
            book.check_waiting(clock)
            break
        end = running[0][0]
        if end > time_budget:
            break
        clock = end
        while True:   # every completion at this time, first started first
            _, _, worker, start, trial, result = heappop(running)
            validation_error, test_error, cost, budget, invalid, cell, _ = result
            if invalid:  # the objective's invalid result is the same for every cell
                told_result = told_invalid.get(budget)
                if told_result is None:
                    told_result = told_invalid[budget] = Result(validation_error, cost, True,
                                                                budget)
            else:
                told_result = Result(validation_error, cost, False, budget)
            release(worker)
            told += complete(tell, trial, told_result, (
                trial.id, worker, budget, cell or "", start, end, validation_error, test_error,
                cost, invalid) if record_invalid or not invalid else None)
            if not running or running[0][0] != end:
                break
        book.reorder()
    return book.finish()
