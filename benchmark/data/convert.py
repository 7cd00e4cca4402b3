"""One-time conversion of an official ``.tfrecord`` into a store (see :mod:`.store`)."""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from ..errors import DataFormatError, MissingFileError
from ..space.constants import BUDGETS, NUM_REPEATS, ops_of_labels
from ..space.enumeration import enumerate_cells
from .records import RUN_FIELDS, RecordError, decode
from .store import check_store_target, write_store
from .tfrecord import TFRecordReader

log = logging.getLogger(__name__)


def default_store_path(src: Path) -> Path:
    """``foo.tfrecord`` -> ``foo.store`` beside it."""
    return src.with_name(src.name.removesuffix(".tfrecord") + ".store")


def convert(src: str | os.PathLike, out: str | os.PathLike | None = None,
            progress: bool = True) -> Path:
    """Convert an official file into a store (``nasbench data convert``).

    Args:
        src: ``nasbench_full.tfrecord`` or ``nasbench_only108.tfrecord``.
        out: the store directory (None: ``<src>.store`` beside it).
        progress: show a progress bar.

    Returns:
        The store directory.

    Raises:
        MissingFileError: no ``src``.
        DataFormatError: ``src`` is not an official NAS-Bench-101 file.
    """
    from tqdm import tqdm

    src = Path(src)
    out = Path(out) if out is not None else default_store_path(src)
    if not src.is_file():
        raise MissingFileError(f"{src}: no such file" if not src.exists() else
                               f"{src}: not a file; give an official .tfrecord")
    check_store_target(out, protect=src)  # before minutes of work, and again when writing
    table = enumerate_cells(progress=progress)
    num_cells = len(table)
    row_of_hash = dict(zip(table.hex_hashes(), range(num_cells)))
    budget_index = {b: i for i, b in enumerate(BUDGETS)}
    values = np.full((len(RUN_FIELDS), num_cells, len(BUDGETS), NUM_REPEATS), np.nan)
    total_time = np.full((num_cells, len(BUDGETS), NUM_REPEATS), np.nan)
    counts = np.zeros((num_cells, len(BUDGETS)), np.int8)
    params = np.full(num_cells, -1, np.int64)

    reader = TFRecordReader(src)
    bar = tqdm(total=reader.size, unit="B", unit_scale=True, desc=f"converting {src.name}",
               disable=not progress, mininterval=0.5, delay=1.0)  # none for a quick error
    index = -1
    try:
        for index, payload in enumerate(reader):
            if index & 0xFFFF == 0:
                bar.update(reader.bytes_read - bar.n)
            try:
                run = decode(payload)
            except RecordError as exc:
                raise DataFormatError(f"{src}: record {index}: {exc}") from None
            row = row_of_hash.get(run.module_hash)
            if row is None:
                raise DataFormatError(f"{src}: record {index}: {run.module_hash!r} is not the "
                                      "hash of a NAS-Bench-101 cell")
            b = budget_index.get(run.epochs)
            if b is None:
                raise DataFormatError(f"{src}: record {index}: epochs {run.epochs} not in "
                                      f"{list(BUDGETS)}")
            r = counts[row, b]
            if r >= NUM_REPEATS:
                raise DataFormatError(f"{src}: record {index}: more than {NUM_REPEATS} runs of "
                                      f"{run.module_hash} at {run.epochs} epochs")
            if params[row] < 0:
                _check_cell(table, row, run, src, index)
                params[row] = run.trainable_parameters
            values[:, row, b, r] = run.values
            if run.total_time is not None:
                total_time[row, b, r] = run.total_time
            counts[row, b] = r + 1
        bar.update(reader.size - bar.n)
    finally:
        bar.close()
    if index < 0:
        raise DataFormatError(f"{src}: no records")

    present = np.flatnonzero(params >= 0)
    used = [i for i in range(len(BUDGETS)) if counts[present, i].any()]
    ix = np.ix_(present, used)  # type: ignore[arg-type]  # numpy's stub refuses a list of ints
    sub = counts[ix]
    if (sub != NUM_REPEATS).any():
        r, c = map(int, np.argwhere(sub != NUM_REPEATS)[0])
        raise DataFormatError(
            f"{src}: incomplete: {table.hex_hashes()[present[r]]} has {sub[r, c]} runs at "
            f"{BUDGETS[used[c]]} epochs (expected {NUM_REPEATS} at each of "
            f"{[BUDGETS[u] for u in used]})")
    cells = {"hashes": table.hashes[present], "matrices": table.matrices[present],
             "labels": table.labels[present], "num_vertices": table.num_vertices[present],
             "trainable_parameters": params[present]}
    runs = {name: values[k][ix] for k, name in enumerate(RUN_FIELDS)}
    runs["total_time"] = total_time[ix]
    meta = {"num_records": index + 1,
            "source": {"name": src.name, "size": reader.size, "sha256": reader.sha256}}
    log.info("%s: %d records, %d cells, budgets %s", src, index + 1, present.size,
             [BUDGETS[u] for u in used])
    return write_store(out, cells, runs, [BUDGETS[u] for u in used], table, meta)


def _check_cell(table, row: int, run, src: Path, index: int) -> None:
    """The record's stored form must be the cell's representative (this also checks the hash)."""
    n = int(table.num_vertices[row])
    adjacency = "".join("1" if x else "0" for x in table.matrices[row, :n, :n].ravel().tolist())
    ops = ",".join(ops_of_labels(table.labels[row, :n].tolist()))
    if run.adjacency != adjacency or run.ops != ops:
        raise DataFormatError(f"{src}: record {index}: stored cell of {run.module_hash} is "
                              f"{run.adjacency}/{run.ops}, expected {adjacency}/{ops}")
