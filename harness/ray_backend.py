"""The Ray backend: runs fanned out as Ray tasks, a window of a few per CPU in flight, on a
local Ray or an existing cluster (see :mod:`.cluster`)."""
from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .cluster import ray_session
from .config import Experiment
from .plan import RunSpec
from .task import execute_run, failed_outcome

log = logging.getLogger(__name__)


def execute_and_write(bench, budget, run: RunSpec, output: str) -> dict[str, Any]:
    """execute_run, then write the run file (atomically) here in the worker: on a local Ray
    the workers share the output folder, and the run's bytes need not travel to the driver."""
    from .results import write_run

    outcome = execute_run(bench, budget, run)
    if outcome["status"] == "ok":
        write_run(Path(output), run.key, outcome.pop("data"), outcome.pop("overhead"))
    return outcome


def run_on_ray(experiment: Experiment, todo: list[RunSpec], output: Path,
               finished: Callable[[RunSpec, dict[str, Any]], None]) -> None:
    with ray_session(experiment.execution.address, experiment.execution.cpus):
        _fan_out(experiment, todo, output, finished)


def _fan_out(experiment: Experiment, todo: list[RunSpec], output: Path,
             finished: Callable[[RunSpec, dict[str, Any]], None]) -> None:
    import ray

    local = not experiment.execution.address
    task = execute_and_write if local else execute_run
    remote = ray.remote(num_cpus=1, max_retries=experiment.execution.max_retries)(task)
    bench = ray.put(experiment.benchmark)
    budget = ray.put(experiment.budget)
    extra = (str(output.resolve()),) if local else ()
    # A window of a few tasks per CPU in flight, not every run at once: the driver's waits
    # stay short (waiting on thousands of references costs it ~ms each time).
    window = 4 * max(1, int(ray.cluster_resources().get("CPU", 1)))
    queue = iter(todo)
    pending: dict[Any, RunSpec] = {}
    try:
        while True:
            for run in itertools.islice(queue, window - len(pending)):
                pending[remote.remote(bench, budget, run, *extra)] = run
            if not pending:
                break
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                run = pending.pop(ref)
                try:
                    outcome = ray.get(ref)
                except ray.exceptions.RayError as exc:
                    outcome = failed_outcome(f"Ray task failed after retries:\n{exc}")
                finished(run, outcome)
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
