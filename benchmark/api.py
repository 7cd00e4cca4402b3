"""``NASBench``: the original NAS-Bench-101 API over a memory-mapped store, without TensorFlow.

Answers match the original ``nasbench.api.NASBench`` (same keys and structures, same
``OutOfDomainError`` cases); repeats are sampled from the instance's own
``numpy.random.Generator``, never a global RNG.  Loading maps the arrays and reads nothing else,
so it takes milliseconds; queries find any isomorphic or unpruned form of a cell through the
store's labelled-graph look-up, without computing the MD5 hash.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np

from .data.records import RUN_FIELDS
from .data.store import Store, open_store
from .errors import CellNotInStoreError, InputError, MissingFileError, OutOfDomainError, StoreError
from .space.constants import MAX_EDGES, MAX_VERTICES, NUM_REPEATS, OP_LABELS, OPS, ops_of_labels
from .space.enumeration import lookup_cell, lookup_mask
from .space.spec import ModelSpec

Repeat = int | str | None
QUERY_KEYS = ("training_time", "train_accuracy", "validation_accuracy", "test_accuracy")
log = logging.getLogger(__name__)


class NASBench:
    """The table.  ``path`` is a store directory or an official ``.tfrecord`` (converted on first
    use into ``<name>.store`` beside it, or into the user cache dir if that is not writable).

    Args:
        path: a store directory or an official ``nasbench_full/only108.tfrecord``.
        seed: seeds (or is) the Generator that samples a repeat where a query asks for none.
        verify: check every array against the store's manifest (SHA256) before use.

    Raises:
        MissingFileError: ``path`` does not exist.
        StoreError: the store is damaged, of another version, or fails ``verify``.
        DataFormatError: a ``.tfrecord`` that is not an official NAS-Bench-101 file.
    """

    def __init__(self, path: str | os.PathLike, seed: int | np.random.Generator | None = None,
                 *, verify: bool = False):
        path = Path(path).expanduser()
        if not path.exists():
            raise MissingFileError(f"{path}: no such file or folder (a store folder, a .tfrecord, "
                                   "or NASBench.surrogate() for the embedded table)")
        if path.suffix == ".tfrecord" or path.is_file():
            path = _converted(path)
        self._init_store(open_store(path, verify=verify), seed)

    @classmethod
    def from_store(cls, store: Store, seed: int | np.random.Generator | None = None) -> Self:
        """The table of an opened store (``seed`` as in the constructor)."""
        self = cls.__new__(cls)
        self._init_store(store, seed)
        return self

    @classmethod
    def surrogate(cls, seed: int = 0, rng: int | np.random.Generator | None = None) -> Self:
        """The embedded table: a surrogate fitted to real NAS-Bench-101 cells, every cell of the
        space (built from the shipped fit once, then cached).

        Args:
            seed: which draw of the table's runs (the same seed, the same table).
            rng: seeds (or is) the Generator that samples repeats for this instance.

        Returns:
            The table (``is_surrogate`` True): NOT NAS-Bench-101 results.
        """
        from .surrogate import surrogate_store

        return cls.from_store(open_store(surrogate_store(seed)), rng)

    def _init_store(self, store: Store, seed: int | np.random.Generator | None) -> None:
        self.store = store
        self.manifest = store.manifest
        a = store.arrays
        self._arrays = a
        self.hashes = a["hashes"]
        self.budgets: list[int] = store.budgets
        self.valid_epochs = set(self.budgets)
        self._budget_index = {b: i for i, b in enumerate(self.budgets)}
        self._runs = {name: a[name] for name in RUN_FIELDS}
        #: stop_halfway -> (key in query's answer, run field) pairs
        self._query_fields = {half: [(k, self._runs[("halfway_" if half else "final_") + k])
                                     for k in QUERY_KEYS] for half in (False, True)}
        self._graph_offset = a["graph_offset"].tolist()
        self._graph_id = a["graph_id"]
        self._cell_of = a["cell_of"]
        self.rng = np.random.default_rng(seed)   # a Generator is used as given
        self._row_cache: dict[tuple[bytes, tuple[str, ...]], int] = {}
        self.config: dict[str, Any] = {"module_vertices": MAX_VERTICES, "max_edges": MAX_EDGES,
                       "available_ops": list(OPS), "num_repeats": NUM_REPEATS}
        self.reset_budget_counters()

    # ---- identity -----------------------------------------------------------------------------
    @property
    def is_surrogate(self) -> bool:
        return self.store.surrogate

    @property
    def label(self) -> str:
        """"NAS-Bench-101", or the surrogate's label ("surrogate fitted to N real cells, ...")."""
        return self.store.label

    @property
    def path(self) -> Path:
        return self.store.path

    def __len__(self) -> int:
        return len(self.store)

    def __repr__(self) -> str:
        return (f"NASBench({str(self.path)!r}, {self.label}, {len(self)} cells, "
                f"budgets {self.budgets})")

    # ---- optima ---------------------------------------------------------------------------------
    @property
    def best_mean_test_accuracy(self) -> float:
        return self._optimum("best_mean_test_accuracy")

    @property
    def best_mean_validation_accuracy(self) -> float:
        return self._optimum("best_mean_validation_accuracy")

    def _optimum(self, key: str) -> float:
        try:
            return float(self.manifest["optima"][key])
        except KeyError:
            raise StoreError(f"{self.path}: no 108-epoch data, so no optimum") from None

    # ---- the original API -------------------------------------------------------------------
    def query(self, model_spec: ModelSpec, epochs: int = 108, stop_halfway: bool = False,
              repeat: Repeat = None) -> dict[str, Any]:
        """Metrics of one training run, as the original ``NASBench.query``.

        Args:
            model_spec: the cell, in any isomorphic or unpruned form.
            epochs: the budget, one of ``valid_epochs``.
            stop_halfway: the metrics at half the epochs (as the original).
            repeat: None samples one of the 3 runs from the instance's Generator; 0, 1, 2 a
                fixed one; ``'mean'`` their mean.

        Returns:
            ``module_adjacency``, ``module_operations``, ``trainable_parameters``,
            ``training_time`` and the train, validation and test accuracies; the budget
            counters grow by the training time and epochs.

        Raises:
            OutOfDomainError: an invalid cell or budget (the original's cases).
            CellNotInStoreError: a valid cell that a partial store lacks.
        """
        b = self._budget(epochs)
        row = self.row_of_spec(model_spec)
        data = self._fixed(row)
        fields = self._query_fields[bool(stop_halfway)]
        if repeat == "mean":
            for key, runs in fields:
                data[key] = float(runs[row, b].astype(np.float64).sum() / NUM_REPEATS)
        else:
            r = self._repeat(repeat)
            for key, runs in fields:
                data[key] = float(runs[row, b, r])
        self.training_time_spent += data["training_time"]
        self.total_epochs_spent += epochs // 2 if stop_halfway else epochs
        return data

    def get_metrics_from_hash(self, module_hash: str) -> tuple[dict, dict]:
        """Every run of one cell, as the original.

        Returns:
            ``(fixed_stat, computed_stat)``: computed[epochs] is a list of the 3 runs' metrics.

        Raises:
            CellNotInStoreError: no cell with this hash in the store.
        """
        row = self.row_of_hash(module_hash)
        computed = {}
        for epochs, b in self._budget_index.items():
            computed[epochs] = [{name: float(self._runs[name][row, b, r]) for name in RUN_FIELDS}
                                for r in range(NUM_REPEATS)]
        return self._fixed(row), computed

    def get_metrics_from_spec(self, model_spec: ModelSpec) -> tuple[dict, dict]:
        """:meth:`get_metrics_from_hash` of a cell; ``OutOfDomainError`` if it is invalid."""
        self._check_spec(model_spec)
        return self.get_metrics_from_hash(model_spec.hash())

    def hash_iterator(self) -> Iterator[str]:
        return iter(self.hashes.astype(str).tolist())

    def is_valid(self, model_spec: ModelSpec) -> bool:
        """Whether the cell is in the space (connected, at most 7 vertices and 9 edges)."""
        try:
            self._check_spec(model_spec)
        except OutOfDomainError:
            return False
        return True

    def get_budget_counters(self) -> tuple[float, int]:
        return self.training_time_spent, self.total_epochs_spent

    def reset_budget_counters(self) -> None:
        self.training_time_spent = 0.0
        self.total_epochs_spent = 0

    # ---- rows and vectorised access --------------------------------------------------------------
    def row_of_hash(self, module_hash: str) -> int:
        """The store row of a module hash; ``CellNotInStoreError`` if the store lacks it."""
        key = module_hash.encode() if isinstance(module_hash, str) else module_hash
        i = int(np.searchsorted(self.hashes, key))
        if i >= len(self.hashes) or self.hashes[i] != key:
            raise CellNotInStoreError(f"{self.path}: no cell with hash {module_hash!r}")
        return i

    def rows_of_hashes(self, hashes: Sequence[str] | np.ndarray) -> np.ndarray:
        """Rows of many hashes at once; -1 where a hash is not in the store."""
        keys = np.asarray(hashes, dtype="S32")
        idx = np.minimum(np.searchsorted(self.hashes, keys), len(self.hashes) - 1)
        return np.where(self.hashes[idx] == keys, idx, -1)

    def row_of_spec(self, model_spec: ModelSpec) -> int:
        """Row of a spec in any isomorphic or unpruned form; ``OutOfDomainError`` if invalid."""
        key = (model_spec.original_matrix.tobytes(), tuple(model_spec.original_ops))
        row = self._row_cache.get(key)
        if row is None:
            self._check_spec(model_spec)
            assert model_spec.ops is not None   # checked: a valid spec has its pruned ops
            row = lookup_mask(self._graph_offset, self._graph_id, self._cell_of,
                              model_spec.slot_mask(), [_label(op) for op in model_spec.ops])
            if row < 0:
                raise CellNotInStoreError(f"{self.path}: cell {model_spec.hash()} is not in this "
                                          "store")
            if len(self._row_cache) < 1_000_000:
                self._row_cache[key] = row
        return row

    def row_of_graph(self, matrix: np.ndarray, labels: Sequence[int]) -> int:
        """Row of a pruned, valid labelled graph (hash labels); -1 if this store lacks it."""
        return lookup_cell(self._graph_offset, self._graph_id, self._cell_of, matrix, labels)

    def metric(self, name: str, epochs: int = 108) -> np.ndarray:
        """A whole (cells, 3) array of a run field at one budget (a read-only view)."""
        if name not in self._runs:
            raise KeyError(f"unknown metric {name!r}; one of {', '.join(RUN_FIELDS)}")
        return self._runs[name][:, self._budget(epochs)]

    def runs(self, name: str) -> np.ndarray:
        """A run field for every cell, budget and repeat: (cells, budgets, 3), read-only."""
        if name not in self._runs:
            raise KeyError(f"unknown metric {name!r}; one of {', '.join(RUN_FIELDS)}")
        return self._runs[name]

    def array(self, name: str) -> np.ndarray:
        """A raw store array by name (hashes, matrices, labels, trainable_parameters, ...)."""
        return self._arrays[name]

    def spec_of_row(self, row: int) -> ModelSpec:
        n = int(self._arrays["num_vertices"][row])
        ops = ops_of_labels(self._arrays["labels"][row, :n].tolist())
        return ModelSpec(self._arrays["matrices"][row, :n, :n], ops)

    # ---- internals -------------------------------------------------------------------------------
    def _fixed(self, row: int) -> dict[str, Any]:
        a = self._arrays
        n = int(a["num_vertices"][row])
        return {"module_adjacency": np.array(a["matrices"][row, :n, :n]),
                "module_operations": ops_of_labels(a["labels"][row, :n].tolist()),
                "trainable_parameters": int(a["trainable_parameters"][row])}

    def _budget(self, epochs: int) -> int:
        b = self._budget_index.get(epochs)
        if b is None:
            raise OutOfDomainError(f"invalid number of epochs {epochs!r}, must be one of "
                                   f"{sorted(self.valid_epochs)} in {self.path}")
        return b

    def _repeat(self, repeat: Repeat) -> int:
        if repeat is None:
            return int(self.rng.integers(3))
        if repeat in (0, 1, 2) and not isinstance(repeat, bool):
            return int(repeat)
        raise InputError(f"repeat must be None, 0, 1, 2 or 'mean', got {repeat!r}")

    def _check_spec(self, model_spec: ModelSpec) -> None:
        if not model_spec.valid_spec:
            raise OutOfDomainError("invalid spec, provided graph is disconnected.")
        if model_spec.num_vertices > MAX_VERTICES:
            raise OutOfDomainError(f"too many vertices, got {model_spec.num_vertices} "
                                   f"(max vertices = {MAX_VERTICES})")
        if model_spec.num_edges > MAX_EDGES:
            raise OutOfDomainError(f"too many edges, got {model_spec.num_edges} "
                                   f"(max edges = {MAX_EDGES})")


_label = OP_LABELS.__getitem__


def _writable(folder: Path) -> bool:
    """Whether a store may be written into ``folder``: it is writable, and its mode says so
    (root may write into a folder without write bits, e.g. a read-only copy of the data, but
    should not)."""
    return os.access(folder, os.W_OK) and bool(folder.stat().st_mode & 0o222)


def _converted(src: Path) -> Path:
    """The store of an official file, converting it on first use.  The store beside it is
    reused only if it was converted from these very bytes (the source's SHA256, ~0.4 s per
    500 MB: open the store itself to skip it)."""
    from .data.convert import convert, default_store_path
    from .fileutil import cache_dir, file_sha256

    if not src.is_file():
        raise MissingFileError(f"{src}: no such file")
    target = default_store_path(src)
    if not _writable(src.parent):
        target = cache_dir() / target.name
    try:
        source = open_store(target).manifest.get("source") or {}
    except StoreError:
        source = None
    if source is not None:
        if source.get("size") == src.stat().st_size and source.get("sha256") == file_sha256(src):
            return target
        log.warning("%s was converted from another file than %s; converting again", target, src)
    return convert(src, target)
