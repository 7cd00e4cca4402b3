"""Nothing is used unverified: stores, the cached surrogate table and the cached enumeration are
checked against their recorded checksums when opened, and a store folder holding a user's file
is never replaced (#27, items 1 and 3)."""
from __future__ import annotations

import logging
import os
import shutil

import numpy as np
import pytest

import benchmark.data.store as store_module
import benchmark.fileutil as fileutil
from benchmark import NASBench, StoreError
from benchmark.data.store import MANIFEST, open_store
from harness.cli import main

from .conftest import NB101, needs_shared


def _flip_byte_in_place(path, keep_times: bool = False) -> None:
    """Change the byte in the middle of the file without changing its size (and, optionally,
    with its access and modification times set back as they were)."""
    st = path.stat()
    with open(path, "r+b") as fh:
        fh.seek(st.st_size // 2)
        byte = fh.read(1)
        fh.seek(st.st_size // 2)
        fh.write(bytes([byte[0] ^ 1]))
    if keep_times:
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


@pytest.mark.parametrize("keep_times", [False, True])
def test_a_changed_array_is_never_served(store_dir, tmp_path, capsys, keep_times):
    copy = tmp_path / "copy"
    shutil.copytree(store_dir["only108"], copy)
    assert len(NASBench(copy)) == 31                     # opened (and hashed) once, unchanged
    _flip_byte_in_place(copy / "final_test_accuracy.npy", keep_times)
    with pytest.raises(StoreError, match="final_test_accuracy.npy: checksum does not match"):
        NASBench(copy)
    for argv in (["data", "info", str(copy)],
                 ["data", "query", "--hash", "28cfc7874f6d200472e1a9dcd8650aa0", "--data",
                  str(copy)]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "final_test_accuracy.npy: checksum" in err[0], err


def test_an_unchanged_store_is_hashed_once(store_dir, tmp_path, monkeypatch):
    copy = tmp_path / "copy"
    shutil.copytree(store_dir["only108"], copy)
    hashed = []
    real = fileutil.file_sha256
    counted = lambda p, *a: hashed.append(p) or real(p, *a)  # noqa: E731
    monkeypatch.setattr(fileutil, "file_sha256", counted)
    monkeypatch.setattr(store_module, "file_sha256", counted)
    arrays = len(open_store(copy).manifest["files"])
    assert len(hashed) == arrays
    monkeypatch.setattr(fileutil, "_VERIFIED", {})      # a new process: the stamps remain
    open_store(copy)
    assert len(hashed) == arrays
    (copy / "labels.npy").write_bytes((copy / "labels.npy").read_bytes())  # same bytes, new state
    open_store(copy)
    assert len(hashed) == arrays + 1
    open_store(copy, verify=True)                        # data verify reads everything again
    assert len(hashed) == 2 * arrays + 1


def test_a_store_missing_its_schema_version_says_so(store_dir, tmp_path):
    import json

    copy = tmp_path / "copy"
    shutil.copytree(store_dir["only108"], copy)
    manifest = json.loads((copy / MANIFEST).read_text())
    del manifest["schema_version"]
    (copy / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(StoreError, match="schema_version is missing"):
        open_store(copy)


@needs_shared
def test_convert_never_replaces_a_store_holding_a_users_file(store_dir, tmp_path, capsys):
    store = tmp_path / "store"
    shutil.copytree(store_dir["only108"], store)
    (store / "my-notes.txt").write_text("keep me")
    assert main(["data", "convert", str(NB101 / "fixture_only108.tfrecord"), "--out",
                 str(store)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "my-notes.txt, which is not part of the store" in err[0], err
    assert (store / "my-notes.txt").read_text() == "keep me"
    assert len(NASBench(store)) == 31


def test_an_altered_surrogate_cache_is_rebuilt_not_used(cells, tmp_path, caplog):
    from benchmark.surrogate import surrogate_store

    path = surrogate_store(0, root=tmp_path)
    before = np.load(path / "final_validation_accuracy.npy")
    _flip_byte_in_place(path / "final_validation_accuracy.npy", keep_times=True)
    with caplog.at_level(logging.WARNING, logger="benchmark.surrogate.table"):
        assert surrogate_store(0, root=tmp_path) == path
    assert "final_validation_accuracy.npy: checksum" in caplog.text
    np.testing.assert_array_equal(np.load(path / "final_validation_accuracy.npy"), before)


@pytest.mark.parametrize("damage", ["not JSON", "missing", "a folder"])
def test_a_surrogate_cache_with_a_damaged_manifest_is_rebuilt(cells, tmp_path, caplog, damage):
    """Found by the sweep: the store writer refused to replace the cache's own folder."""
    from benchmark.surrogate import surrogate_store

    path = surrogate_store(0, root=tmp_path)
    before = np.load(path / "final_test_accuracy.npy")
    manifest = path / "manifest.json"
    manifest.unlink()
    if damage == "not JSON":
        manifest.write_text("{")
    elif damage == "a folder":
        manifest.mkdir()
    with caplog.at_level(logging.WARNING, logger="benchmark.surrogate.table"):
        assert surrogate_store(0, root=tmp_path) == path
    assert "rebuilding the surrogate table" in caplog.text and "manifest" in caplog.text
    np.testing.assert_array_equal(np.load(path / "final_test_accuracy.npy"), before)


def test_an_altered_enumeration_cache_is_rebuilt_not_used(cells, tmp_path, monkeypatch, caplog):
    import benchmark.space.enumeration as enumeration

    monkeypatch.setenv("NASBENCH_CACHE_DIR", str(tmp_path))
    np.savez(enumeration.cache_path(), **cells.arrays())
    _flip_byte_in_place(enumeration.cache_path())
    monkeypatch.setattr(enumeration, "_TABLE", None)
    built = []
    monkeypatch.setattr(enumeration, "build_cell_table",
                        lambda progress=True: built.append(1) or cells)
    with caplog.at_level(logging.WARNING, logger="benchmark.space.enumeration"):
        assert enumeration.enumerate_cells(progress=False) is cells
    assert built == [1] and "Bad CRC-32" in caplog.text
    monkeypatch.setattr(enumeration, "_TABLE", None)     # the rewritten cache reads back whole
    np.testing.assert_array_equal(enumeration.enumerate_cells(progress=False).hashes, cells.hashes)
    assert built == [1]


# ---- the simulator refuses what cannot end, and ambiguous trial ids (#27, items 4 and 6) ---------

@pytest.mark.parametrize("kwargs, words", [
    ({"time_budget": float("inf")}, "time_budget must be a positive finite"),
    ({"time_budget": float("nan")}, "time_budget must be a positive finite"),
    ({"time_budget": 0.0}, "time_budget must be a positive finite"),
    ({"workers": 0}, "workers must be a positive integer"),
    ({"workers": 1.5}, "workers must be a positive integer"),
    ({"max_evaluations": 0}, "max_evaluations must be a positive integer"),
])
def test_simulate_refuses_a_run_that_cannot_end(surrogate, kwargs, words):
    from benchmark.objectives import Objective
    from harness.simulator import simulate
    from optimizers.random_search import RandomSearch

    objective = Objective(surrogate, encoding="A")
    args = {"time_budget": 1e4, "workers": 1, **kwargs}
    optimizer = RandomSearch(objective.config_space(), [108], np.random.default_rng(0))
    with pytest.raises(ValueError, match=words):
        simulate(objective, optimizer, args.pop("time_budget"), args.pop("workers"),
                 np.random.default_rng(0), **args)


def test_a_trial_id_used_twice_fails_the_run(surrogate):
    from benchmark.objectives import Objective
    from harness.simulator import SimulationError, simulate
    from optimizers import Trial
    from optimizers.random_search import RandomSearch

    class SameId(RandomSearch):
        def ask(self):
            return Trial(0, super().ask().config, 108)

    objective = Objective(surrogate, encoding="A")
    optimizer = SameId(objective.config_space(), [108], np.random.default_rng(0))
    with pytest.raises(SimulationError, match="trial id 0 was used by two trials"):
        simulate(objective, optimizer, 1e5, 2, np.random.default_rng(0))


@pytest.mark.parametrize("make, words", [
    (lambda p: os.mkfifo(p), "is a FIFO, not a regular file"),
    (lambda p: os.symlink("/dev/zero", p), "is a device, not a regular file"),
    (lambda p: p.mkdir(), "is a folder, not a regular file"),
    (lambda p: p.write_bytes(b"#" * (5 << 20)), "is larger than 4,194,304 bytes"),
])
def test_an_experiment_file_that_is_no_file_is_refused_unread(tmp_path, capsys, make, words):
    path = tmp_path / "exp.yaml"
    make(path)
    assert main(["run", str(path)]) == 2     # a FIFO with no writer would block if opened
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{path}: {words}" in err[0], err


def test_an_output_path_that_is_not_utf8_gets_its_results_and_report(tmp_path, capsys):
    exp = tmp_path / "exp.yaml"
    exp.write_text("budget: {time: 2.0e+4}\nseeds: 2\noptimizers: [{name: random_search}]\n"
                   "execution: {backend: local}\n")
    out = os.fsdecode(os.fsencode(str(tmp_path)) + b"/out\xff")
    assert main(["run", str(exp), "--output", out]) == 0, capsys.readouterr().err
    page = (os.fsencode(out) + b"/report/index.html")
    assert "out\\udcff" in open(page, encoding="utf-8").read()


@pytest.fixture
def small_disk(tmp_path):
    """A 120 kB tmpfs of this test's own (root only), unmounted at the end."""
    import subprocess

    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=120k", "tmpfs",
                                            str(disk)], capture_output=True).returncode != 0:
        pytest.skip("a small tmpfs needs root and mount; not available here")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_full_disk_is_one_line_and_a_resume_completes_the_same_bytes(tmp_path, capsys,
                                                                       small_disk):
    import subprocess

    from .helpers import files

    exp = tmp_path / "exp.yaml"
    exp.write_text("budget: {time: 2.0e+5}\nseeds: 6\noptimizers: [{name: random_search}, "
                   "{name: regularized_evolution}]\nexecution: {backend: local}\n")
    out = small_disk / "out"
    assert main(["run", str(exp), "--output", str(out), "--no-report"]) == 2
    err = [line for line in capsys.readouterr().err.split("\n") if line and "\r" not in line]
    assert len(err) == 1 and "No space left on device" in err[0] and str(out) in err[0], err
    assert not list(out.rglob("*.tmp"))                       # nothing half-written is left
    subprocess.run(["mount", "-o", "remount,size=4m", str(small_disk)], check=True)
    assert main(["run", str(exp), "--output", str(out), "--no-report"]) == 0
    assert main(["run", str(exp), "--output", str(tmp_path / "ref"), "--no-report"]) == 0
    assert files(out) == files(tmp_path / "ref") and len(files(out)) == 12


@needs_shared
def test_a_tfrecord_in_a_read_only_folder_is_converted_into_the_cache(cells, tmp_path,
                                                                    monkeypatch):
    """Root may write anywhere; a folder without write bits (as ../shared) is still left alone."""
    folder = tmp_path / "ro"
    folder.mkdir()
    shutil.copy(NB101 / "fixture_only108.tfrecord", folder)
    folder.chmod(0o555)
    monkeypatch.setenv("NASBENCH_CACHE_DIR", str(tmp_path / "cache"))
    try:
        nb = NASBench(folder / "fixture_only108.tfrecord")
        assert len(nb) == 31 and nb.path == tmp_path / "cache" / "fixture_only108.store"
        assert [p.name for p in folder.iterdir()] == ["fixture_only108.tfrecord"]
    finally:
        folder.chmod(0o755)


# ---- a results folder is what it says (#27, item 2) ----------------------------------------------

def _one_run(tmp_path, name: str, time: float) -> tuple:
    exp = tmp_path / f"{name}.yaml"
    exp.write_text(f"name: same\nbudget: {{time: {time}}}\nseeds: 1\n"
                   "optimizers: [{name: random_search}]\nexecution: {backend: local}\n")
    out = tmp_path / name
    assert main(["run", str(exp), "--output", str(out), "--no-report"]) == 0
    return exp, out, out / "runs" / "random_search" / "seed-0.npz"


def test_a_run_file_of_another_experiment_is_skipped_and_redone(tmp_path, capsys, caplog):
    from harness.report import report

    exp, out, path = _one_run(tmp_path, "short", 2.0e4)
    mine = path.read_bytes()
    _, _, other = _one_run(tmp_path, "long", 4.0e4)
    shutil.copy(other, path)                     # same optimizer and seed, another budget
    with caplog.at_level(logging.WARNING):
        with pytest.raises(ValueError, match="no readable run results"):
            report(out, show=False)
    assert f"skipping result file {path}: a run of another experiment" in caplog.text
    assert "its time_budget is 40000.0, not this experiment's 20000.0" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert main(["run", str(exp), "--output", str(out), "--no-report"]) == 0
    assert f"redoing {path}: a run of another experiment" in caplog.text
    assert path.read_bytes() == mine


def test_a_report_of_a_folder_being_written_says_so(tmp_path, capsys):
    from harness.report import report
    from harness.results import output_lock

    _, out, _ = _one_run(tmp_path, "run", 2.0e4)
    with output_lock(out):                       # as a 'nasbench run' still writing there
        report(out, show=False)
    page = (out / "report" / "index.html").read_text()
    assert "is still writing this folder: 1 of 1 runs are complete" in page
    report(out, show=False)
    assert "is still writing" not in (out / "report" / "index.html").read_text()


@pytest.mark.parametrize("damage, words", [
    ("marker not JSON", "experiment.json: damaged (Expecting"),
    ("marker a list", "experiment.json: damaged (no identity in it)"),
    ("marker a folder", "experiment.json: is a folder"),
    ("experiment.yaml a folder", "experiment.yaml: is a folder"),
    ("runs a file", "runs: is a file"),
    ("run folder a file", "random_search: is a file"),
])
def test_a_damaged_results_folder_is_named_without_force(tmp_path, capsys, damage, words):
    """Found by the sweep: a damaged marker suggested --force; a run folder that is a file
    failed half-way with a bare errno."""
    exp, out, path = _one_run(tmp_path, "run", 2.0e4)
    mine = path.read_bytes()
    capsys.readouterr()
    marker = out / "experiment.json"
    if damage.startswith("marker"):
        marker.unlink()
        marker.mkdir() if damage == "marker a folder" else marker.write_text(
            "{" if damage == "marker not JSON" else "[]")
    elif damage == "experiment.yaml a folder":
        (out / "experiment.yaml").unlink()
        (out / "experiment.yaml").mkdir()
    else:
        folder = out / "runs" if damage == "runs a file" else path.parent
        shutil.rmtree(folder)
        folder.write_text("mine")
    assert main(["run", str(exp), "--output", str(out), "--no-report"]) == 2
    err = [line for line in capsys.readouterr().err.split("\n") if line and "\r" not in line
           and not line.startswith("INFO")]
    assert len(err) == 1 and words in err[0] and "--force" not in err[0], err
    if damage.startswith("marker") and damage != "marker a folder":   # as the message says
        marker.unlink()
        assert main(["run", str(exp), "--output", str(out), "--no-report"]) == 0
        assert path.read_bytes() == mine


def test_an_experiment_yaml_that_is_not_utf8_is_a_warning(tmp_path, capsys, caplog):
    """Found by the sweep: resume and report died on it (an internal error)."""
    exp, out, path = _one_run(tmp_path, "run", 2.0e4)
    (out / "experiment.yaml").write_bytes(b"\xff{")
    with caplog.at_level(logging.WARNING):
        assert main(["report", str(out)]) == 0
    assert "experiment.yaml cannot be read (UnicodeDecodeError)" in caplog.text
    assert "\ufffd{" in (out / "report" / "index.html").read_text()
    assert main(["run", str(exp), "--output", str(out), "--no-report"]) == 0   # re-written
    assert (out / "experiment.yaml").read_text().startswith("name: same")


@needs_shared
def test_a_conversion_onto_a_full_disk_is_one_line(tmp_path, capsys, small_disk):
    """Found by the sweep: numpy reports a short write with no errno (an internal error)."""
    out = small_disk / "store"
    assert main(["data", "convert", str(NB101 / "fixture_only108.tfrecord"), "--out",
                 str(out)]) == 2
    err = [line for line in capsys.readouterr().err.split("\n") if line and "\r" not in line]
    assert len(err) == 1 and "No space left on device" in err[0] and str(out) in err[0], err
    assert list(small_disk.iterdir()) == []
