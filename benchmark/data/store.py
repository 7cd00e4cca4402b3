"""The columnar store: a directory of ``.npy`` arrays plus ``manifest.json``, memory-mapped on load.

Layout (C cells sorted by hash, B budgets ascending, R = 3 repeats)::

    manifest.json           schema version, source (name, size, sha256), counts, optima, checksums
    hashes.npy              (C,) S32      module hashes, ascending
    matrices.npy            (C, 7, 7) int8 stored (first-met) adjacency, zero padded
    labels.npy              (C, 7) int8   -1 input, 0 conv3x3, 1 conv1x1, 2 maxpool, -2 output,
                                          -3 pad
    num_vertices.npy        (C,) int8
    trainable_parameters.npy (C,) int64
    <run field>.npy         (C, B, R)     halfway_/final_ training_time and accuracies
    total_time.npy          (C, B, R)     NaN where the record has none
    graph_offset.npy, graph_id.npy, cell_of.npy   labelled graph -> row look-up (see CellTable)

Run fields are stored as float32 when every value is exactly a float32 (then float64(float32) gives
back the same bits), else as float64: either way values round-trip bit-exactly.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

import numpy as np

from ..errors import StoreError
from ..fileutil import (
    atomic_directory,
    atomic_write_text,
    file_sha256,
    sha256_once,
    why_not_replaceable,
)
from ..space.constants import BUDGETS, NUM_REPEATS
from ..space.enumeration import NUM_CELLS, CellTable
from .records import RUN_FIELDS

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
FORMAT = "nasbench-harness-store"
MANIFEST = "manifest.json"
CELL_ARRAYS = ("hashes", "matrices", "labels", "num_vertices", "trainable_parameters")
LOOKUP_ARRAYS = ("graph_offset", "graph_id", "cell_of")
RUN_ARRAYS = (*RUN_FIELDS, "total_time")


def optima(arrays: dict[str, np.ndarray], budgets: list[int]) -> dict[str, Any]:
    """Best mean (over repeats, summed in order then /3) test and validation accuracy at 108."""
    if 108 not in budgets:
        return {}
    b = budgets.index(108)
    out = {}
    for key, fieldname in (("test", "final_test_accuracy"), ("validation",
                                                              "final_validation_accuracy")):
        mean = repeat_mean(arrays[fieldname][:, b, :])
        best = int(np.argmax(mean))
        out[f"best_mean_{key}_accuracy"] = float(mean[best])
        out[f"best_mean_{key}_hash"] = arrays["hashes"][best].decode()
    return out


def repeat_mean(runs: np.ndarray) -> np.ndarray:
    """Per cell, the mean over its repeats (last axis) in float64: summed in order, then
    divided, as the original's ``np.mean`` over 3 Python floats rounds."""
    runs = np.asarray(runs, np.float64)
    total = runs[..., 0]
    for r in range(1, NUM_REPEATS):
        total = total + runs[..., r]
    return total / NUM_REPEATS


def _narrow(values: np.ndarray) -> np.ndarray:
    """float32 if lossless (NaN counts as lossless), else float64."""
    as32 = values.astype(np.float32)
    same = (as32.astype(np.float64) == values) | np.isnan(values)
    return as32 if bool(same.all()) else values


def check_store_target(out: Path, protect: Path | None = None) -> None:
    """Refuse an ``out`` that writing a store there would destroy: anything but a missing path,
    an empty folder or a store this tool wrote (its manifest says so).  ``protect`` (the source
    being converted) may not be ``out`` nor lie inside it."""
    out = Path(out)
    if protect is not None:
        src, target = Path(protect).resolve(), out.resolve()
        if src == target or target in src.parents:
            raise StoreError(f"{out}: holds the source {protect}; give the store another folder")
    why = why_not_replaceable(out, MANIFEST, FORMAT, "exists and is not a store this tool wrote")
    if why:
        raise StoreError(f"{out}: {why}")
    if not out.exists() or not any(out.iterdir()):
        return
    files = json.loads((out / MANIFEST).read_text()).get("files")
    written = {MANIFEST, *(f"{name}.npy" for name in files)} if isinstance(files, dict) else set()
    others = sorted(p.name for p in out.iterdir() if p.name not in written)
    if others:  # replacing the folder would delete them
        raise StoreError(f"{out}: holds {out / others[0]}, which is not part of the store"
                         f"{f' (and {len(others) - 1} more)' if len(others) > 1 else ''}; "
                         "nothing was changed; move it, or give a new or empty folder")


