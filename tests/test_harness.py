"""Experiments, the simulator, execution, results and resume."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import yaml

from benchmark.objectives import Objective
from harness.cli import main
from harness.config import ExperimentError, load_experiment
from harness.preflight import check_files
from harness.results import load_events, load_trajectories, read_run, run_files
from harness.simulator import simulate
from optimizers import Optimizer, SearchExhausted, get_optimizer
from optimizers.base import Param

from .conftest import ROOT
from .helpers import TINY, files, write_yaml

# ---- experiment files ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, where, words", [
    ("budget: {time: 1e5}\noptimizers: [{name: random_search}]\nbogus: 1\n", ":3:",
     "bogus: unknown key"),
    ("budget:\n  time: -5\noptimizers: [{name: random_search}]\n", ":2:", "budget.time"),
    ("budget:\n  time: 1e5\n  workers: many\noptimizers: [{name: random_search}]\n", ":3:",
     "budget.workers"),
    ("budget: {time: 1e5}\noptimizers:\n  - name: random_search\n  - name: nope\n", ":4:",
     "unknown optimizer 'nope'"),
    ("budget: {time: 1e5}\noptimizers:\n  - name: regularized_evolution\n"
     "    params: {population: 3}\n", ":3:", "unknown hyperparameter 'population'"),
    ("benchmark: {name: nasbench101, data: /no/such.tfrecord}\nbudget: {time: 1e5}\n"
     "optimizers: [{name: random_search}]\n", ":1:", "does not exist"),
    ("benchmark: {encoding: C}\nbudget: {time: 1e5}\noptimizers:\n  - name: reinforce\n", ":4:",
     "categorical"),
    ("budget: {time: 1e5}\nseeds: [1, 1]\noptimizers: [{name: random_search}]\n", ":2:",
     "duplicates"),
    ("budget: {time: 1e5\n", ":2:", "invalid YAML"),
])
def test_bad_experiments_are_one_line_with_file_line_key(tmp_path, capsys, text, where, words):
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    with pytest.raises(ExperimentError) as info:
        check_files(load_experiment(path), path)   # the schema, then the files it names
    message = str(info.value)
    assert message.startswith(f"{path}{where}") and words in message and "\n" not in message
    out_dir = tmp_path / "out"
    code = main(["run", str(path), "--output", str(out_dir)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and not out_dir.exists()


def test_shipped_experiments_validate():
    demo, parallel = (load_experiment(ROOT / "experiments" / f"{name}.yaml")
                      for name in ("demo", "parallel"))
    for exp in (demo, parallel):
        assert len(exp.optimizers) == 7 and exp.benchmark.name == "surrogate"
    assert len(demo.seed_list) >= 3 and demo.budget.time >= 1e5   # a spread over seeds
    assert 1e6 <= parallel.budget.time <= 1e7 and parallel.budget.workers == 8
    paper = yaml.safe_load((ROOT / "experiments" / "paper.yaml").read_text())
    assert paper["seeds"] == 500 and paper["budget"] == {"time": 1e7, "workers": 1}
    assert paper["benchmark"]["name"] == "nasbench101" and len(paper["optimizers"]) == 7


# ---- the simulator ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def objective(surrogate):
    return Objective(surrogate, "A")


def test_simulation_with_parallel_workers(objective):
    opt = get_optimizer("random_search")(objective.config_space(seed=0), [108], 0)
    ev = simulate(objective, opt, 5e4, 4, np.random.default_rng(0))
    end, start, cost = map(np.asarray, (ev.end, ev.start, ev.cost))
    assert np.all(np.diff(end) >= 0) and end.max() <= 5e4
    assert np.allclose(end - start, cost)
    assert set(ev.worker) == {0, 1, 2, 3}
    for w in range(4):  # a worker runs one job at a time
        mine = np.asarray(ev.worker) == w
        s, e = start[mine], end[mine]
        assert np.all(s[1:] >= e[:-1] - 1e-9)
    one = simulate(objective, get_optimizer("random_search")(objective.config_space(seed=0),
                                                             [108], 0),
                   5e4, 1, np.random.default_rng(0))
    assert len(ev) > 2.5 * len([c for c in one.cost if c > 0]) > 0


class _Clocked:
    """An optimizer and objective that advance a fake wall clock by fixed amounts."""

    def __init__(self, objective, clock, ask=200.0, look_up=50.0, tell=300.0):
        self.inner = get_optimizer("random_search")(objective.config_space(seed=0), [108], 0)
        self.objective, self.clock, self.costs = objective, clock, (ask, look_up, tell)
        self.name = "clocked"

    def ask(self):
        self.clock[0] += self.costs[0]
        return self.inner.ask()

    def tell(self, trial, result):
        self.clock[0] += self.costs[2]

    def evaluate(self, config, budget, rng):
        self.clock[0] += self.costs[1]
        return self.objective.evaluate(config, budget, rng)


class Exhausting(Optimizer):
    """Random search that has nothing left to propose after ``proposals`` asks."""

    name = "exhausting"
    params = {"proposals": Param(5, int, 0, None)}

    def __init__(self, space, budgets, rng=None, **hyperparameters):
        super().__init__(space, budgets, rng, **hyperparameters)
        self.inner = get_optimizer("random_search")(space, budgets, self.rng)

    def ask(self):
        if self._next_id == self.settings["proposals"]:
            raise SearchExhausted("nothing left")
        self._next_id += 1
        return self.inner.ask()

    def tell(self, trial, result):
        pass


def test_an_exhausted_search_ends_its_run_and_keeps_its_results(objective, tmp_path):
    """The jobs running when the optimizer runs out finish and are recorded; the run ends
    then (no error), its file says when, and the report says so in one line."""
    opt = Exhausting(objective.config_space(seed=0), [108], 0, proposals=7)
    ev = simulate(objective, opt, 1e7, 3, np.random.default_rng(0))
    assert len(ev) == 7 and max(ev.end) < 1e7
    # the eighth ask came when a job ended, and the jobs still running then finished
    assert ev.exhausted_at in set(ev.end) and max(ev.end) > ev.exhausted_at > max(ev.start)
    data = {**TINY, "optimizers": [{"name": "tests.test_harness:Exhausting",
                                    "params": {"proposals": 4}}],
            "seeds": 1, "budget": {"time": 1.0e+6}, "report": {"enabled": True}}
    out = tmp_path / "out"
    assert main(["run", str(write_yaml(tmp_path / "e.yaml", data)), "--output", str(out)]) == 0
    (path,) = run_files(out)
    arrays, facts = read_run(path)
    assert len(arrays["end"]) <= 4 and facts["exhausted_at"] <= float(arrays["end"][-1])
    assert arrays["invalid"].all()   # so the report's figures are drawn without any regret
    page = (out / "report" / "index.html").read_text()
    assert "had no new configuration to propose (seed 0 at" in page
    rs = simulate(objective, get_optimizer("random_search")(objective.config_space(seed=0),
                                                           [108], 0), 1e5, 1,
                  np.random.default_rng(0))
    assert rs.exhausted_at is None


def test_charge_optimizer_time_charges_ask_look_up_and_tell(objective, monkeypatch):
    import harness.simulator as simulator

    clock = [0.0]
    monkeypatch.setattr(simulator.time, "perf_counter", lambda: clock[0])
    fake = _Clocked(objective, clock)
    ev = simulate(fake, fake, 5e4, 1, np.random.default_rng(0), charge_optimizer_time=True)
    start, end = np.asarray(ev.start), np.asarray(ev.end)
    assert start[0] == 250.0   # the first ask and look-up
    assert np.allclose(start[1:] - end[:-1], 550.0)   # then tell, ask and look-up each time
    spent = np.asarray(ev.overhead)
    assert spent[0] == 200.0 + 300.0 and np.allclose(np.diff(spent), 500.0)   # ask + tell
    uncharged = simulate(_Clocked(objective, clock), _Clocked(objective, clock), 5e4, 1,
                         np.random.default_rng(0))
    assert uncharged.start[0] == 0.0 and len(uncharged) > len(ev)


def test_max_evaluations_and_record_invalid(objective):
    def run(**kwargs):
        opt = get_optimizer("random_search")(objective.config_space(seed=0), [108], 3)
        return simulate(objective, opt, 1e6, 1, np.random.default_rng(5), **kwargs)

    every = run()
    assert len(run(max_evaluations=40)) == 40 and run(max_evaluations=40).rows == every.rows[:40]
    valid_only = run(record_invalid=False)
    assert valid_only.rows == [r for r in every.rows if not r[-1]] and any(every.invalid)


def test_waiting_rungs_leave_workers_idle(objective):
    opt = get_optimizer("hyperband")(objective.config_space(seed=0), objective.budgets, 0)
    ev = simulate(objective, opt, 3e4, 40, np.random.default_rng(0))
    budgets = np.asarray(ev.budget)
    first_rung = np.flatnonzero(budgets == 4)[:27]
    # the 9 promotions start only after the whole first rung has finished
    promoted_start = np.asarray(ev.start)[budgets == 12].min()
    assert promoted_start >= np.asarray(ev.end)[first_rung].max()


class Exploding(Optimizer):
    name = "exploding"

    def ask(self):
        if self._next_id > 5:
            raise RuntimeError("boom at ask 6")
        return self.new_trial({k: v for k, v in get_optimizer("random_search")(
            self.space, self.budgets, self.rng).ask().config.items()})

    def tell(self, trial, result):
        pass


class Stuck(Optimizer):
    name = "stuck"

    def ask(self):
        return None

    def tell(self, trial, result):
        pass


def test_an_optimizer_that_cannot_continue_is_an_error(objective):
    from harness.simulator import SimulationError

    with pytest.raises(SimulationError, match="never continue"):
        simulate(objective, Stuck(objective.config_space(), [108], 0), 1e4, 1,
                 np.random.default_rng(0))


# ---- running experiments ------------------------------------------------------------------------

def test_run_twice_same_bytes_and_resume(tmp_path, capsys):
    exp = write_yaml(tmp_path / "exp.yaml", TINY)
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["run", str(exp), "--output", str(a), "--no-report"]) == 0
    assert main(["run", str(exp), "--output", str(b), "--no-report"]) == 0
    assert files(a) == files(b) and len(files(a)) == 8
    # resume: a deleted run is redone, the others are kept as they are
    victim = next(iter(run_files(a)))
    mtimes = {p: p.stat().st_mtime_ns for p in run_files(a) if p != victim}
    victim.unlink()
    assert main(["run", str(exp), "--output", str(a), "--no-report"]) == 0
    assert files(a) == files(b)
    assert all(p.stat().st_mtime_ns == m for p, m in mtimes.items())
    # a different experiment in the same folder is refused, unless --force
    changed = write_yaml(tmp_path / "other.yaml", {**TINY, "budget": {"time": 5.0e4}})
    assert main(["run", str(changed), "--output", str(a), "--no-report"]) == 2
    assert "different experiment" in capsys.readouterr().err
    assert main(["run", str(changed), "--output", str(a), "--no-report", "--force"]) == 0
    assert len(files(a)) == 8 and files(a) != files(b)


def test_results_as_dataframes(tmp_path):
    exp = write_yaml(tmp_path / "exp.yaml", TINY)
    main(["run", str(exp), "--output", str(tmp_path / "r"), "--no-report"])
    events = load_events(tmp_path / "r")
    assert list(events.columns) == ["optimizer", "seed", "trial", "worker", "budget", "hash",
                                    "start", "end", "validation_error", "test_error", "cost",
                                    "invalid", "overhead"]
    # the optimizer's measured seconds in ask and tell: recorded for every event, cumulative
    for _, run in events.groupby(["optimizer", "seed"]):
        spent = run["overhead"].to_numpy()
        assert np.isfinite(spent).all() and spent[0] > 0 and np.all(np.diff(spent) >= 0)
    assert set(events["optimizer"]) == {"random_search", "regularized_evolution", "hyperband",
                                        "reinforce"}
    assert set(events[events["optimizer"] == "hyperband"]["budget"]) == {4, 12, 36, 108}
    traj = load_trajectories(tmp_path / "r")
    for _, run in traj.groupby(["optimizer", "seed"]):
        regret = run["test_regret"].dropna().to_numpy()
        val = run["incumbent_validation_error"].dropna().to_numpy()
        assert np.all(np.diff(val) <= 0) and regret.size


def test_a_failing_optimizer_is_recorded_while_others_finish(tmp_path, capsys, monkeypatch):
    (tmp_path / "plug.py").write_text(textwrap.dedent('''
        from tests.test_harness import Exploding
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    data = {**TINY, "optimizers": [{"name": "random_search"}, {"name": "plug:Exploding"}]}
    exp = write_yaml(tmp_path / "exp.yaml", data)
    out = tmp_path / "out"
    assert main(["run", str(exp), "--output", str(out), "--no-report"]) == 1
    err = capsys.readouterr().err
    assert "2 run(s) failed" in err and "boom at ask 6" in err
    assert len(list((out / "runs" / "random_search").glob("*.npz"))) == 2
    failed = list((out / "runs" / "plug:Exploding").glob("*.failed.txt"))
    assert len(failed) == 2 and "RuntimeError: boom" in failed[0].read_text()


@pytest.mark.slow
def test_sigkill_and_resume_give_identical_bytes(tmp_path):
    data = {**TINY, "seeds": 6, "budget": {"time": 1.0e7, "workers": 1}}
    exp = write_yaml(tmp_path / "exp.yaml", data)
    reference = tmp_path / "ref"
    assert main(["run", str(exp), "--output", str(reference), "--no-report"]) == 0
    total = len(files(reference))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "harness.cli", "run", str(exp), "--output", str(out),
           "--no-report"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for wanted in (2, 8):  # kill once a few runs are written, then again later
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        while len(run_files(out)) < wanted and proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    done = len(run_files(out))
    assert 2 <= done < total, done
    assert subprocess.run(cmd, env=env, capture_output=True).returncode == 0
    assert files(out) == files(reference)
    assert not list(out.rglob("*.tmp"))


@pytest.mark.slow
def test_ray_gives_the_same_bytes_and_listens_on_loopback_only(tmp_path):
    exp = write_yaml(tmp_path / "exp.yaml", {**TINY, "execution": {"backend": "local"}})
    local = tmp_path / "local"
    assert main(["run", str(exp), "--output", str(local), "--no-report"]) == 0
    listening = []

    def watch(proc):
        while proc.poll() is None:
            out = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True).stdout
            listening.extend(line.split()[3] for line in out.splitlines())
            time.sleep(0.5)

    for cpus in (1, 2):
        ray_exp = write_yaml(tmp_path / f"ray{cpus}.yaml",
                             {**TINY, "execution": {"backend": "ray", "cpus": cpus}})
        out = tmp_path / f"ray{cpus}"
        proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "run", str(ray_exp),
                                 "--output", str(out), "--no-report"],
                                env={**os.environ, "PYTHONPATH": str(ROOT)},
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if subprocess.run(["which", "ss"], capture_output=True).returncode == 0:
            watch(proc)
        code, err = proc.wait(), proc.stderr.read().decode()
        assert code == 0, err[-2000:]
        assert "Token authentication" not in err   # Ray's notice is not printed per command
        assert files(out) == files(local)
        assert not (out / ".ray").exists()   # Ray's session files are not left in the results
    baseline = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True).stdout
    outside = sorted({a for a in listening if not _loopback(a) and a not in baseline})
    assert not outside, f"Ray listened beyond loopback: {outside}"


def _loopback(address: str) -> bool:
    """``127.0.0.1:80``, ``[::1]:80``, ``[::ffff:127.0.0.1]:80`` are loopback; ``*:80`` is not."""
    import ipaddress

    host = address.rsplit(":", 1)[0].strip("[]")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or bool(mapped and mapped.is_loopback)


@pytest.mark.slow
def test_model_based_runs_are_identical_across_processes(tmp_path):
    """SMAC iterates over sets of strings: the CLI fixes the hash seed so bytes still match."""
    data = {**TINY, "budget": {"time": 3.0e4, "workers": 2},
            "optimizers": [{"name": "smac"}, {"name": "bohb"}, {"name": "tpe"}]}
    exp = write_yaml(tmp_path / "exp.yaml", data)
    outs = []
    for i, hashseed in enumerate(("random", "123")):
        out = tmp_path / f"out{i}"
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": hashseed}
        proc = subprocess.run([sys.executable, "-m", "harness.cli", "run", str(exp),
                               "--output", str(out), "--no-report"], env=env,
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr[-2000:]
        outs.append(files(out))
    assert outs[0] == outs[1] and len(outs[0]) == 6


def test_settings_for_reading_results_keep_the_folders_identity(tmp_path, capsys):
    """budget.trajectory and report settings only change how results are read: changing them
    resumes the folder (nothing rerun) and the report reads with the new trajectory."""
    hb = {**TINY, "seeds": 1, "optimizers": [{"name": "hyperband"}]}
    out = tmp_path / "r"
    assert main(["run", str(write_yaml(tmp_path / "a.yaml", hb)), "--output", str(out),
                 "--no-report"]) == 0
    before = files(out)
    pooled = load_trajectories(out)
    changed = {**hb, "budget": {**hb["budget"], "trajectory": "highest_budget"},
               "report": {"aggregate": "median", "times": [5.0e4]}}
    assert main(["run", str(write_yaml(tmp_path / "b.yaml", changed)), "--output", str(out),
                 "--no-report"]) == 0
    assert "different experiment" not in capsys.readouterr().err
    assert files(out) == before   # nothing rerun
    highest = load_trajectories(out)
    assert not np.allclose(highest["test_regret"].to_numpy(), pooled["test_regret"].to_numpy(),
                           equal_nan=True)
    from harness.results import read_run, trajectory

    arrays, facts = read_run(out / "runs" / "hyperband" / "seed-0.npz")
    direct = trajectory(arrays, facts["y_star_valid"], facts["y_star_test"], "highest_budget")
    assert np.allclose(highest["test_regret"], direct["test_regret"], equal_nan=True)
    # what defines the runs still does
    other = {**hb, "budget": {**hb["budget"], "time": 2.0e5}}
    assert main(["run", str(write_yaml(tmp_path / "c.yaml", other)), "--output", str(out),
                 "--no-report"]) == 2


def test_metadata_records_versions_data_and_wall_times(tmp_path):
    exp = write_yaml(tmp_path / "exp.yaml", {**TINY, "seeds": 1,
                                             "optimizers": [{"name": "random_search"}]})
    out = tmp_path / "r"
    assert main(["run", str(exp), "--output", str(out), "--no-report"]) == 0
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["python"] == sys.version.split()[0] and meta["host"]
    assert meta["packages"]["numpy"] == np.__version__ and "nasbench-harness" in meta["packages"]
    assert meta["data"]["surrogate"] is True and "not NAS-Bench-101" in meta["data"]["label"]
    assert list(meta["wall_seconds_per_run"]) == ["random_search/0"]
    assert meta["wall_seconds_per_run"]["random_search/0"] > 0
    assert meta["started"] <= meta["finished"]
