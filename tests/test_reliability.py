"""Bad input and bad luck: nothing lost, nothing silently reused, one clear line each (#14)."""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest

from benchmark import CellNotInStoreError, NASBench, StoreError
from benchmark.data.records import decode, encode
from benchmark.data.tfrecord import TFRecordReader, write_records
from benchmark.objectives import Objective
from harness.cli import main
from harness.results import load_events, output_lock, read_run, run_files

from .conftest import NB101, ROOT, needs_shared
from .helpers import SMALL, alive_in_session, cli, files, one_line, run_faulty_plugins, write_yaml

# ---- 1. --out never removes what this tool did not write -----------------------------------------

@needs_shared
def test_convert_out_never_removes_what_it_did_not_write(tmp_path, capsys):
    src = tmp_path / "data" / "nasbench_only108.tfrecord"
    src.parent.mkdir()
    shutil.copy(NB101 / "fixture_only108.tfrecord", src)
    mine = tmp_path / "home"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep me")
    for out, words in ((mine, "not a store this tool wrote"), (a_file, "not a folder"),
                       (src, "holds the source"), (src.parent, "holds the source")):
        code, err = cli(capsys, "data", "convert", str(src), "--out", str(out))
        assert code == 2 and words in err and one_line(err), err
    assert (mine / "thesis.tex").read_text() == "years of work"
    assert a_file.read_text() == "keep me" and src.read_bytes() == (
        NB101 / "fixture_only108.tfrecord").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "home", "notes.txt"]
    assert sorted(p.name for p in src.parent.iterdir()) == ["nasbench_only108.tfrecord"]
    # an empty folder and a store this tool wrote are fine targets (the store is replaced)
    store = tmp_path / "store"
    store.mkdir()
    for _ in range(2):
        assert cli(capsys, "data", "convert", str(src), "--out", str(store))[0] == 0
    assert len(NASBench(store)) == 31


# ---- 2. one writer per output folder -------------------------------------------------------------

def test_a_second_writer_is_refused_and_a_dead_ones_lock_is_free(tmp_path, capsys):
    exp = write_yaml(tmp_path / "exp.yaml", SMALL)
    out = tmp_path / "out"
    with output_lock(out):
        for extra in ([], ["--force"]):
            code, err = cli(capsys, "run", str(exp), "--output", str(out), "--no-report", *extra)
            assert code == 2 and "another 'nasbench run'" in err and f"pid {os.getpid()}" in err
            assert one_line(err)
    assert run_files(out) == [] and not (out / "experiment.json").exists()
    # a holder killed with SIGKILL leaves no stale lock
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; "
         "from harness.results import output_lock\n"
         f"with output_lock(Path({str(out)!r})):\n print('held', flush=True); time.sleep(600)"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    assert cli(capsys, "run", str(exp), "--output", str(out), "--no-report")[0] == 2
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert cli(capsys, "run", str(exp), "--output", str(out), "--no-report")[0] == 0
    assert len(run_files(out)) == 4


# ---- 3. resume trusts only complete run files ----------------------------------------------------

