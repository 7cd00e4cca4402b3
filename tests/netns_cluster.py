"""A Ray cluster of several nodes on one machine, each node in a network namespace of its own on
a private bridge (10.213.0.0/24: only these namespaces are ever addressed), for the tests
(test_cluster_nodes.py) and perf/bench_cluster.py.  Needs root and ``ip``; everything made is
named ``nbc<pid>...`` and removed at the end (namespaces, with them the veth pairs and the bridge,
and every process in them), also on failure; stale ones of a killed run are removed first."""
from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RAY = Path(sys.executable).with_name("ray")
PREFIX = "nbc"                 # namespaces nbc<pid>hub (the bridge), nbc<pid>n1 ... (the nodes)
SUBNET = "10.213.0"            # private: the test's own bridge, its own addresses only
PORT = 6379
HEAD = f"{SUBNET}.1:{PORT}"
SMALL = ["--object-store-memory", str(80 * 2**20), "--disable-usage-stats"]


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def namespaces() -> list[str]:
    return [line.split()[0] for line in ip("netns", "list").stdout.splitlines() if line]


def _remove_stale() -> None:
    """Namespaces of a test run that was killed (their pid is gone), with their processes."""
    for name in namespaces():
        owner = re.match(rf"{PREFIX}(\d+)", name)
        if owner and not Path(f"/proc/{owner[1]}").exists():
            _kill_all(name)
            ip("netns", "del", name, check=False)


def _kill_all(namespace: str) -> list[int]:
    pids = [int(p) for p in ip("netns", "pids", namespace, check=False).stdout.split()]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return pids


def why_no_namespaces() -> str | None:
    """Why a cluster in network namespaces cannot be made here (None: it can)."""
    if not RAY.exists():
        return f"Ray's command line not found at {RAY}"
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None or shutil.which("unshare") is None:
        return "needs the 'ip' and 'unshare' commands"
    probe = f"{PREFIX}{os.getpid()}probe"
    made = ip("netns", "add", probe, check=False)
    ip("netns", "del", probe, check=False)
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
        ip("-n", hub, "link", "add", "br0", "type", "bridge")
        ip("-n", hub, "link", "set", "br0", "up")

    def _namespace(self, name: str) -> str:
        ns = f"{self.tag}{name}"
        ip("netns", "add", ns)
        self.made.append(ns)
        ip("-n", ns, "link", "set", "lo", "up")
        return ns

    def ns(self, i: int) -> str:
        return f"{self.tag}n{i}"

    def add_node(self, i: int) -> None:
        """Namespace n<i> with address SUBNET.<i> on the bridge (a veth pair, both ends in
        the test's namespaces: the machine's own namespace gets no interface)."""
        ns = self._namespace(f"n{i}")
        ip("link", "add", f"{self.tag}v{i}", "netns", f"{self.tag}hub", "type", "veth",
            "peer", "name", "eth0", "netns", ns)
        ip("-n", f"{self.tag}hub", "link", "set", f"{self.tag}v{i}", "master", "br0", "up")
        ip("-n", ns, "addr", "add", f"{SUBNET}.{i}/24", "dev", "eth0")
        ip("-n", ns, "link", "set", "eth0", "up")

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
                for p in ip("netns", "pids", ns, check=False).stdout.split()]

    def close(self) -> None:
        for ns in reversed(self.made):
            _kill_all(ns)
        for ns in reversed(self.made):   # the veth pairs and the bridge go with them
            ip("netns", "del", ns, check=False)
        shutil.rmtree(self.temp, ignore_errors=True)


def cmdline(pid: int) -> str:
    """The command line of a process, '' if it is gone."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""



@contextlib.contextmanager
def three_nodes(tmp: Path) -> Iterator[Cluster]:
    """A head (no CPUs) in n1 and two 1-CPU worker nodes in n2, n3, joined; all removed after."""
    _remove_stale()
    made = Cluster(tmp)
    try:
        for i in (1, 2, 3):
            made.add_node(i)
        made.start(1)
        deadline = time.monotonic() + 120
        while not any("gcs_server" in cmdline(p) for p in made.pids()):
            assert time.monotonic() < deadline, "the head did not start"
            time.sleep(0.5)
        made.start(2)
        made.start(3)
        made.wait_workers(2)
        yield made
    finally:
        made.close()
