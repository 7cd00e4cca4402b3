"""Execution backends: where the runs of a plan execute.

Every backend is a function with the same signature (:data:`Backend`)::

    backend(experiment, runs, output, finished)

It executes each run's task (:func:`harness.task.execute_run`, or the live variant) and calls
``finished(run, outcome)`` once per run, in the driver's process, as runs end; it writes
nothing itself except, on a local Ray, run files from the workers (then the outcome carries no
``data``).  It returns when every run has finished.  The table names them; a backend module
imports only the task and the cluster start-up, never the runner.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .config import Experiment
from .plan import RunSpec

Finished = Callable[[RunSpec, dict[str, Any]], None]
Backend = Callable[[Experiment, list[RunSpec], Path, Finished], None]

#: name -> (module, function); imported on use, so a local run never imports Ray
BACKENDS = {
    "local": ("harness.local_backend", "run_locally"),   # forked child process per run
    "ray": ("harness.ray_backend", "run_on_ray"),        # Ray tasks, local Ray or a cluster
    "live": ("harness.live", "run_live"),                # real training on Ray actors
}


def backend_name(experiment: Experiment) -> str:
    return "live" if experiment.benchmark.is_live else experiment.execution.backend


def backend_for(experiment: Experiment) -> Backend:
    module, function = BACKENDS[backend_name(experiment)]
    return getattr(importlib.import_module(module), function)
