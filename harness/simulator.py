"""Simulated wall-clock time: a discrete-event simulation of N workers (as syne-tune's simulator).

Each free worker asks the optimizer for a trial; the evaluation is looked up at once and the job
finishes at ``start + cost`` (invalid configurations cost 0).  Completions are processed in time
order, ties first-in first-out, and every completion at a time is told to the optimizer before
free workers ask again.  A worker whose ask returns ``None`` (a rung waiting for results) stays
idle until the next completion.  Jobs still running at the time budget are dropped.
"""
from __future__ import annotations

import heapq
import time

import numpy as np

from benchmark.objectives import Objective
from optimizers import Optimizer, Result

from .events import Events

MAX_FREE_EVALUATIONS = 1_000_000   # zero-cost evaluations in a row before a run is stopped


class SimulationError(RuntimeError):
    """An optimizer that can make no progress (e.g. waits with nothing pending)."""


def simulate(objective: Objective, optimizer: Optimizer, time_budget: float, workers: int,
             bench_rng: np.random.Generator, *, charge_optimizer_time: bool = False,
             max_evaluations: int | None = None, record_invalid: bool = True) -> Events:
    """Run one optimizer against the objective for ``time_budget`` simulated seconds."""
    run = _simulate_one_worker if workers == 1 else _simulate_queue
    return run(objective, optimizer, time_budget, workers, bench_rng,
               charge_optimizer_time, max_evaluations, record_invalid)


def _simulate_queue(objective: Objective, optimizer: Optimizer, time_budget: float,
                    workers: int, bench_rng: np.random.Generator, charge_optimizer_time: bool,
                    max_evaluations: int | None, record_invalid: bool) -> Events:
    """The general event-queue loop (any number of workers)."""
    events = Events()
    record, spent_at = events.rows.append, events.overhead.append
    perf_counter = time.perf_counter
    free = list(range(workers))           # idle workers, lowest id first
    running: list[tuple] = []              # heap of (end, seq, worker, start, trial, result)
    seq = 0
    clock = 0.0
    free_streak = 0
    evaluate = objective.evaluate
    count = 0
    spent = 0.0                            # the optimizer's wall seconds in ask and tell
    while True:
        while free and clock < time_budget and (max_evaluations is None or count <
                                                max_evaluations):
            t0 = perf_counter()
            trial = optimizer.ask()
            t1 = perf_counter()
            spent += t1 - t0
            if trial is None:
                break
            result = evaluate(trial.config, trial.budget, bench_rng)
            delay = perf_counter() - t0 if charge_optimizer_time else 0.0
            worker = free.pop(0)
            start = clock + delay
            heapq.heappush(running, (start + result.cost, seq, worker, start, trial, result))
            seq += 1
            count += 1
        if not running:
            if free and clock < time_budget and (max_evaluations is None or count <
                                                 max_evaluations):
                raise SimulationError(f"{optimizer.name}: ask() returned None with no trial "
                                      "pending; it can never continue")
            break
        end = running[0][0]
        if end > time_budget:
            break
        clock = end
        while running and running[0][0] == end:
            _, _, worker, start, trial, result = heapq.heappop(running)
            t0 = perf_counter()
            optimizer.tell(trial, Result(result.validation_error, result.cost, result.invalid,
                                         trial.budget))
            spent += perf_counter() - t0
            free.append(worker)
            if not (result.invalid and not record_invalid):
                record((trial.id, worker, trial.budget, result.hash or "", start, end,
                        result.validation_error, result.test_error, result.cost,
                        result.invalid))
                spent_at(spent)
            free_streak = free_streak + 1 if result.cost == 0 else 0
        if free_streak > MAX_FREE_EVALUATIONS:
            raise SimulationError(f"{optimizer.name}: {MAX_FREE_EVALUATIONS} zero-cost "
                                  "evaluations in a row; the simulated clock cannot advance")
        free.sort()
    return events


def _simulate_one_worker(objective: Objective, optimizer: Optimizer, time_budget: float,
                         workers: int, bench_rng: np.random.Generator,
                         charge_optimizer_time: bool, max_evaluations: int | None,
                         record_invalid: bool) -> Events:
    """:func:`simulate` for one worker: each job ends before the next is asked for, so the event
    queue reduces to a clock.  Same asks, tells, draws and events as the general loop."""
    events = Events()
    record, spent_at = events.rows.append, events.overhead.append
    evaluate, ask, tell = objective.evaluate, optimizer.ask, optimizer.tell
    perf_counter = time.perf_counter
    limit = float("inf") if max_evaluations is None else max_evaluations
    told_invalid: dict[int, Result] = {}   # budget -> the (immutable) Result of an invalid cell
    clock = 0.0
    count = free_streak = 0
    spent = 0.0                            # the optimizer's wall seconds in ask and tell
    while clock < time_budget and count < limit:
        t0 = perf_counter()
        trial = ask()
        t1 = perf_counter()
        if trial is None:
            raise SimulationError(f"{optimizer.name}: ask() returned None with no trial "
                                  "pending; it can never continue")
        budget = trial.budget
        result = evaluate(trial.config, budget, bench_rng)
        start = clock + (perf_counter() - t0) if charge_optimizer_time else clock
        count += 1
        cost = result.cost
        end = start + cost
        if end > time_budget:
            break
        clock = end
        if result.invalid:  # the objective's invalid result is the same for every cell
            told = told_invalid.get(budget)
            if told is None:
                told = told_invalid[budget] = Result(result.validation_error, cost, True, budget)
            t2 = perf_counter()
            tell(trial, told)
            spent += t1 - t0 + perf_counter() - t2
            if record_invalid:
                record((trial.id, 0, budget, "", start, end, result.validation_error,
                        result.test_error, cost, True))
                spent_at(spent)
        else:
            t2 = perf_counter()
            tell(trial, Result(result.validation_error, cost, False, budget))
            spent += t1 - t0 + perf_counter() - t2
            record((trial.id, 0, budget, result.hash, start, end, result.validation_error,
                    result.test_error, cost, False))
            spent_at(spent)
        if cost:
            free_streak = 0
        else:
            free_streak += 1
            if free_streak > MAX_FREE_EVALUATIONS:
                raise SimulationError(f"{optimizer.name}: {MAX_FREE_EVALUATIONS} zero-cost "
                                      "evaluations in a row; the simulated clock cannot advance")
    return events
