"""The robustness sweep (#27, perf/sweep_inputs.py): its classifier, and the whole sweep as a long
check (NASBENCH_LONG=1): every case a one-line error or a correct result."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from perf.sweep_inputs import GOOD, Case, classify, message_lines, summary, sweep

from .conftest import long_check, needs_shared


def _case(expect: str = "fail", culprit: str | None = "budget.time", **kw) -> Case:
    return Case("experiment", "a case", lambda folder: [], expect, culprit, **kw)


@pytest.mark.parametrize("expect, code, err, timed_out, kind", [
    ("fail", 2, "nasbench: error: exp.yaml:3: budget.time: must be > 0\n", False, "one-line"),
    ("fail", 2, "INFO x: starting\r 10%\nnasbench: error: exp.yaml:3: budget.time: bad\n", False,
     "one-line"),
    ("fail", 2, "nasbench: error: something is wrong\n", False, "vague"),
    ("fail", 2, "nasbench: error: budget.time\n  more\n", False, "vague"),
    ("fail", 0, "", False, "silently accepted"),
    ("fail", 3, "nasbench: internal error (a bug): budget.time; traceback in x\n", False,
     "traceback"),
    ("fail", 1, "Traceback (most recent call last):\n  budget.time\n", False, "traceback"),
    ("fail", -9, "budget.time", False, "traceback"),
    ("fail", -9, "", True, "hang"),
    ("ok", 2, "nasbench: error: budget.time\n", False, "vague"),
    ("ok", 0, "", False, "correct"),
    ("either", 0, "", False, "correct"),
    ("either", 2, "nasbench: error: budget.time is bad\n", False, "one-line"),
])
def test_outcomes_are_classified(tmp_path, expect, code, err, timed_out, kind):
    assert classify(_case(expect), tmp_path, code, "", err, timed_out)[0] == kind


def test_a_failed_check_is_its_kind_of_bad(tmp_path):
    lost = _case("ok", check=lambda folder, out, err: "2 of 6 run files differ")
    assert classify(lost, tmp_path, 0, "", "", False) == ("lost", "2 of 6 run files differ")
    lost.wrong = "silently accepted"
    assert classify(lost, tmp_path, 0, "", "", False)[0] == "silently accepted"
    assert message_lines("INFO a\nWARNING b\n 5%|#\r\nnasbench: error: c\n") == [
        "nasbench: error: c"]


@needs_shared
@long_check
def test_the_sweep_ends_every_case_well(tmp_path):
    """Every case of the sweep (hundreds, ~10 minutes on two cores) ends in one line or a
    correct result: no traceback, no hang, nothing silently accepted, nothing lost."""
    cache = Path(os.environ["NASBENCH_CACHE_DIR"])
    outcomes = sweep(tmp_path, cache, jobs=2, progress=False)
    assert len(outcomes) >= 300
    assert all(o.kind in GOOD for o in outcomes), summary(outcomes)


# ---- what the sweep found, each one line now ----------------------------------------------------

@pytest.mark.parametrize("argv, words", [
    (["analyze", "surrogate", "--seed", "-1"], "--seed -1: a seed is a non-negative integer"),
    (["data", "download", "--url", "::::", "--sha256", "0" * 64], "--url '::::': unknown url"),
    (["data", "cifar10", "--url", "::::", "--sha256", "0" * 64], "--url '::::': unknown url"),
    (["data", "download", "--url", "http://127.0.0.1:9/x", "--sha256", "nothex"],
     "--sha256 'nothex': a SHA256 is 64 hexadecimal digits"),
    (["data", "download", "--sha256", "0" * 64], "--sha256 only goes with --url"),
])
def test_flags_the_sweep_found_are_one_line(tmp_path, capsys, argv, words):
    from harness.cli import main

    if argv[0] == "data":
        argv = [*argv, "--dir", str(tmp_path)]
    assert main(argv) == 2
    lines = message_lines(capsys.readouterr().err)
    assert len(lines) == 1 and words in lines[0], lines
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value", ["true", "false"])
def test_true_is_not_a_repeat_number(tmp_path, value):
    from harness.config import ExperimentError, load_experiment

    exp = tmp_path / "exp.yaml"
    exp.write_text(f"budget: {{time: 1.0e+4}}\nbenchmark: {{repeat: {value}}}\n"
                   "optimizers: [{name: random_search}]\n")
    with pytest.raises(ExperimentError, match=f"exp.yaml:2: benchmark.repeat: must not be true "
                                              f"or false, got {value.title()}"):
        load_experiment(exp)


def test_a_matrix_nested_too_deeply_is_one_line(capsys):
    from harness.cli import main

    assert main(["space", "hash", "--matrix", "[" * 20000 + "]" * 20000, "--ops",
                 "input,output"]) == 2
    assert message_lines(capsys.readouterr().err) == [
        "nasbench: error: --matrix is nested too deeply; give a list of rows"]


def test_a_cache_folder_that_is_a_file_is_one_line(tmp_path, capsys, monkeypatch):
    from harness.cli import main

    (tmp_path / "c").write_text("x")
    monkeypatch.setenv("NASBENCH_CACHE_DIR", str(tmp_path / "c" / "sub"))
    assert main(["data", "query", "--hash", "28cfc7874f6d200472e1a9dcd8650aa0"]) == 2
    assert message_lines(capsys.readouterr().err) == [
        f"nasbench: error: NASBENCH_CACHE_DIR {tmp_path}/c/sub: {tmp_path}/c is not a folder"]


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_a_cache_folder_that_cannot_be_made_is_one_line_before_any_work(capsys, monkeypatch):
    """Found by the sweep: a cache folder in /proc was found unusable only after the minute
    of enumeration that it was to keep (and the pool's workers printed tracebacks)."""
    from harness.cli import main

    monkeypatch.setenv("NASBENCH_CACHE_DIR", "/proc/nasbench-test-cache")
    assert main(["data", "query", "--hash", "28cfc7874f6d200472e1a9dcd8650aa0"]) == 2
    assert message_lines(capsys.readouterr().err) == [
        "nasbench: error: NASBENCH_CACHE_DIR /proc/nasbench-test-cache: cannot be made (No such "
        "file or directory)"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_ends_on_sigterm_as_by_default():
    """The CLI's SIGTERM handler raises in the command's own process only: a forked child (a
    multiprocessing pool's worker, ended by its pool with SIGTERM) ends silently, by the
    signal, instead of raising ``Terminated`` with a traceback."""
    import signal
    import time

    from harness.interrupts import sigterm_handler

    previous = signal.signal(signal.SIGTERM, sigterm_handler())
    try:
        pid = os.fork()
        if pid == 0:   # the child: the handler must end it by the signal, not raise
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(10)
            finally:
                os._exit(7)
        _, status = os.waitpid(pid, 0)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM, status
