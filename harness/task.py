"""The run task every backend executes: one (optimizer, seed) run from its settings alone.

A run builds its objective (the table memory-mapped once per worker process and cached), its
optimizer and two Generators derived from the seed alone (``SeedSequence(seed).spawn(2)``: one
for the optimizer, one for the benchmark's repeat sampling), simulates, and returns the bytes of
its result file; the caller writes them atomically.  Results therefore do not depend on which
process runs a run or in which order.  An optimizer that raises makes a failed run (with its
traceback) while the others finish.  An outcome is a dict: ``status`` ``'ok'`` with ``data``
(the run file's bytes), ``overhead`` and ``wall``, or ``'failed'`` with ``traceback``.
"""
from __future__ import annotations

import gc
import logging
import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from .config import BenchmarkConfig, BudgetConfig
from .events import Events
from .plan import RunSpec
from .results import encode_run
from .watchdog import CallTimeout, Clock, call_limit

if TYPE_CHECKING:
    from optimizers import Optimizer

_OBJECTIVES: dict[str, Any] = {}   # per-process cache: benchmark settings -> Objective


def objective_for(bench: BenchmarkConfig):
    """The objective of a benchmark configuration, built once per process."""
    cache_key = bench.model_dump_json()
    objective = _OBJECTIVES.get(cache_key)
    if objective is None:
        from benchmark import NASBench
        from benchmark.objectives import Objective

        if bench.name == "surrogate":
            table = NASBench.surrogate(bench.table_seed)
        else:
            assert bench.data is not None   # BenchmarkConfig requires it for nasbench101
            table = NASBench(bench.data)
        objective = Objective(table, bench.encoding, repeat=bench.repeat, cost=bench.cost,
                              absent=bench.absent, cells=bench.cells,
                              max_vertices=bench.max_vertices)
        _OBJECTIVES[cache_key] = objective
    return objective


def execute_run(bench: BenchmarkConfig, budget: BudgetConfig, run: RunSpec,
                clock: Clock | None = None,
                on_stuck: Callable[[str], None] | None = None) -> dict[str, Any]:
    """One run; never raises for the optimizer's errors, ``sys.exit`` and a call past
    ``budget.ask_timeout`` included (they make a failed run).  See :mod:`.local_backend` for
    what a process of its own adds, :func:`.watchdog.call_limit` for ``clock`` and
    ``on_stuck``."""
    from .simulator import simulate

    started = time.perf_counter()
    objective = objective_for(bench)
    opt_seq, bench_seq = np.random.SeedSequence(run.seed).spawn(2)
    # Objects alive before the run (the table's look-ups, imported modules: many in a Ray
    # worker) are left out of the cyclic garbage collector's scans while the run allocates.
    gc.freeze()
    try:
        optimizer = make_optimizer(run, objective.config_space(seed=run.seed),
                                   objective.budgets, np.random.default_rng(opt_seq))
        try:
            with call_limit(optimizer, budget.ask_timeout, run.label, clock, on_stuck) as guarded:
                # Guarded has what the simulator calls of an Optimizer: ask, tell, name
                events = simulate(objective, cast("Optimizer", guarded), budget.time,
                                  budget.workers, np.random.default_rng(bench_seq),
                                  charge_optimizer_time=budget.charge_optimizer_time,
                                  max_evaluations=budget.max_evaluations,
                                  record_invalid=bench.invalid == "penalty")
        finally:
            optimizer.close()  # an error here fails this run too
    except (Exception, SystemExit, CallTimeout):  # noqa: BLE001 - recorded as a failed run
        return failed_outcome(traceback.format_exc(), time.perf_counter() - started)
    finally:
        gc.unfreeze()
    facts = run_facts(run, budget, bench, events, y_star_valid=objective.y_star_valid,
                      y_star_test=objective.y_star_test,
                      surrogate=objective.nasbench.is_surrogate, table=objective.nasbench.label)
    return {"status": "ok", "data": encode_run(events.arrays(), facts),
            "overhead": events.overhead_array(), "wall": time.perf_counter() - started}


def execute_alone(bench: BenchmarkConfig, budget: BudgetConfig, run: RunSpec,
                  clock: Clock | None = None,
                  on_stuck: Callable[[str], None] | None = None) -> dict[str, Any]:
    """:func:`execute_run` in a process that exists to run runs (a forked child, a Ray
    worker), where a ``KeyboardInterrupt`` or any other ``BaseException`` the optimizer raises
    fails its run too, with the optimizer's traceback (in the command's own process it stops
    the command: it is the user's Ctrl-C)."""
    try:
        return execute_run(bench, budget, run, clock, on_stuck)
    except BaseException:  # noqa: BLE001 - KeyboardInterrupt (or another) from the optimizer
        return failed_outcome(traceback.format_exc())


#: Log levels of the optimizers' libraries in a run: their INFO lines (one per Optuna trial,
#: hyperopt's TPE statistics, SMAC's intensifier) would drown the harness's own.  Set here, by
#: the application, around building the optimizer (see :func:`make_optimizer`).
LIBRARY_LOG_LEVELS = {"optuna": logging.WARNING, "hyperopt": logging.WARNING,
                      "smac": logging.ERROR, "hpbandster": logging.ERROR}


def quiet_libraries() -> None:
    for name, level in LIBRARY_LOG_LEVELS.items():
        logging.getLogger(name).setLevel(level)


def failed_outcome(text: str, wall: float = 0.0) -> dict[str, Any]:
    """What a failed run reports: its traceback (or a sentence saying how it ended)."""
    return {"status": "failed", "traceback": text, "wall": wall}


def make_optimizer(run: RunSpec, space, budgets: list[int], rng: np.random.Generator):
    """The run's optimizer: every budget for a multi-fidelity one, else the largest; the
    libraries' log levels set (:data:`LIBRARY_LOG_LEVELS`)."""
    from optimizers import get_optimizer

    cls = get_optimizer(run.optimizer)
    quiet_libraries()   # before: SMAC logs while it is being built
    optimizer = cls(space, cls.offered_budgets(budgets), rng, **run.params)
    quiet_libraries()   # after: Optuna, first imported by the constructor, resets its level
    return optimizer


def run_facts(run: RunSpec, budget: BudgetConfig, bench: BenchmarkConfig, events: Events,
              **extra: Any) -> dict[str, Any]:
    """What a run file records about its run besides the events (``exhausted_at`` only for a
    run whose optimizer ran out of proposals: the other run files keep their bytes)."""
    from optimizers import get_optimizer

    params = get_optimizer(run.optimizer).defining_params(run.params)
    facts = {"label": run.label, "optimizer": run.optimizer, "params": params,
             "seed": run.seed, "evaluations": len(events), "time_budget": budget.time,
             "workers": budget.workers, "trajectory": budget.trajectory,
             "encoding": bench.encoding, **extra}
    if events.exhausted_at is not None:
        facts["exhausted_at"] = events.exhausted_at
    return facts
