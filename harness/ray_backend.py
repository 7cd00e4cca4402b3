"""The Ray backend: runs fanned out as Ray tasks, a window of a few per CPU in flight, on a
local Ray or an existing cluster (see :mod:`.cluster`).

On a cluster every node that runs tasks is checked first (:mod:`.node_check`: same code, the
table opens), and so is each run's node when its outcome comes back (a node may join later): a
node that differs stops the experiment in one line before any of its runs is written.  A run
whose worker or node is lost is retried elsewhere, at most ``execution.max_retries`` times, one
log line each; when no node with CPUs is left, one line says so (a rerun resumes).
"""
from __future__ import annotations

import collections
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .cluster import ClusterError, first_line, ray_session
from .config import BenchmarkConfig, BudgetConfig, Experiment
from .node_check import fingerprint, mismatch, node_address, node_facts
from .plan import RunSpec
from .results import RunKey
from .task import execute_alone, failed_outcome

log = logging.getLogger(__name__)

#: seconds between looks at the cluster while no run ends (is any node with CPUs left?)
POLL = 2.0
#: seconds a node may take to answer the check before the experiment is refused
NODE_CHECK_TIMEOUT = 600.0


def execute_and_write(bench, budget, run: RunSpec, output: str) -> dict[str, Any]:
    """execute_run, then write the run file (atomically) here in the worker: on a local Ray
    the workers share the output folder, and the run's bytes need not travel to the driver."""
    from .results import write_run

    outcome = execute_alone(bench, budget, run, on_stuck=_exit_worker)
    if outcome["status"] == "ok":
        write_run(Path(output), run.key, outcome.pop("data"), outcome.pop("overhead"))
    return outcome


def execute_on_node(bench: BenchmarkConfig, budget: BudgetConfig, run: RunSpec,
                    driver: dict[str, str | None]) -> dict[str, Any]:
    """execute_run on a cluster's node whose code is the driver's (``driver``: its
    :func:`~.node_check.fingerprint`); the outcome names the node.  A node with other code
    runs nothing and answers ``status`` ``'mismatch'``."""
    here = node_address()
    if fingerprint() != driver:
        return {"status": "mismatch", "facts": {"node": here, "fingerprint": fingerprint(),
                                                "table": None}}
    return {**execute_alone(bench, budget, run, on_stuck=_exit_worker), "node": here}


def _exit_worker(why: str) -> None:
    """End a Ray worker stuck in an optimizer's call it could not interrupt (see
    :mod:`.watchdog`): the run counts as lost (retried up to ``execution.max_retries``)."""
    print(f"nasbench: {why}; ending this Ray worker", file=sys.stderr, flush=True)
    os._exit(1)


def run_on_ray(experiment: Experiment, todo: list[RunSpec], output: Path,
               finished: Callable[[RunSpec, dict[str, Any]], None]) -> None:
    with ray_session(experiment.execution.address, experiment.execution.cpus):
        _fan_out(experiment, todo, output, finished)


def _worker_nodes() -> list[dict[str, Any]]:
    import ray

    return [n for n in ray.nodes() if n["Alive"] and n["Resources"].get("CPU", 0) > 0]


