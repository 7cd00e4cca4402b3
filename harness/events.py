"""The per-evaluation record of a run (its schema) and the :class:`Events` that collect it.

The simulator, the live loop and the results folder share it: a run file holds these columns,
in completion order.
"""
from __future__ import annotations

import numpy as np

#: Per-evaluation columns of a run (besides optimizer and seed, stored once per run).
COLUMNS = ("trial", "worker", "budget", "hash", "start", "end", "validation_error",
           "test_error", "cost", "invalid")


class Events:
    """The evaluations of one run in completion order, one tuple per evaluation (COLUMNS order).

    A column reads as an attribute (``events.end``); :meth:`arrays` gives typed numpy columns.
    ``overhead`` holds, per recorded evaluation, the optimizer's own wall-clock seconds so far
    (in ``ask`` and ``tell``): measured, so not part of the run's reproducible bytes.
    ``exhausted_at`` is the time the optimizer said it had nothing left to propose (else None).
    """

    __slots__ = ("rows", "overhead", "exhausted_at")

    def __init__(self) -> None:
        self.rows: list[tuple] = []
        self.overhead: list[float] = []
        self.exhausted_at: float | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def __getattr__(self, name: str) -> list:
        try:
            i = COLUMNS.index(name)
        except ValueError:
            raise AttributeError(name) from None
        return [row[i] for row in self.rows]

    def repeated_trial_id(self) -> int | None:
        """The first trial id recorded twice, else None (ids identify a run's evaluations)."""
        seen: set[int] = set()
        for row in self.rows:
            if row[0] in seen:
                return row[0]
            seen.add(row[0])
        return None

    def overhead_array(self) -> np.ndarray:
        return np.asarray(self.overhead, np.float64)

    def arrays(self) -> dict[str, np.ndarray]:
        columns = list(zip(*self.rows)) if self.rows else [()] * len(COLUMNS)
        c = dict(zip(COLUMNS, columns))
        return {
            "trial": np.asarray(c["trial"], np.int64), "worker": np.asarray(c["worker"], np.int32),
            "budget": np.asarray(c["budget"], np.int32),
            "hash": np.asarray(c["hash"], dtype="S32"),
            "start": np.asarray(c["start"], np.float64), "end": np.asarray(c["end"], np.float64),
            "validation_error": np.asarray(c["validation_error"], np.float64),
            "test_error": np.asarray(c["test_error"], np.float64),
            "cost": np.asarray(c["cost"], np.float64), "invalid": np.asarray(c["invalid"], bool)}
