"""Build a NAS-Bench-101-format table by training cells for real (``nasbench build-table``).

One task per (cell, budget, repeat).  Each finished task's record is written atomically to
``OUT/records/<hash>-<epochs>-<repeat>.rec`` (the official JSON payload), so an interrupted
build resumes where it stopped and never holds a half-written record.  When every task is done
the records are framed in plan order into ``OUT/table.tfrecord`` (the official TFRecord
layout) and, with 3 repeats, converted into ``OUT/table.store``, which ``NASBench`` loads.

Tasks run in this process, or on Ray (``ray_address``: ``local`` for a local Ray on
127.0.0.1, ``auto`` or ``ray://...`` for a cluster) through one trainer actor per GPU (one in
all on a cluster without GPUs): each actor loads CIFAR-10 once and trains task after task.
"""
from __future__ import annotations

import dataclasses
import gzip
import json
import logging
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.data.convert import convert
from benchmark.data.records import Run, adjacency_string, decode, encode
from benchmark.data.tfrecord import write_records
from benchmark.errors import InputError
from benchmark.fileutil import atomic_write_bytes, atomic_write_text
from benchmark.space import BUDGETS, NUM_REPEATS, ModelSpec, representative, sample_cell

log = logging.getLogger(__name__)

PLAN = "plan.json"
RECORDS = "records"
TABLE = "table.tfrecord"
STORE = "table.store"


@dataclass(frozen=True)
class Task:
    """One training run: a cell (by its index in the plan) at one budget, one repeat."""

    cell: int
    module_hash: str
    epochs: int
    repeat: int

    @property
    def name(self) -> str:
        return f"{self.module_hash}-{self.epochs}-{self.repeat}"


def record(result: Any, stored: ModelSpec) -> bytes:
    """The official record payload of a ``trainer.train.TrainResult`` of the cell whose stored
    form (:func:`benchmark.space.representative`) is ``stored``."""
    assert stored.matrix is not None and stored.ops is not None   # a representative is valid
    run = Run(result.module_hash, result.epochs, adjacency_string(stored.matrix.tolist()),
              ",".join(stored.ops), int(result.trainable_parameters), result.run_values(),
              float(result.total_time))
    return encode(run)


