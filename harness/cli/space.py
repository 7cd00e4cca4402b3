"""``nasbench space``: the search space from the command line."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from benchmark.errors import InputError
from benchmark.fileutil import atomic_writer
from benchmark.space import ModelSpec, enumerate_cells
from benchmark.space.constants import ops_of_labels

from .util import command, command_group


def register(groups: argparse._SubParsersAction) -> None:
    sub = command_group(groups, "space", "the search space: hash, info, export",
                        "The NAS-Bench-101 search space.")

    h = command(sub, "hash", "official hash of a cell", cmd_hash,
                "nasbench space hash --matrix '[[0,1],[0,0]]' --ops input,output")
    h.add_argument("--matrix", required=True, help="adjacency as JSON, rows are sources")
    h.add_argument("--ops", required=True, help="comma-joined ops, with input and output")

    command(sub, "info", "cell counts per vertex number", cmd_info, "nasbench space info")

    e = command(sub, "export", "every cell as TSV, sorted by hash", cmd_export,
                "nasbench space export --out cells.tsv", "nasbench space export | head")
    e.add_argument("--out", type=Path, help="file to write (default: stdout)")


def parse_spec(matrix: str, ops: str) -> ModelSpec:
    """A ``ModelSpec`` from CLI strings; bad JSON or specs raise ``ValueError``."""
    try:
        parsed = json.loads(matrix)
    except json.JSONDecodeError as exc:
        raise InputError(f"--matrix is not valid JSON: {exc.msg} at column {exc.colno}") from None
    except RecursionError:
        raise InputError("--matrix is nested too deeply; give a list of rows") from None
    return ModelSpec(parsed, [o.strip() for o in ops.split(",")])


def cmd_hash(args: argparse.Namespace) -> int:
    spec = parse_spec(args.matrix, args.ops)
    if not spec.valid_spec:
        raise InputError("the cell is disconnected: input does not reach output")
    print(spec.hash())
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    table = enumerate_cells()
    counts = np.bincount(table.num_vertices, minlength=8)
    print("vertices\tcells")
    for n in range(2, 8):
        print(f"{n}\t{counts[n]}")
    print(f"total\t{len(table)}")
    return 0


def export_rows(table) -> list[str]:
    """TSV lines of :func:`cmd_export` (hash, adjacency, ops, vertices, edges, parameters)."""
    lines = ["hash\tadjacency\tops\tnum_vertices\tnum_edges\ttrainable_parameters"]
    hashes = table.hex_hashes()
    for i, n in enumerate(table.num_vertices.tolist()):
        adjacency = "".join(map(str, table.matrices[i, :n, :n].ravel().tolist()))
        ops = ",".join(ops_of_labels(table.labels[i, :n].tolist()))
        lines.append(f"{hashes[i]}\t{adjacency}\t{ops}\t{n}\t{table.num_edges[i]}\t"
                     f"{table.trainable_parameters[i]}")
    return lines


def cmd_export(args: argparse.Namespace) -> int:
    text = "\n".join(export_rows(enumerate_cells())) + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        with atomic_writer(args.out) as fh:
            fh.write(text)
    return 0
