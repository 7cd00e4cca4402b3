"""The live benchmark (``nasbench101-live``): the optimizers against real training on Ray.

The same protocol as the simulator, in wall-clock time: ``budget.workers`` trainer actors (one
GPU each when the cluster has GPUs, CIFAR-10 loaded once per actor); each free worker asks the
optimizer, the trial's cell is trained at its budget (epochs) with the paper's pipeline, and
results are told in the order they finish.  Invalid cells are not trained: they finish at once
with error 1 and cost 0, as in the table.  No trial is asked after the time budget; trainings
still running then stop themselves at the deadline and are dropped.  Runs (optimizer x seed)
run one after another on the same actors.

Events have the simulator's columns, with wall-clock seconds since the run started; ``cost``
is the training time the trainer measured (as the table's ``final_training_time``).  There is
no known optimum, so regrets are errors (``y_star`` 0).  The optimizer's Generator and every
trial's training seed derive from the run's seed, as in simulated runs; the timings (and so
which trials fit in the budget) are the machine's.  The loop is the simulator's protocol on a
real clock (``ray.wait`` instead of an event heap), with its bookkeeping
(:class:`~harness.bookkeeping.RunBook`); which configurations are invalid is the
table's rule, ``Encoding.cell``.
"""
from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.errors import UserError
from benchmark.objectives import get_encoding
from optimizers import Result, Trial

from .bookkeeping import RunBook
from .config import Experiment
from .events import Events
from .plan import RunSpec
from .results import encode_run
from .task import failed_outcome, make_optimizer, run_facts
from .watchdog import CallTimeout, call_limit

log = logging.getLogger(__name__)

#: Seconds to wait past the deadline for trainings to notice it before giving up on them.
GRACE = 600.0


class LiveError(UserError, RuntimeError):
    """The live benchmark cannot start (reported in one line by the CLI)."""


def run_live(experiment: Experiment, todo: list[RunSpec], output: Path,
             finished: Callable[[RunSpec, dict[str, Any]], None]) -> None:
    """Run ``todo`` one after another on ``budget.workers`` trainer actors."""
    from trainer.backend import keras

    from .cluster import ray_session

    keras()  # no trainer installed: one clear line here, not a failure in every actor
    execution = experiment.execution
    with ray_session(execution.address, execution.cpus):
        _run_on_actors(experiment, todo, finished)


def _run_on_actors(experiment: Experiment, todo: list[RunSpec],
                   finished: Callable[[RunSpec, dict[str, Any]], None]) -> None:
    import ray

    from .trainer_actor import TrainerActor

    live = experiment.benchmark.live_settings

    gpus = live.gpus_per_worker
    if gpus is None:
        gpus = 1.0 if ray.cluster_resources().get("GPU", 0) else 0.0
    actor = ray.remote(num_cpus=1, num_gpus=gpus)(TrainerActor)
    assert experiment.benchmark.data is not None   # BenchmarkConfig requires it for live runs
    data = str(Path(experiment.benchmark.data).expanduser().resolve())
    config = live.train_config()
    workers = experiment.budget.workers

    def start_actors() -> list:
        """``workers`` actors with the data loaded: a run's clock starts after that."""
        actors = [actor.remote(data, config) for _ in range(workers)]
        try:
            # Ray types an actor handle's methods as the class's plain methods
            ray.get([a.ready.remote() for a in actors])  # type: ignore[attr-defined]
        except ray.exceptions.RayError as exc:  # e.g. unreadable data: say why, in one line
            lines = str(getattr(exc, "cause", None) or exc).strip().splitlines()
            raise LiveError(f"{data}: the trainer actors did not start: "
                            f"{lines[-1] if lines else type(exc).__name__}") from None
        return actors

    actors = start_actors()
    for run in todo:
        outcome = execute_live_run(experiment, run, actors)
        if outcome["status"] != "ok":  # trainings may still run: start afresh
            for a in actors:
                ray.kill(a)
            actors = start_actors()
        finished(run, outcome)


def execute_live_run(experiment: Experiment, run: RunSpec, actors: list) -> dict[str, Any]:
    """One run; an optimizer or training error makes a failed run (with its traceback)."""
    started = time.perf_counter()
    bench, budget = experiment.benchmark, experiment.budget
    epochs = bench.live_settings.epochs
    encoding = get_encoding(bench.encoding)
    opt_seq, train_seq = np.random.SeedSequence(run.seed).spawn(2)
    optimizer = None
    try:
        optimizer = make_optimizer(run, encoding.config_space(seed=run.seed), epochs,
                                   np.random.default_rng(opt_seq))
        with call_limit(optimizer, budget.ask_timeout, run.label) as guarded:
            events = _drive(guarded, encoding, actors, budget, train_seq,
                            record_invalid=bench.invalid == "penalty")
    except (Exception, CallTimeout):  # noqa: BLE001 - recorded as a failed run
        return failed_outcome(traceback.format_exc(), time.perf_counter() - started)
    finally:
        if optimizer is not None:
            optimizer.close()
    facts = run_facts(run, budget, bench, events, y_star_valid=0.0, y_star_test=0.0,
                      surrogate=False, live=True)
    return {"status": "ok", "data": encode_run(events.arrays(), facts),
            "overhead": events.overhead_array(), "wall": time.perf_counter() - started}


def _drive(optimizer, encoding, actors: list, budget, train_seq: np.random.SeedSequence,
           record_invalid: bool) -> Events:
    """The asynchronous ask/train/tell loop of one run, in wall-clock time."""
    import ray

    t0 = time.monotonic()
    deadline = time.time() + budget.time      # what the trainers compare against

    def clock() -> float:
        return time.monotonic() - t0

    book = RunBook(optimizer.name, len(actors), budget.time, budget.max_evaluations)
    running: dict[Any, tuple[int, Trial, float, str]] = {}
    while True:
        while book.may_ask(clock()):
            trial = book.ask(optimizer.ask, clock())
            if trial is None:
                break
            spec = encoding.cell(trial.config)
            now = clock()
            if spec is None:  # finishes at once, the worker stays free
                book.complete(optimizer.tell, trial, Result(1.0, 0.0, True, trial.budget), (
                    trial.id, book.next_worker, trial.budget, "", now, now, 1.0, 1.0, 0.0, True)
                    if record_invalid else None)
                continue
            worker = book.take()
            seed = np.random.SeedSequence(train_seq.entropy,
                                          spawn_key=(*train_seq.spawn_key, trial.id))
            ref = actors[worker].train.remote(None, spec.matrix.tolist(), list(spec.ops),
                                              int(trial.budget), seed, deadline)
            running[ref] = (worker, trial, now, spec.hash())
        if not running:
            book.check_waiting(clock())
            break
        done, _ = ray.wait(list(running), num_returns=1,
                           timeout=max(0.0, budget.time - clock()) + GRACE)
        if not done:
            log.warning("%d training(s) did not stop at the deadline; dropped", len(running))
            break
        for ref in done:
            worker, trial, start, cell_hash = running.pop(ref)
            _, result = ray.get(ref)  # a training error fails the run
            end = clock()
            book.release(worker)
            if result is None or end > budget.time:
                continue  # unfinished at the time budget: dropped, as simulated
            final = result.evaluations[-1]
            error = 1.0 - final.validation_accuracy
            book.complete(optimizer.tell, trial, Result(error, final.training_time, False,
                                                        trial.budget),
                          (trial.id, worker, trial.budget, cell_hash, start, end, error,
                           1.0 - final.test_accuracy, final.training_time, False))
        book.reorder()
    return book.finish()
