"""Fit the surrogate to the real sample and write the artifact (a developer tool).

    python -m benchmark.surrogate.fit --sample ../shared/data/nb101/sample_30k.json.gz \\
        --fixtures ../shared/data/nb101/fixture_expected.json

Deterministic: the same inputs give the same artifact bytes (fixed folds and model seeds).

* Features: :mod:`.features` (path encoding and structure, independent of vertex order).
* Model: one gradient-boosted tree ensemble (scikit-learn ``HistGradientBoostingRegressor``) per
  budget on the rank-Gaussian transform of one real run's validation accuracy, and one on the log
  108-epoch training time.  Cross-validated against a ridge regression on the same features
  (both printed and recorded); the trees rank held-out cells far better.
* Every cell is predicted by exactly one of the K fold models, one that did not see it: sample
  cells by the model of their held-out fold, the other cells by fold ``row % K``.  So the shipped
  table is equally good on every cell, and its figures on the sample are cross-validated.
* What the features do not explain (:mod:`.latent`): a deviation per cell among the predicted
  best cells, with the out-of-fold residuals' covariance over budgets, and failed trainings,
  drawn once from the seed.
* Figures: the realism of the table of seed 0 (:mod:`.realism`) and its landscape beside the
  real sample's (:mod:`.structure`: budgets among the best cells, neighbours, op effects).
* Noise: run-to-run spread in normal-score space, test/train gaps, halfway values and time ratios
  measured on the fixtures' repeated runs (31 cells x 3 runs at 108 epochs; the Inception-like
  cell at every budget).
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import ndtr
from scipy.stats import spearmanr

from ..data.store import optima
from ..errors import BenchmarkError
from ..fileutil import file_sha256
from ..space.constants import BUDGETS
from ..space.enumeration import CellTable, enumerate_cells
from .artifact import ARTIFACT_PATH, Artifact, cells_checksum, write_artifact
from .features import NUM_FEATURES, cell_features
from .latent import cell_scores, normal_scores
from .realism import format_realism, realism
from .sample import Sample, read_fixture_runs, read_sample
from .structure import format_landscape, landscape
from .table import CHANCE, generate

log = logging.getLogger(__name__)

MIN_SAMPLE_ROWS = 1000
FOLDS = 5
MODEL = {"max_iter": 500, "learning_rate": 0.05, "max_leaf_nodes": 63, "min_samples_leaf": 20,
         "early_stopping": False, "random_state": 0}
KNOTS_Z = np.linspace(-4.5, 4.5, 1801)


class FitError(BenchmarkError):
    """The inputs cannot make an artifact."""


def folds_of(num_cells: int, sample_rows: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Fold of each cell: sample cells shuffled into ``folds`` parts, the rest ``row % folds``."""
    fold = np.arange(num_cells) % folds
    order = np.random.default_rng(seed).permutation(len(sample_rows))
    fold[sample_rows[order]] = np.arange(len(sample_rows)) % folds
    return fold


def cross_fit(features: np.ndarray, target: np.ndarray, sample_rows: np.ndarray,
              fold: np.ndarray, make_model) -> np.ndarray:
    """Prediction for every cell from the fold model that did not see it."""
    pred = np.empty(len(features))
    for k in range(int(fold.max()) + 1):
        train = fold[sample_rows] != k
        model = make_model().fit(features[sample_rows[train]], target[train])
        pred[fold == k] = model.predict(features[fold == k])
    return pred


def _hgb():
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(**MODEL)


def _ridge():
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), Ridge(alpha=1.0))


def _pooled_sd(runs: np.ndarray) -> float:
    """Within-cell standard deviation pooled over cells (rows of repeats)."""
    return float(np.sqrt(np.mean(runs.var(axis=1, ddof=1))))


def _mean_sd(values: np.ndarray) -> list[float]:
    """Mean and within-cell spread of per-run values (cells x repeats)."""
    return [float(values.mean()), _pooled_sd(values)]


def _test_gap(acc: np.ndarray, test: np.ndarray) -> list[float]:
    """The test accuracy's gap below ``acc``: its mean as a share of the distance above chance,
    its run-to-run spread as a share of the error (it shrinks for better cells: within-cell sd
    0.0033 / 0.0029 / 0.0019 over the thirds of the 31 cells at 108 epochs, ~0.03 x error)."""
    gap = acc - test
    return [float((gap / (acc - CHANCE)).mean()), _pooled_sd(gap / (1 - acc))]


