"""Running an experiment, in layers: the plan (:mod:`.plan`: which runs, which are done), a
backend that executes the rest (:mod:`.backends`: local, Ray or live, each running the task of
:mod:`.task`), and the results folder (:mod:`.results`), written here as each run finishes.

``run_experiment`` holds the folder's lock, marks the folder with the experiment's identity,
starts the runs not done yet (longest first), writes each outcome as it arrives (run file, or
the traceback of a failed run) and finally ``metadata.json``.
"""
from __future__ import annotations

import json
import logging
import platform
import socket
import subprocess
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from benchmark.fileutil import atomic_write_text, remove_temporaries

from .backends import backend_for
from .config import Experiment, ExperimentError, read_saved, save_experiment
from .plan import RunSpec, plan, relative_cost, to_do
from .preflight import check_budgets, check_data
from .results import RUNS, output_lock, run_files, write_run
from .task import objective_for

log = logging.getLogger(__name__)


def prepare_output(experiment: Experiment, source: Path, output: Path, force: bool) -> None:
    """Create or resume the output folder; refuse a folder of a different experiment.  The
    seeds are not part of an experiment's identity: a folder resumed with other seeds keeps its
    runs, and its ``experiment.yaml`` lists every seed it holds runs for (so the report reads
    them all).  A folder marked the old way (seeds in the identity) is accepted and re-marked."""
    identity = experiment.identity()
    marker = output / "experiment.json"
    seeds = experiment.seeds
    _check_layout(experiment, output)
    if marker.exists():
        previous = _read_marker(marker, force)
        saved = read_saved(output)
        before = saved.seeds if saved else None
        legacy = before is not None and previous == experiment.identity(before)
        if previous != identity and not legacy:
            if not force:
                note = experiment.refusal_note(previous, before or experiment.seed_list)
                raise ExperimentError(f"{output}: holds results of a different experiment"
                                      f"{note}; "
                                      "use another --output, or --force to replace them")
            for path in run_files(output):
                path.unlink()
        elif before is not None and not set(before) <= set(experiment.seed_list):
            seeds = sorted({*before, *experiment.seed_list})
    output.mkdir(parents=True, exist_ok=True)
    save_experiment(experiment, output, seeds)
    atomic_write_text(marker, json.dumps({"identity": identity, "source": str(source)},
                                         indent=2) + "\n")


def _check_layout(experiment: Experiment, output: Path) -> None:
    """Folders of the layout that are files, and files that are folders, named before anything
    is written (a run would fail on them half-way)."""
    runs = output / RUNS
    for path in (output, runs, *(runs / o.key for o in experiment.optimizer_list())):
        if path.exists() and not path.is_dir():
            raise ExperimentError(f"{path}: is a file, where the results folder needs a folder; "
                                  "move it away or use another --output")
    for path in (output / "experiment.json", output / "experiment.yaml",
                 output / "metadata.json"):
        if path.is_dir():
            raise ExperimentError(f"{path}: is a folder, where the results folder needs this "
                                  "file; move it away or use another --output")


def _read_marker(marker: Path, force: bool) -> str | None:
    """The identity the folder's ``experiment.json`` records; a marker that cannot be read is
    named (with ``--force`` the folder is replaced as for another experiment's)."""
    try:
        previous = json.loads(marker.read_text())
        if not isinstance(previous, dict) or not isinstance(previous.get("identity"), str):
            raise ValueError("no identity in it")
        return previous["identity"]
    except (ValueError, OSError) as exc:
        if force:
            return None
        why = exc.strerror if isinstance(exc, OSError) else str(exc).split(":")[0]
        raise ExperimentError(
            f"{marker}: damaged ({why}); it records which experiment the folder holds: if the "
            "folder holds runs of this experiment, delete the file to resume them (each run "
            "file is checked against the experiment), else use another --output") from None


