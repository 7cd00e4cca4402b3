"""A Ray cluster of several nodes, each in a network namespace of its own on a private bridge
that the test makes (10.213.0.0/24; nothing else is ever addressed): a head (GCS, and the
driver that joins it by address with a token) and two worker nodes.

Checked: the run files equal a local run's byte for byte; each worker node ran runs (the
driver records the node of each run in ``metadata.json``, ``node_per_run``); no socket of the
cluster listens in the machine's own namespace; a worker node killed mid-experiment costs
retries (one log line each), not results; every worker node gone is one line and a non-zero
exit, and the rerun resumes; a killed driver leaves nothing running and its rerun resumes; nodes
without the package, without the table or with other code are each named in one line (exit 2,
no run file); a dead head is one line within 30 s.  Everything the test made (namespaces, the
bridge, veth pairs, processes) is removed at the end, also on failure.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from .conftest import ROOT
from .test_cluster import RAY, _listening
from .test_harness import files, write_yaml

pytestmark = pytest.mark.slow

PREFIX = "nbc"                 # namespaces nbc<pid>hub (the bridge), nbc<pid>n1 ... (the nodes)
SUBNET = "10.213.0"            # private: the test's own bridge, its own addresses only
PORT = 6379
HEAD = f"{SUBNET}.1:{PORT}"
SMALL = ["--object-store-memory", str(80 * 2**20), "--disable-usage-stats"]
#: the addresses the cluster may listen on, as /proc/net/tcp{,6} show them (an IPv4-mapped one
#: by its IPv4 part): its own, loopback, and any (in a namespace: its loopback and bridge address)
OURS = ({f"{i:02X}00D50A" for i in (1, 2, 3)} | {"0100007F", "00000000", "0" * 32}
        | {"00000000000000000000000001000000"})
EXPERIMENT = {
    "name": "nodes",
    "benchmark": {"name": "surrogate", "encoding": "A"},
    "budget": {"time": 1.0e5, "workers": 1},
    "seeds": 6,
    "optimizers": [{"name": "random_search"}, {"name": "regularized_evolution"}],
    "execution": {"backend": "local"},
}


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def _namespaces() -> list[str]:
    return [line.split()[0] for line in _ip("netns", "list").stdout.splitlines() if line]


def _remove_stale() -> None:
    """Namespaces of this test left by a run that was killed (their pid is gone)."""
    for name in _namespaces():
        if name.startswith(PREFIX):
            pid = name[len(PREFIX):].split("n")[0].split("h")[0]
            if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                _kill_all(name)
                _ip("netns", "del", name, check=False)


def _kill_all(namespace: str) -> list[int]:
    pids = [int(p) for p in _ip("netns", "pids", namespace, check=False).stdout.split()]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return pids


def _why_no_namespaces() -> str | None:
    if not RAY.exists():
        return f"Ray's command line not found at {RAY}"
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None or shutil.which("unshare") is None:
        return "needs the 'ip' and 'unshare' commands"
    probe = f"{PREFIX}{os.getpid()}probe"
    made = _ip("netns", "add", probe, check=False)
    _ip("netns", "del", probe, check=False)
    return None if made.returncode == 0 else f"cannot make a network namespace: {made.stderr}"


class Cluster:
    """The namespaces, the bridge and the Ray nodes of one test run (names carry its pid)."""

    def __init__(self, tmp: Path):
        self.tag = f"{PREFIX}{os.getpid()}"
        self.tmp = tmp
        self.temp = Path(tempfile.mkdtemp(prefix="nbn-"))   # short: Unix socket paths
        self.token = tmp / "token"
        self.token.write_text(secrets.token_hex(32))
        self.made: list[str] = []
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
        self.env.update(PYTHONPATH=str(ROOT), RAY_AUTH_MODE="token", RAY_USAGE_STATS_ENABLED="0",
                        RAY_AUTH_TOKEN_PATH=str(self.token))
        hub = self._namespace("hub")
        _ip("-n", hub, "link", "add", "br0", "type", "bridge")
        _ip("-n", hub, "link", "set", "br0", "up")

    def _namespace(self, name: str) -> str:
        ns = f"{self.tag}{name}"
        _ip("netns", "add", ns)
        self.made.append(ns)
        _ip("-n", ns, "link", "set", "lo", "up")
        return ns

    def ns(self, i: int) -> str:
        return f"{self.tag}n{i}"

    def add_node(self, i: int) -> None:
        """Namespace n<i> with address SUBNET.<i> on the bridge (a veth pair, both ends in
        the test's namespaces: the machine's own namespace gets no interface)."""
        ns = self._namespace(f"n{i}")
        _ip("link", "add", f"{self.tag}v{i}", "netns", f"{self.tag}hub", "type", "veth",
            "peer", "name", "eth0", "netns", ns)
        _ip("-n", f"{self.tag}hub", "link", "set", f"{self.tag}v{i}", "master", "br0", "up")
        _ip("-n", ns, "addr", "add", f"{SUBNET}.{i}/24", "dev", "eth0")
        _ip("-n", ns, "link", "set", "eth0", "up")

    def start(self, i: int, hide: tuple[Path, ...] = (), over: dict[Path, Path] | None = None
              ) -> None:
        """A Ray node in n<i> (1: the head, no CPUs; else a worker of 1 CPU), in a mount
        namespace of its own where the paths ``hide`` are empty and ``over`` maps a path to
        the folder mounted over it (a node without the package, the table, or other code)."""
        mounts = [f"mount -t tmpfs none {p}" for p in hide]
        mounts += [f"mount --bind {src} {dst}" for dst, src in (over or {}).items()]
        if i == 1:
            args = ["--head", "--port", str(PORT), "--num-cpus", "0", "--include-dashboard",
                    "false", *SMALL]
        else:
            args = ["--address", HEAD, "--num-cpus", "1", *SMALL]
        ray = [str(RAY), "start", "--block", "--node-ip-address", f"{SUBNET}.{i}",
               "--temp-dir", str(self.temp / f"n{i}"), *args]
        script = " && ".join([*mounts, "exec " + " ".join(ray)])
        subprocess.Popen(["ip", "netns", "exec", self.ns(i), "unshare", "--mount",
                          "--propagation", "private", "sh", "-c", script], env=self.env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)

    def kill(self, i: int) -> list[int]:
        """SIGKILL every process of node i (its raylet, workers, agents; the head's GCS)."""
        return _kill_all(self.ns(i))

    def driver(self, *args: str, **kw) -> subprocess.Popen:
        """``nasbench ARGS`` (or python ARGS after '-') in the head's namespace."""
        cmd = list(args[1:]) if args[0] == "-" else ["-m", "harness.cli", *args]
        return subprocess.Popen(["ip", "netns", "exec", self.ns(1), sys.executable, *cmd],
                                env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, **kw)

    def wait_workers(self, count: int, timeout: float = 240) -> None:
        """Until the cluster has ``count`` live nodes with CPUs."""
        code = (f"import ray,time\nray.init(address={HEAD!r},logging_level='ERROR')\n"
                f"end=time.monotonic()+{timeout}\n"
                f"while sum(1 for n in ray.nodes() if n['Alive'] and n['Resources'].get('CPU'))"
                f"!={count}:\n  assert time.monotonic()<end,ray.nodes()\n  time.sleep(0.5)\n")
        done = self.driver("-", "-c", code)
        out, err = done.communicate(timeout=timeout + 120)
        assert done.returncode == 0, err[-3000:]

    def pids(self) -> list[int]:
        return [int(p) for ns in self.made
                for p in _ip("netns", "pids", ns, check=False).stdout.split()]

    def close(self) -> None:
        for ns in reversed(self.made):
            _kill_all(ns)
        for ns in reversed(self.made):   # the veth pairs and the bridge go with them
            _ip("netns", "del", ns, check=False)
        shutil.rmtree(self.temp, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    why = _why_no_namespaces()
    if why:
        pytest.skip(why)
    _remove_stale()
    links = _ip("-o", "link").stdout.count("\n")
    made = Cluster(tmp_path_factory.mktemp("cluster"))
    try:
        for i in (1, 2, 3):
            made.add_node(i)
        made.start(1)
        deadline = time.monotonic() + 120
        while not any("gcs_server" in _cmdline(p) for p in made.pids()):
            assert time.monotonic() < deadline, "the head did not start"
            time.sleep(0.5)
        made.start(2)
        made.start(3)
        made.wait_workers(2)
        assert _ip("-o", "link").stdout.count("\n") == links   # no interface out here
        yield made
    finally:
        made.close()
    assert not any(ns.startswith(made.tag) for ns in _namespaces())


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


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


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


def _busy_on(cluster: Cluster, i: int) -> bool:
    return any("ray::execute_on_node" in _cmdline(int(p)) for p in
               _ip("netns", "pids", cluster.ns(i), check=False).stdout.split())


def _no_partial_files(out: Path) -> None:
    names = [p.name for p in out.rglob("*") if p.is_file()]
    assert not [n for n in names if ".tmp" in n or n.startswith(".")
                and n != ".nasbench.lock"], names


def test_the_runs_of_three_nodes_equal_a_local_run(cluster, reference, tmp_path):
    out = tmp_path / "out"
    code, err = _run(cluster, _on_cluster(tmp_path, "c"), out)
    assert code == 0, err[-3000:]
    assert files(out) == reference and len(reference) == 12
    nodes = json.loads((out / "metadata.json").read_text())["node_per_run"]
    assert set(nodes.values()) == {f"{SUBNET}.2", f"{SUBNET}.3"}, nodes   # both ran runs
    # the cluster listens in its namespaces only: none of its sockets in the machine's own
    for i in (1, 2, 3):
        pids = [int(p) for p in _ip("netns", "pids", cluster.ns(i)).stdout.split()]
        inside = _listening(pids, Path(f"/proc/{pids[0]}/net"))
        assert inside and all(a.removeprefix("0000000000000000FFFF0000") in OURS
                              for a in inside), (i, inside)
    assert _listening(cluster.pids()) == [], "a cluster socket listens out here"


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
    retries = [x for x in err.splitlines() if "lost (" in x]
    assert retries and all("retry 1 of 2" in x for x in retries), err[-3000:]
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
