"""The embedded table: build time from the shipped artifact, its realism and its landscape.

Build target: about the time the hand-made generator took (~20 s on 2 cores); the baseline in the
same run is writing the same arrays as a store, the part of a build that is plain I/O.  Realism
and the landscape (budgets among the best cells, neighbours, op effects: real beside table) are
measured on the real sample when ``../shared`` is present (cross-validated: every cell is
predicted by a fold model that never saw it), else the figures recorded in the artifact.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from benchmark.data.store import write_store
from benchmark.space.constants import BUDGETS
from benchmark.space.enumeration import enumerate_cells
from benchmark.surrogate import generate, load_artifact, surrogate_store
from benchmark.surrogate.realism import format_realism, realism
from benchmark.surrogate.sample import read_sample
from benchmark.surrogate.structure import format_landscape, landscape

from .common import row, timed

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "nb101" / "sample_30k.json.gz"


def main() -> None:
    cells = enumerate_cells(progress=False)
    load_s, artifact = timed(load_artifact)
    draw_s, runs = timed(generate, artifact, 0)
    with tempfile.TemporaryDirectory() as tmp:
        build_s, _ = timed(surrogate_store, 0, root=Path(tmp) / "cache")
        arrays = {k: getattr(cells, k) for k in ("hashes", "matrices", "labels", "num_vertices",
                                                 "trainable_parameters")}
        write_s, _ = timed(write_store, Path(tmp) / "plain", arrays, runs, list(BUDGETS), cells,
                           {})
    row("load the artifact", f"{load_s:.2f} s")
    row("draw the table (423,624 cells x 4 x 3)", f"{draw_s:.1f} s")
    row("build the cached store, end to end", f"{build_s:.1f} s", "target <= 30 s",
        build_s <= 30)
    row("baseline: write the same arrays as a store", f"{write_s:.1f} s",
        f"build = {build_s / write_s:.1f}x the plain write")
    if SAMPLE.is_file():
        sample = read_sample(SAMPLE)
        figures = realism(runs, cells.hashes, sample)
        figures["best_mean_test_accuracy"] = artifact.meta["realism"]["best_mean_test_accuracy"]
        print(format_realism(figures))
        print(format_landscape(landscape(runs, cells, sample)))
    else:
        print(f"(no real sample at {SAMPLE}: the figures recorded at fit time)")
        print(format_realism(artifact.meta["realism"]))
        print(format_landscape(artifact.meta["realism"]["landscape"]))


if __name__ == "__main__":
    main()
