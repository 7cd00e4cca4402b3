"""Reading official records, the store, the NASBench API, the surrogate table."""
from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest

from benchmark import (
    CellNotInStoreError,
    DataFormatError,
    ModelSpec,
    NASBench,
    OutOfDomainError,
    StoreError,
)
from benchmark.data.records import RUN_FIELDS, Run, decode, encode
from benchmark.data.store import open_store
from benchmark.data.tfrecord import TFRecordReader, write_records

from .conftest import (
    INCEPTION_HASH,
    INCEPTION_MATRIX,
    INCEPTION_MEAN_TEST,
    INCEPTION_OPS,
    NB101,
    needs_shared,
)

pytestmark = needs_shared


@pytest.fixture(scope="module")
def expected():
    return json.loads((NB101 / "fixture_expected.json").read_text())


@pytest.fixture
def full(store_dir):
    return NASBench(store_dir["full"], seed=0)


@pytest.fixture
def only108(store_dir):
    return NASBench(store_dir["only108"], seed=0)


def test_fixture_values_round_trip_exactly(store_dir, expected):
    for name in ("full", "only108"):
        nb = NASBench(store_dir[name])
        for module_hash in nb.hash_iterator():
            fixed, computed = nb.get_metrics_from_hash(module_hash)
            want = expected[module_hash]
            assert fixed["module_adjacency"].tolist() == want["matrix"]
            assert fixed["module_operations"] == want["ops"]
            assert fixed["trainable_parameters"] == want["trainable_parameters"]
            for epochs, runs in computed.items():
                assert runs == want["runs"][str(epochs)]  # exact float equality
        assert len(nb) == {"full": 1, "only108": 31}[name]


def test_inception_mean_test_accuracy(only108, full):
    spec = ModelSpec(INCEPTION_MATRIX, INCEPTION_OPS)
    for nb in (only108, full):
        assert nb.query(spec, repeat="mean")["test_accuracy"] == INCEPTION_MEAN_TEST
    assert only108.best_mean_test_accuracy == INCEPTION_MEAN_TEST


def test_query_keys_halfway_repeats_and_counters(full, expected):
    spec = ModelSpec(INCEPTION_MATRIX, INCEPTION_OPS)
    runs = expected[INCEPTION_HASH]["runs"]["12"]
    data = full.query(spec, epochs=12, stop_halfway=True, repeat=1)
    assert set(data) == {"module_adjacency", "module_operations", "trainable_parameters",
                         "training_time", "train_accuracy", "validation_accuracy",
                         "test_accuracy"}
    assert data["validation_accuracy"] == runs[1]["halfway_validation_accuracy"]
    assert data["training_time"] == runs[1]["halfway_training_time"]
    assert full.get_budget_counters() == (runs[1]["halfway_training_time"], 6)
    full.query(spec, epochs=12)
    assert full.get_budget_counters()[1] == 18
    full.reset_budget_counters()
    assert full.get_budget_counters() == (0.0, 0)
    # sampled repeats come from the instance's Generator: reproducible, all three seen
    a = [NASBench(full.path, seed=5).query(spec)["validation_accuracy"] for _ in range(2)]
    assert a[0] == a[1]
    nb = NASBench(full.path, seed=1)
    seen = {nb.query(spec)["validation_accuracy"] for _ in range(60)}
    assert seen == {r["final_validation_accuracy"] for r in expected[INCEPTION_HASH]["runs"]["108"]}


def test_isomorphic_and_unpruned_forms_find_the_cell(only108):
    def values(spec):
        data = only108.query(spec, repeat=0)
        return data.pop("module_adjacency").tolist(), data

    base = values(ModelSpec(INCEPTION_MATRIX, INCEPTION_OPS))
    # swap interior vertices 1 and 2 (both feed only the output): an isomorphic matrix
    m = np.array(INCEPTION_MATRIX)
    perm = [0, 2, 1, 3, 4, 5, 6]
    assert values(ModelSpec(m[np.ix_(perm, perm)], [INCEPTION_OPS[i] for i in perm])) == base
    # an 8-vertex form with a vertex that reaches nowhere prunes to the cell
    grown = np.zeros((8, 8), int)
    grown[:6, :6] = m[:6, :6]
    grown[:6, 7] = m[:6, 6]
    grown[1, 6] = 1
    ops = INCEPTION_OPS[:6] + ["maxpool3x3", "output"]
    assert values(ModelSpec(grown, ops)) == base
    assert base[0] == INCEPTION_MATRIX


def test_out_of_domain_errors(only108, full):
    spec = ModelSpec(INCEPTION_MATRIX, INCEPTION_OPS)
    with pytest.raises(OutOfDomainError, match="epochs"):
        only108.query(spec, epochs=12)
    disconnected = ModelSpec([[0, 0], [0, 0]], ["input", "output"])
    with pytest.raises(OutOfDomainError, match="disconnected"):
        full.query(disconnected)
    chain = np.eye(8, k=1, dtype=int)
    big = ModelSpec(chain, ["input"] + ["conv3x3-bn-relu"] * 6 + ["output"])
    with pytest.raises(OutOfDomainError, match="too many vertices"):
        full.query(big)
    dense = np.triu(np.ones((7, 7), int), 1)
    with pytest.raises(OutOfDomainError, match="too many edges"):
        full.query(ModelSpec(dense, ["input"] + ["conv1x1-bn-relu"] * 5 + ["output"]))
    assert not full.is_valid(big) and full.is_valid(spec)
    with pytest.raises(CellNotInStoreError):
        full.query(ModelSpec([[0, 1], [0, 0]], ["input", "output"]))