def metadata(experiment: Experiment, start: float, walls: dict[str, float],
             nodes: dict[str, str] | None = None) -> dict[str, Any]:
    """What the results folder records about how it was made (``nodes``: on a cluster, the
    node that ran each run done now)."""
    packages: dict[str, str | None] = {}
    for name in ("nasbench-harness", "numpy", "ConfigSpace", "hpbandster", "smac", "optuna",
                 "ray", "pandas", "matplotlib"):
        try:
            packages[name] = version(name)
        except PackageNotFoundError:
            packages[name] = None
    bench = experiment.benchmark
    if bench.is_live:
        assert bench.data is not None   # BenchmarkConfig requires it for nasbench101
        data = {"path": str(Path(bench.data).expanduser().resolve()), "live": True}
    else:
        objective = objective_for(bench)
        data = {"path": str(objective.nasbench.path), "surrogate": objective.nasbench.is_surrogate,
                "label": objective.nasbench.label,
                "source": objective.nasbench.manifest.get("source")}
    return {"python": sys.version.split()[0], "platform": platform.platform(),
            "host": socket.gethostname(), "packages": packages, "git_commit": _git_commit(),
            "data": data,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(start)),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "wall_seconds_per_run": walls, **({"node_per_run": nodes} if nodes else {})}


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).parent, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def run_experiment(experiment: Experiment, source: Path, output: Path | None = None,
                   force: bool = False, progress: bool = True) -> tuple[int, list[str]]:
    """Run what is not done yet, holding the folder's lock (``nasbench run``).

    Args:
        experiment: the validated experiment (:func:`harness.config.load_experiment`).
        source: the experiment file it came from (recorded in the folder).
        output: the results folder (None: ``experiment.output``).
        force: replace the runs of a different experiment found in ``output``.
        progress: show a progress bar.

    Returns:
        (runs done now, one line per run that failed).

    Raises:
        ExperimentError: a folder of a different experiment (without ``force``), one another
            'nasbench run' is writing, or data files that are missing or unusable.
    """
    output = Path(output or experiment.output)
    check_data(experiment)   # fail fast, before any worker starts and the folder is marked
    check_budgets(experiment, source)
    with output_lock(output):
        return _run_locked(experiment, source, output, force, progress)


def _run_locked(experiment: Experiment, source: Path, output: Path, force: bool,
                progress: bool) -> tuple[int, list[str]]:
    from tqdm import tqdm

    prepare_output(experiment, source, output, force)
    stray = [p for folder in (output, *(output / RUNS).glob("*"))
             for p in remove_temporaries(folder)]
    if stray:
        log.info("removed %d temporary file(s) of interrupted writes in %s", len(stray), output)
    todo = to_do(experiment, output)
    todo.sort(key=relative_cost, reverse=True)  # longest first: a shorter tail on few CPUs
    total = len(plan(experiment))
    start = time.time()
    walls: dict[str, float] = {}
    nodes: dict[str, str] = {}
    failures: list[str] = []
    bar = tqdm(total=total, initial=total - len(todo), unit="run", desc=experiment.name,
               disable=not progress, dynamic_ncols=True)

    def finished(run: RunSpec, outcome: dict[str, Any]) -> None:
        walls[f"{run.label}/{run.seed}"] = round(outcome["wall"], 4)
        if "node" in outcome:
            nodes[f"{run.label}/{run.seed}"] = outcome["node"]
        if outcome["status"] == "ok":
            if "data" in outcome:  # else a local Ray worker has written it
                write_run(output, run.key, outcome["data"], outcome.get("overhead"))
        else:
            atomic_write_text(run.key.failed_path(output), outcome["traceback"])
            last = outcome["traceback"].strip().splitlines()[-1]
            failures.append(f"{run.label} seed {run.seed}: {last}")
        bar.update(1)

    try:
        if todo:
            backend_for(experiment)(experiment, todo, output, finished)
    finally:
        bar.close()
    atomic_write_text(output / "metadata.json",
                      json.dumps(metadata(experiment, start, walls, nodes), indent=2) + "\n")
    return len(todo), failures