def noise_parameters(fixtures: dict[int, dict[str, np.ndarray]], knots: np.ndarray
                     ) -> dict[str, Any]:
    """Run-to-run spreads and gaps, measured on the fixtures' repeated runs.

    At 108 epochs 31 cells x 3 runs; below, only the Inception-like cell has repeats: its own
    values set the budget's gaps and time ratio, and its spread of normal scores is pooled with
    the 31 cells' (three runs of one cell alone say little about a spread)."""
    f108 = fixtures[108]
    z = {b: np.interp(fixtures[b]["final_validation_accuracy"], knots[i], KNOTS_Z)
         for i, b in enumerate(BUDGETS) if b in fixtures}
    out: dict[str, Any] = {"budgets": {}}
    for b in BUDGETS:
        f = fixtures.get(b, f108)
        valid, half = f["final_validation_accuracy"], f["halfway_validation_accuracy"]
        same = np.searchsorted(f108["hashes"], f["hashes"], sorter=np.argsort(f108["hashes"]))
        t108 = f108["final_training_time"][np.argsort(f108["hashes"])[same]].mean(1)
        spread = z[108] if b == 108 else np.vstack([z[108], z.get(b, z[108][:0])])
        out["budgets"][str(b)] = {
            "sigma": _pooled_sd(spread),
            "halfway_fraction": _mean_sd((half - CHANCE) / (valid - CHANCE)),
            "test_gap": _test_gap(valid, f["final_test_accuracy"]),
            "halfway_test_gap": _test_gap(half, f["halfway_test_accuracy"]),
            "train_closed": float(((f["final_train_accuracy"] - valid) / (1 - valid)).mean()),
            "reference_accuracy": float(valid.mean()),
            "halfway_train_closed": float(((f["halfway_train_accuracy"] - half)
                                           / (1 - half)).mean()),
            "halfway_reference_accuracy": float(half.mean()),
            "time_ratio": float(np.mean(f["final_training_time"].mean(1) / t108)),
            "time_cv": _pooled_sd(f["final_training_time"]
                                  / f["final_training_time"].mean(1, keepdims=True)),
            "fixture_cells": int(valid.shape[0]),
        }
    ratio = np.concatenate([(f["halfway_training_time"] / f["final_training_time"]).ravel()
                            for f in fixtures.values()])
    out["halfway_time_ratio"] = [float(ratio.mean()), float(ratio.std(ddof=1))]
    return out


def fit(sample_path: Path, fixtures_path: Path, folds: int = FOLDS, seed: int = 0
        ) -> tuple[Artifact, dict[str, Any]]:
    """The artifact and its realism figures (the table of seed 0 against the sample)."""
    sample, fixtures, cells, rows = read_inputs(sample_path, fixtures_path)
    started = time.perf_counter()
    predicted, time108, cv = predict(sample, cells, rows, folds, seed)
    artifact, figures = assemble(sample_path, fixtures_path, (sample, fixtures, cells, rows),
                                 predicted, time108, {"folds": folds, "seed": seed,
                                                      "cv_spearman_raw_prediction": cv})
    log.info("fit took %.0f s", time.perf_counter() - started)
    return artifact, figures


def read_inputs(sample_path: Path, fixtures_path: Path
                ) -> tuple[Sample, dict[int, dict[str, np.ndarray]], CellTable, np.ndarray]:
    """The sample, the fixture runs, the cells and the sample's rows among them (checked)."""
    sample = read_sample(sample_path)
    if len(sample) < MIN_SAMPLE_ROWS:
        raise FitError(f"{sample_path}: only {len(sample)} of {sample.num_rows} rows carry "
                       f"values; the fit needs at least {MIN_SAMPLE_ROWS}")
    fixtures = read_fixture_runs(fixtures_path)
    cells = enumerate_cells(progress=False)
    rows = np.searchsorted(cells.hashes, sample.hashes).clip(0, len(cells) - 1)
    unknown = np.flatnonzero(cells.hashes[rows] != sample.hashes)
    if unknown.size:
        raise FitError(f"{sample_path}: hash {sample.hashes[unknown[0]].decode()} is not a cell "
                       f"of the space ({unknown.size} such rows)")
    return sample, fixtures, cells, rows


