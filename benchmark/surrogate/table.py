"""The embedded table: every real cell, 4 budgets x 3 repeats, drawn from the fitted surrogate.

For cell c at budget b the artifact holds a normal score ``g`` (the rank of its predicted
validation accuracy among all cells, as a standard normal quantile).  One training run is
``z = sqrt(1 - s^2) g + s e`` with ``e ~ N(0, 1)`` and ``s`` the run-to-run spread measured on
the real repeats, mapped through the real one-run distribution of that budget (``knots``): so a
run's values have the real marginal, and repeats differ as real repeats do.  Budgets are separate
trainings, as in NAS-Bench-101; they are coupled through the cell's scores.  From the validation
accuracy of a run follow, with spreads measured on the real fixture runs: the test accuracy (a
mean share of the distance above chance lost, a spread that shrinks with the error), the train
accuracy, the halfway values, and the training time (the predicted 108-epoch time x the budget's
real time ratio).

Only arithmetic, ``np.interp`` and ``numpy.random.default_rng(seed)`` draws in a fixed order: the
same artifact and seed give the same bytes on every machine.
"""
from __future__ import annotations

import logging
import math
import os
import shutil
from pathlib import Path

import numpy as np

from ..data.records import RUN_FIELDS
from ..data.store import open_store, write_store
from ..errors import StoreError
from ..fileutil import file_sha256
from ..space.constants import BUDGETS, NUM_REPEATS
from ..space.enumeration import enumerate_cells
from .artifact import ARTIFACT_PATH, REBUILD, Artifact, cells_checksum, load_artifact

log = logging.getLogger(__name__)

CHANCE = 0.1   # ten CIFAR-10 classes


def _f32(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float32).astype(np.float64)


def _above_chance(acc: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """``acc`` with ``keep`` (a fraction) of its distance above chance kept."""
    return CHANCE + (acc - CHANCE) * keep


def _below(acc: np.ndarray, gap: list[float], noise: np.ndarray) -> np.ndarray:
    """Test accuracy: a mean share of the distance above chance lost, and a spread that shrinks
    with the error (as measured on the fixtures)."""
    return acc - (acc - CHANCE) * gap[0] - (1.0 - acc) * gap[1] * noise


def _toward_one(acc: np.ndarray, closed: float, reference: float) -> np.ndarray:
    """Train accuracy: ``closed`` of the gap to 1 closed at the reference accuracy, less towards
    chance (a run that learned nothing fits its training data no better)."""
    weight = np.clip((acc - CHANCE) / (reference - CHANCE), 0.0, 1.0)
    return acc + (1.0 - acc) * closed * weight


def generate(artifact: Artifact, seed: int = 0) -> dict[str, np.ndarray]:
    """Run arrays (cells x budgets x repeats) of the table, in the artifact's (hash) order."""
    rng = np.random.default_rng(seed)
    n = artifact.scores.shape[0]
    shape = (n, len(BUDGETS), NUM_REPEATS)
    runs = {name: np.empty(shape) for name in RUN_FIELDS}
    noise = artifact.meta["noise"]
    time108 = artifact.time108.astype(np.float64)[:, None]

    def spread(mean: float, sd: float) -> np.ndarray:
        return mean + sd * rng.standard_normal((n, NUM_REPEATS))

    for b, epochs in enumerate(BUDGETS):
        p = noise["budgets"][str(epochs)]
        s = p["sigma"]
        z = math.sqrt(1.0 - s * s) * artifact.scores[:, b].astype(np.float64)[:, None] \
            + s * rng.standard_normal((n, NUM_REPEATS))
        valid = np.interp(z, artifact.knots_z, artifact.knots[b])
        half = _above_chance(valid, np.clip(spread(*p["halfway_fraction"]), 0.0, 1.0))
        tests = {"final": _below(valid, p["test_gap"], rng.standard_normal(shape[::2])),
                 "halfway": _below(half, p["halfway_test_gap"], rng.standard_normal(shape[::2]))}
        trains = {"final": _toward_one(valid, p["train_closed"], p["reference_accuracy"]),
                  "halfway": _toward_one(half, p["halfway_train_closed"],
                                         p["halfway_reference_accuracy"])}
        t = time108 * p["time_ratio"] * (1.0 + p["time_cv"] * rng.standard_normal(shape[::2]))
        for prefix, acc in (("final", valid), ("halfway", half)):
            runs[f"{prefix}_validation_accuracy"][:, b] = _f32(np.clip(acc, 0.0, 1.0))
            runs[f"{prefix}_test_accuracy"][:, b] = _f32(np.clip(tests[prefix], 0.0, 1.0))
            runs[f"{prefix}_train_accuracy"][:, b] = _f32(np.clip(trains[prefix], 0.0, 1.0))
        runs["final_training_time"][:, b] = _f32(t)
        runs["halfway_training_time"][:, b] = _f32(t * spread(*noise["halfway_time_ratio"]))
    runs["total_time"] = np.full(shape, np.nan)
    return runs


def surrogate_store(seed: int = 0, root: str | os.PathLike | None = None,
                    artifact_path: str | os.PathLike = ARTIFACT_PATH) -> Path:
    """Path of the surrogate table for ``seed``, built from the artifact on first use (~3 s)
    and cached under ``root`` (default: the user cache dir, ``$NASBENCH_CACHE_DIR``)."""
    from ..space.enumeration import cache_path

    artifact_path = Path(artifact_path)
    digest = file_sha256(artifact_path) if artifact_path.is_file() else ""
    root = Path(root) if root is not None else cache_path().parent
    path = root / f"surrogate-{digest[:16]}-seed{seed}"
    if digest and (path.exists() or path.is_symlink()):
        try:
            open_store(path)
            return path
        except StoreError as exc:   # a cache: named, removed, rebuilt (never served)
            log.warning("rebuilding the surrogate table: %s", exc)
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    artifact = load_artifact(artifact_path)
    cells = enumerate_cells(progress=False)
    if cells_checksum(cells.hashes) != artifact.meta["cells_sha256"]:
        raise StoreError(f"surrogate artifact {artifact_path}: its rows are not this "
                         f"enumeration's cells; {REBUILD}")
    log.info("building the surrogate table (seed %d) once, cached in %s", seed, path)
    runs = generate(artifact, seed)
    cell_arrays = {"hashes": cells.hashes, "matrices": cells.matrices, "labels": cells.labels,
                   "num_vertices": cells.num_vertices,
                   "trainable_parameters": cells.trainable_parameters}
    meta = {"surrogate": True, "label": artifact.label,
            "num_records": int(np.prod(runs["final_training_time"].shape)),
            "source": {"name": f"{artifact_path.name}, seed {seed}",
                       "size": artifact_path.stat().st_size, "sha256": digest},
            "provenance": {k: artifact.meta[k] for k in ("sample", "fixtures", "model",
                                                        "realism") if k in artifact.meta}}
    return write_store(path, cell_arrays, runs, list(BUDGETS), cells, meta)