def test_a_damaged_run_file_is_named_and_redone(tmp_path, capsys, caplog):
    exp = write_yaml(tmp_path / "exp.yaml", SMALL)
    out = tmp_path / "out"
    assert cli(capsys, "run", str(exp), "--output", str(out), "--no-report")[0] == 0
    reference = files(out)
    truncated, altered, foreign = run_files(out)[:3]
    truncated.write_bytes(truncated.read_bytes()[:-100])
    with zipfile.ZipFile(altered) as zf:
        member = zf.getinfo("hash.npy")
    data = bytearray(altered.read_bytes())
    data[member.header_offset + 30 + len(member.filename) + member.compress_size // 2] ^= 0x01
    altered.write_bytes(bytes(data))
    shutil.copy(run_files(out)[3], foreign)  # another run's complete file under this name
    assert cli(capsys, "run", str(exp), "--output", str(out), "--no-report")[0] == 0
    assert files(out) == reference
    redone = [r.getMessage() for r in caplog.records if "redoing" in r.getMessage()]
    assert len(redone) == 3 and any("holds run" in m for m in redone), redone


def test_a_data_error_leaves_no_experiment_marker(tmp_path, capsys):
    bad = tmp_path / "broken.tfrecord"
    bad.write_bytes(b"\x00" * 64)
    data = {**SMALL, "benchmark": {"name": "nasbench101", "data": str(bad)}}
    out = tmp_path / "out"
    code, err = cli(capsys, "run", str(write_yaml(tmp_path / "exp.yaml", data)), "--output",
                    str(out), "--no-report")
    assert code == 2 and "broken.tfrecord" in err and one_line(err), err
    assert not (out / "experiment.json").exists()
    # the corrected experiment runs in the same folder
    assert cli(capsys, "run", str(write_yaml(tmp_path / "exp.yaml", SMALL)), "--output",
               str(out), "--no-report")[0] == 0


# ---- 8. stores are verified, cheaply -------------------------------------------------------------

@needs_shared
def test_a_same_size_different_tfrecord_is_converted_again(tmp_path):
    src = tmp_path / "nasbench_only108.tfrecord"
    shutil.copy(NB101 / "fixture_only108.tfrecord", src)
    first = NASBench(src)
    runs = [decode(p) for p in TFRecordReader(src)]
    values = list(runs[0].values)
    values[-1] = 0.5  # final test accuracy of one run: same encoded size
    runs[0] = dataclasses.replace(runs[0], values=tuple(values))
    size = src.stat().st_size
    write_records(src, (encode(r) for r in runs))
    assert src.stat().st_size == size
    second = NASBench(src)
    assert second.manifest["source"]["sha256"] != first.manifest["source"]["sha256"]
    row = second.row_of_hash(runs[0].module_hash)
    assert second.runs("final_test_accuracy")[row, 0, 0] == 0.5


@needs_shared
@pytest.mark.parametrize("damage, words", [
    (lambda m, d: m.pop("num_cells"), "num_cells must be a positive integer"),
    (lambda m, d: m.update(budgets="108"), "budgets must be a rising list"),
    (lambda m, d: m.update(budgets=[4, 108]), "does not fit num_cells, budgets"),
    (lambda m, d: m.update(num_repeats=2), "num_repeats must be 3"),
    (lambda m, d: m["files"].pop("labels"), "files.labels must give dtype, shape"),
    (lambda m, d: m["files"]["hashes"].update(shape="31"), "files.hashes must give"),
    (lambda m, d: m.update(files=[]), "files must be a mapping"),
    (lambda m, d: (d / "cell_of.npy").write_bytes(b""), "cell_of.npy: unreadable array"),
])
def test_a_malformed_store_is_one_line(store_dir, tmp_path, capsys, damage, words):
    copy = tmp_path / "copy"
    shutil.copytree(store_dir["only108"], copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    damage(manifest, copy)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(StoreError, match=words):
        NASBench(copy)
    code, err = cli(capsys, "data", "info", str(copy))
    assert code == 2 and one_line(err) and words.split()[0] in err


@needs_shared
def test_data_verify_rechecks_every_array(store_dir, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(store_dir["only108"], copy)
    assert main(["data", "verify", str(copy)]) == 0
    assert "arrays match their SHA256" in capsys.readouterr().out
    arr = np.load(copy / "final_validation_accuracy.npy")
    arr[3, 0, 1] += 0.01
    np.save(copy / "final_validation_accuracy.npy", arr)
    code, err = cli(capsys, "data", "verify", str(copy))
    assert code == 2 and "final_validation_accuracy.npy: checksum" in err and one_line(err)


# ---- 9. partial tables are explicit --------------------------------------------------------------

@needs_shared
def test_a_cell_missing_from_a_partial_store_is_an_error_or_invalid_by_choice(store_dir):
    nb = NASBench(store_dir["only108"])
    strict = Objective(nb, "A")
    lenient = Objective(nb, "A", absent="invalid")
    space = strict.config_space(seed=1)
    rng = np.random.default_rng(0)
    absent = present = 0
    for config in space.sample_configuration(200):
        config = dict(config)
        result = lenient.evaluate(config, 108, rng)
        if strict.row(config) == -2:
            absent += 1
            with pytest.raises(CellNotInStoreError, match="not in this partial store"):
                strict.evaluate(config, 108, rng)
            assert result.invalid
        else:
            present += 1
            assert strict.evaluate(config, 108, rng).invalid == result.invalid
    assert absent > 20 and present > 20  # valid cells it lacks, invalid cells
    for row in range(len(nb)):  # every cell of the store is found
        config = strict.encoding.from_spec(nb.spec_of_row(row))
        assert strict.row(config) == row
    with pytest.raises(ValueError, match="absent policy"):
        Objective(nb, "A", absent="skip")


@needs_shared
def test_cells_store_searches_only_a_partial_stores_cells(store_dir, tmp_path, capsys):
    nb = NASBench(store_dir["only108"])
    objective = Objective(nb, "A", cells="store")
    space = objective.config_space(seed=0)
    assert list(space) == ["cell"] and len(space["cell"].choices) == 31
    rng = np.random.default_rng(0)
    for config in space.sample_configuration(20):
        result = objective.evaluate(dict(config), 108, rng)
        assert not result.invalid and result.hash == config["cell"]
    with pytest.raises(ValueError, match="cells: store: a configuration is"):
        objective.evaluate({"cell": "0" * 32}, 108, rng)
    # the same in an experiment, every optimizer: only the store's cells are evaluated
    data = {**SMALL, "benchmark": {"name": "nasbench101", "data": str(store_dir["only108"]),
                                   "cells": "store"},
            "optimizers": [{"name": n} for n in ("random_search", "regularized_evolution",
                                                 "hyperband", "tpe", "smac")],
            "budget": {"time": 2.0e+5}}
    out = tmp_path / "out"
    assert cli(capsys, "run", str(write_yaml(tmp_path / "exp.yaml", data)), "--output",
               str(out), "--no-report")[0] == 0
    events = load_events(out)
    assert len(events) > 100 and set(events["hash"]) <= {h.decode() for h in nb.hashes}
    assert not events["invalid"].any()
    # SMAC runs out of new cells among 31: its run ends there, not as a failed run
    assert "exhausted_at" in read_run(out / "runs" / "smac" / "seed-0.npz")[1]
    # the default names the missing cell
    data["benchmark"].pop("cells")
    code, err = cli(capsys, "run", str(write_yaml(tmp_path / "exp2.yaml", data)), "--output",
                    str(tmp_path / "out2"), "--no-report")
    assert code == 1 and "is valid but not in this partial store (31 cells)" in err


# ---- 4, 5. no unbounded work from input; strict values; errors that blame the flag ---------------

def _bomb(levels: int = 9) -> str:
    lines = ['  a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for prev, name in zip("abcdefghij", "bcdefghij"[:levels - 1]):
        lines.append(f"  {name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    last = "abcdefghij"[levels - 1]
    return ("budget: {time: 1.0e+5}\nanchors:\n" + "\n".join(lines) + "\noptimizers:\n"
            f"  - {{name: regularized_evolution, params: {{population_size: *{last}}}}}\n")


RS = "optimizers: [{name: random_search}]\n"


@pytest.mark.parametrize("text, words", [
    ("budget: {time: .inf}\n" + RS, ":1: budget.time: Input should be a finite number"),
    ("budget: {time: 1e400}\n" + RS, ":1: budget.time: Input should be a finite number"),
    ("budget: {time: 1.0e+12}\n" + RS, "budget.time: Input should be less than or equal to 1"),
    ("budget: {time: 1.0e+5}\nseeds: 100000000000\n" + RS, ":2: seeds: seeds must be a count "
     "from 1 to 100,000"),
    ("budget: {time: 1.0e+5}\noptimizers: [{name: reinforce, params: {learning_rate: .nan}}]\n",
     "learning_rate = nan must be a finite number"),
    (_bomb(), "more than 100,000 values (aliases expanded)"),
    ("budget: {time: 1.0e+5}\n" + "optimizers: [{name: random_search, params: {x: "
     + "[" * 5000 + "]" * 5000 + "}}]\n", "nested deeper than 64 levels"),
    ("budget: {time: 1.0e+5}\nx: &x [*x]\n" + RS, ":2: a recursive alias"),
    ("budget: {time: 1.0e+5}\nseeds: 3\n" + RS + "seeds: 4\n", ":4: key 'seeds' repeats the one "
     "on line 2"),
    ("budget:\n  time: 1.0e+5\n  time: 2.0e+5\n" + RS, ":3: key 'time' repeats the one on line 2"),
    ("budget: {time: 1.0e+5}\noutput: ''\n" + RS, ":2: output: String should have at least 1"),
    ("budget: {time: 1.0e+5, workers: true}\n" + RS, ":1: budget.workers: Input should be a "
     "valid integer"),
    ("budget: {time: 1.0e+5}\nseeds: true\n" + RS, ":2: seeds: Input should be a valid integer"),
    ("budget: {time: true}\n" + RS, ":1: budget.time: must be a number, got True"),
    ("budget: {time: 1.0e+5}\nreport: {times: [true]}\n" + RS, "report.times: must be a number"),
    ("budget: {time: 1.0e+5}\nx: !!python/object/apply:os.system [echo]\n" + RS,
     ":2: invalid YAML: could not determine a constructor"),
    ("budget: {time: 1.0e+5}\nreport: {times: [.nan]}\n" + RS, "report.times.0: Input should "
     "be a finite number"),
    ("budget: {time: 1.0e+5}\nreport: {times: [-1]}\n" + RS, "report.times.0: Input should be "
     "greater than 0"),
])
def test_bad_values_end_in_one_line_quickly(tmp_path, capsys, text, words):
    exp = tmp_path / "exp.yaml"
    exp.write_text(text)
    code, err = cli(capsys, "run", str(exp), "--no-report", "--output", str(tmp_path / "out"))
    assert code == 2 and words in err and one_line(err), err
    assert len(err) < 400 and not (tmp_path / "out").exists()


def test_a_file_that_is_not_utf8_is_named(tmp_path, capsys):
    exp = tmp_path / "exp.yaml"
    exp.write_bytes("name: caf\xe9\nbudget: {time: 1.0e+5}\n".encode("latin-1") + RS.encode())
    code, err = cli(capsys, "run", str(exp))
    assert code == 2 and f"{exp}: not UTF-8 text (byte 9" in err and one_line(err), err


@pytest.mark.parametrize("argv, words", [
    (["--output", ""], "argument --output: must not be empty"),
    (["--seeds", ""], "--seeds '': give a count"),
    (["--seeds", "0-99999999999"], "100,000,000,000 seeds, more than the limit of 100,000"),
    (["--seeds", "0"], "--seeds 0: seeds must be a count from 1"),
    (["--seeds", "5-2"], "--seeds '5-2': give a count"),
    (["--seeds", "1,1"], "--seeds [1, 1]: seeds must be a non-empty list without duplicates"),
])
def test_bad_flags_blame_the_flag(tmp_path, capsys, argv, words):
    exp = write_yaml(tmp_path / "exp.yaml", SMALL)
    code, err = cli(capsys, "run", str(exp), "--no-report", *argv)
    assert code == 2 and words in err and one_line(err.replace("nasbench run:", "nasbench: ")), err


@pytest.mark.parametrize("times", ["-1", "0", "nan", "inf", "1e5,", ""])
def test_report_times_are_checked_as_in_the_yaml(tmp_path, capsys, times):
    code, err = cli(capsys, "report", str(tmp_path), "--times", times)
    assert code == 2 and f"--times {times!r}: comma-separated positive finite" in err


# ---- 6. a faulty plug-in fails its own runs only -------------------------------------------------

PLUGIN = '''
import os, sys
from optimizers import Optimizer, Trial
from optimizers.random_search import RandomSearch


class Base(RandomSearch):
    def ask(self):
        if self._next_id > 3:
            self.fault()
        return super().ask()


class BadTrial(Base):
    def fault(self):
        return "not a trial"

    def ask(self):
        return "not a trial" if self._next_id > 3 else super().ask()


class Exits(Base):
    def fault(self):
        sys.exit(3)


class Underscore(Base):
    def fault(self):
        os._exit(9)


class Interrupts(Base):
    def fault(self):
        raise KeyboardInterrupt


class BadClose(RandomSearch):
    def close(self):
        raise RuntimeError("close failed")
'''


@pytest.mark.parametrize("backend", ["local", pytest.param("ray", marks=pytest.mark.slow)])
def test_a_faulty_plugin_fails_its_own_runs_only(tmp_path, capsys, monkeypatch, backend):
    (tmp_path / "faulty.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path}{os.pathsep}{ROOT}")
    faults = {"BadTrial": "AttributeError", "Exits": "SystemExit: 3",
              "Underscore": "exit code 9" if backend == "local" else "Ray task failed",
              "Interrupts": "KeyboardInterrupt", "BadClose": "RuntimeError: close failed"}
    run_faulty_plugins(capsys, tmp_path, {**SMALL, "seeds": 1, "execution": {
        "backend": backend, "cpus": 2, "max_retries": 0}}, "faulty", faults)


@pytest.mark.parametrize("source, name, words", [
    ("raise RuntimeError('no GPU here')\n", "broken:X", "importing 'broken' failed "
     "(RuntimeError: no GPU here)"),
    ("def f(:\n", "broken:X", "broken.py:1: syntax error"),
    ("", "broken:", "not a module:Class path"),
    ("", ":X", "not a module:Class path"),
    ("", "bro ken:X", "not a module:Class path"),
    ("X = 1\n", "broken:X", "broken:X is not an optimizers.Optimizer subclass"),
])
def test_a_plugin_that_cannot_load_is_one_line(tmp_path, capsys, monkeypatch, source, name,
                                               words):
    (tmp_path / "broken.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "broken", raising=False)
    data = {**SMALL, "optimizers": [{"name": name}]}
    code, err = cli(capsys, "run", str(write_yaml(tmp_path / "exp.yaml", data)), "--no-report")
    assert code == 2 and words in err and one_line(err), err


@pytest.mark.slow
def test_a_killed_run_leaves_no_orphan_and_no_held_lock(tmp_path, capsys):
    exp = write_yaml(tmp_path / "exp.yaml", {**SMALL, "seeds": 20, "budget": {"time": 1.0e7}})
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "run", str(exp), "--output",
                             str(out), "--no-report"], cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 300
        while not run_files(out) and proc.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, "the experiment ended before it could be killed"
        proc.send_signal(signal.SIGKILL)  # the driver only: its run's child must follow
        proc.wait()
        deadline = time.time() + 20
        while alive_in_session(proc.pid) and time.time() < deadline:
            time.sleep(0.1)
        assert alive_in_session(proc.pid) == []
    finally:
        subprocess.run(["pkill", "-KILL", "-s", str(proc.pid)], check=False)
    with output_lock(out):  # free at once
        pass


# ---- 7. failures are visible ---------------------------------------------------------------------

def test_when_every_run_fails_the_failures_are_shown(tmp_path, capsys, monkeypatch):
    (tmp_path / "faulty.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    data = {**SMALL, "optimizers": [{"name": "faulty:Exits"}]}
    out = tmp_path / "out"
    code, err = cli(capsys, "run", str(write_yaml(tmp_path / "exp.yaml", data)), "--output",
                    str(out))
    assert code == 1 and "2 run(s) failed" in err and "SystemExit: 3" in err, err
    code, err = cli(capsys, "report", str(out))
    assert code == 2 and "all 2 run(s) failed" in err and one_line(err), err


def test_report_skips_foreign_duplicate_and_incomplete_run_files(tmp_path, capsys, caplog):
    import harness.results as results

    exp = write_yaml(tmp_path / "exp.yaml", {**SMALL, "seeds": 3})
    out = tmp_path / "out"
    assert cli(capsys, "run", str(exp), "--output", str(out), "--no-report")[0] == 0
    rs = out / "runs" / "random_search"
    shutil.copy(rs / "seed-0.npz", rs / "seed-7.npz")              # a duplicate of seed 0
    (out / "runs" / "elsewhere").mkdir()
    shutil.copy(rs / "seed-1.npz", out / "runs" / "elsewhere" / "seed-1.npz")
    arrays, facts = results.read_run(rs / "seed-2.npz")             # facts lacking a key
    del facts["y_star_test"]
    (rs / "seed-2.npz").write_bytes(results.encode_run(arrays, facts))
    foreign = tmp_path / "foreign"                                  # another experiment's run
    assert cli(capsys, "run", str(write_yaml(tmp_path / "f.yaml", {
        **SMALL, "seeds": [5], "optimizers": [{"name": "hyperband"}]})), "--output",
        str(foreign), "--no-report")[0] == 0
    shutil.copytree(foreign / "runs" / "hyperband", out / "runs" / "hyperband")
    assert main(["report", str(out)]) == 0
    table = (out / "report" / "final_regret.csv").read_text()
    assert "hyperband" not in table and "elsewhere" not in table
    warned = "\n".join(r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    assert "seed-7.npz: it holds run 'random_search' seed 0" in warned
    assert "elsewhere/seed-1.npz: it holds run 'random_search' seed 1" in warned
    assert "seed-2.npz: its facts lack y_star_test" in warned
    assert "hyperband/seed-5.npz: run 'hyperband' seed 5 is not part of the experiment" in warned
    final = {r.split(",")[0]: r.split(",")[-1] for r in table.splitlines()[1:]}
    assert final == {"random_search": "2", "regularized_evolution": "3"}


# ---- 10. Ctrl-C ----------------------------------------------------------------------------------

def _sigint_default() -> None:
    """In the child before exec: Ctrl-C as in a terminal.  A test run started in the
    background of a script inherits SIGINT ignored (POSIX shells do that without job
    control), and the command would then rightly ignore it: every case skipped."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.3, 2.0, 3.5, 6.0])  # imports, Ray start-up, running
def test_ctrl_c_at_any_moment_is_one_line_130_and_leaves_no_ray_process(tmp_path, delay):
    exp = write_yaml(tmp_path / "exp.yaml", {**SMALL, "budget": {"time": 1.0e7},
                                             "execution": {"backend": "ray", "cpus": 2}})
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "run", str(exp), "--output",
                             str(tmp_path / "out"), "--no-report"], cwd=ROOT,
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_sigint_default)
    try:
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGINT)  # as a terminal does: the whole process group
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    if proc.returncode == 0:
        pytest.skip(f"the experiment finished within {delay} s")
    lines = [line for line in err.splitlines()
             if line and "\r" not in line and "Token " not in line]  # bars, Ray's auth note
    assert proc.returncode == 130 and lines[-1:] == ["nasbench: interrupted"], err
    assert "Traceback" not in err
    deadline = time.time() + 10
    while alive_in_session(proc.pid) and time.time() < deadline:
        time.sleep(0.2)
    assert alive_in_session(proc.pid) == []


def test_the_entry_point_survives_its_first_call(capsys):
    """harness.cli.main imports the commands on its first call; that import must not replace
    the package's ``main`` (a submodule of that name did: the next import got a module)."""
    import harness.cli

    assert harness.cli.main(["space", "info"]) == 0
    from harness.cli import main as again

    assert again is harness.cli.main and callable(again)


# ---- 11. a busy machine --------------------------------------------------------------------------

@pytest.mark.slow
def test_local_ray_workers_run_at_normal_priority(tmp_path):
    """Ray nices its workers to 15: beside two busy processes on 2 cores a live training then got
    ~4% of a core and the live test ran out of its 600 s budget.  A local Ray keeps them at 0."""
    script = ("import os; from pathlib import Path; from harness.cluster import ray_session\n"
              "with ray_session(None, 1):\n"
              "    import ray; print(ray.get(ray.remote(lambda: os.nice(0)).remote()))")
    env = {k: v for k, v in os.environ.items() if k != "RAY_worker_niceness"}
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == str(os.nice(0))


def test_a_bug_is_told_apart_from_a_users_mistake(tmp_path, capsys, monkeypatch):
    """A user's mistake is one line and exit 2; anything else is a bug: exit 3, one line that
    says so and names the file holding the traceback."""
    import harness.cli.app as app

    monkeypatch.setenv("NASBENCH_CACHE_DIR", str(tmp_path))
    assert main(["space", "hash", "--matrix", "[[0,1],[1,0]]", "--ops", "input,output"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "strictly upper triangular" in err

    def broken(args):
        return {}["no such key"]   # a KeyError from our own code: not the user's doing

    real = app.build_parser

    def with_a_broken_command():
        parser = real()
        space = parser._subparsers._group_actions[0].choices["space"]
        space._subparsers._group_actions[0].choices["hash"].set_defaults(func=broken)
        return parser

    monkeypatch.setattr(app, "build_parser", with_a_broken_command)
    assert main(["space", "hash", "--matrix", "[[0,1],[0,0]]", "--ops", "input,output"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error (a bug, please report it): KeyError" in err
    crash = next((tmp_path / "crashes").glob("nasbench-*.txt"))
    assert str(crash) in err and "no such key" in crash.read_text()
    assert "Traceback (most recent call last)" in crash.read_text()
    # a cache folder where the traceback cannot be written: it goes to the temp folder
    import tempfile

    (tmp_path / "blocked").mkdir()
    (tmp_path / "blocked" / "crashes").write_text("a file, not a folder")
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("NASBENCH_CACHE_DIR", str(tmp_path / "blocked"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    assert main(["space", "hash", "--matrix", "[[0,1],[0,0]]", "--ops", "input,output"]) == 3
    err = capsys.readouterr().err
    crash = next((tmp_path / "tmp").glob("nasbench-*.txt"))
    assert err.count("\n") == 1 and str(crash) in err and "no such key" in crash.read_text()