def read_cells(path: str | Path) -> list[ModelSpec]:
    """Cells from a JSON (or ``.json.gz``) list of objects with ``matrix`` and ``ops``."""
    path = Path(path)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt") as fh:
            items = json.load(fh)
    except (OSError, EOFError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a JSON list of cells ({exc})") from None
    if not isinstance(items, list) or not items:
        raise InputError(f"{path}: expected a non-empty JSON list of {{matrix, ops}} objects")
    cells = []
    for i, item in enumerate(items):
        try:
            spec = ModelSpec(item["matrix"], item["ops"])
        except (KeyError, TypeError) as exc:
            raise InputError(f"{path}: cell {i}: needs 'matrix' and 'ops' ({exc})") from None
        except ValueError as exc:
            raise InputError(f"{path}: cell {i}: {exc}") from None
        if not spec.valid_spec:
            raise InputError(f"{path}: cell {i}: input does not reach output")
        cells.append(spec)
    return cells


def sample_cells(n: int, rng: np.random.Generator) -> list[ModelSpec]:
    """``n`` distinct cells drawn uniformly from the 423,624."""
    if not 1 <= n <= 423_624:
        raise InputError(f"--sample must be between 1 and 423624, got {n}")
    cells: dict[str, ModelSpec] = {}
    while len(cells) < n:
        spec = sample_cell(rng)
        cells.setdefault(spec.hash(), spec)
    return list(cells.values())


class TableBuild:
    """The plan and the records of one build folder."""

    def __init__(self, out: str | Path, cells: list[ModelSpec], epochs: Iterable[int],
                 repeats: int, config: Any, data: str, seed: int = 0):
        self.out = Path(out)
        self.epochs = sorted({int(e) for e in epochs})
        bad = [e for e in self.epochs if e not in BUDGETS]
        if bad:
            raise InputError(f"--epochs: {bad} not among the NAS-Bench-101 budgets {list(BUDGETS)}")
        if not 1 <= repeats <= NUM_REPEATS:
            raise InputError(f"--repeats must be between 1 and {NUM_REPEATS}, got {repeats}")
        self.repeats = repeats
        # Records hold the form the dataset stores (the first-met representative), as convert
        # and the official files expect; duplicates in the input are one cell.
        stored: dict[str, ModelSpec] = {}
        for spec in cells:
            stored.setdefault(spec.hash(), representative(spec))
        self.cells = list(stored.values())
        self.config = config
        self.data = str(data)
        self.seed = int(seed)

    def plan(self) -> dict[str, Any]:
        cells = []
        for c in self.cells:
            assert c.matrix is not None and c.ops is not None   # a representative is valid
            cells.append({"matrix": c.matrix.tolist(), "ops": list(c.ops)})
        return {"cells": cells,
                "epochs": self.epochs, "repeats": self.repeats, "seed": self.seed,
                "data": self.data, "config": dataclasses.asdict(self.config)}

    def tasks(self) -> list[Task]:
        return [Task(i, spec.hash(), e, r) for i, spec in enumerate(self.cells)
                for e in self.epochs for r in range(self.repeats)]

    def record_path(self, task: Task) -> Path:
        return self.out / RECORDS / f"{task.name}.rec"

    def prepare(self, force: bool = False) -> list[Task]:
        """Write (or check) the plan; returns the tasks without a record yet."""
        plan = json.dumps(self.plan(), indent=1, sort_keys=True)
        path = self.out / PLAN
        if path.exists() and path.read_text() != plan:
            if not force:
                raise InputError(f"{self.out}: holds a build with a different plan (cells, "
                                 "epochs, repeats, seed, data or config); use --force to "
                                 "replace it")
            shutil.rmtree(self.out / RECORDS, ignore_errors=True)
            for name in (TABLE, STORE):
                target = self.out / name
                if target.is_dir():
                    shutil.rmtree(target)
                elif target.exists():
                    target.unlink()
        atomic_write_text(path, plan)
        (self.out / RECORDS).mkdir(parents=True, exist_ok=True)
        return [t for t in self.tasks() if not self.record_path(t).exists()]

    def seed_of(self, task: Task) -> np.random.SeedSequence:
        """The run's seed: from the build seed and the task, so any worker and order agree."""
        return np.random.SeedSequence([self.seed, int(task.module_hash, 16), task.epochs,
                                       task.repeat])

    def save(self, task: Task, result: Any) -> None:
        """Write the task's record (atomically) from a ``trainer.train.TrainResult``."""
        atomic_write_bytes(self.record_path(task), record(result, self.cells[task.cell]))

    def finish(self, progress: bool = True) -> Path:
        """Frame all records into ``table.tfrecord``; convert to a store when repeats == 3."""
        payloads = []
        for task in self.tasks():
            payload = self.record_path(task).read_bytes()
            decode(payload)  # a corrupt record stops here, naming nothing half-written
            payloads.append(payload)
        table = self.out / TABLE
        write_records(table, payloads)
        if self.repeats < NUM_REPEATS:
            log.info("%s: %d records; a store needs %d repeats, so none was built", table,
                     len(payloads), NUM_REPEATS)
            return table
        return convert(table, self.out / STORE, progress=progress)


def run_build(build: TableBuild, todo: list[Task], train_one: Callable[[Task], Any],
              progress: bool = True) -> None:
    """Train ``todo`` in this process with ``train_one`` and save each record as it finishes."""
    with _progress_bar(build, todo, progress) as bar:
        for task in todo:
            build.save(task, train_one(task))
            bar.update(1)


def run_build_on_ray(build: TableBuild, todo: list[Task], address: str | None,
                     progress: bool = True) -> None:
    """Train ``todo`` on Ray trainer actors (one per GPU, else one) and save each record."""
    from .cluster import ray_session

    with ray_session(None if address in (None, "local") else address, None):
        _build_on_actors(build, todo, progress)


def _build_on_actors(build: TableBuild, todo: list[Task], progress: bool) -> None:
    import ray

    from .trainer_actor import TrainerActor

    gpus = int(ray.cluster_resources().get("GPU", 0))
    actor = ray.remote(num_gpus=1 if gpus else 0, max_restarts=2,
                       max_task_retries=2)(TrainerActor)
    actors = [actor.remote(build.data, build.config) for _ in range(max(gpus, 1))]
    log.info("build-table: %d task(s) on %d Ray trainer actor(s)", len(todo), len(actors))
    pool = ray.util.ActorPool(actors)
    with _progress_bar(build, todo, progress) as bar:
        for task, result in pool.map_unordered(
                lambda a, t: a.train.remote(t, build.cells[t.cell].matrix.tolist(),
                                            list(build.cells[t.cell].ops), t.epochs,
                                            build.seed_of(t)),
                todo):
            build.save(task, result)
            bar.update(1)


def _progress_bar(build: TableBuild, todo: list[Task], progress: bool):
    from tqdm import tqdm

    total = len(build.tasks())
    return tqdm(total=total, initial=total - len(todo), unit="run", desc="build-table",
                disable=not progress)