def predict(sample: Sample, cells: CellTable, rows: np.ndarray, folds: int, seed: int
            ) -> tuple[np.ndarray, np.ndarray, dict[str, dict[str, float]]]:
    """Out-of-fold predictions for every cell: (cells, 4) normal scores of the validation
    accuracy (float16, as version 1 shipped them), the 108-epoch time (float32), and the
    cross-validated Spearman of trees and ridge."""
    log.info("features of %d cells", len(cells))
    features = cell_features(cells.matrices, cells.labels, cells.num_vertices,
                             cells.trainable_parameters)
    fold = folds_of(len(cells), rows, folds, seed)
    targets = {str(b): normal_scores(sample.validation[:, i]) for i, b in enumerate(BUDGETS)}
    targets["time108"] = np.log(sample.time108)
    real = {str(b): sample.validation[:, i] for i, b in enumerate(BUDGETS)}
    real["time108"] = sample.time108
    preds: dict[str, Any] = {}
    cv: dict[str, dict[str, Any]] = {"trees": {}, "ridge": {}}
    for name, target in targets.items():
        for kind, make in (("trees", _hgb), ("ridge", _ridge)):
            log.info("fitting %s on %s (%d folds)", kind, name, folds)
            pred = cross_fit(features, target, rows, fold, make)
            cv[kind][name] = float(spearmanr(pred[rows], real[name])[0])
            if kind == "trees":
                preds[name] = pred
        log.info("%s: cross-validated Spearman trees %.4f, ridge %.4f", name, cv["trees"][name],
                 cv["ridge"][name])
    predicted = np.stack([normal_scores(preds[str(b)]) for b in BUDGETS], 1).astype(np.float16)
    return predicted, np.exp(preds["time108"]).astype(np.float32), cv


def assemble(sample_path: Path, fixtures_path: Path, inputs, predicted: np.ndarray,
             time108: np.ndarray, model: dict[str, Any]) -> tuple[Artifact, dict[str, Any]]:
    """The artifact from the predictions: knots, noise, each cell's deviation and failure
    (:mod:`.latent`), provenance, and the figures of the table of seed 0."""
    sample, fixtures, cells, rows = inputs
    knots = np.stack([np.quantile(sample.validation[:, i], ndtr(KNOTS_Z), method="hazen")
                      for i in range(len(BUDGETS))])
    noise = noise_parameters(fixtures, knots)
    log.info("drawing each cell's deviation and failure")
    scores, latent = cell_scores(
        predicted.astype(np.float64), sample.validation, rows,
        np.array([noise["budgets"][str(b)]["sigma"] for b in BUDGETS]), model["seed"])
    meta = {
        "cells_sha256": cells_checksum(cells.hashes),
        "sample": {"file": sample_path.name, "sha256": file_sha256(sample_path),
                   "rows": sample.num_rows, "valued_rows": len(sample)},
        "fixtures": {"file": fixtures_path.name, "sha256": file_sha256(fixtures_path)},
        "model": {"features": NUM_FEATURES, "folds": model["folds"], "seed": model["seed"],
                  "estimator": "sklearn HistGradientBoostingRegressor", "params": MODEL,
                  "target": "normal scores of one run's validation accuracy; log time",
                  "latent": latent,
                  "cv_spearman_raw_prediction": model["cv_spearman_raw_prediction"],
                  "versions": {p: version(p) for p in ("scikit-learn", "numpy", "scipy")}},
        "noise": noise,
    }
    artifact = Artifact(meta=meta, scores=scores.astype(np.float16), time108=time108,
                        knots_z=KNOTS_Z, knots=knots)
    runs = generate(artifact, 0)
    figures = realism(runs, cells.hashes, sample)
    figures["best_mean_test_accuracy"] = optima({**runs, "hashes": cells.hashes},
                                                list(BUDGETS))["best_mean_test_accuracy"]
    log.info("measuring the landscape against the real sample's")
    figures["landscape"] = landscape(runs, cells, sample)
    meta["realism"] = figures
    return artifact, figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmark.surrogate.fit",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=Path, required=True, help="sample_30k.json.gz")
    parser.add_argument("--fixtures", type=Path, required=True, help="fixture_expected.json")
    parser.add_argument("--out", type=Path, default=ARTIFACT_PATH, help="artifact to write")
    parser.add_argument("--folds", type=int, default=FOLDS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    try:
        artifact, figures = fit(args.sample, args.fixtures, args.folds)
    except BenchmarkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    write_artifact(args.out, artifact)
    print(format_realism(figures))
    print(format_landscape(figures["landscape"]))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB, sha256 "
          f"{file_sha256(args.out)[:16]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
