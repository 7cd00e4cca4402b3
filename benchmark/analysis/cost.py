"""Cost against accuracy (paper Fig. 3): the Pareto front."""
from __future__ import annotations

import numpy as np


def pareto_front(time: np.ndarray, accuracy: np.ndarray) -> np.ndarray:
    """Rows no other row beats (no cheaper-or-equal row with a higher accuracy, no cheaper row
    with an equal one), by increasing time."""
    time, accuracy = np.asarray(time, np.float64), np.asarray(accuracy, np.float64)
    rows = np.flatnonzero(np.isfinite(time) & np.isfinite(accuracy))
    rows = rows[np.lexsort((-accuracy[rows], time[rows]))]   # by time, best accuracy first
    front, best = [], -np.inf
    for r in rows.tolist():
        if accuracy[r] > best:
            front.append(r)
            best = accuracy[r]
    return np.array(front, np.int64)
