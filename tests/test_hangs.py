"""No hang, and faults of plug-ins named as theirs (#27, items 4-6): an optimizer call past
``budget.ask_timeout`` fails its own run, SIGTERM ends a Ray run as Ctrl-C does, and a
``KeyboardInterrupt`` inside a plug-in on Ray is the plug-in's."""
from __future__ import annotations

import os

import pytest

from harness.results import run_files

from .conftest import ROOT
from .test_harness import TINY, files, write_yaml
from .test_reliability import cli

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
    _plugin(tmp_path, monkeypatch)
    hangs = {"AskHangs": "ask did not return within 0.5 s", "TellHangs":
             "tell did not return within 0.5 s"}
    if backend == "local":   # Ray: the stuck worker ends, the run is lost (below)
        hangs["Stubborn"] = "an ask or tell did not return within 0.5 s (budget.ask_timeout), " \
                            "nor end when interrupted; its process was killed"
    data = {**FAST, "execution": {"backend": backend, "cpus": 2, "max_retries": 0},
            "optimizers": [{"name": "random_search"},
                           *({"name": f"hanging:{cls}"} for cls in hangs)]}
    out = tmp_path / "out"
    code, err = cli(capsys, "run", str(write_yaml(tmp_path / "exp.yaml", data)), "--output",
                    str(out), "--no-report")
    assert code == 1 and f"{len(hangs)} run(s) failed" in err, err
    assert [p.parent.name for p in run_files(out)] == ["random_search"]
    for cls, words in hangs.items():
        (failed,) = (out / "runs" / f"hanging:{cls}").glob("*.failed.txt")
        text = failed.read_text()
        assert f"CallTimeout: hanging:{cls}: {words}" in text, (cls, text)
        assert f"hanging:{cls} seed 0: harness.watchdog.CallTimeout" in err
        if cls != "Stubborn":   # the traceback shows where the optimizer was
            assert "threading.Event().wait()" in text, text


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
    from .test_reliability import one_line

    path = tmp_path / "exp.yaml"
    path.write_text(f"budget:\n  time: 1.0e5\n  ask_timeout: {value}\n"
                    "optimizers:\n  - name: random_search\n")
    code, err = cli(capsys, "run", str(path), "--output", str(tmp_path / "out"))
    assert code == 2 and one_line(err) and f"exp.yaml:3: {words}" in err, err
    assert not (tmp_path / "out").exists()
