"""A Ray cluster of several nodes, each in a network namespace of its own on a private bridge
that the test makes (10.213.0.0/24; nothing else is ever addressed): a head (GCS, and the
driver that joins it by address with a token) and two worker nodes.

Checked: the run files equal a local run's byte for byte; each worker node ran runs (the
driver records the node of each run in ``metadata.json``, ``node_per_run``); no socket of the
cluster listens in the machine's own namespace; a worker node killed mid-experiment costs
retries (one log line each), not results; every worker node gone is one line and a non-zero
exit, and the rerun resumes; a killed driver leaves nothing running and its rerun resumes; nodes
without the package, without the table or with other code are each named in one line (exit 2,
no run file); a dead head is one line at once (not Ray's minutes of retries).  Everything the
test made (namespaces, the bridge, veth pairs, processes) is removed at the end, also on failure.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import ROOT
from .helpers import files, listening, write_yaml
from .netns_cluster import (
    HEAD,
    SUBNET,
    Cluster,
    cmdline,
    ip,
    namespaces,
    three_nodes,
    why_no_namespaces,
)

pytestmark = pytest.mark.slow

#: the addresses the cluster may listen on, as /proc/net/tcp{,6} show them (an IPv4-mapped one
#: by its IPv4 part): its own, loopback, and any (in a namespace: its loopback and bridge address)
OURS = ({f"{i:02X}00D50A" for i in (1, 2, 3)} | {"0100007F", "00000000", "0" * 32}
        | {"00000000000000000000000001000000"})
EXPERIMENT = {
    "name": "nodes",
    "benchmark": {"name": "surrogate", "encoding": "A"},
    "budget": {"time": 1.0e7, "workers": 1},   # runs long enough to be caught running
    "seeds": 10,
    "optimizers": [{"name": "random_search"}, {"name": "regularized_evolution"}],
    "execution": {"backend": "local"},
}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """The three nodes; the machine's own namespace gets no interface, and after them no
    namespace of theirs is left."""
    why = why_no_namespaces()
    if why:
        pytest.skip(why)
    links = ip("-o", "link").stdout.count("\n")
    with three_nodes(tmp_path_factory.mktemp("cluster")) as made:
        assert ip("-o", "link").stdout.count("\n") == links
        yield made
    assert not any(ns.startswith(made.tag) for ns in namespaces())


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The experiment run locally (``backend: local``), for its bytes."""
    tmp = tmp_path_factory.mktemp("reference")
    out = tmp / "out"
    run = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--no-report", "--output",
                          str(out), str(write_yaml(tmp / "e.yaml", EXPERIMENT))],
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    return files(out)


def _on_cluster(tmp: Path, name: str, **execution) -> Path:
    data = {**EXPERIMENT, "execution": {"backend": "ray", "address": HEAD, **execution}}
    return write_yaml(tmp / f"{name}.yaml", data)


def _finish(proc: subprocess.Popen, timeout: float = 600) -> tuple[int, str]:
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return proc.returncode, err


def _run(cluster: Cluster, exp: Path, out: Path) -> tuple[int, str]:
    return _finish(cluster.driver("run", "--no-report", "--output", str(out), str(exp)))