def write_store(out: Path, cells: dict[str, np.ndarray], runs: dict[str, np.ndarray],
                budgets: list[int], lookup: CellTable, meta: dict[str, Any]) -> Path:
    """Write a store atomically.  ``cells``/``runs`` are in hash order; ``lookup`` maps graphs to
    enumeration rows, which are remapped here to this store's rows."""
    check_store_target(out)
    hashes = cells["hashes"]
    num = int(hashes.shape[0])
    complete = num == NUM_CELLS
    if complete:
        cell_of = lookup.cell_of
    else:
        row_of_cell = np.full(len(lookup), -1, np.int32)
        row_of_cell[np.searchsorted(lookup.hashes, hashes)] = np.arange(num, dtype=np.int32)
        cell_of = np.where(lookup.cell_of >= 0, row_of_cell[lookup.cell_of], -1).astype(np.int32)
    arrays = {**cells, **{k: _narrow(np.asarray(v, np.float64)) for k, v in runs.items()},
              "graph_offset": lookup.graph_offset, "graph_id": lookup.graph_id,
              "cell_of": cell_of}
    manifest = {
        "format": FORMAT, "schema_version": SCHEMA_VERSION, **meta,
        "num_cells": num, "complete": complete, "budgets": budgets,
        "num_repeats": NUM_REPEATS, "optima": optima(arrays, budgets), "files": {},
    }
    with atomic_directory(out) as tmp:
        for name, arr in arrays.items():
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(arr))
            manifest["files"][name] = {"dtype": str(arr.dtype), "shape": list(arr.shape),
                                       "sha256": file_sha256(tmp / f"{name}.npy")}
        atomic_write_text(tmp / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return out




@dataclass
class Store:
    """An opened store: the manifest and read-only memory-mapped arrays."""

    path: Path
    manifest: dict[str, Any]
    arrays: dict[str, np.ndarray] = field(repr=False)

    @property
    def budgets(self) -> list[int]:
        return list(self.manifest["budgets"])

    @property
    def surrogate(self) -> bool:
        """True for the embedded table drawn from the fitted surrogate."""
        return bool(self.manifest.get("surrogate", False))

    @property
    def label(self) -> str:
        """What outputs call this table: the surrogate's label, or "NAS-Bench-101"."""
        return str(self.manifest.get("label") or "NAS-Bench-101")

    def __len__(self) -> int:
        return int(self.manifest["num_cells"])

    def verify(self, full: bool = True) -> None:
        """Check every array against the manifest's SHA256: re-read now (``full``), or once per
        state of each file (:func:`~benchmark.fileutil.sha256_once`: a file not written since
        it was last checked costs a ``stat``).

        Raises:
            StoreError: naming the first array whose bytes do not match.
        """
        digest = file_sha256 if full else sha256_once
        for name, info in self.manifest["files"].items():
            if digest(self.path / f"{name}.npy") != info["sha256"]:
                raise StoreError(f"{self.path / (name + '.npy')}: checksum does not match "
                                 f"{MANIFEST} (the file changed after the store was written); "
                                 "convert the source again")


def _check_manifest(manifest: dict[str, Any], mpath: Path) -> None:
    """Keys, types and shapes the store's readers rely on; one ``StoreError`` naming the key."""
    def bad(key: str, want: str) -> StoreError:
        return StoreError(f"{mpath}: {key} must be {want}, got {manifest.get(key, '(missing)')!r}"
                          [:300])

    def is_int(v: Any) -> TypeGuard[int]:
        return isinstance(v, int) and not isinstance(v, bool)

    num = manifest.get("num_cells")
    if not is_int(num) or num < 1:
        raise bad("num_cells", "a positive integer")
    budgets = manifest.get("budgets")
    if (not isinstance(budgets, list) or not budgets or any(b not in BUDGETS for b in budgets)
            or sorted(set(budgets)) != budgets):
        raise bad("budgets", f"a rising list drawn from {list(BUDGETS)}")
    if manifest.get("num_repeats") != NUM_REPEATS:
        raise bad("num_repeats", str(NUM_REPEATS))
    if not isinstance(manifest.get("complete"), bool):
        raise bad("complete", "true or false")
    if not is_int(manifest.get("num_records")) or manifest["num_records"] < 0:
        raise bad("num_records", "a count of the records converted")
    optima = manifest.get("optima")
    if not isinstance(optima, dict):
        raise bad("optima", "a mapping")
    if 108 in budgets and not all(isinstance(optima.get(k), float | int)
                                  for k in ("best_mean_test_accuracy",
                                            "best_mean_validation_accuracy")):
        raise bad("optima", "the best mean test and validation accuracies at 108 epochs")
    if not isinstance(manifest.get("source"), dict):   # every writer records it
        raise bad("source", "a mapping (the converted file's size and sha256)")
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise bad("files", "a mapping of array names")
    runs_shape = [num, len(budgets), NUM_REPEATS]
    for name in (*CELL_ARRAYS, *RUN_ARRAYS, *LOOKUP_ARRAYS):
        info = files.get(name)
        if not (isinstance(info, dict) and isinstance(info.get("dtype"), str)
                and isinstance(info.get("sha256"), str) and isinstance(info.get("shape"), list)
                and all(is_int(n) and n >= 0 for n in info["shape"])):
            raise StoreError(f"{mpath}: files.{name} must give dtype, shape and sha256 of "
                             f"{name}.npy, got {info!r}"[:300])
        if name in RUN_ARRAYS and info["shape"] != runs_shape:
            raise StoreError(f"{mpath}: {name}.npy: shape {info['shape']} does not fit "
                             f"num_cells, budgets and num_repeats ({runs_shape})")
        if name in CELL_ARRAYS and info["shape"][:1] != [num]:
            raise StoreError(f"{mpath}: {name}.npy: shape {info['shape']} does not fit "
                             f"num_cells ({num})")


def open_store(path: str | Path, verify: bool = False) -> Store:
    """Open a converted store; one clear ``StoreError`` for anything that does not fit.

    Every array is checked against the manifest's SHA256 before it is used: hashed once per
    state of the file (a store opened again unchanged costs a ``stat`` per array), or read
    again in full with ``verify=True`` (``nasbench data verify``).
    """
    path = Path(path)
    mpath = path / MANIFEST
    try:
        manifest = json.loads(mpath.read_text())
    except FileNotFoundError:
        raise StoreError(f"{path}: not a NAS-Bench-101 store (no {MANIFEST}); "
                         "convert a .tfrecord with 'nasbench data convert'") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise StoreError(f"{mpath}: unreadable manifest ({exc})") from None
    except OSError as exc:     # a folder, a path through a file, no permission
        raise StoreError(f"{mpath}: unreadable manifest ({exc.strerror or exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise StoreError(f"{mpath}: not a {FORMAT} manifest")
    if "schema_version" not in manifest:
        raise StoreError(f"{mpath}: schema_version is missing; convert the source again")
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise StoreError(f"{mpath}: schema version {manifest.get('schema_version')!r}, this "
                         f"version reads {SCHEMA_VERSION}; convert the source again")
    _check_manifest(manifest, mpath)
    arrays = {}
    for name in (*CELL_ARRAYS, *RUN_ARRAYS, *LOOKUP_ARRAYS):
        info = manifest["files"][name]
        fpath = path / f"{name}.npy"
        try:
            arr = np.load(fpath, mmap_mode="r")
        except FileNotFoundError:
            raise StoreError(f"{fpath}: missing from the store") from None
        except (ValueError, EOFError, OSError) as exc:
            raise StoreError(f"{fpath}: unreadable array ({exc or 'empty file'})") from None
        if list(arr.shape) != info["shape"] or str(arr.dtype) != info["dtype"]:
            raise StoreError(f"{fpath}: shape {arr.shape}/{arr.dtype} does not match {MANIFEST} "
                             f"({tuple(info['shape'])}/{info['dtype']})")
        arrays[name] = arr.view(np.ndarray)
    store = Store(path, manifest, arrays)
    store.verify(full=verify)
    return store


__all__ = ["BUDGETS", "CELL_ARRAYS", "FORMAT", "LOOKUP_ARRAYS", "MANIFEST", "RUN_ARRAYS",
           "SCHEMA_VERSION", "Store", "check_store_target", "open_store", "optima", "write_store"]
