"""What a new user meets in the first hour, as the README tells it: its commands in order, the
demo (shrunk), a plug-in optimizer, a report, adding seeds, and ten common mistakes, each
ending as the README says; plus the paths and errors of those journeys one by one."""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness.cli import main
from harness.config import ExperimentError, load_experiment
from harness.results import run_files

from .conftest import ROOT, long_check

README = (ROOT / "README.md").read_text()
ONE_RUN = {"name": "one", "benchmark": {"name": "surrogate"}, "budget": {"time": 2.0e4},
           "seeds": 2, "optimizers": [{"name": "random_search"}],
           "execution": {"backend": "local"}}


def write(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def mtimes(folder: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in run_files(folder)}


def nasbench(*argv: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """``nasbench ARGS`` as a user runs it: a new process, in ``cwd``."""
    return subprocess.run([sys.executable, "-m", "harness.cli", *argv], cwd=cwd, text=True,
                          capture_output=True, timeout=900,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


# ---- adding seeds ------------------------------------------------------------------------------

def test_more_seeds_add_runs_and_keep_the_others(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="nasbench")
    exp = write(tmp_path / "exp.yaml", ONE_RUN)
    out = tmp_path / "r"
    assert main(["run", str(exp), "--output", str(out), "--no-report"]) == 0
    before = mtimes(out)
    assert len(before) == 2
    # --seeds 0-4 after 0-1: only seeds 2-4 run, the first two files are untouched
    assert main(["run", str(exp), "--output", str(out), "--no-report", "--seeds", "0-4"]) == 0
    assert "3 runs done now" in caplog.text
    now = mtimes(out)
    assert len(now) == 5 and all(now[p] == m for p, m in before.items())
    # the folder's experiment lists every seed it holds, so the report reads all five ...
    assert yaml.safe_load((out / "experiment.yaml").read_text())["seeds"] == [0, 1, 2, 3, 4]
    caplog.clear()
    # ... also after a run with the file's own two seeds: nothing to do, and it says so
    assert main(["run", str(exp), "--output", str(out), "--no-report"]) == 0
    assert "all 2 runs already done" in caplog.text and "0 runs" not in caplog.text
    assert yaml.safe_load((out / "experiment.yaml").read_text())["seeds"] == [0, 1, 2, 3, 4]
    from harness.results import load_trajectories

    assert sorted(load_trajectories(out)["seed"].unique()) == [0, 1, 2, 3, 4]
    # more seeds in the file itself do the same
    assert main(["run", str(write(tmp_path / "six.yaml", {**ONE_RUN, "seeds": 6})),
                 "--output", str(out), "--no-report"]) == 0
    assert len(mtimes(out)) == 6 and all(mtimes(out)[p] == m for p, m in now.items())
    # what defines a run still refuses
    other = write(tmp_path / "other.yaml", {**ONE_RUN, "budget": {"time": 3.0e4}})
    assert main(["run", str(other), "--output", str(out), "--no-report"]) == 2


#: ONE_RUN's identity as the code before this change computed it (the seed list [0, 1] in it),
#: from /work/main at 42a1adb: a folder made then is marked with it.
OLD_IDENTITY = "7b7bcd294bbfc5751b22b09f05834c89749ba59ff6c8d8d775bfcfaef5a7776b"


def test_a_folder_marked_the_old_way_is_resumed_and_re_marked(tmp_path, caplog,
                                                              unversioned_table):
    exp = write(tmp_path / "exp.yaml", {**ONE_RUN, "name": "old"})
    out = tmp_path / "r"
    assert main(["run", str(exp), "--output", str(out), "--no-report"]) == 0
    experiment = load_experiment(exp)
    assert experiment.identity([0, 1]) == OLD_IDENTITY != experiment.identity()
    marker = out / "experiment.json"
    marker.write_text(json.dumps({"identity": OLD_IDENTITY, "source": str(exp)}, indent=2))
    (out / "experiment.yaml").write_text(yaml.safe_dump(
        {**experiment.model_dump(mode="json"), "seeds": 2}, sort_keys=False))  # as it was
    before = mtimes(out)
    assert main(["run", str(exp), "--output", str(out), "--no-report", "--seeds", "0-2"]) == 0
    assert json.loads(marker.read_text())["identity"] == experiment.identity()
    now = mtimes(out)
    assert len(now) == 3 and all(now[p] == m for p, m in before.items())
    # an old marker of another experiment still refuses
    marker.write_text(json.dumps({"identity": "0" * 64}))
    assert main(["run", str(exp), "--output", str(out), "--no-report"]) == 2


# ---- paths and errors --------------------------------------------------------------------------

def test_a_store_path_that_does_not_exist_is_one_line(tmp_path):
    from benchmark import NASBench
    from benchmark.compat import nasbench_api
    from benchmark.compat.hpobench import NASCifar10ABenchmark
    from benchmark.compat.nas_benchmarks import NASCifar10A
    from benchmark.errors import MissingFileError

    missing = tmp_path / "nb101"
    for make in (lambda: NASBench(missing), lambda: nasbench_api.NASBench(str(missing)),
                 lambda: NASCifar10A(data_dir=missing), lambda: NASCifar10ABenchmark(missing),
                 lambda: NASBench(missing / "nasbench_only108.tfrecord")):
        with pytest.raises(MissingFileError) as info:
            make()
        assert "no such file or folder" in str(info.value) and "\n" not in str(info.value)
        assert "manifest" not in str(info.value)


def test_an_unknown_key_is_named_even_when_a_required_one_is_missing(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("name: typo\nbudgets:\n  time: 1e5\noptimizers: [{name: random_search}]\n")
    with pytest.raises(ExperimentError, match=r"exp.yaml:2: budgets: unknown key$"):
        load_experiment(path)


def test_output_is_relative_to_the_current_folder(tmp_path, monkeypatch):
    """As every path a user types, and as `make demo` writes results/demo: ``output:`` is
    relative to the folder the command runs in, not to the experiment file's."""
    (tmp_path / "experiments").mkdir()
    exp = write(tmp_path / "experiments" / "exp.yaml",
                {**ONE_RUN, "seeds": 1, "output": "results/one"})
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(["run", "../experiments/exp.yaml", "--no-report"]) == 0
    assert len(run_files(work / "results" / "one")) == 1
    assert not (exp.parent / "results").exists()
    assert "`output:` is relative to the folder you run `nasbench` in" in " ".join(README.split())


# ---- the first hour, scripted ------------------------------------------------------------------

def readme_block(after: str) -> str:
    """The first fenced code block after the line containing ``after``."""
    start = README.index(after)
    return re.search(r"```\w*\n(.*?)```", README[start:], re.S).group(1)


def shrunk_demo(where: Path) -> Path:
    """experiments/demo.yaml with every optimizer and setting, but 2 seeds, 2e4 simulated
    seconds and the local backend: the demo's journey in a test's time."""
    demo = yaml.safe_load((ROOT / "experiments" / "demo.yaml").read_text())
    demo.update(seeds=2, budget={**demo["budget"], "time": 2.0e4},
                execution={"backend": "local"}, report={"times": [1.0e4, 2.0e4]})
    return write(where / "experiments" / "demo.yaml", demo)


@pytest.mark.slow
def test_the_first_hour(tmp_path, capsys, monkeypatch):
    """A fresh folder (no results yet), the README's commands in order."""
    home = tmp_path / "clone"
    (home / "experiments").mkdir(parents=True)
    # 1. the README's first commands: `nasbench space hash` prints what its comment says
    line = next(x for x in README.splitlines() if x.startswith("nasbench space hash"))
    command, expected = (part.strip() for part in line.split("#"))
    argv = [a.strip("'") for a in re.findall(r"'[^']*'|\S+", command)[1:]]
    proc = nasbench(*argv, cwd=home)
    assert proc.returncode == 0 and proc.stdout.strip() == expected
    # 2. `data query` on the embedded table: the matrix as rows
    proc = nasbench("data", "query", "--hash", "28cfc7874f6d200472e1a9dcd8650aa0", "--epochs",
                    "108", cwd=home)
    assert proc.returncode == 0 and "    [0, 1, 1, 1, 1, 0, 0],\n" in proc.stdout
    assert json.loads(proc.stdout)["module_adjacency"][0] == [0, 1, 1, 1, 1, 0, 0]
    # 3. the demo (shrunk): a table of final regrets, then results/demo/report/index.html
    shrunk_demo(home)
    proc = nasbench("run", "experiments/demo.yaml", cwd=home)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = home / "results" / "demo" / "report"
    assert "| random_search |" in proc.stdout and "Traceback" not in proc.stderr
    for name in ("index.html", "test_regret.png", "test_regret_aggregates.png",
                 "significance.md", "distinct_cells.png", "optimizer_overhead.png"):
        assert (report / name).exists(), name
    page = (report / "index.html").read_text()
    assert "Each optimizer against random_search" in page
    assert "no test can reach p &lt; 0.05 with 2 seed(s)" in page   # and says what it needs
    # 4. adding seeds: only the new runs
    before = mtimes(home / "results" / "demo")
    proc = nasbench("run", "experiments/demo.yaml", "--seeds", "0-2", "--no-report", cwd=home)
    assert proc.returncode == 0 and "7 runs done now" in proc.stderr
    assert all(mtimes(home / "results" / "demo")[p] == m for p, m in before.items())
    proc = nasbench("run", "experiments/demo.yaml", "--no-report", cwd=home)
    assert proc.returncode == 0 and "all 14 runs already done" in proc.stderr
    # 5. a plug-in optimizer, written as the README shows, used by module:Class
    (home / "my_optimizer.py").write_text(readme_block("Your own optimizer"))
    write(home / "experiments" / "mine.yaml",
          {**ONE_RUN, "optimizers": [{"name": "random_search"},
                                     {"name": "my_optimizer:LocalSearch"}],
           "output": "results/mine"})
    proc = nasbench("run", "experiments/mine.yaml", cwd=home, env={
        "PYTHONPATH": f"{ROOT}{os.pathsep}{home}"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "| my_optimizer:LocalSearch |" in proc.stdout
    # 6. a report with other settings, as the README's example
    proc = nasbench("report", "results/demo", "--aggregate", "median", "--times", "1e4,2e4",
                    cwd=home)
    assert proc.returncode == 0 and "figures and tables in results/demo/report" in proc.stdout
    # 7. ten common mistakes: one line each naming the culprit, exit code 2, nothing written
    results = sorted(p.relative_to(home) for p in (home / "results").rglob("*.npz"))
    monkeypatch.chdir(home)
    mistakes = _mistakes(home)
    for argv, words in mistakes:
        code = main(argv)
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and words in err, (argv, err)
    assert len(mistakes) == 10
    assert sorted(p.relative_to(home) for p in (home / "results").rglob("*.npz")) == results


def _mistakes(home: Path) -> list[tuple[list[str], str]]:
    exp = yaml.safe_load((home / "experiments" / "demo.yaml").read_text())
    typo = home / "typo.yaml"
    typo.write_text("name: typo\nbudgets: {time: 1e5}\noptimizers: [{name: random_search}]\n")
    unknown = write(home / "unknown.yaml", {**exp, "optimizers": [{"name": "random_serach"}]})
    changed = write(home / "changed.yaml", {**exp, "budget": {"time": 3.0e4}})
    return [
        (["run", "experiments/dmeo.yaml"], "experiments/dmeo.yaml: cannot read"),
        (["run", str(typo)], "typo.yaml:2: budgets: unknown key"),
        (["run", str(unknown)], "unknown optimizer 'random_serach'"),
        (["run", "experiments/demo.yaml", "--seeds", "0-x"], "--seeds '0-x'"),
        (["run", str(changed), "--output", "results/demo"], "different experiment"),
        (["report", "results/dmeo"], "results/dmeo"),
        (["report", "results/demo", "--times", "soon"], "--times 'soon'"),
        (["report", "results/demo", "--baseline", "random"], "baseline 'random' is not among"),
        (["data", "query", "--hash", "28cfc7874f6d200472e1a9dcd8650aa0", "--data",
          "nb101/nasbench_only108.store"], "no such file or folder"),
        (["data", "query", "--hash", "0" * 32], "0" * 32),
    ]


def demo_seeds() -> tuple[int, int]:
    """The demo's seeds, and the fewest with which its tests can reach p < 0.05."""
    from harness import stats

    demo = load_experiment(ROOT / "experiments" / "demo.yaml")
    return len(demo.seed_list), stats.fewest_seeds(len(demo.optimizers) - 1, "two-sided")


def test_the_demo_comment_is_true():
    """The demo runs as many seeds as its tests need to reach p < 0.05, and its comment says so."""
    seeds, need = demo_seeds()
    text = " ".join((ROOT / "experiments" / "demo.yaml").read_text().replace("#", " ").split())
    assert seeds == need and f"over {seeds} seeds" in text and f"need {need} seeds" in text


@long_check   # the whole demo: ~5 min of 2 cores (15 on a loaded machine)
def test_the_whole_demo(tmp_path):
    """`make demo` as shipped (every optimizer, its seeds and horizon; the local backend so
    that no Ray starts): the page says what the demo's comment does."""
    home = tmp_path / "clone"
    shutil.copytree(ROOT / "experiments", home / "experiments")
    proc = nasbench("run", "experiments/demo.yaml", "--backend", "local", cwd=home)
    assert proc.returncode == 0, proc.stderr[-3000:]
    page = (home / "results" / "demo" / "report" / "index.html").read_text()
    assert "no test can reach" not in page and "Holm" in page
