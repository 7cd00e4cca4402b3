"""The bookkeeping of one run's ask/evaluate/tell loop, shared by the simulator
(:mod:`.simulator`, simulated time) and the live loop (:mod:`.live`, wall-clock time).

Free workers ask in order of their ids, lowest first.  Asking stops at the time budget, after
``max_evaluations`` trials, or when the optimizer raises :class:`~optimizers.SearchExhausted`
(the trials running then still finish, and the events record when).  The optimizer's own wall
seconds in ask and tell are summed, and recorded with each event.  A loop that can ask but gets
no trial with none running, or whose evaluations stop advancing, is a
:class:`SimulationError`; so is a run whose optimizer gave two trials one id.
"""
from __future__ import annotations

import time
from collections.abc import Callable

from optimizers import Result, SearchExhausted, Trial

from .events import Events

#: Evaluations in a row that cost nothing (invalid cells) before a run is stopped.
MAX_FREE_EVALUATIONS = 1_000_000


class SimulationError(RuntimeError):
    """An optimizer that can make no progress (e.g. waits with nothing pending)."""


class RunBook:
    """Free workers, the limits on asking, the optimizer's seconds and the events of one run."""

    __slots__ = ("name", "time_budget", "limit", "count", "free", "spent", "streak", "events",
                 "take", "release", "_rows", "_overhead")

    def __init__(self, name: str, workers: int, time_budget: float,
                 max_evaluations: int | None) -> None:
        self.name = name
        self.time_budget = time_budget
        self.limit: float = float("inf") if max_evaluations is None else max_evaluations
        self.count = 0                                   # trials asked
        self.free = list(range(workers - 1, -1, -1))     # idle workers, lowest id last
        self.spent = 0.0                                 # the optimizer's seconds so far
        self.streak = 0                                  # evaluations in a row costing nothing
        self.events = Events()
        #: ``take()``: the next worker (lowest id), now busy; ``release(worker)``: it is free
        #: again, and asks in its turn after :meth:`reorder`.  The list's own methods: the
        #: simulator calls them once per evaluation.
        self.take: Callable[[], int] = self.free.pop
        self.release: Callable[[int], None] = self.free.append
        self._rows, self._overhead = self.events.rows.append, self.events.overhead.append

    def may_ask(self, clock: float) -> bool:
        """Whether a worker is free and asking has not stopped at ``clock``."""
        return bool(self.free) and clock < self.time_budget and self.count < self.limit

    def ask(self, ask: Callable[[], Trial | None], clock: float) -> Trial | None:
        """The optimizer's next trial (timed), or None: it waits for results, or it is
        exhausted (then asking stops for good)."""
        t0 = time.perf_counter()
        try:
            trial = ask()
        except SearchExhausted:
            trial = None
            self.events.exhausted_at, self.limit = clock, self.count
        self.spent += time.perf_counter() - t0
        if trial is not None:
            self.count += 1
        return trial

    def complete(self, tell: Callable[[Trial, Result], None], trial: Trial, result: Result,
                 row: tuple | None) -> float:
        """A finished evaluation: told to the optimizer (timed), and ``row`` (its event, in
        :data:`~harness.events.COLUMNS` order; None: not recorded) recorded with the optimizer's
        seconds so far.  Returns the seconds the tell took.

        Raises:
            SimulationError: more than :data:`MAX_FREE_EVALUATIONS` evaluations in a row cost
                nothing (the clock cannot advance).
        """
        t0 = time.perf_counter()
        tell(trial, result)
        took = time.perf_counter() - t0
        self.spent += took
        if row is not None:
            self._rows(row)
            self._overhead(self.spent)
        if result.cost:
            self.streak = 0
        else:
            self.streak += 1
            if self.streak > MAX_FREE_EVALUATIONS:
                raise SimulationError(f"{self.name}: {MAX_FREE_EVALUATIONS} zero-cost (invalid) "
                                      "evaluations in a row; the clock cannot advance")
        return took

    @property
    def next_worker(self) -> int:
        """The worker that asks next (the free one with the lowest id)."""
        return self.free[-1]

    def reorder(self) -> None:
        """Free workers back in order of their ids, after a round of completions."""
        if len(self.free) > 1:
            self.free.sort(reverse=True)

    def check_waiting(self, clock: float) -> None:
        """With nothing running: an optimizer that could ask but gave no trial never
        continues."""
        if self.may_ask(clock):
            raise SimulationError(f"{self.name}: ask() returned None with no trial pending; it "
                                  "can never continue")

    def finish(self) -> Events:
        """The run's events; a :class:`SimulationError` if two trials had one id (the run file
        would be ambiguous)."""
        repeated = self.events.repeated_trial_id()
        if repeated is not None:
            raise SimulationError(f"{self.name}: trial id {repeated} was used by two trials; "
                                  "each trial needs its own id (Optimizer.new_trial gives one)")
        return self.events
