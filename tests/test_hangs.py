"""No hang, and faults of plug-ins named as theirs (#27, items 4-7): an optimizer call past
``budget.ask_timeout`` fails its own run, SIGTERM ends a Ray run as Ctrl-C does, a
``KeyboardInterrupt`` inside a plug-in on Ray is the plug-in's, a hyperparameter that can never
work is refused before the run, a resume removes the temporaries of interrupted writes, and a
report time given twice counts once."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from harness.results import run_files

from .conftest import ROOT
from .helpers import (
    SMALL,
    TINY,
    alive_in_session,
    cli,
    files,
    one_line,
    run_faulty_plugins,
    write_yaml,
)

#: Plug-ins whose calls never return.  ``Event().wait()`` blocks until interrupted; ``Stubborn``
#: also swallows every interrupt, so only the end of its process ends it.
HANGING = '''
import threading
from optimizers.random_search import RandomSearch


class AskHangs(RandomSearch):
    def ask(self):
        if self._next_id >= 3:
            threading.Event().wait()
        return super().ask()


class TellHangs(RandomSearch):
    def tell(self, trial, result):
        if trial.id >= 2:
            threading.Event().wait()


class Interrupts(RandomSearch):
    def ask(self):
        if self._next_id >= 3:
            raise KeyboardInterrupt("the plug-in's own")
        return super().ask()


class Stubborn(RandomSearch):
    def ask(self):
        if self._next_id >= 3:
            while True:
                try:
                    threading.Event().wait()
                except BaseException:
                    pass
        return super().ask()
'''

FAST = {**TINY, "seeds": 1, "budget": {"time": 1.0e5, "ask_timeout": 0.5}}


def _plugin(tmp_path, monkeypatch) -> None:
    (tmp_path / "hanging.py").write_text(HANGING)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path}{os.pathsep}{ROOT}")


@pytest.mark.parametrize("backend", ["local", pytest.param("ray", marks=pytest.mark.slow)])
def test_a_call_past_ask_timeout_fails_its_own_run(tmp_path, capsys, monkeypatch, backend):
    """...and a plug-in's KeyboardInterrupt is its failure, on Ray too (not Ray's
    TaskCancelledError)."""
    _plugin(tmp_path, monkeypatch)
    faults = {"AskHangs": "CallTimeout: hanging:AskHangs: ask did not return within 0.5 s",
              "TellHangs": "CallTimeout: hanging:TellHangs: tell did not return within 0.5 s",
              "Interrupts": "KeyboardInterrupt: the plug-in's own",
              # a call that cannot be interrupted: its process ends (a Ray worker: a lost run)
              "Stubborn": "CallTimeout: hanging:Stubborn: an ask or tell did not return within "
                          "0.5 s (budget.ask_timeout), nor end when interrupted; its process "
                          "was killed" if backend == "local" else
                          "its worker or node was lost 1 time(s)"}
    texts = run_faulty_plugins(capsys, tmp_path, {**FAST, "execution": {
        "backend": backend, "cpus": 2, "max_retries": 0}}, "hanging", faults)
    for cls, text in texts.items():
        assert "TaskCancelledError" not in text, (cls, text)
        if cls != "Stubborn":   # the traceback shows where in the plug-in it was
            assert "hanging.py" in text, text


def test_ask_timeout_does_not_change_what_a_run_is(tmp_path, capsys):
    from harness.config import load_experiment
    from harness.results import expected_facts

    data = {**TINY, "seeds": 1, "optimizers": [{"name": "random_search"}]}
    slow = write_yaml(tmp_path / "slow.yaml", data)
    fast = write_yaml(tmp_path / "fast.yaml", {**data, "budget": {**data["budget"],
                                                                  "ask_timeout": 30}})
    a, b = load_experiment(slow), load_experiment(fast)
    assert a.budget.ask_timeout == 600 and b.budget.ask_timeout == 30
    assert a.identity() == b.identity() and expected_facts(a) == expected_facts(b)
    out = tmp_path / "out"
    assert cli(capsys, "run", str(slow), "--output", str(out), "--no-report")[0] == 0
    before = files(out / "runs")
    (done,) = run_files(out)
    stamp = done.stat().st_mtime_ns
    assert cli(capsys, "run", str(fast), "--output", str(out), "--no-report")[0] == 0
    assert done.stat().st_mtime_ns == stamp                       # resumed: nothing redone
    assert cli(capsys, "run", str(fast), "--output", str(tmp_path / "again"),
               "--no-report")[0] == 0
    assert files(tmp_path / "again" / "runs") == before


@pytest.mark.parametrize("value, words", [
    ("0", "budget.ask_timeout: Input should be greater than 0"),
    ("-1", "budget.ask_timeout: Input should be greater than 0"),
    (".nan", "budget.ask_timeout: Input should be a finite number"),
    ("true", "budget.ask_timeout: must be a number"),
    ("soon", "budget.ask_timeout: Input should be a valid number"),
])
def test_a_bad_ask_timeout_is_one_line(tmp_path, capsys, value, words):

    path = tmp_path / "exp.yaml"
    path.write_text(f"budget:\n  time: 1.0e5\n  ask_timeout: {value}\n"
                    "optimizers:\n  - name: random_search\n")
    code, err = cli(capsys, "run", str(path), "--output", str(tmp_path / "out"))
    assert code == 2 and one_line(err) and f"exp.yaml:3: {words}" in err, err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("backend", ["local", pytest.param("ray", marks=pytest.mark.slow)])
def test_sigterm_ends_a_run_as_ctrl_c_does(tmp_path, backend):
    """One line, exit 143, no process of the command's left (Ray shut down; the local backend's
    run child ended with it), no C++ stack dump (Ray's C++ core installs one for SIGTERM at
    start-up), and the runs done so far kept: a rerun resumes."""
    data = {**SMALL, "seeds": 20, "budget": {"time": 1.0e7},
            "execution": {"backend": backend, "cpus": 2}}
    exp = write_yaml(tmp_path / "exp.yaml", data)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "run", str(exp), "--output",
                             str(out), "--no-report"], cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while not run_files(out) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, "the experiment ended before it could be terminated"
        proc.terminate()   # SIGTERM to the command only, as 'kill PID' or a scheduler sends it
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    lines = [line for line in err.splitlines()   # (text mode reads a bar's \r as a new line)
             if line and not line.startswith("tiny: ") and "Token " not in line]
    assert proc.returncode == 143, err
    assert lines[-1:] == ["nasbench: terminated"] and "Traceback" not in err, err
    assert "SIGTERM received" not in err
    deadline = time.monotonic() + 10
    while alive_in_session(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert alive_in_session(proc.pid) == [], "a process of the command outlived it"
    kept = run_files(out)   # whole (each member's CRC checked), and counted done on resume
    from harness.config import load_experiment
    from harness.plan import to_do

    assert kept and len(to_do(load_experiment(exp), out)) == 40 - len(kept)


@pytest.mark.slow
def test_sigterm_while_ray_starts_ends_as_ctrl_c_does(tmp_path):
    """Found by the sweep: a SIGTERM while ``ray.init`` runs met Ray's own handler (installed
    there: ``sys.exit(15)``) and the command ended with exit 15 and no word.  Now: one line,
    exit 143, Ray's half-started processes ended."""
    data = {**SMALL, "seeds": 20, "budget": {"time": 1.0e7},
            "execution": {"backend": "ray", "cpus": 2}}
    exp = write_yaml(tmp_path / "exp.yaml", data)
    temp = Path(tempfile.mkdtemp(prefix="nbt"))   # short: Ray's socket paths live below it
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "run", str(exp), "--output",
                             str(tmp_path / "out"), "--no-report"], cwd=ROOT,
                            start_new_session=True, env={**os.environ, "TMPDIR": str(temp)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        # ray.init is under way once its session appears in the folder start_ray made for it
        while (not any(temp.glob("nbray-*/session_*")) and proc.poll() is None
               and time.monotonic() < deadline):
            time.sleep(0.01)
        assert proc.poll() is None, "the command ended before Ray started"
        proc.terminate()
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        shutil.rmtree(temp, ignore_errors=True)
    lines = [line for line in err.splitlines() if line and not line.startswith("tiny: ")
             and "Token " not in line]
    assert proc.returncode == 143 and lines[-1:] == ["nasbench: terminated"], err
    assert "Traceback" not in err, err
    deadline = time.monotonic() + 10
    while alive_in_session(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert alive_in_session(proc.pid) == [], "a process of the command outlived it"


def test_a_resume_removes_the_temporaries_of_interrupted_writes_only(tmp_path, capsys):
    data = {**TINY, "seeds": 1, "optimizers": [{"name": "random_search"}]}
    exp = write_yaml(tmp_path / "exp.yaml", data)
    out = tmp_path / "out"
    assert cli(capsys, "run", str(exp), "--output", str(out), "--no-report")[0] == 0
    runs = out / "runs" / "random_search"
    stray = [out / ".experiment.json.k2_x9a0q.tmp", runs / ".seed-1.npz.ab12cd34.tmp",
             runs / ".seed-1.overhead.npy.zz9_8y7x.tmp"]
    users = [out / "notes.tmp", runs / ".seed-1.npz.tmp", runs / "seed-1.npz.ab12cd34.tmp",
             out / ".x.ABCDEFGH.tmp"]
    for path in stray + users:
        path.write_bytes(b"partial")
    (out / ".report.abcdefgh.tmp").mkdir()            # a folder: not a file of ours
    assert cli(capsys, "run", str(exp), "--output", str(out), "--no-report")[0] == 0
    assert not any(p.exists() for p in stray)
    assert all(p.read_bytes() == b"partial" for p in users)
    assert (out / ".report.abcdefgh.tmp").is_dir()


def test_report_times_given_twice_count_once(tmp_path, capsys):
    from harness.report import report_times
    from harness.results import load

    data = {**TINY, "seeds": 1, "optimizers": [{"name": "random_search"}]}
    out = tmp_path / "out"
    assert cli(capsys, "run", str(write_yaml(tmp_path / "exp.yaml", data)), "--output",
               str(out), "--no-report")[0] == 0
    loaded = load(out)
    assert report_times([1e5, 1e4, 1e5, 1.0e4], loaded) == ([1e5, 1e4], [])
    assert report_times([1e4, 2e5, 2e5], loaded) == (
        [1e4], ["report time 2e+05 s is beyond every run's time budget (1e+05 s): left out"])


@pytest.mark.parametrize("optimizer, line, words", [
    ("  - name: hyperband\n    params:\n      min_budget: 200\n", 7,
     ("optimizers.0.params.min_budget: hyperband: min_budget 200 exceeds every budget of the "
      "benchmark (4, 12, 36, 108)")),
    ("  - name: bohb\n    grid:\n      min_budget: [4, 12, 500]\n", 7,
     "optimizers.0.grid.min_budget: bohb: min_budget 500 exceeds every budget"),
])
def test_a_hyperparameter_that_can_never_work_is_refused_before_the_run(tmp_path, capsys,
                                                                         optimizer, line, words):

    path = tmp_path / "exp.yaml"
    path.write_text(f"budget:\n  time: 1.0e5\nseeds: 1\noptimizers:\n{optimizer}")
    code, err = cli(capsys, "run", str(path), "--output", str(tmp_path / "out"))
    assert code == 2 and one_line(err) and f"exp.yaml:{line}: {words}" in err, err
    assert not (tmp_path / "out").exists()
