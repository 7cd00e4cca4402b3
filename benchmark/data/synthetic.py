"""The embedded synthetic table: every real cell, 4 budgets x 3 repeats, generated from structure.

So that everything runs on a fresh machine without the 2 GB download.  Values come from a small
model with a handful of constants fitted once to the real uniform sample (not per-cell values):

* 108-epoch error: ``log(1 - acc - floor)`` is a standardised mix of the real data's linear fit
  on (log params, indeg(output), outdeg(input), #maxpool, #conv3x3) and of noise that mixes a latent per unlabelled graph, a
  latent per (vertex, op) choice and one per cell, so neighbouring cells have related accuracies
  and an optimizer has structure to find; a gamma tail gives the real data's few bad cells.
* Lower budgets reach a sigmoid fraction of the way from chance (0.1) to the 108-epoch accuracy,
  with a per-cell learning-speed latent (partly the cell's 108-epoch quality: good cells learn
  fast, as in the real data) and per-budget luck; halfway values likewise.
* Training time: ``log(T108) = 0.42 log(params) + 0.94 + noise`` (real fit), proportional to the
  budget, with small run-to-run noise.

Everything is drawn from ``numpy.random.default_rng(seed)`` in hash order, so the table is
identical on every machine.  Stores are labelled ``synthetic`` in their manifest and everywhere
downstream (info, results, plot titles).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from ..space.constants import BUDGETS
from ..space.enumeration import enumerate_cells
from .records import RUN_FIELDS
from .store import MANIFEST, open_store, write_store
from ..errors import StoreError

log = logging.getLogger(__name__)

GENERATOR_VERSION = 3
CHANCE = 0.1
# log(1 - acc108) = _ERR[0] + _ERR[1:] . (log params, indeg out, outdeg in, #maxpool, #conv3x3)
_ERR_FLOOR = 0.048                      # no cell beats this validation error (real best: 0.0494)
_ERR_MEDIAN = 0.036                     # median of the error above the floor
_ERR_SD = 0.5                           # sd of its log
_ERR = (-0.1135, -0.1169, -0.1019, 0.0381, -0.054)   # real fit, then standardised
_ERR_MIX = (0.73, 0.35, 0.3, 0.5)       # weights: features, graph latent, op latent, own
_ERR_TAIL = (0.5, 0.25)                 # gamma(shape, scale) added to log error: bad cells
_RUN_NOISE = 0.0035                     # accuracy noise between repeats at 108 epochs
# logit of the fraction of the way from chance to acc108 at each budget, and its spread
_BUDGET_LOGIT = {4: -1.2, 12: 0.75, 36: 3.2, 108: 7.0}
_BUDGET_SPREAD = {4: 1.9, 12: 1.7, 36: 0.4, 108: 0.0}
_BUDGET_NOISE = {4: 2.0, 12: 0.8, 36: 0.0, 108: 0.0}   # per-cell logit noise of a budget
# Weight of the 108-epoch quality in the speed latent.  With the spreads and noise above, the
# Spearman correlation of one run at 4/12/36 epochs with one at 108 is 0.47/0.64/0.87 on the
# cells of the real 30k sample (real: 0.45/0.62/0.88; version 2 had 0.16/0.19/0.56, which made
# low budgets nearly useless to multi-fidelity optimizers).
_SPEED_QUALITY = 0.6
_HALFWAY_LOGIT = {4: -3.0, 12: -1.2, 36: 1.1, 108: 2.4}
_TIME = (0.42, 0.86, 0.15)              # log T108 = a log params + b + noise(sd)
_TEST_GAP = (0.0095, 0.004)             # test = validation - gap + noise
_TRAIN_GAP = {4: 0.98, 12: 0.85, 36: 0.45, 108: 0.0}  # 1 - train = (1 - valid) * factor


def _f32(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float32).astype(np.float64)


def generate(seed: int = 0) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Cell arrays and run arrays of the synthetic table (hash order, all 423,624 cells)."""
    table = enumerate_cells(progress=False)
    rng = np.random.default_rng(seed)
    n_cells = len(table)
    mats = table.matrices.astype(np.int64)
    labels = table.labels.astype(np.int64)
    nv = table.num_vertices.astype(np.int64)
    out_col = mats[np.arange(n_cells), :, nv - 1]            # edges into output
    indeg_out = out_col.sum(1)
    outdeg_in = mats[:, 0, :].sum(1)
    n_pool = (labels == 2).sum(1)
    n_conv3 = (labels == 0).sum(1)
    logp = np.log(table.trainable_parameters.astype(np.float64))

    # Latents: per unlabelled graph, per (vertex position, op), per cell.
    graph_key = np.unique(mats.reshape(n_cells, -1) + 2 * (nv[:, None] == 0), axis=0,
                          return_inverse=True)[1].ravel()
    z_graph = rng.standard_normal(graph_key.max() + 1)[graph_key]
    op_effect = rng.standard_normal((8, 3))
    interior = (labels >= 0)
    z_ops = (op_effect[np.arange(7)[None, :], np.clip(labels, 0, 2)] * interior).sum(1)
    z_ops /= np.sqrt(np.maximum(interior.sum(1), 1))
    z_own = rng.standard_normal(n_cells)
    tail = rng.gamma(_ERR_TAIL[0], _ERR_TAIL[1], n_cells)
    features = (_ERR[0] * logp + _ERR[1] * indeg_out + _ERR[2] * outdeg_in + _ERR[3] * n_pool
                + _ERR[4] * n_conv3)
    score = (_ERR_MIX[0] * (features - features.mean()) / features.std() + _ERR_MIX[1] * z_graph
             + _ERR_MIX[2] * z_ops + _ERR_MIX[3] * z_own)
    log_err = np.log(_ERR_MEDIAN) + _ERR_SD * score / score.std() + tail - np.median(tail)
    acc108 = 1 - _ERR_FLOOR - np.exp(log_err)
    quality = -(log_err - log_err.mean()) / log_err.std()   # better cells also learn faster
    speed = (_SPEED_QUALITY * quality + 0.6 * rng.standard_normal(n_cells) - 0.25 * (nv - 6)
             - 0.2 * (n_pool - 1))
    log_t108 = _TIME[0] * logp + _TIME[1] + _TIME[2] * rng.standard_normal(n_cells)

    shape = (n_cells, len(BUDGETS), 3)
    runs = {name: np.empty(shape) for name in RUN_FIELDS}
    for b, epochs in enumerate(BUDGETS):
        noise = rng.standard_normal((n_cells, 3))
        own = _BUDGET_NOISE[epochs] * rng.standard_normal(n_cells)  # this budget's luck
        logit = (_BUDGET_LOGIT[epochs] + _BUDGET_SPREAD[epochs] * speed + own)[:, None] \
            + 0.25 * noise
        valid = CHANCE + (acc108[:, None] - CHANCE) / (1 + np.exp(-logit))
        valid += _RUN_NOISE * rng.standard_normal((n_cells, 3))
        half_logit = _HALFWAY_LOGIT[epochs] + 0.3 * rng.standard_normal((n_cells, 3))
        half = CHANCE + (valid - CHANCE) / (1 + np.exp(-half_logit))
        for prefix, v in (("final_", valid), ("halfway_", half)):
            v = np.clip(v, 0.05, 0.999)
            test = v - _TEST_GAP[0] + _TEST_GAP[1] * rng.standard_normal((n_cells, 3))
            train = 1 - (1 - v) * _TRAIN_GAP[epochs] if prefix == "final_" else v + 0.01
            runs[prefix + "validation_accuracy"][:, b] = _f32(v)
            runs[prefix + "test_accuracy"][:, b] = _f32(np.clip(test, 0.05, 0.999))
            runs[prefix + "train_accuracy"][:, b] = _f32(np.clip(train, 0.05, 1.0))
        t = np.exp(log_t108)[:, None] * epochs / 108 * (1 + 0.02 * rng.standard_normal((n_cells, 3)))
        runs["final_training_time"][:, b] = _f32(t)
        runs["halfway_training_time"][:, b] = _f32(t / 2 * (1 + 0.01 * rng.standard_normal(
            (n_cells, 3))))
    runs["total_time"] = np.full(shape, np.nan)
    cells = {"hashes": table.hashes, "matrices": table.matrices, "labels": table.labels,
             "num_vertices": table.num_vertices,
             "trainable_parameters": table.trainable_parameters}
    return cells, runs


def synthetic_store(seed: int = 0, root: str | os.PathLike | None = None) -> Path:
    """Path of the synthetic store for ``seed``, building it (about 20 s) on first use."""
    from .. space.enumeration import cache_path

    root = Path(root) if root is not None else cache_path().parent
    path = root / f"synthetic-v{GENERATOR_VERSION}-seed{seed}"
    if (path / MANIFEST).exists():
        try:
            open_store(path)
            return path
        except StoreError as exc:
            log.warning("rebuilding the synthetic table: %s", exc)
    log.info("building the synthetic table (seed %d) once, cached in %s", seed, path)
    cells, runs = generate(seed)
    meta = {"synthetic": True, "num_records": int(np.prod(runs["final_training_time"].shape)),
            "source": {"name": f"synthetic table v{GENERATOR_VERSION}, seed {seed}",
                       "size": 0, "sha256": None}}
    return write_store(path, cells, runs, list(BUDGETS), enumerate_cells(progress=False), meta)
