"""Helpers shared by test modules (tests import from here, not from each other)."""
from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import yaml

from harness.cli import main
from harness.results import run_files

#: A small experiment on the embedded table: four optimizers, two seeds, one worker.
TINY = {
    "name": "tiny",
    "benchmark": {"name": "surrogate", "encoding": "A"},
    "budget": {"time": 1.0e5, "workers": 1},
    "seeds": 2,
    "optimizers": [{"name": "random_search"}, {"name": "regularized_evolution"},
                   {"name": "hyperband"}, {"name": "reinforce"}],
    "execution": {"backend": "local"},
}


def write_yaml(path: Path, data: dict) -> Path:
    """``data`` written to ``path`` as YAML, keys in their order."""
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def files(folder: Path) -> dict[str, bytes]:
    """The run files of a results folder, by relative path: what two runs must share byte for
    byte."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in run_files(folder)}


def run_per_engine(tmp_path: Path, optimizer: str, engines: tuple[str, ...], encoding: str,
                   time: float, seeds: int, params: dict | None = None) -> dict[str, Path]:
    """One experiment per ``engine`` of ``optimizer`` (``params`` and the engine) on the embedded
    table, run by ``nasbench run`` in this process into ``tmp_path / engine``: each engine's
    results folder."""
    folders = {}
    for engine in engines:
        experiment = {"name": "engines", "benchmark": {"name": "surrogate", "encoding": encoding},
                      "budget": {"time": time, "workers": 1}, "seeds": seeds,
                      "optimizers": [{"name": optimizer,
                                      "params": {**(params or {}), "engine": engine}}],
                      "execution": {"backend": "local"}}
        path = write_yaml(tmp_path / f"{engine}.yaml", experiment)
        folders[engine] = tmp_path / engine
        assert main(["run", str(path), "--output", str(folders[engine]), "--no-report"]) == 0
    return folders


def cli(capsys, *argv: str) -> tuple[int, str]:
    """``nasbench ARGV`` in this process: its exit code and its stderr."""
    code = main(list(argv))
    return code, capsys.readouterr().err


def run_faulty_plugins(capsys, tmp_path: Path, data: dict, module: str,
                       faults: dict[str, str]) -> dict[str, str]:
    """Run ``data`` with random search and each ``module:Class`` of ``faults`` (class -> words
    its failure must show): every plug-in fails its own run only, named on stderr.  Returns
    each class's failure text."""
    data = {**data, "optimizers": [{"name": "random_search"},
                                   *({"name": f"{module}:{cls}"} for cls in faults)]}
    out = tmp_path / "out"
    code, err = cli(capsys, "run", str(write_yaml(tmp_path / "exp.yaml", data)), "--output",
                    str(out), "--no-report")
    assert code == 1 and f"{len(faults)} run(s) failed" in err, err
    assert [p.parent.name for p in run_files(out)] == ["random_search"]
    texts = {}
    for cls, words in faults.items():
        (failed,) = (out / "runs" / f"{module}:{cls}").glob("*.failed.txt")
        texts[cls] = failed.read_text()
        assert words in texts[cls], (cls, texts[cls])
        assert f"{module}:{cls} seed 0:" in err, err
    return texts


def listening(pids: list[int], net: Path = Path("/proc/net")) -> list[str]:
    """Local addresses of the TCP sockets the processes listen on (from /proc), among those of
    the network namespace whose tables ``net`` holds (``/proc/PID/net``: PID's namespace)."""
    inodes = set()
    for pid in pids:
        try:
            for fd in (Path("/proc") / str(pid) / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            pass
    out = []
    for table, width in (("tcp", 8), ("tcp6", 32)):
        for line in (net / table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:   # 0A: LISTEN
                out.append(fields[1][:width])
    return out


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

#: Appended to a page: once loaded, the body lists each image's alt, whether it decoded, width.
_PROBE = """<script>
window.addEventListener('load', () => { document.body.setAttribute('data-probe', JSON.stringify(
  [...document.images].map(i => [i.alt, i.complete && i.naturalWidth > 0, i.width]))); });
</script></body>"""


def render_in_chromium(page: Path, scratch: Path) -> tuple[list[list], str]:
    """``page`` rendered by headless Chromium: each image as [alt, decoded, width], and the
    DOM as the browser built it."""
    probe = scratch / "probe.html"
    probe.write_text(page.read_text().replace("</body>", _PROBE))
    dom = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                          "--disable-dev-shm-usage", "--virtual-time-budget=10000",
                          "--dump-dom", probe.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    return json.loads(html.unescape(re.search(r'data-probe="([^"]*)"', dom).group(1))), dom


SMALL = {**TINY, "optimizers": [{"name": "random_search"}, {"name": "regularized_evolution"}]}


def one_line(err: str) -> bool:
    """Exactly one message line on stderr, besides progress bars (their lines hold a \\r)."""
    lines = [line for line in err.split("\n") if line and "\r" not in line]
    return len(lines) == 1 and lines[0].startswith("nasbench: ") and "Traceback" not in err


def alive_in_session(sid: int) -> list[str]:
    """Processes (not zombies) of session ``sid``."""
    ps = subprocess.run(["ps", "-eo", "pid=,sid=,stat=,args="], capture_output=True, text=True)
    rows = [line.split(None, 3) for line in ps.stdout.splitlines()]
    return [row[3] for row in rows if len(row) == 4 and row[1] == str(sid) and "Z" not in row[2]]
