"""How closely a table resembles real NAS-Bench-101 runs, measured on the real sample's cells.

The targets (issue 13): the table's mean over repeats vs one real run, Spearman >= 0.80 / 0.85 /
0.88 / 0.94 at 4 / 12 / 36 / 108 epochs; one simulated run vs real runs, Kolmogorov-Smirnov
distance <= 0.05 at every budget; training time Spearman >= 0.93.  Every cell of the shipped
table is predicted by a fold model that never saw it, so on the sample's cells these are
cross-validated figures.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import ks_2samp, spearmanr

from ..space.constants import BUDGETS
from .sample import Sample

TARGETS: dict[str, Any] = {"spearman_mean": {4: 0.80, 12: 0.85, 36: 0.88, 108: 0.94},
                           "ks_one_run": 0.05, "time_spearman": 0.93}


def realism(runs: dict[str, np.ndarray], hashes: np.ndarray, sample: Sample) -> dict[str, Any]:
    """Figures of a table (run arrays over cells with ``hashes``, sorted) against ``sample``."""
    rows = np.searchsorted(hashes, sample.hashes)
    valid = runs["final_validation_accuracy"]
    b108 = BUDGETS.index(108)
    out: dict[str, Any] = {"cells": len(sample), "spearman_mean": {}, "ks_one_run": {},
                           "spearman_vs_108_table": {}, "spearman_vs_108_real": {}}
    for b, epochs in enumerate(BUDGETS):
        real = sample.validation[:, b]
        mean = valid[rows, b].astype(np.float64).sum(1) / valid.shape[2]
        out["spearman_mean"][epochs] = float(spearmanr(mean, real)[0])
        out["ks_one_run"][epochs] = float(ks_2samp(valid[rows, b, 0], real).statistic)
        if epochs != 108:
            out["spearman_vs_108_table"][epochs] = float(
                spearmanr(valid[rows, b, 0], valid[rows, b108, 0])[0])
            out["spearman_vs_108_real"][epochs] = float(
                spearmanr(real, sample.validation[:, b108])[0])
    time = runs["final_training_time"][rows, b108].astype(np.float64).mean(1)
    out["time_spearman"] = float(spearmanr(time, sample.time108)[0])
    out["passes"] = bool(
        all(out["spearman_mean"][e] >= t for e, t in TARGETS["spearman_mean"].items())
        and max(out["ks_one_run"].values()) <= TARGETS["ks_one_run"]
        and out["time_spearman"] >= TARGETS["time_spearman"])
    return out


def format_realism(fig: dict[str, Any]) -> str:
    """A few lines for people: each figure beside its target."""
    sm, ks = fig["spearman_mean"], fig["ks_one_run"]
    lines = [f"realism on {fig['cells']:,} real cells (targets in brackets)",
             "  Spearman, mean of 3 runs vs one real run: " + ", ".join(
                 f"{e}: {float(sm[e]):.3f} [>={TARGETS['spearman_mean'][int(e)]:.2f}]" for e in sm),
             "  KS distance, one run vs real runs:        " + ", ".join(
                 f"{e}: {float(ks[e]):.3f}" for e in ks) + f" [<={TARGETS['ks_one_run']}]",
             f"  Spearman, training time at 108 epochs:    {fig['time_spearman']:.4f} "
             f"[>={TARGETS['time_spearman']}]",
             "  Spearman of one run with one at 108, table (real): " + ", ".join(
                 f"{e}: {float(fig['spearman_vs_108_table'][e]):.3f} "
                 f"({float(fig['spearman_vs_108_real'][e]):.3f})"
                 for e in fig["spearman_vs_108_table"])]
    if "best_mean_test_accuracy" in fig:
        lines.append(f"  best mean test accuracy: {fig['best_mean_test_accuracy']:.4f} "
                     "(real table: 0.9432)")
    lines.append("  all targets met" if fig["passes"] else "  TARGETS NOT MET")
    return "\n".join(lines)
