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
from optimizers import Optimizer, Result, SearchExhausted

from .events import Events

MAX_FREE_EVALUATIONS = 1_000_000   # zero-cost evaluations in a row before a run is stopped


class SimulationError(RuntimeError):
    """An optimizer that can make no progress (e.g. waits with nothing pending)."""


def simulate(objective: Objective, optimizer: Optimizer, time_budget: float, workers: int,
             bench_rng: np.random.Generator, *, charge_optimizer_time: bool = False,
             max_evaluations: int | None = None, record_invalid: bool = True) -> Events:
    """Run one optimizer against the objective for ``time_budget`` simulated seconds.

    One event-queue loop for every worker count (a special case for one worker was 1.01-1.13x
    faster, below the 1.3x that would justify a second loop).  ``charge_optimizer_time``
    delays each new job by the wall time of its ask and look-up plus the tells made since the
    previous ask (the optimizer's compute then costs simulated time, as on a real cluster);
    ``max_evaluations`` stops asking after that many; ``record_invalid`` False tells invalid
    results but records none.
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
    events = Events()
    record, spent_at = events.rows.append, events.overhead.append
    perf_counter, heappush, heappop = time.perf_counter, heapq.heappush, heapq.heappop
    ask, tell, evaluate = optimizer.ask, optimizer.tell, objective.evaluate
    limit = float("inf") if max_evaluations is None else max_evaluations
    told_invalid: dict[int, Result] = {}   # budget -> the (immutable) Result of an invalid cell
    free = list(range(workers - 1, -1, -1))   # idle workers, lowest id last (popped first)
    running: list[tuple] = []              # heap of (end, seq, worker, start, trial, result)
    seq = count = free_streak = 0
    clock = spent = told = 0.0             # spent: the optimizer's wall seconds in ask and
    while True:                            # tell; told: those in the tells since the last ask
        while free and clock < time_budget and count < limit:
            t0 = perf_counter()
            try:
                trial = ask()
            except SearchExhausted:   # the running jobs finish, then the run ends
                spent += perf_counter() - t0
                events.exhausted_at, limit = clock, count
                break
            spent += perf_counter() - t0
            if trial is None:
                break
            result = evaluate(trial.config, trial.budget, bench_rng)
            if charge_optimizer_time:
                start = clock + told + (perf_counter() - t0)
                told = 0.0
            else:
                start = clock
            heappush(running, (start + result[2], seq, free.pop(), start, trial, result))
            seq += 1
            count += 1
        if not running:
            if free and clock < time_budget and count < limit:
                raise SimulationError(f"{optimizer.name}: ask() returned None with no trial "
                                      "pending; it can never continue")
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
            t0 = perf_counter()
            tell(trial, told_result)
            t1 = perf_counter()
            spent += t1 - t0
            told += t1 - t0
            free.append(worker)
            if record_invalid or not invalid:
                record((trial.id, worker, budget, cell or "", start, end, validation_error,
                        test_error, cost, invalid))
                spent_at(spent)
            free_streak = 0 if cost else free_streak + 1
            if not running or running[0][0] != end:
                break
        if free_streak > MAX_FREE_EVALUATIONS:
            raise SimulationError(f"{optimizer.name}: {MAX_FREE_EVALUATIONS} zero-cost "
                                  "evaluations in a row; the simulated clock cannot advance")
        if len(free) > 1:
            free.sort(reverse=True)
    check_trial_ids(events, optimizer.name)
    return events


def check_trial_ids(events: Events, name: str) -> None:
    """A run whose optimizer gave two trials one id fails (its run file would be ambiguous)."""
    repeated = events.repeated_trial_id()
    if repeated is not None:
        raise SimulationError(f"{name}: trial id {repeated} was used by two trials; each trial "
                              "needs its own id (Optimizer.new_trial gives one)")
