"""An existing Ray cluster, as a user starts one (``ray start --head``): the experiment joins it
by address with token authentication, its sockets stay on loopback, the bytes equal a local
run's, a wrong token is one line, and the test stops exactly the processes it started.  An
address nobody answers is one line at once (Ray itself retries for minutes).  Several nodes:
``test_cluster_nodes.py``."""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from .conftest import ROOT
from .helpers import TINY, files, listening, write_yaml

RAY = Path(sys.executable).with_name("ray")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _processes_with(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if text in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


#: 127.0.0.1, ::1 and ::ffff:127.0.0.1 as /proc/net shows them
LOOPBACK = {"0100007F", "00000000000000000000000001000000", "0000000000000000FFFF00000100007F"}


def test_an_address_nobody_answers_is_one_line(tmp_path):
    from harness.cluster import ClusterError, probe

    port = _free_port()   # closed again: nobody listens there
    with pytest.raises(ClusterError, match=f"no Ray head answers at 127.0.0.1:{port} "
                                           r"\(connection refused\): check that the head"):
        probe(f"127.0.0.1:{port}")
    with pytest.raises(ClusterError, match="give HOST:PORT"):
        probe("127.0.0.1")
    # the command: one line and exit 2 (before, minutes of Ray's "Failed to connect to GCS")
    data = {**TINY, "seeds": 1, "optimizers": [{"name": "random_search"}],
            "execution": {"backend": "ray", "address": f"127.0.0.1:{port}"}}
    run = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--no-report", "--output",
                          str(tmp_path / "out"), str(write_yaml(tmp_path / "e.yaml", data))],
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                         text=True, timeout=300)
    lines = [x for x in run.stderr.splitlines() if x.startswith("nasbench:")]
    assert run.returncode == 2 and len(lines) == 1, run.stderr[-2000:]
    assert f"no Ray head answers at 127.0.0.1:{port}" in lines[0]
    assert "GCS" not in run.stderr   # none of Ray's retry warnings
    assert not list((tmp_path / "out").glob("runs/*/*"))


@pytest.mark.skipif(not RAY.exists(), reason=f"Ray's command line not found at {RAY}")
@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")
def test_an_experiment_runs_on_an_existing_cluster(tmp_path):
    temp = Path(tempfile.mkdtemp(prefix="nbc-"))   # short: Unix socket paths are limited
    token = tmp_path / "token"
    token.write_text(secrets.token_hex(32))
    port = _free_port()
    env = {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0",
           "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token)}
    head = subprocess.Popen([str(RAY), "start", "--head", "--block", "--node-ip-address",
                             "127.0.0.1", "--port", str(port), "--num-cpus", "2",
                             "--include-dashboard", "false", "--temp-dir", str(temp),
                             "--disable-usage-stats"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert head.poll() is None and time.monotonic() < deadline, "the head did not start"
            time.sleep(0.5)
        data = {**TINY, "optimizers": [{"name": "random_search"}, {"name": "hyperband"}]}
        local = tmp_path / "local"
        joined = tmp_path / "joined"
        client = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
        client.update(PYTHONPATH=str(ROOT), RAY_AUTH_TOKEN_PATH=str(token))
        cli = [sys.executable, "-m", "harness.cli", "run", "--no-report", "--output"]
        run = subprocess.run([*cli, str(local), str(write_yaml(tmp_path / "l.yaml", data))],
                             env=client, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr[-2000:]
        on_cluster = {**data, "execution": {"backend": "ray", "address": f"127.0.0.1:{port}"}}
        exp = write_yaml(tmp_path / "c.yaml", on_cluster)
        run = subprocess.run([*cli, str(joined), str(exp)], env=client, capture_output=True,
                             text=True, timeout=300)
        assert run.returncode == 0, run.stderr[-2000:]
        assert files(joined) == files(local) and len(files(local)) == 4
        assert not (joined / ".ray").exists()   # the cluster's session files stay its own
        # every socket the cluster listens on is on loopback
        addresses = listening(_processes_with(str(temp)))
        assert addresses and all(a.split(":")[0] in LOOPBACK for a in addresses), addresses
        # a wrong token: one line that says what to set
        wrong = {**client, "RAY_AUTH_TOKEN": "0" * 64}
        run = subprocess.run([*cli, str(tmp_path / "w"), str(exp)], env=wrong,
                             capture_output=True, text=True, timeout=300)
        lines = [x for x in run.stderr.splitlines() if x.startswith("nasbench:")]
        assert run.returncode == 2 and len(lines) == 1, run.stderr[-2000:]
        assert "cannot join the Ray cluster" in lines[0] and "RAY_AUTH_TOKEN" in lines[0]
    finally:
        head.send_signal(signal.SIGTERM)   # ray start --block stops what it started
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while _processes_with(str(temp)) and time.monotonic() < deadline:
            time.sleep(0.5)
        left = _processes_with(str(temp))
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(temp, ignore_errors=True)
    assert not left, f"processes of the test's cluster outlived it: {left}"


def test_a_node_that_differs_from_the_driver_is_named_with_what_to_fix():
    """The node check's verdicts (on a real cluster: test_cluster_nodes.py, as root)."""
    from harness.config import BenchmarkConfig
    from harness.node_check import fingerprint, mismatch, node_facts

    bench = BenchmarkConfig()
    same = node_facts(bench)
    assert same["table"] is None and same["fingerprint"] == fingerprint()
    assert len(fingerprint()["source"]) == 12 and fingerprint()["numpy"]
    assert mismatch(same, bench) is None

    def facts(**changes):
        return {**same, "node": "10.0.0.7", "fingerprint": {**fingerprint(), **changes}}

    line = mismatch(facts(source="0" * 12), bench)
    assert line.startswith("node 10.0.0.7: nasbench-harness sources 000000000000 differs from "
                           f"the driver's {fingerprint()['source']}")
    assert "smac missing differs" in mismatch(facts(smac=None), bench)
    table = BenchmarkConfig(name="nasbench101", data="/nowhere/store")
    line = mismatch({**same, "table": "StoreError: no store"}, table)
    assert "benchmark.data '/nowhere/store' does not open there (StoreError: no store)" in line
    assert "same path on every node" in line