def check_nodes(bench: BenchmarkConfig) -> None:
    """Run :func:`~.node_check.node_facts` on every node with CPUs; :class:`ClusterError` has
    one line for each node that differs from the driver or cannot run this package."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    check = ray.remote(num_cpus=1, max_retries=0)(node_facts)
    nodes = _worker_nodes()
    refs = {check.options(scheduling_strategy=NodeAffinitySchedulingStrategy(
        n["NodeID"], soft=False)).remote(bench): n for n in nodes}
    if not refs:
        return   # none yet: the fan-out says so, or checks each run's node as it comes
    ready, late = ray.wait(list(refs), num_returns=len(refs), timeout=NODE_CHECK_TIMEOUT)
    problems = [f"node {refs[ref]['NodeManagerAddress']}: did not answer within "
                f"{NODE_CHECK_TIMEOUT:.0f} s; check its Ray ('ray status')" for ref in late]
    for ref in ready:
        node = refs[ref]["NodeManagerAddress"]
        try:
            facts = ray.get(ref)
        except (ray.exceptions.TaskUnschedulableError, ray.exceptions.NodeDiedError):
            continue   # a node that has just gone (the cluster has not noticed it yet)
        except ray.exceptions.RayError as exc:
            last = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            problems.append(f"node {node}: cannot run this package's code ({last}); install "
                            "nasbench-harness there as on the driver")
            continue
        why = mismatch(facts, bench)
        if why:
            problems.append(why)
    if problems:
        raise ClusterError("\n".join(sorted(problems)))


def _fan_out(experiment: Experiment, todo: list[RunSpec], output: Path,
             finished: Callable[[RunSpec, dict[str, Any]], None]) -> None:
    import ray

    address = experiment.execution.address
    max_retries = experiment.execution.max_retries
    bench_config = experiment.benchmark
    task: Callable[..., dict[str, Any]]
    extra: tuple[Any, ...]
    if address:
        if bench_config.data:   # a relative path means the driver's folder on every node
            bench_config = bench_config.model_copy(
                update={"data": str(Path(bench_config.data).expanduser().resolve())})
        check_nodes(bench_config)
        task, extra = execute_on_node, (fingerprint(),)
    else:
        task, extra = execute_and_write, (str(output.resolve()),)
    # Ray's own retries are silent; the driver retries lost runs itself, saying so.
    remote = ray.remote(num_cpus=1, max_retries=0)(task)
    bench = ray.put(bench_config)
    budget = ray.put(experiment.budget)
    # A window of a few tasks per CPU in flight, not every run at once: the driver's waits
    # stay short (waiting on thousands of references costs it ~ms each time).
    window = 4 * max(1, int(ray.cluster_resources().get("CPU", 1)))
    waiting = collections.deque(todo)   # lost runs go back to its front
    lost: dict[RunKey, int] = {}
    pending: dict[Any, RunSpec] = {}
    # What is still pending when this ends (an interrupt, an error) is not cancelled here:
    # ray.cancel races with the task's own reply in Ray's core, which then aborts the driver
    # ("Tried to complete task that was not pending", ray-project/ray#54738).  The shutdown
    # that follows ends the tasks: a local Ray stops its workers, and a cluster ends the
    # workers of a driver that is gone.
    while True:
        while waiting and len(pending) < window:
            run = waiting.popleft()
            pending[remote.remote(bench, budget, run, *extra)] = run
        if not pending:
            break
        done, _ = ray.wait(list(pending), num_returns=1, timeout=POLL)
        if not done and address and not _worker_nodes():
            raise ClusterError(
                f"the Ray cluster at {address} has no node with CPUs left (every worker "
                f"node is gone; {len(pending) + len(waiting)} runs not done): start worker "
                f"nodes ('ray start --address {address}') and run the experiment again: "
                "it resumes")
        for ref in done:
            run = pending.pop(ref)
            try:
                outcome = ray.get(ref)
            except ray.exceptions.RayTaskError as exc:
                outcome = failed_outcome(f"Ray task failed:\n{exc}")
            except ray.exceptions.RayError as exc:   # its worker or node was lost
                tries = lost[run.key] = lost.get(run.key, 0) + 1
                why = f"{type(exc).__name__}: {first_line(exc)}"
                if tries <= max_retries:
                    log.warning("%s seed %d: lost (%s); retry %d of %d", run.label,
                                run.seed, why, tries, max_retries)
                    waiting.appendleft(run)
                    continue
                outcome = failed_outcome(f"Ray task failed: its worker or node was lost "
                                         f"{tries} time(s), the last: {why}")
            if outcome["status"] == "mismatch":
                raise ClusterError(mismatch(outcome["facts"], bench_config))
            finished(run, outcome)

