"""Accuracy and noise distributions (paper Section 3.1, Fig. 2): pure functions of arrays."""
from __future__ import annotations

import numpy as np


def finite(values: np.ndarray) -> np.ndarray:
    """The finite values, as float64."""
    values = np.asarray(values, np.float64).ravel()
    return values[np.isfinite(values)]


def ecdf(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Empirical CDF of the finite values: sorted x and the fraction of values <= x."""
    x = np.sort(finite(values))
    return x, np.arange(1, x.size + 1) / max(x.size, 1)


def share_above(values: np.ndarray, threshold: float) -> float:
    """Fraction of the finite values strictly above ``threshold`` (NaN if none is finite)."""
    x = finite(values)
    return float((x > threshold).mean()) if x.size else float("nan")


def best(values: np.ndarray) -> tuple[int, float]:
    """Row and value of the largest finite value."""
    values = np.asarray(values, np.float64)
    row = int(np.nanargmax(values))
    return row, float(values[row])


def repeat_std(runs: np.ndarray) -> np.ndarray:
    """Per cell, the standard deviation over its repeats (last axis; numpy's ddof = 0, as
    ``np.std`` over a cell's 3 runs): the paper's noise."""
    return np.asarray(runs, np.float64).std(axis=-1)


def standard_error(runs: np.ndarray) -> np.ndarray:
    """Per cell, the standard error of the mean over repeats (sample std, ddof = 1, / sqrt n)."""
    runs = np.asarray(runs, np.float64)
    return runs.std(axis=-1, ddof=1) / np.sqrt(runs.shape[-1])


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson r over the rows where both are finite."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    return float(np.corrcoef(x[ok], y[ok])[0, 1]) if ok.sum() > 1 else float("nan")


def near_best(mean: np.ndarray, se_best: float) -> np.ndarray:
    """Rows whose mean lies within 2 standard errors of the best mean (the best included),
    best first."""
    mean = np.asarray(mean, np.float64)
    top = np.nanmax(mean)
    rows = np.flatnonzero(mean >= top - 2 * se_best)
    return rows[np.argsort(-mean[rows], kind="stable")]
