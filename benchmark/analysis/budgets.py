"""How well cheap budgets rank cells for the full one (paper supplement Fig. 7)."""
from __future__ import annotations

import itertools

import numpy as np
from scipy.stats import spearmanr

#: The supplement's subsets: all cells, then the top fractions by the largest budget.
TOP_FRACTIONS = (1.0, 0.5, 0.25, 0.10, 0.05, 0.01)


def top_rows(score: np.ndarray, fraction: float) -> np.ndarray:
    """Rows of the best ``fraction`` of the finite scores (at least one), best first."""
    score = np.asarray(score, np.float64)
    rows = np.flatnonzero(np.isfinite(score))
    rows = rows[np.argsort(-score[rows], kind="stable")]
    return rows[:max(1, int(round(fraction * rows.size)))]


def budget_correlations(values: np.ndarray, budgets: list[int],
                        fractions=TOP_FRACTIONS) -> list[dict]:
    """Spearman's rho between every pair of budgets (columns of ``values``, cells x budgets)
    among the top ``fraction`` of cells by the last budget; NaN where fewer than 3 cells."""
    values = np.asarray(values, np.float64)
    out = []
    for fraction in fractions:
        rows = top_rows(values[:, -1], fraction)
        for i, j in itertools.combinations(range(len(budgets)), 2):
            x, y = values[rows, i], values[rows, j]
            ok = np.isfinite(x) & np.isfinite(y)
            rho = float(spearmanr(x[ok], y[ok])[0]) if ok.sum() >= 3 else float("nan")
            out.append({"top": fraction, "budget_a": budgets[i], "budget_b": budgets[j],
                        "cells": int(ok.sum()), "spearman": rho})
    return out
