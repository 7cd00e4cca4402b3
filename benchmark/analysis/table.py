"""What the analysis reads: a table's per-cell arrays, from a store or from the real sample.

Every statistic of :mod:`benchmark.analysis` takes plain arrays; :class:`Table` only gathers
them with what they mean (which metrics exist, how many repeats, whether every cell is there),
so a statistic a table cannot support can say why instead of failing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..data.store import Store, repeat_mean
from ..errors import DataFormatError
from ..space.constants import BUDGETS
from ..space.enumeration import NUM_CELLS, CellTable

#: Metric name -> the store's run field.
STORE_FIELDS = {"validation": "final_validation_accuracy", "test": "final_test_accuracy",
                "train": "final_train_accuracy", "time": "final_training_time"}


@dataclass(frozen=True)
class Table:
    """Per-cell arrays of one table (rows sorted by hash).

    ``metrics[name]`` is (cells, budgets, repeats) float64 for name in validation, test, train,
    time (NaN where a budget lacks it); a metric the table does not hold is absent.
    ``graph_offset/graph_id/cell_of`` map any labelled graph to this table's row (-1: absent).
    """

    label: str
    hashes: np.ndarray
    matrices: np.ndarray
    labels: np.ndarray
    num_vertices: np.ndarray
    parameters: np.ndarray
    budgets: tuple[int, ...]
    metrics: dict[str, np.ndarray] = field(repr=False)
    graph_offset: np.ndarray = field(repr=False)
    graph_id: np.ndarray = field(repr=False)
    cell_of: np.ndarray = field(repr=False)
    surrogate: bool = False
    source: str = ""

    def __len__(self) -> int:
        return int(self.hashes.shape[0])

    @property
    def repeats(self) -> int:
        return int(next(iter(self.metrics.values())).shape[2])

    @property
    def complete(self) -> bool:
        """Whether every cell of the space is in the table (locality needs them all)."""
        return len(self) == NUM_CELLS

    def has(self, name: str, budget: int = 108) -> bool:
        """Whether the table holds ``name`` at ``budget`` for at least one cell."""
        if name not in self.metrics or budget not in self.budgets:
            return False
        return bool(np.isfinite(self.at(name, budget)).any())

    def at(self, name: str, budget: int = 108) -> np.ndarray:
        """(cells, repeats) values of a metric at one budget."""
        return self.metrics[name][:, self.budgets.index(budget)]

    def mean(self, name: str, budget: int = 108) -> np.ndarray:
        """Per cell, the mean over repeats (summed in order, then divided, as the original)."""
        runs = self.at(name, budget)
        return repeat_mean(runs) if runs.shape[1] == 3 else runs.mean(axis=1)

    def row(self, module_hash: str) -> int:
        """Row of a cell by its hash, -1 if the table lacks it."""
        key = module_hash.encode()
        i = int(np.searchsorted(self.hashes, key))
        return i if i < len(self) and self.hashes[i] == key else -1


def from_store(store: Store) -> Table:
    """A converted store (the real table, a partial one, the surrogate or a built table)."""
    a = store.arrays
    metrics = {name: np.asarray(a[f], np.float64) for name, f in STORE_FIELDS.items()}
    return Table(label=store.label, hashes=a["hashes"], matrices=a["matrices"],
                 labels=a["labels"], num_vertices=a["num_vertices"],
                 parameters=a["trainable_parameters"], budgets=tuple(store.budgets),
                 metrics=metrics, graph_offset=a["graph_offset"], graph_id=a["graph_id"],
                 cell_of=a["cell_of"], surrogate=store.surrogate, source=str(store.path))


def from_sample(path: str | Path, cells: CellTable) -> Table:
    """The real sample's valued rows: one run's validation accuracy at each budget and the
    108-epoch training time (no test or train accuracy, one repeat).

    Raises:
        DataFormatError: the file is not a sample, or no row carries values.
    """
    from ..surrogate.sample import read_sample

    sample = read_sample(path)
    if not len(sample):
        raise DataFormatError(f"{path}: none of its {sample.num_rows} rows carries values "
                              "(validation_accuracy_one_run, training_time_108): nothing to "
                              "analyse")
    order = np.argsort(sample.hashes, kind="stable")
    hashes = sample.hashes[order]
    if np.unique(hashes).size != hashes.size:
        raise DataFormatError(f"{path}: a hash occurs twice")
    rows = np.searchsorted(cells.hashes, hashes)
    rows = np.minimum(rows, len(cells) - 1)
    unknown = np.flatnonzero(cells.hashes[rows] != hashes)
    if unknown.size:
        raise DataFormatError(f"{path}: hash {hashes[unknown[0]].decode()} is no cell of the "
                              "NAS-Bench-101 space")
    validation = sample.validation[order][:, :, None]
    time = np.full((hashes.size, len(BUDGETS), 1), np.nan)
    time[:, BUDGETS.index(108), 0] = sample.time108[order]
    return subset(cells, rows, {"validation": validation, "time": time}, BUDGETS,
                  f"real sample ({hashes.size:,} cells with values)", str(path))


def subset(cells: CellTable, rows: np.ndarray, metrics: dict[str, np.ndarray],
           budgets=BUDGETS, label: str = "table", source: str = "",
           surrogate: bool = False) -> Table:
    """A table of some enumerated cells (``rows``, ascending) with the given metric arrays
    (cells x budgets x repeats, in ``rows``' order); the look-up maps onto these rows."""
    rows = np.asarray(rows, np.int64)
    if rows.size == len(cells) and np.array_equal(rows, np.arange(len(cells))):
        cell_of = cells.cell_of
    else:
        row_of_cell = np.full(len(cells), -1, np.int32)
        row_of_cell[rows] = np.arange(rows.size, dtype=np.int32)
        cell_of = np.where(cells.cell_of >= 0, row_of_cell[cells.cell_of], -1).astype(np.int32)
    return Table(label=label, hashes=cells.hashes[rows], matrices=cells.matrices[rows],
                 labels=cells.labels[rows], num_vertices=cells.num_vertices[rows],
                 parameters=cells.trainable_parameters[rows], budgets=tuple(budgets),
                 metrics={k: np.asarray(v, np.float64) for k, v in metrics.items()},
                 graph_offset=cells.graph_offset, graph_id=cells.graph_id, cell_of=cell_of,
                 surrogate=surrogate, source=source)