def test_vectorised_rows_and_metrics(only108):
    hashes = list(only108.hash_iterator())
    rows = only108.rows_of_hashes(hashes + ["f" * 32])
    assert rows[:-1].tolist() == list(range(len(hashes))) and rows[-1] == -1
    arr = only108.metric("final_test_accuracy", 108)
    assert arr.shape == (31, 3)
    r = only108.row_of_hash(INCEPTION_HASH)
    assert (arr[r].astype(np.float64).sum() / 3) == INCEPTION_MEAN_TEST


def test_record_writer_round_trips(tmp_path):
    payloads = list(TFRecordReader(NB101 / "fixture_only108.tfrecord"))
    runs = [decode(p) for p in payloads]
    out = tmp_path / "copy.tfrecord"
    write_records(out, (encode(r) for r in runs))
    assert [decode(p) for p in TFRecordReader(out)] == runs
    assert out.read_bytes() == (NB101 / "fixture_only108.tfrecord").read_bytes()


def _convert_error(tmp_path, data: bytes) -> str:
    from benchmark.data.convert import convert

    src = tmp_path / "bad.tfrecord"
    src.write_bytes(data)
    with pytest.raises(DataFormatError) as info:
        convert(src, tmp_path / "bad.store", progress=False)
    assert not (tmp_path / "bad.store").exists()
    assert not list(tmp_path.glob(".bad.store*"))
    message = str(info.value)
    assert str(src) in message and "\n" not in message
    return message


def test_truncated_file(tmp_path):
    data = (NB101 / "fixture_only108.tfrecord").read_bytes()
    assert "record 92" in _convert_error(tmp_path, data[:-10])
    assert "truncated" in _convert_error(tmp_path, data[:-10])


def test_flipped_bit_fails_the_crc(tmp_path):
    data = bytearray((NB101 / "fixture_only108.tfrecord").read_bytes())
    data[5000] ^= 0x04
    assert "CRC" in _convert_error(tmp_path, bytes(data))


def test_not_nasbench_records(tmp_path):
    from benchmark.data.tfrecord import frame

    assert "record 0" in _convert_error(tmp_path, frame(b"hello world"))
    good = decode(next(iter(TFRecordReader(NB101 / "fixture_only108.tfrecord"))))
    bogus = encode(Run("0" * 32, 108, good.adjacency, good.ops, 1, good.values))
    assert "not the hash" in _convert_error(tmp_path, frame(bogus))
    assert "0 evaluations" in _convert_error(tmp_path, frame(json.dumps(
        ["0" * 32, 108, "01", "input,output", ""]).encode()))
    assert "not a TFRecord" in _convert_error(tmp_path, b"PK\x03\x04" + b"\x00" * 64)


def test_interrupted_conversion_leaves_no_store(tmp_path, monkeypatch):
    from benchmark.data import store as store_mod
    from benchmark.data.convert import convert

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(store_mod.np, "save", boom)
    with pytest.raises(KeyboardInterrupt):
        convert(NB101 / "fixture_full.tfrecord", tmp_path / "s", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_store_mismatches_are_one_clear_line(store_dir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(store_dir["full"], copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["schema_version"] = 99
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(StoreError, match="schema version 99"):
        NASBench(copy)
    manifest["schema_version"] = 1
    manifest["files"]["hashes"]["shape"] = [2]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(StoreError, match="hashes.npy"):
        NASBench(copy)
    with pytest.raises(StoreError, match="no manifest.json"):
        NASBench(tmp_path)
    shutil.rmtree(copy)
    shutil.copytree(store_dir["full"], copy)
    arr = np.load(copy / "final_test_accuracy.npy")
    arr[0, 0, 0] = 0.5
    np.save(copy / "final_test_accuracy.npy", arr)
    with pytest.raises(StoreError, match="checksum"):
        open_store(copy, verify=True)


@pytest.mark.parametrize("key", ["num_records", "optima", "source", "source mapping"])
def test_a_manifest_without_a_field_names_that_field(store_dir, tmp_path, key):
    """Found by the sweep: a store without ``num_records``, ``optima`` (at 108 epochs) or
    ``source`` (the converted file's provenance), or with a ``source`` that is not a mapping,
    was opened without a word (or blamed on missing data)."""
    copy = tmp_path / "copy"
    shutil.copytree(store_dir["full"], copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    if key == "source mapping":
        key = "source"
        manifest["source"] = "elsewhere"
    else:
        del manifest[key]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(StoreError, match=rf"manifest.json: {key} must be"):
        NASBench(copy)


def test_tfrecord_path_converts_on_first_use(tmp_path):
    src = tmp_path / "nasbench_only108.tfrecord"
    shutil.copy(NB101 / "fixture_only108.tfrecord", src)
    nb = NASBench(src)
    store = tmp_path / "nasbench_only108.store"
    assert (store / "manifest.json").exists() and nb.path == store
    # the store records the very bytes it came from, and a second open reuses it
    assert nb.manifest["source"]["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert nb.manifest["source"]["size"] == src.stat().st_size
    mtime = (store / "manifest.json").stat().st_mtime_ns
    assert len(NASBench(src)) == len(nb) == 31
    assert (store / "manifest.json").stat().st_mtime_ns == mtime   # not converted again


def test_run_fields_order():
    assert RUN_FIELDS[0] == "halfway_training_time" and RUN_FIELDS[-1] == "final_test_accuracy"
    run = Run("a" * 32, 4, "01", "input,output", 1, tuple(float(i) for i in range(8)), 3.5)
    assert decode(encode(run)) == run
