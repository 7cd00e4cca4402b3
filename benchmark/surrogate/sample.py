"""The real data the surrogate learns from: the 30k uniform sample and the fixture runs.

``sample_30k.json.gz`` holds 30,001 real cells; 25,001 of them carry one run's validation
accuracy at 4/12/36/108 epochs and the 108-epoch training time, the other 5,000 carry ``null``
there (kept back for an independent check).  :func:`read_sample` returns only the rows with
values.  ``fixture_expected.json`` holds every metric of 3 runs for 31 cells at 108 epochs and of
the Inception-like cell at every budget; :func:`read_fixture_runs` returns them as arrays.
"""
from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataFormatError
from ..space.constants import BUDGETS


@dataclass(frozen=True)
class Sample:
    """Rows of the real sample that carry values, in file order."""

    hashes: np.ndarray          # (N,) S32
    validation: np.ndarray      # (N, 4) one run's validation accuracy at BUDGETS
    time108: np.ndarray         # (N,) that cell's 108-epoch training time [s]
    num_rows: int               # rows in the file, with values or not

    def __len__(self) -> int:
        return len(self.hashes)


def _load_json(path: Path):
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise DataFormatError(f"{path}: no such file") from None
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataFormatError(f"{path}: unreadable ({exc})") from None


def read_sample(path: str | Path) -> Sample:
    """The valued rows of the real sample (rows with ``null`` values are skipped)."""
    path = Path(path)
    rows = _load_json(path)
    if not isinstance(rows, list):
        raise DataFormatError(f"{path}: expected a JSON list of cells")
    hashes, values, times = [], [], []
    for i, row in enumerate(rows):
        try:
            one_run, t = row["validation_accuracy_one_run"], row["training_time_108"]
            if one_run is None or t is None:
                continue
            values.append([float(one_run[str(b)]) for b in BUDGETS])
            times.append(float(t))
            hashes.append(str(row["hash"]).encode())
        except (KeyError, TypeError, ValueError) as exc:
            raise DataFormatError(f"{path}: row {i}: malformed ({exc!r})") from None
    return Sample(np.array(hashes, dtype="S32"), np.array(values, np.float64).reshape(-1, 4),
                  np.array(times, np.float64), len(rows))


RUN_KEYS = ("final_validation_accuracy", "final_test_accuracy", "final_train_accuracy",
            "final_training_time", "halfway_validation_accuracy", "halfway_test_accuracy",
            "halfway_train_accuracy", "halfway_training_time")


def read_fixture_runs(path: str | Path) -> dict[int, dict[str, np.ndarray]]:
    """Per budget: each run metric as a (cells, 3) array over the fixture cells that have it,
    and ``hashes``, those cells."""
    path = Path(path)
    cells = _load_json(path)
    out: dict[int, dict[str, np.ndarray]] = {}
    try:
        for budget in BUDGETS:
            having = {h: c["runs"][str(budget)] for h, c in cells.items()
                      if str(budget) in c["runs"]}
            if having:
                out[budget] = {k: np.array([[run[k] for run in runs] for runs in having.values()],
                                           np.float64) for k in RUN_KEYS}
                out[budget]["hashes"] = np.array(list(having))
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise DataFormatError(f"{path}: malformed fixture runs ({exc!r})") from None
    if 108 not in out:
        raise DataFormatError(f"{path}: no 108-epoch runs")
    return out
