"""Shared fixtures: the enumeration cache in the repo, the read-only shared data, small stores."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
NB101 = SHARED / "nb101"
os.environ.setdefault("NASBENCH_CACHE_DIR", str(ROOT / ".cache"))
os.environ.setdefault("MPLBACKEND", "Agg")

needs_shared = pytest.mark.skipif(
    not NB101.is_dir(), reason=f"shared NAS-Bench-101 records not found at {NB101}")

INCEPTION_HASH = "28cfc7874f6d200472e1a9dcd8650aa0"
INCEPTION_MATRIX = [[0, 1, 1, 1, 1, 0, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1],
                    [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1],
                    [0, 0, 0, 0, 0, 0, 0]]
INCEPTION_OPS = ["input", "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3", "conv3x3-bn-relu",
                 "conv3x3-bn-relu", "output"]
INCEPTION_MEAN_TEST = 0.9308560291926066


@pytest.fixture(scope="session")
def cells():
    from benchmark.space import enumerate_cells

    return enumerate_cells(progress=False)


@pytest.fixture(scope="session")
def store_dir(tmp_path_factory, cells):
    """Stores converted from the shared fixtures: {'full': path, 'only108': path}."""
    if not NB101.is_dir():
        pytest.skip(f"shared NAS-Bench-101 records not found at {NB101}")
    from benchmark.data.convert import convert

    root = tmp_path_factory.mktemp("stores")
    return {name: convert(NB101 / f"fixture_{name}.tfrecord", root / name, progress=False)
            for name in ("full", "only108")}


@pytest.fixture(scope="session")
def synthetic(cells):
    from benchmark import NASBench

    return NASBench.synthetic(0, rng=0)
