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

#: Checks of many minutes (the whole demo, hyperopt's own 2,000-trial runs): not in `make test`,
#: run with NASBENCH_LONG=1.
long_check = pytest.mark.skipif(os.environ.get("NASBENCH_LONG") != "1",
                                reason="a check of many minutes: NASBENCH_LONG=1 runs it")
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
def surrogate(cells):
    from benchmark import NASBench

    return NASBench.surrogate(0, rng=0)


def official_tarball(path: Path, cifar, per_batch: int, test_images: int) -> Path:
    """CIFAR-10 in the official python-pickle layout, written from the shared (real) images:
    ``per_batch`` images in each of data_batch_1..5, ``test_images`` in test_batch."""
    import io
    import pickle
    import tarfile

    def batch(split, lo, hi):
        data = split.images[lo:hi].transpose(0, 3, 1, 2).reshape(hi - lo, -1)
        return pickle.dumps({b"data": data, b"labels": split.labels[lo:hi].tolist()})

    with tarfile.open(path, "w:gz") as tar:
        parts = {f"data_batch_{i + 1}": batch(cifar.train, per_batch * i, per_batch * (i + 1))
                 for i in range(4)}
        parts["data_batch_5"] = batch(cifar.valid, 0, per_batch)
        parts["test_batch"] = batch(cifar.test, 0, test_images)
        for name, data in parts.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path



@pytest.fixture
def unversioned_table(monkeypatch):
    """Identities as for a table whose version never changed (a real table's folders): the tests
    of resuming folders that older code made.  The surrogate's own version-1 folders are refused
    since version 2 (``harness.config.surrogate_version``)."""
    import harness.config

    monkeypatch.setattr(harness.config, "surrogate_version", lambda bench: None)
