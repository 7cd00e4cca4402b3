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
from dataclasses import dataclass

import numpy as np

from benchmark.objectives import Objective
from optimizers import Optimizer, Result

#: Per-evaluation columns of a run (besides optimizer and seed, stored once per run).
COLUMNS = ("trial", "worker", "budget", "hash", "start", "end", "validation_error",
           "test_error", "cost", "invalid")
MAX_FREE_EVALUATIONS = 1_000_000   # zero-cost evaluations in a row before a run is stopped


class SimulationError(RuntimeError):
    """An optimizer that can make no progress (e.g. waits with nothing pending)."""


@dataclass
class Events:
    """Column buffers of the evaluations of one run, in completion order."""

    trial: list[int]
    worker: list[int]
    budget: list[int]
    hash: list[str]
    start: list[float]
    end: list[float]
    validation_error: list[float]
    test_error: list[float]
    cost: list[float]
    invalid: list[bool]

    @classmethod
    def empty(cls) -> "Events":
        return cls(*([] for _ in COLUMNS))

    def __len__(self) -> int:
        return len(self.trial)

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "trial": np.asarray(self.trial, np.int64), "worker": np.asarray(self.worker, np.int32),
            "budget": np.asarray(self.budget, np.int32),
            "hash": np.asarray(self.hash, dtype="S32"),
            "start": np.asarray(self.start, np.float64), "end": np.asarray(self.end, np.float64),
            "validation_error": np.asarray(self.validation_error, np.float64),
            "test_error": np.asarray(self.test_error, np.float64),
            "cost": np.asarray(self.cost, np.float64), "invalid": np.asarray(self.invalid, bool)}


def simulate(objective: Objective, optimizer: Optimizer, time_budget: float, workers: int,
             bench_rng: np.random.Generator, *, charge_optimizer_time: bool = False,
             max_evaluations: int | None = None, record_invalid: bool = True) -> Events:
    """Run one optimizer against the objective for ``time_budget`` simulated seconds."""
    events = Events.empty()
    free = list(range(workers))           # idle workers, lowest id first
    running: list[tuple] = []              # heap of (end, seq, worker, start, trial, result)
    seq = 0
    clock = 0.0
    free_streak = 0
    evaluate = objective.evaluate
    count = 0
    while True:
        while free and clock < time_budget and (max_evaluations is None or count <
                                                max_evaluations):
            t0 = time.perf_counter() if charge_optimizer_time else 0.0
            trial = optimizer.ask()
            if trial is None:
                break
            result = evaluate(trial.config, trial.budget, bench_rng)
            delay = time.perf_counter() - t0 if charge_optimizer_time else 0.0
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
            optimizer.tell(trial, Result(result.validation_error, result.cost, result.invalid,
                                         trial.budget))
            free.append(worker)
            if not (result.invalid and not record_invalid):
                events.trial.append(trial.id)
                events.worker.append(worker)
                events.budget.append(trial.budget)
                events.hash.append(result.hash or "")
                events.start.append(start)
                events.end.append(end)
                events.validation_error.append(result.validation_error)
                events.test_error.append(result.test_error)
                events.cost.append(result.cost)
                events.invalid.append(result.invalid)
            free_streak = free_streak + 1 if result.cost == 0 else 0
        if free_streak > MAX_FREE_EVALUATIONS:
            raise SimulationError(f"{optimizer.name}: {MAX_FREE_EVALUATIONS} zero-cost "
                                  "evaluations in a row; the simulated clock cannot advance")
        free.sort()
    return events