def _wait_for_runs(out: Path, count: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 300
    while len(list((out / "runs").glob("*/seed-*.npz"))) < count:
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "the experiment made no progress"
        time.sleep(0.2)


def _pids(cluster: Cluster, *nodes: int) -> list[int]:
    return [int(p) for i in nodes
            for p in ip("netns", "pids", cluster.ns(i), check=False).stdout.split()]


def _busy_on(cluster: Cluster, i: int) -> bool:
    return any(cmdline(p).startswith("ray::execute_on_node") for p in _pids(cluster, i))


def _job_of(pid: int) -> str | None:
    """The Ray job a worker process works for (None: not a worker, or gone)."""
    try:
        env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    return next((e[11:].decode() for e in env if e.startswith(b"RAY_JOB_ID=")), None)


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def _installed(package: str) -> tuple[Path, ...]:
    """Where this checkout and the environment's installation (if another) hold ``package``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    found = subprocess.run([sys.executable, "-c", f"import {package}; print({package}.__file__)"],
                           env=env, cwd="/", capture_output=True, text=True).stdout.strip()
    return tuple({ROOT / package} | ({Path(found).parent} if found else set()))


def _no_partial_files(out: Path) -> None:
    names = [p.name for p in out.rglob("*") if p.is_file()]
    assert not [n for n in names if ".tmp" in n or n.startswith(".")
                and n != ".nasbench.lock"], names


def test_the_runs_of_three_nodes_equal_a_local_run(cluster, reference, tmp_path):
    out = tmp_path / "out"
    code, err = _run(cluster, _on_cluster(tmp_path, "c"), out)
    assert code == 0, err[-3000:]
    assert files(out) == reference and len(reference) == 20
    nodes = json.loads((out / "metadata.json").read_text())["node_per_run"]
    assert set(nodes.values()) == {f"{SUBNET}.2", f"{SUBNET}.3"}, nodes   # both ran runs
    # the cluster listens in its namespaces only: none of its sockets in the machine's own
    for i in (1, 2, 3):
        pids = _pids(cluster, i)
        inside = listening(pids, Path(f"/proc/{pids[0]}/net"))
        assert inside and all(a.removeprefix("0000000000000000FFFF0000") in OURS
                              for a in inside), (i, inside)
    assert listening(cluster.pids()) == [], "a cluster socket listens out here"


def test_a_lost_worker_node_costs_retries_not_results(cluster, reference, tmp_path):
    out = tmp_path / "out"
    driver = cluster.driver("run", "--no-report", "--output", str(out),
                            str(_on_cluster(tmp_path, "c")))
    try:
        _wait_for_runs(out, 1, driver)
        deadline = time.monotonic() + 120
        while not _busy_on(cluster, 3):
            assert time.monotonic() < deadline and driver.poll() is None, "node 3 got no run"
            time.sleep(0.05)
        assert cluster.kill(3)
    finally:
        code, err = _finish(driver)
    assert code == 0, err[-3000:]
    retries = [x for x in err.splitlines() if "lost (" in x]   # one line each, bounded
    assert retries and all(re.search(r"seed \d+: lost \(.+\); retry [12] of 2$", x)
                           for x in retries), err[-3000:]
    assert files(out) == reference
    _no_partial_files(out)

    # the last worker node goes too: one line, a non-zero exit; the rerun resumes
    out = tmp_path / "gone"
    exp = _on_cluster(tmp_path, "c")
    driver = cluster.driver("run", "--no-report", "--output", str(out), str(exp))
    try:
        _wait_for_runs(out, 1, driver)
        assert cluster.kill(2)
    finally:
        code, err = _finish(driver)
    lines = [x for x in err.splitlines() if x.startswith("nasbench:")]
    assert code == 2 and len(lines) == 1 and "no node with CPUs left" in lines[0], err[-3000:]
    _no_partial_files(out)
    cluster.start(2)
    cluster.start(3)
    cluster.wait_workers(2)
    code, err = _run(cluster, exp, out)
    assert code == 0, err[-3000:]
    assert files(out) == reference


def test_a_killed_driver_leaves_nothing_running_and_its_rerun_resumes(cluster, reference,
                                                                      tmp_path):
    out = tmp_path / "out"
    exp = _on_cluster(tmp_path, "c")
    driver = cluster.driver("run", "--no-report", "--output", str(out), str(exp))
    try:
        _wait_for_runs(out, 2, driver)
        deadline = time.monotonic() + 120
        while not (jobs := {_job_of(p) for p in _pids(cluster, 2, 3)
                            if cmdline(p).startswith("ray::execute_on_node")} - {None}):
            assert time.monotonic() < deadline and driver.poll() is None, "no run seen"
            time.sleep(0.05)
        driver.kill()   # SIGKILL
    finally:
        _finish(driver)
    deadline = time.monotonic() + 120   # Ray ends a dead driver's job and its workers
    while left := [p for p in _pids(cluster, 2, 3) if _job_of(p) in jobs and _alive(p)]:
        assert time.monotonic() < deadline, \
            f"the killed driver's workers still run: {[cmdline(p) for p in left]}"
        time.sleep(0.5)
    done = len(files(out))
    code, err = _run(cluster, exp, out)
    assert code == 0, err[-3000:]
    assert files(out) == reference
    resumed = json.loads((out / "metadata.json").read_text())["node_per_run"]
    assert len(resumed) == len(reference) - done   # only the runs not done were run again
    _no_partial_files(out)


def test_nodes_that_differ_from_the_driver_are_named_one_line_each(cluster, store_dir,
                                                                   tmp_path):
    """A node without the package, one without the table, one with other code: exit 2, one
    line each, and not one run file."""
    store = store_dir["full"]
    other = tmp_path / "other"
    shutil.copytree(ROOT / "harness", other, ignore=shutil.ignore_patterns("__pycache__"))
    with (other / "task.py").open("a") as f:
        f.write("# an edit the driver does not have\n")
    for i in (4, 5, 6):
        cluster.add_node(i)
    cluster.start(4, hide=_installed("harness"))
    cluster.start(5, hide=(store,))
    cluster.start(6, over={ROOT / "harness": other})
    cluster.wait_workers(5)
    data = {**EXPERIMENT, "benchmark": {"name": "nasbench101", "data": str(store),
                                        "absent": "invalid"},
            "execution": {"backend": "ray", "address": HEAD}}
    out = tmp_path / "out"
    code, err = _run(cluster, write_yaml(tmp_path / "e.yaml", data), out)
    named = {i: [x for x in err.splitlines() if f"node {SUBNET}.{i}:" in x] for i in range(2, 7)}
    assert code == 2 and not named[2] and not named[3], err[-3000:]
    assert [len(named[i]) for i in (4, 5, 6)] == [1, 1, 1], err[-3000:]
    assert "No module named 'harness" in named[4][0] and "install" in named[4][0]
    assert str(store) in named[5][0] and "same path on every node" in named[5][0]
    assert "sources" in named[6][0] and "differs from the driver's" in named[6][0]
    assert files(out) == {}
    for i in (4, 5, 6):
        cluster.kill(i)


def test_a_dead_head_is_one_line(cluster, tmp_path):
    cluster.kill(1)
    code, err = _run(cluster, _on_cluster(tmp_path, "c"), tmp_path / "out")
    lines = [x for x in err.splitlines() if x.startswith("nasbench:")]
    assert code == 2 and len(lines) == 1, err[-3000:]
    assert f"no Ray head answers at {HEAD} (connection refused)" in lines[0]
    assert "GCS" not in err   # at once: none of Ray's minutes of "Failed to connect to GCS"
