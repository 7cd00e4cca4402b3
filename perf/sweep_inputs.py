"""The robustness sweep (#27): hundreds of bad or adversarial inputs, each given to the CLI in a
subprocess with a timeout, each outcome classified.

Good outcomes: a *one-line* error (non-zero exit, no traceback, the message names the culprit) or
a *correct* result (exit 0 and what the case checks holds: identical bytes after a resume, the
reference answer after a cache is rebuilt).  Bad outcomes: a *traceback* (or an internal error),
a *hang* (the case's timeout), *silently accepted* (exit 0 where it must fail, or a wrong answer),
*lost* results (a resume that does not give the reference bytes, a half-written marker left by a
refused input) and *vague* (refused, but the message does not name the culprit, spans lines, or
refuses what must work).

Run: ``python -m perf sweep_inputs`` (every case; ``SWEEP_JOBS`` parallel subprocesses, default 2;
``SWEEP_ONLY=experiment,flags,...`` a subset of the categories; ``SWEEP_CASES='name|name'``
the cases of these names).  The cases are built in a
private temporary folder; the shared NAS-Bench-101 fixtures are copied there before being damaged,
never changed.  The surrogate cache is ``NASBENCH_CACHE_DIR`` (warmed once); cases that damage a
cache get a hard-linked copy of it whose damaged file is replaced, not written in place.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
NB101 = Path(os.environ.get("NASBENCH_SHARED", ROOT.parent / "shared")) / "data" / "nb101"
INCEPTION = "28cfc7874f6d200472e1a9dcd8650aa0"
GOOD = ("one-line", "correct")
KINDS = ("one-line", "correct", "traceback", "hang", "silently accepted", "lost", "vague")

#: The smallest real experiment: one run of random search on the embedded surrogate.
BASE = {"name": "sweep", "benchmark": {"name": "surrogate", "encoding": "A"},
        "budget": {"time": 1.0e4, "workers": 1}, "seeds": 1,
        "optimizers": [{"name": "random_search"}], "execution": {"backend": "local"},
        "report": {"enabled": False}}
#: Several runs (resume, signal and disk cases compare their files with a reference run).
MULTI = {**BASE, "budget": {"time": 1.0e5, "workers": 1}, "seeds": 3,
         "optimizers": [{"name": "random_search"}, {"name": "regularized_evolution"}]}


@dataclasses.dataclass
class Case:
    """One input.  ``prepare(folder)`` builds it and returns the CLI's arguments.

    ``expect``: 'fail' (must be refused), 'ok' (must succeed and ``check`` must hold) or
    'either'.  ``culprit``: words the refusal must contain (a callable gets the folder).
    ``check(folder, stdout, stderr)`` returns what is wrong, or None; a failed check counts as
    ``wrong`` ('lost' or 'silently accepted').  ``run``: a custom driver (signals) returning
    (code, stdout, stderr, timed_out).
    """

    category: str
    name: str
    prepare: Callable[[Path], list[str]]
    expect: str = "fail"
    culprit: str | Callable[[Path], str] | None = None
    check: Callable[[Path, str, str], str | None] | None = None
    wrong: str = "lost"
    timeout: float = 60.0
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    run: Callable[[Path, dict], tuple[int, str, str, bool]] | None = None
    after: Callable[[Path], None] | None = None


@dataclasses.dataclass
class Outcome:
    case: Case
    kind: str
    code: int | None
    output: str
    why: str = ""


# ---- running and classifying ---------------------------------------------------------------------

def environment(cache: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, "PYTHONHASHSEED": "0", "NASBENCH_CACHE_DIR": str(cache),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "MPLBACKEND": "Agg", "COLUMNS": "100"}
    env.update(extra or {})
    return env


def cli(argv: list[str], cwd: Path, env: dict, timeout: float) -> tuple[int, str, str, bool]:
    """The CLI in its own session (a hang is killed with all its children)."""
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", *argv], cwd=cwd, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True,
                            preexec_fn=default_signals)
    try:
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"), False
    except subprocess.TimeoutExpired:
        return killed(proc)


def killed(proc: subprocess.Popen) -> tuple[int, str, str, bool]:
    """A hung case's process group killed; what it wrote (a grandchild in another group that
    holds the pipes open cannot hold the sweep)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    try:
        out, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        out, err = b"", b"(its output pipes stayed open)"
    return -9, out.decode(errors="replace"), err.decode(errors="replace"), True


def default_signals() -> None:
    """In the child before exec: SIGINT as a terminal gives it (a sweep started in the
    background of a shell inherits SIGINT ignored, and Python keeps it ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def message_lines(err: str) -> list[str]:
    """stderr without progress bars (their lines hold a \\r) and log records."""
    return [line for line in err.split("\n") if line.strip() and "\r" not in line
            and not line.startswith(("INFO ", "DEBUG ", "WARNING "))]


def classify(case: Case, folder: Path, code: int, out: str, err: str,
             timed_out: bool) -> tuple[str, str]:
    text = out + err
    if timed_out:
        return "hang", f"no end within {case.timeout:.0f} s"
    if "Traceback (most recent call last)" in text or "internal error" in text or (
            code not in (0, 1, 2, 130, 143)):
        return "traceback", f"exit {code}"
    if code != 0:
        if case.expect == "ok":
            return "vague", f"refused what must work (exit {code})"
        culprit = case.culprit(folder) if callable(case.culprit) else case.culprit
        lines = message_lines(err)
        if culprit and culprit.lower() not in err.lower():
            return "vague", f"the message does not name {culprit!r}"
        if code == 2 and len(lines) != 1:
            return "vague", f"{len(lines)} message lines"
        return "one-line", ""
    if case.expect == "fail":
        return "silently accepted", "exit 0"
    wrong = case.check(folder, out, err) if case.check else None
    if wrong:
        return case.wrong, wrong
    return "correct", ""


def run_case(case: Case, folder: Path, cache: Path) -> Outcome:
    folder.mkdir(parents=True)
    try:
        if case.run is not None:
            code, out, err, timed_out = case.run(folder, environment(cache, case.env))
        else:
            argv = case.prepare(folder)     # may set the case's own cache in case.env
            code, out, err, timed_out = cli(argv, folder, environment(cache, case.env),
                                            case.timeout)
        kind, why = classify(case, folder, code, out, err, timed_out)
    except Exception as exc:  # noqa: BLE001 - a fault of the sweep itself is reported, not fatal
        kind, why = "vague", f"sweep error: {type(exc).__name__}: {exc}"
        code, out, err = None, "", ""
    finally:
        if case.after is not None:
            case.after(folder)
    return Outcome(case, kind, code, (out + err)[-3000:], why)


# ---- helpers building inputs ---------------------------------------------------------------------

def write_yaml(path: Path, data) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def run_argv(exp: Path, folder: Path, *extra: str) -> list[str]:
    return ["run", str(exp), "--output", str(folder / "out"), "--no-report", *extra]


def experiment_case(name: str, data, culprit: str | None, expect: str = "fail",
                    category: str = "experiment", **kw) -> Case:
    def prepare(folder: Path) -> list[str]:
        return run_argv(write_yaml(folder / "exp.yaml", data), folder)
    return Case(category, name, prepare, expect, culprit, check=kw.pop("check", no_marker_left),
                **kw)


def text_case(name: str, text: str | bytes, culprit: str | None, expect: str = "fail",
              **kw) -> Case:
    def prepare(folder: Path) -> list[str]:
        exp = folder / "exp.yaml"
        (exp.write_bytes if isinstance(text, bytes) else exp.write_text)(text)
        return run_argv(exp, folder)
    return Case("experiment", name, prepare, expect, culprit, **kw)


def no_marker_left(folder: Path, out: str, err: str) -> str | None:
    """A run that succeeded wrote its runs (exit 0 with nothing written would be lost work)."""
    runs = list((folder / "out" / "runs").rglob("*.npz")) if (folder / "out").is_dir() else []
    return None if runs else "exit 0 but no run file written"


def with_key(data: dict, path: tuple, value) -> dict:
    """A deep copy of ``data`` with ``path`` set to ``value`` (a missing section is created)."""
    data = json.loads(json.dumps(data))
    node = data
    for part in path[:-1]:
        node = node.setdefault(part, {}) if isinstance(part, str) else node[part]
    node[path[-1]] = value
    return data


def without_key(data: dict, path: tuple) -> dict:
    data = json.loads(json.dumps(data))
    node = data
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]
    return data


def flip(path: Path, offset: int) -> None:
    """Flip one byte of ``path`` (replacing the file: a hard-linked original stays intact)."""
    data = bytearray(path.read_bytes())
    data[offset % len(data)] ^= 0xFF
    path.unlink()
    path.write_bytes(bytes(data))


def a_file(path: Path) -> Path:
    path.write_text("x")
    return path


def truncate(path: Path, keep: int) -> None:
    data = path.read_bytes()[:keep]
    path.unlink()
    path.write_bytes(data)


def same_runs(got: dict[str, bytes], want: dict[str, bytes]) -> bool:
    """The same run files: the same bytes, or (a byte of a zip's directory changed that no
    reader looks at) the same arrays in each."""
    import io

    import numpy as np

    if got.keys() != want.keys():
        return False
    for name, data in got.items():
        if data != want[name]:
            try:
                with np.load(io.BytesIO(data)) as a, np.load(io.BytesIO(want[name])) as b:
                    if sorted(a.files) != sorted(b.files) or not all(
                            a[k].tobytes() == b[k].tobytes() for k in a.files):
                        return False
            except (OSError, ValueError, EOFError):
                return False
    return True


def run_files(folder: Path) -> dict[str, bytes]:
    runs = folder / "runs"
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(runs.rglob("*.npz"))} \
        if runs.is_dir() else {}


# ---- the cases -----------------------------------------------------------------------------------

def bad_values(annotation: str, required: bool) -> list[tuple[str, object]]:
    """Values a field of this type must refuse (by its pydantic annotation)."""
    values: list[tuple[str, object]] = [] if "dict[" in annotation else [("a mapping", {"x": 1})]
    if not required and "None" not in annotation and "Optional" not in annotation:
        values.append(("null", None))
    if "Literal" in annotation:
        values += [("an unknown choice", "bogus-choice"), ("a list", ["A"])]
        if "bool" not in annotation:
            values.append(("true", True))
    elif "list[" in annotation or "dict[" in annotation:
        values += [("a string", "zz"), ("a number", 3.5)]
    elif "float" in annotation:
        values += [("a word", "many"), ("true", True), ("-1", -1), ("nan", float("nan")),
                   ("inf", float("inf"))]
    elif "int" in annotation:
        values += [("a word", "many"), ("1.5", 1.5), ("true", True), ("-1", -1)]
    elif "bool" in annotation:
        values += [("a word", "maybe"), ("a list", [True])]
    elif "str" in annotation:
        values += [("a list", ["x"]), ("a number", 12)]
    return values


def schema_cases() -> list[Case]:
    """Every key of the experiment schema x values of the wrong type or range, and an unknown
    key in every section."""
    from harness.config import (
        BenchmarkConfig,
        BudgetConfig,
        ExecutionConfig,
        Experiment,
        LiveConfig,
        OptimizerConfig,
        ReportConfig,
    )

    live = with_key(with_key(BASE, ("benchmark", "name"), "nasbench101-live"),
                    ("benchmark", "data"), "/nonexistent/cifar")
    live = with_key(live, ("benchmark", "live"), {})
    sections = [((), Experiment, BASE), (("benchmark",), BenchmarkConfig, BASE),
                (("budget",), BudgetConfig, BASE), (("execution",), ExecutionConfig, BASE),
                (("report",), ReportConfig, BASE), (("optimizers", 0), OptimizerConfig, BASE),
                (("benchmark", "live"), LiveConfig, live)]
    cases = []
    for prefix, model, base in sections:
        for field, info in model.model_fields.items():
            path = (*prefix, field)
            key = ".".join(str(p) for p in path)
            if key in ("benchmark", "budget", "execution", "report", "optimizers",
                       "benchmark.live"):
                continue  # sections: their keys are swept one by one
            for what, value in bad_values(str(info.annotation), info.is_required()):
                if key == "report.baseline" and value is None:
                    continue
                cases.append(experiment_case(f"{key}: {what}", with_key(base, path, value),
                                             field))
        cases.append(experiment_case(f"{'.'.join(map(str, prefix)) or 'top level'}: unknown key",
                                     with_key(base, (*prefix, "bogus_key"), 1), "bogus_key"))
    for path in (("budget",), ("optimizers",), ("budget", "time"), ("optimizers", 0, "name")):
        cases.append(experiment_case(f"missing {'.'.join(map(str, path))}",
                                     without_key(BASE, path), str(path[-1])))
    return cases


def semantic_cases() -> list[Case]:
    """Values of the right type that cannot work: limits, combinations, grids, optimizers."""
    e = experiment_case
    opt = lambda o: with_key(BASE, ("optimizers",), [o])  # noqa: E731
    cases = [
        e("budget.time above the limit", with_key(BASE, ("budget", "time"), 1e12), "budget.time"),
        e("budget.time 0", with_key(BASE, ("budget", "time"), 0), "budget.time"),
        e("budget.workers 0", with_key(BASE, ("budget", "workers"), 0), "workers"),
        e("budget.workers 10**6", with_key(BASE, ("budget", "workers"), 10**6), "workers"),
        e("budget.max_evaluations 0", with_key(BASE, ("budget", "max_evaluations"), 0),
          "max_evaluations"),
        e("seeds 0", with_key(BASE, ("seeds",), 0), "seeds"),
        e("seeds 10**9", with_key(BASE, ("seeds",), 10**9), "seeds"),
        e("seeds empty list", with_key(BASE, ("seeds",), []), "seeds"),
        e("seeds repeated", with_key(BASE, ("seeds",), [1, 1]), "seeds"),
        e("seeds negative in a list", with_key(BASE, ("seeds",), [-3]), "seeds"),
        e("seeds 2**64 in a list", with_key(BASE, ("seeds",), [2**64]), "seeds"),
        e("execution.max_retries 1000", with_key(BASE, ("execution", "max_retries"), 1000),
          "max_retries"),
        e("execution.cpus 0", with_key(BASE, ("execution", "cpus"), 0), "cpus"),
        e("output empty", with_key(BASE, ("output",), ""), "output"),
        e("report.times empty entries", with_key(BASE, ("report", "times"), [0]), "times"),
        e("report.baseline unknown", with_key(BASE, ("report", "baseline"), "nope"), "nope"),
        e("benchmark data for surrogate", with_key(BASE, ("benchmark", "data"), "x"), "data"),
        e("nasbench101 without data", with_key(BASE, ("benchmark", "name"), "nasbench101"),
          "data"),
        e("nasbench101 data missing", with_key(with_key(BASE, ("benchmark", "name"),
                                                        "nasbench101"),
                                               ("benchmark", "data"), "/nonexistent.tfrecord"),
          "nonexistent"),
        e("live without nasbench101-live", with_key(BASE, ("benchmark", "live"), {}), "live"),
        e("benchmark.table_seed 2**64", with_key(BASE, ("benchmark", "table_seed"), 2**64),
          "table_seed"),
        e("duplicate optimizer", with_key(BASE, ("optimizers",), [{"name": "random_search"}] * 2),
          "random_search"),
        e("label with a slash", opt({"name": "random_search", "label": "a/b"}), "label"),
        e("label empty", opt({"name": "random_search", "label": ""}), "label"),
        e("label dot-dot", opt({"name": "random_search", "label": ".."}), "label"),
        e("unknown optimizer", opt({"name": "nope"}), "nope"),
        e("optimizer module missing", opt({"name": "no_such_module:X"}), "no_such_module"),
        e("optimizer not a class path", opt({"name": "a b:c"}), "a b:c"),
        e("optimizer not an Optimizer", opt({"name": "json:JSONDecoder"}), "json:JSONDecoder"),
        e("optuna sampler unknown", opt({"name": "optuna:NoSampler"}), "NoSampler"),
        e("RE with encoding C", with_key(opt({"name": "regularized_evolution"}),
                                         ("benchmark", "encoding"), "C"), "encoding"),
        e("max_vertices 1", with_key(BASE, ("benchmark", "max_vertices"), 1), "max_vertices"),
        e("max_vertices 8", with_key(BASE, ("benchmark", "max_vertices"), 8), "max_vertices"),
        e("max_vertices 6 with encoding B", with_key(with_key(BASE, ("benchmark", "max_vertices"),
                                                              6), ("benchmark", "encoding"), "B"),
          "max_vertices"),
        e("grid empty", opt({"name": "regularized_evolution", "grid": {}}), "grid"),
        e("grid empty list", opt({"name": "regularized_evolution",
                                  "grid": {"population_size": []}}),
          "population_size"),
        e("grid unknown parameter", opt({"name": "regularized_evolution",
                                         "grid": {"nope": [1, 2]}}), "nope"),
        e("grid value out of range", opt({"name": "regularized_evolution",
                                          "grid": {"population_size": [10, -5]}}), "-5"),
        e("grid value of a wrong type", opt({"name": "regularized_evolution",
                                             "grid": {"population_size": [10, "big"]}}), "big"),
        e("grid of 1,001 combinations", opt({"name": "random_search", "grid": {
            "a": list(range(7)), "b": list(range(11)), "c": list(range(13))}}), "1,001"),
        e("grid and params overlap", opt({"name": "regularized_evolution",
                                          "params": {"population_size": 10},
                                          "grid": {"population_size": [10, 20]}}),
          "population_size"),
        e("grid value repeated", opt({"name": "regularized_evolution",
                                      "grid": {"population_size": [10, 10]}}), "10"),
        e("grid value with a slash", opt({"name": "tpe", "grid": {"gamma": ["1/4"]}}), "1/4"),
        e("grid not lists", opt({"name": "regularized_evolution",
                                 "grid": {"population_size": 10}}), "population_size"),
        e("grid member label twice", with_key(BASE, ("optimizers",), [
            {"name": "regularized_evolution", "grid": {"population_size": [10]}},
            {"name": "regularized_evolution", "label": "regularized_evolution@population_size=10"}
        ]), "regularized_evolution@population_size=10"),
    ]
    from optimizers import get_optimizer
    from optimizers.registry import BUILTIN

    for name in BUILTIN:   # hyperparameters of every built-in: a wrong type, out of range
        cls = get_optimizer(name)
        for param, spec in list(cls.params.items())[:3]:
            wrong = {"int": "many", "float": "many", "bool": "maybe", "str": 12}.get(
                spec.type.__name__, {"x": 1})
            cases.append(e(f"{name}.{param}: {wrong!r}", opt({"name": name,
                                                              "params": {param: wrong}}), param))
            if spec.low is not None:
                low = spec.low - (1 if spec.type is int else abs(spec.low) + 1)
                cases.append(e(f"{name}.{param}: {low} (below {spec.low})",
                               opt({"name": name, "params": {param: low}}), param))
            if spec.choices:
                cases.append(e(f"{name}.{param}: unknown choice",
                               opt({"name": name, "params": {param: "bogus-choice"}}), param))
        cases.append(e(f"{name}: unknown hyperparameter", opt({"name": name,
                                                               "params": {"bogus": 1}}), "bogus"))
    return cases


def file_cases() -> list[Case]:
    """Experiment files that are not YAML mappings, or not files."""
    good = yaml.safe_dump(BASE, sort_keys=False)
    t = text_case

    def path_case(name: str, make: Callable[[Path], Path], culprit: str, **kw) -> Case:
        def prepare(folder: Path) -> list[str]:
            return run_argv(make(folder), folder)
        return Case("experiment", name, prepare, "fail", culprit, **kw)

    def fifo(folder: Path) -> Path:
        os.mkfifo(folder / "fifo.yaml")
        return folder / "fifo.yaml"

    def folder_itself(folder: Path) -> Path:
        (folder / "dir.yaml").mkdir()
        return folder / "dir.yaml"

    def link_loop(folder: Path) -> Path:
        (folder / "loop.yaml").symlink_to(folder / "loop.yaml")
        return folder / "loop.yaml"

    def huge(folder: Path) -> Path:
        with open(folder / "huge.yaml", "w") as f:
            f.write(good)
            f.write("# " + "x" * (5 << 20) + "\n")
        return folder / "huge.yaml"

    def sparse(folder: Path) -> Path:
        with open(folder / "sparse.yaml", "wb") as f:
            f.truncate(1 << 40)
        return folder / "sparse.yaml"

    def dangling(folder: Path) -> Path:
        (folder / "gone.yaml").symlink_to(folder / "nowhere.yaml")
        return folder / "gone.yaml"

    bomb = "a: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
        for p, c in zip("abcdefgh", "bcdefghi"))
    return [
        t("empty file", "", "exp.yaml"),
        t("only a comment", "# nothing\n", "exp.yaml"),
        t("a list at the top", "- 1\n- 2\n", "mapping"),
        t("a scalar at the top", "hello\n", "mapping"),
        t("unclosed bracket", "budget: {time: 1e4\n", "exp.yaml"),
        t("a tab indent", "budget:\n\ttime: 1e4\n", "exp.yaml"),
        t("bad indentation", "budget:\n  time: 1e4\n workers: 1\n", "exp.yaml"),
        t("a duplicate key", good + "seeds: 2\n", "seeds"),
        t("a duplicate nested key", "budget: {time: 1e4, time: 2e4}\n"
          "optimizers: [{name: random_search}]\n", "time"),
        t("an alias bomb", bomb + good, "aliases"),
        t("a python tag", "budget: !!python/object/apply:os.system ['true']\n", "exp.yaml"),
        t("an unknown tag", "budget: !custom {time: 1}\noptimizers: []\n", "exp.yaml"),
        t("deep nesting", "a: " + "[" * 200 + "]" * 200 + "\n", "exp.yaml"),
        t("deep mapping nesting", "".join("  " * i + f"k{i}:\n" for i in range(100)) + "  " * 100
          + "v\n", "exp.yaml"),
        t("non-UTF-8 bytes", good.encode() + b"# \xff\xfe\n", "UTF-8"),
        t("UTF-16 text", good.encode("utf-16"), "exp.yaml"),
        t("NUL bytes", good.encode() + b"\x00\x00", "exp.yaml"),
        t("a binary file", bytes(range(256)) * 4, "exp.yaml"),
        t("UTF-8 with a BOM", b"\xef\xbb\xbf" + good.encode(), None, expect="either",
          check=no_marker_left),
        t("windows line ends", good.replace("\n", "\r\n"), None, expect="ok",
          check=no_marker_left),
        t("a merge key", "base: &b {time: 1.0e+4}\n" + good, "base"),
        t("numbers as strings", good.replace("10000.0", "'1e4'"), None, expect="either",
          check=no_marker_left),
        t("time as 1e4 (YAML 1.1 string)", good.replace("10000.0", "1e4"), None,
          expect="either", check=no_marker_left),
        path_case("a FIFO", fifo, "fifo.yaml", timeout=30),
        path_case("a folder", folder_itself, "dir.yaml"),
        path_case("a symlink loop", link_loop, "loop.yaml"),
        path_case("a dangling symlink", dangling, "gone.yaml"),
        path_case("a missing file", lambda f: f / "missing.yaml", "missing.yaml"),
        path_case("over 4 MiB", huge, "huge.yaml"),
        path_case("a 1-TiB sparse file", sparse, "sparse.yaml"),
        Case("experiment", "/dev/zero", lambda f: run_argv(Path("/dev/zero"), f), "fail",
             "/dev/zero", timeout=30),
        Case("experiment", "/dev/null", lambda f: run_argv(Path("/dev/null"), f), "fail",
             "/dev/null"),
        Case("experiment", "/dev/urandom", lambda f: run_argv(Path("/dev/urandom"), f), "fail",
             "/dev/urandom", timeout=30),
        Case("experiment", "/proc/self/environ", lambda f: run_argv(
            Path("/proc/self/environ"), f), "fail", "environ"),
    ]


def flag_cases(warm: Warm) -> list[Case]:
    """Every subcommand with missing, malformed and impossible arguments."""
    def c(name: str, argv: list[str] | Callable[[Path], list[str]], culprit: str | None,
          expect: str = "fail", **kw) -> Case:
        prep = argv if callable(argv) else (lambda f, a=argv: [x.replace("{F}", str(f)) for x in a])
        return Case("flags", name, prep, expect, culprit, **kw)

    def with_exp(*extra: str):
        def prepare(folder: Path) -> list[str]:
            return ["run", str(write_yaml(folder / "exp.yaml", BASE)), "--output",
                    str(folder / "out"), "--no-report",
                    *[x.replace("{F}", str(folder)) for x in extra]]
        return prepare

    def report_of(*extra: str):
        def prepare(folder: Path) -> list[str]:
            return ["report", str(warm.results), "--out", str(folder / "rep"),
                    *[x.replace("{F}", str(folder)) for x in extra]]
        return prepare

    square = "[[0,1],[0,0]]"
    cases = [
        c("no command", [], "COMMAND"),
        c("unknown command", ["frobnicate"], "frobnicate"),
        c("unknown global flag", ["--colour", "optimizers"], "--colour"),
        c("run without a file", ["run"], "experiment"),
        c("run: unknown flag", with_exp("--fast"), "--fast"),
        c("run --backend bogus", with_exp("--backend", "bogus"), "bogus"),
        c("run --output ''", lambda f: ["run", str(write_yaml(f / "e.yaml", BASE)), "--output",
                                        ""], "--output"),
        c("run --output a file", lambda f: (f / "afile").write_text("x") and [
            "run", str(write_yaml(f / "e.yaml", BASE)), "--output", str(f / "afile"),
            "--no-report"], "afile"),
        c("run --output below a file", lambda f: (f / "afile").write_text("x") and [
            "run", str(write_yaml(f / "e.yaml", BASE)), "--output", str(f / "afile" / "out"),
            "--no-report"], "afile"),
        c("run --output /proc", lambda f: ["run", str(write_yaml(f / "e.yaml", BASE)),
                                           "--output", "/proc/sweep-out", "--no-report"],
          "/proc/sweep-out"),
    ]
    for seeds in ("x", "-1", "5-2", "0", "1,,2", "1,x", "0-100000", "99999999999", "",
                  "1-2-3", "1.5", "-", ",", "0x10", "1e3", " ", "1,1", "2**64"):
        cases.append(c(f"run --seeds {seeds!r}", with_exp("--seeds", seeds), "--seeds"))
    cases.append(c("run --seeds 0-1 (adds a seed)", with_exp("--seeds", "0-1"), None, "ok",
                   check=lambda f, o, e: None if len(run_files(f / "out")) == 2 else
                   f"{len(run_files(f / 'out'))} run files, not 2"))
    cases += [
        c("report of a missing folder", ["report", "{F}/nothing"], "nothing"),
        c("report of a file", lambda f: (f / "afile").write_text("x") and ["report",
                                                                          str(f / "afile")],
          "afile"),
        c("report of an empty folder", ["report", "{F}"], None),
        c("report --out ''", report_of("--out", ""), "--out"),
        c("report --out a file", lambda f: (f / "afile").write_text("x") and [
            "report", str(warm.results), "--out", str(f / "afile")], "afile"),
        c("report --aggregate bogus", report_of("--aggregate", "bogus"), "bogus"),
        c("report --baseline unknown", report_of("--baseline", "nope"), "nope"),
        c("report --times 1e5,1e5 (duplicate)", report_of("--times", "1e5,1e5"), "1e5",
          expect="either", timeout=120),
    ]
    for times in ("x", "-1", "0", "nan", "inf", "", "1e5,", ",", "1e400", "1e5;2e5"):
        cases.append(c(f"report --times {times!r}", report_of("--times", times), "--times"))
    cases += [
        c("analyze without a table", ["analyze"], "table"),
        c("analyze of a missing store", ["analyze", "{F}/nothing", "--out", "{F}/a"], "nothing"),
        c("analyze of a text file", lambda f: (f / "t.txt").write_text("x") and [
            "analyze", str(f / "t.txt"), "--out", str(f / "a")], "t.txt"),
        c("analyze --seed x", ["analyze", "surrogate", "--seed", "x"], "--seed"),
        c("analyze --seed -1", ["analyze", "surrogate", "--seed", "-1", "--out", "{F}/a"],
          "seed"),
        c("analyze --walk-steps 0", ["analyze", "surrogate", "--walk-steps", "0", "--out",
                                     "{F}/a"], "walk"),
        c("analyze --walk-steps -5", ["analyze", "surrogate", "--walk-steps", "-5", "--out",
                                      "{F}/a"], "walk"),
        c("analyze --walk-steps 1e99", ["analyze", "surrogate", "--walk-steps", "1e99"], "walk"),
        c("analyze --out a file", lambda f: (f / "afile").write_text("x") and [
            "analyze", "surrogate", "--out", str(f / "afile")], "afile"),
        c("optimizers with an argument", ["optimizers", "extra"], "extra"),
        c("optimizers", ["optimizers"], None, "ok",
          check=lambda f, o, e: None if "regularized_evolution" in o else "no listing"),
        c("space without a command", ["space"], "COMMAND"),
        c("space hash without --ops", ["space", "hash", "--matrix", square], "--ops"),
        c("space hash: matrix not JSON", ["space", "hash", "--matrix", "[[0,1]", "--ops",
                                          "input,output"], "--matrix"),
        c("space hash: matrix a number", ["space", "hash", "--matrix", "7", "--ops",
                                          "input,output"], "matrix"),
        c("space hash: matrix not square", ["space", "hash", "--matrix", "[[0,1,0],[0,0]]",
                                            "--ops", "input,output"], "matrix"),
        c("space hash: matrix of strings", ["space", "hash", "--matrix", '[["a","b"],["c","d"]]',
                                            "--ops", "input,output"], "matrix"),
        c("space hash: entries of 2", ["space", "hash", "--matrix", "[[0,2],[0,0]]", "--ops",
                                       "input,output"], "matrix"),
        c("space hash: lower triangle", ["space", "hash", "--matrix", "[[0,0],[1,0]]", "--ops",
                                         "input,output"], "matrix"),
        c("space hash: 8 vertices (the hash is defined for any graph)",
          ["space", "hash", "--matrix", json.dumps(
            [[int(j == i + 1) for j in range(8)] for i in range(8)]),
            "--ops", ",".join(["input"] + ["conv3x3-bn-relu"] * 6 + ["output"])], "8", "either"),
        c("space hash: unknown op", ["space", "hash", "--matrix", "[[0,1,0],[0,0,1],[0,0,0]]",
                                     "--ops", "input,conv9x9,output"], "conv9x9"),
        c("space hash: ops count", ["space", "hash", "--matrix", square, "--ops",
                                    "input,conv3x3-bn-relu,output"], "ops"),
        c("space hash: no input", ["space", "hash", "--matrix", square, "--ops",
                                   "output,output"], "input"),
        c("space hash: huge JSON", ["space", "hash", "--matrix", "[" * 20000 + "]" * 20000,
                                    "--ops", "input,output"], "matrix"),
        c("space hash: 200x200", ["space", "hash", "--matrix", json.dumps(
            [[0] * 200] * 200), "--ops", "input,output"], "matrix"),
        c("space hash: the inception cell", ["space", "hash", "--matrix", json.dumps(
            [[0, 1, 1, 1, 1, 0, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1],
             [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1],
             [0, 0, 0, 0, 0, 0, 0]]), "--ops", "input,conv3x3-bn-relu,conv1x1-bn-relu,"
            "maxpool3x3,conv3x3-bn-relu,conv3x3-bn-relu,output"], None, "ok",
          check=lambda f, o, e: None if o.strip() == INCEPTION else f"hash {o.strip()!r}"),
        c("space export --out a folder", ["space", "export", "--out", "{F}"], None),
        c("space export --out below a file", lambda f: (f / "afile").write_text("x") and [
            "space", "export", "--out", str(f / "afile" / "x.tsv")], "afile"),
        c("space info extra", ["space", "info", "extra"], "extra"),
        c("data without a command", ["data"], "COMMAND"),
        c("data convert of a missing file", ["data", "convert", "{F}/none.tfrecord"],
          "none.tfrecord"),
        c("data convert of a folder", ["data", "convert", "{F}"], "not a file"),
        c("data convert --out ''", ["data", "convert", str(NB101 / "fixture_only108.tfrecord"),
                                    "--out", ""], "--out"),
        c("data convert --out the shared folder", ["data", "convert", str(
            NB101 / "fixture_only108.tfrecord"), "--out", str(NB101)], "nb101"),
        c("data info of a missing store", ["data", "info", "{F}/none"], "none"),
        c("data info of a text file", lambda f: (f / "t.txt").write_text("x") and [
            "data", "info", str(f / "t.txt")], "t.txt"),
        c("data info of an empty folder", ["data", "info", "{F}"], None),
        c("data info surrogate", ["data", "info", "surrogate"], None, "ok"),
        c("data verify of a missing store", ["data", "verify", "{F}/none"], "none"),
        c("data verify of an empty folder", ["data", "verify", "{F}"], None),
        c("data verify surrogate (not a folder)", ["data", "verify", "surrogate"], "surrogate"),
        c("data query without a key", ["data", "query"], "--hash"),
        c("data query --hash and --matrix", ["data", "query", "--hash", INCEPTION, "--matrix",
                                             square], "--matrix"),
        c("data query --hash short", ["data", "query", "--hash", "abc"], "abc"),
        c("data query --hash not hex", ["data", "query", "--hash", "z" * 32], "z" * 32),
        c("data query --hash unknown", ["data", "query", "--hash", "0" * 32], "0" * 32),
        c("data query --hash upper case", ["data", "query", "--hash", INCEPTION.upper()],
          None, "either"),
        c("data query --matrix without --ops", ["data", "query", "--matrix", square], "--ops"),
        c("data query --matrix invalid cell", ["data", "query", "--matrix", "[[0,0],[0,0]]",
                                               "--ops", "input,output"], "graph"),
        c("data query --epochs 5", ["data", "query", "--hash", INCEPTION, "--epochs", "5"],
          "5"),
        c("data query --epochs x", ["data", "query", "--hash", INCEPTION, "--epochs", "x"],
          "--epochs"),
        c("data query --epochs -4", ["data", "query", "--hash", INCEPTION, "--epochs", "-4"],
          "-4"),
        c("data query --data missing", ["data", "query", "--hash", INCEPTION, "--data",
                                        "{F}/none"], "none"),
        c("data query --data ''", ["data", "query", "--hash", INCEPTION, "--data", ""],
          "--data"),
        c("data query inception", ["data", "query", "--hash", INCEPTION], None, "ok",
          check=lambda f, o, e: None if o == warm.query else "not the reference answer",
          wrong="silently accepted"),
        c("data download --sha256 without --url", ["data", "download", "--sha256", "0" * 64,
                                                   "--dir", "{F}"], "--sha256"),
        c("data download --url unreachable", ["data", "download", "--url",
                                              "http://127.0.0.1:9/x.tfrecord", "--sha256",
                                              "0" * 64, "--dir", "{F}"], "127.0.0.1"),
        c("data download --url file missing", ["data", "download", "--url",
                                               "file:///nonexistent/x.tfrecord", "--sha256",
                                               "0" * 64, "--dir", "{F}"], "nonexistent"),
        c("data download --url bad scheme", ["data", "download", "--url", "gopher://x/y",
                                             "--sha256", "0" * 64, "--dir", "{F}"], "gopher"),
        c("data download --url not a URL", ["data", "download", "--url", "::::", "--sha256",
                                            "0" * 64, "--dir", "{F}"], "::::"),
        c("data download --sha256 not hex", ["data", "download", "--url",
                                             "http://127.0.0.1:9/x", "--sha256", "nothex",
                                             "--dir", "{F}"], "nothex"),
        c("data download --full --only108", ["data", "download", "--full", "--only108"],
          "--only108"),
        c("data download --dir a file", lambda f: (f / "afile").write_text("x") and [
            "data", "download", "--url", "http://127.0.0.1:9/x", "--sha256", "0" * 64,
            "--dir", str(f / "afile")], "afile"),
        c("data download: wrong checksum", ["data", "download", "--url",
                                            (NB101 / "fixture_only108.tfrecord").as_uri(),
                                            "--sha256", "0" * 64, "--dir", "{F}"], "SHA256"),
        c("data cifar10 --url unreachable", ["data", "cifar10", "--url",
                                             "http://127.0.0.1:9/c.tar.gz", "--sha256", "0" * 64,
                                             "--dir", "{F}"], "127.0.0.1"),
        c("data cifar10 --sha256 without --url", ["data", "cifar10", "--sha256", "0" * 64,
                                                  "--dir", "{F}"], "--sha256"),
        c("train without --matrix", ["train", "--ops", "input,output"], "--matrix"),
        c("train: bad matrix", ["train", "--matrix", "[[0", "--ops", "input,output",
                                "--dry-run"], "--matrix"),
        c("train --epochs 5", ["train", "--matrix", square, "--ops", "input,output", "--epochs",
                               "5", "--data", "{F}"], "5"),
        c("train --epochs x", ["train", "--matrix", square, "--ops", "input,output", "--epochs",
                               "x"], "--epochs"),
        c("train --train-images 0", ["train", "--matrix", square, "--ops", "input,output",
                                     "--train-images", "0", "--data", "{F}"], "train"),
        c("train --steps-per-execution 0", ["train", "--matrix", square, "--ops", "input,output",
                                            "--steps-per-execution", "0", "--data", "{F}"],
          "steps"),
        c("train --data missing", ["train", "--matrix", square, "--ops", "input,output",
                                   "--data", "{F}/none.tar.gz", "--tiny"], "none.tar.gz",
          timeout=120),
        c("train --device bogus", ["train", "--matrix", square, "--ops", "input,output",
                                   "--device", "bogus"], "bogus"),
        c("build-table without --out", ["build-table", "--sample", "2"], "--out"),
        c("build-table --sample 0", ["build-table", "--sample", "0", "--out", "{F}/t",
                                     "--data", "{F}"], "sample"),
        c("build-table --sample x", ["build-table", "--sample", "x", "--out", "{F}/t"],
          "--sample"),
        c("build-table --repeats 0", ["build-table", "--sample", "2", "--repeats", "0",
                                      "--out", "{F}/t", "--data", "{F}"], "repeats"),
        c("build-table --epochs 5", ["build-table", "--sample", "2", "--epochs", "5",
                                     "--out", "{F}/t", "--data", "{F}"], "5"),
        c("build-table --cells missing", ["build-table", "--cells", "{F}/none.json", "--out",
                                          "{F}/t", "--data", "{F}"], "none.json"),
        c("build-table --cells not JSON", lambda f: (f / "c.json").write_text("[{") and [
            "build-table", "--cells", str(f / "c.json"), "--out", str(f / "t"), "--data",
            str(f)], "c.json"),
        c("build-table --cells wrong shape", lambda f: (f / "c.json").write_text(
            '[{"matrix": 1}]') and ["build-table", "--cells", str(f / "c.json"), "--out",
                                    str(f / "t"), "--data", str(f)], "c.json"),
        c("build-table --ray-address bogus", ["build-table", "--sample", "1", "--out", "{F}/t",
                                              "--data", "{F}", "--ray-address", "ray://127.0.0.1:9"],
          None, timeout=120),
    ]
    return cases


def tfrecord_cases() -> list[Case]:
    """Damaged copies of the shared fixtures, given to convert, info, query and run."""
    cases = []
    src = NB101 / "fixture_only108.tfrecord"
    size = src.stat().st_size if src.exists() else 0

    def damaged(how: str, fn: Callable[[Path], None]):
        def make(folder: Path) -> Path:
            dst = folder / "damaged.tfrecord"
            shutil.copy(src, dst)
            fn(dst)
            return dst
        return make

    damages = {
        "empty": lambda p: p.write_bytes(b""),
        "zeros": lambda p: p.write_bytes(b"\0" * 4096),
        "random bytes": lambda p: p.write_bytes(os.urandom(4096)),
        "text": lambda p: p.write_text("hello\n" * 100),
        "gzip of it": lambda p: p.write_bytes(__import__("gzip").compress(p.read_bytes())),
        "garbage appended": lambda p: p.write_bytes(p.read_bytes() + b"garbage"),
        "a header appended": lambda p: p.write_bytes(p.read_bytes() + p.read_bytes()[:12]),
        "every record twice": lambda p: p.write_bytes(p.read_bytes() * 2),
        "length flipped": lambda p: flip(p, 2),
        "length CRC flipped": lambda p: flip(p, 9),
        "payload flipped": lambda p: flip(p, 40),
        "payload flipped late": lambda p: flip(p, size - 30),
        "data CRC flipped": lambda p: flip(p, size - 1),
        "huge length": lambda p: p.write_bytes(b"\xff" * 8 + p.read_bytes()[8:]),
    }
    for keep in (1, 7, 12, 100, size // 2, size - 1):
        damages[f"truncated to {keep} bytes"] = lambda p, k=keep: truncate(p, k)
    for name, fn in damages.items():
        make = damaged(name, fn)
        ok = name == "every record twice"
        every = name in ("empty", "random bytes", "payload flipped",
                         f"truncated to {size // 2} bytes")
        for cmd in ("convert", "info", "query", "run") if every else ("convert", "query"):
            def prepare(folder: Path, make=make, cmd=cmd) -> list[str]:
                path = make(folder)
                if cmd == "convert":
                    return ["data", "convert", str(path), "--out", str(folder / "store")]
                if cmd == "info":
                    return ["data", "info", str(path)]
                if cmd == "query":
                    return ["data", "query", "--hash", INCEPTION, "--data", str(path)]
                data = with_key(with_key(BASE, ("benchmark", "name"), "nasbench101"),
                                ("benchmark", "data"), str(path))
                return run_argv(write_yaml(folder / "exp.yaml", data), folder)
            cases.append(Case("data", f"tfrecord {name}: {cmd}", prepare,
                              "either" if ok else "fail", "damaged.tfrecord"))
    return cases


def store_cases(warm: Warm) -> list[Case]:
    """A converted store with a flipped byte in, a truncated or a missing array, or a manifest
    without one of its fields: info, query and run must name what is wrong."""
    cases = []
    store = warm.store
    arrays = sorted(p.name for p in store.glob("*.npy"))
    manifest = json.loads((store / "manifest.json").read_text())

    def copy(folder: Path) -> Path:
        dst = folder / "store"
        shutil.copytree(store, dst)
        return dst

    def commands(name: str, damage: Callable[[Path], None], culprit: str, cmds=("info", "query")):
        for cmd in cmds:
            def prepare(folder: Path, cmd=cmd) -> list[str]:
                dst = copy(folder)
                damage(dst)
                if cmd == "info":
                    return ["data", "info", str(dst)]
                if cmd == "verify":
                    return ["data", "verify", str(dst)]
                if cmd == "query":
                    return ["data", "query", "--hash", INCEPTION, "--data", str(dst)]
                data = with_key(with_key(BASE, ("benchmark", "name"), "nasbench101"),
                                ("benchmark", "data"), str(dst))
                return run_argv(write_yaml(folder / "exp.yaml", data), folder)
            cases.append(Case("stores", f"store {name}: {cmd}", prepare, "fail", culprit))

    for name in arrays:
        stem = name.removesuffix(".npy")
        commands(f"{stem} byte flipped", lambda d, n=name: flip(d / n, -3), stem,
                 ("info", "query", "verify") if stem == "final_test_accuracy" else ("info",))
        if name in arrays[:5]:
            commands(f"{stem} truncated", lambda d, n=name: truncate(d / n, 100), stem,
                     ("info",))
        commands(f"{stem} missing", lambda d, n=name: (d / n).unlink(), stem, ("query",))
    for field in manifest:
        def drop(d: Path, field=field) -> None:
            m = json.loads((d / "manifest.json").read_text())
            del m[field]
            (d / "manifest.json").write_text(json.dumps(m))
        commands(f"manifest without {field}", drop, "manifest" if field == "format" else field)
    for name, text in (("manifest not JSON", "{"), ("manifest empty", ""),
                       ("manifest a list", "[]"), ("manifest binary", "\xff\x00")):
        commands(name, lambda d, t=text: (d / "manifest.json").write_text(t), "manifest.json")
    commands("manifest missing", lambda d: (d / "manifest.json").unlink(), "manifest",
             ("info", "query", "run"))
    commands("manifest a folder", lambda d: ((d / "manifest.json").unlink(),
                                             (d / "manifest.json").mkdir()), "manifest.json")
    commands("schema_version 99", lambda d: (d / "manifest.json").write_text(json.dumps(
        {**json.loads((d / "manifest.json").read_text()), "schema_version": 99})),
        "schema version")
    commands("an array's shape changed", lambda d: (d / "manifest.json").write_text(json.dumps(
        {**json.loads((d / "manifest.json").read_text()), "files": {
            k: {**v, "shape": [1, *v["shape"][1:]]} for k, v in manifest["files"].items()}})),
        "shape")
    return cases


def cache_cases(warm: Warm) -> list[Case]:
    """The warmed cache, hard-linked, with one file damaged: the answer must be the reference
    (the cache rebuilt) and the damaged file named."""
    cases = []
    table = next(warm.cache.glob("surrogate-*"))

    def damaged(name: str, target: Callable[[Path], Path], damage: Callable[[Path], None],
                culprit: str | None, timeout: float = 400) -> Case:
        def prepare(folder: Path) -> list[str]:
            cache = folder / "cache"
            shutil.copytree(warm.cache, cache, copy_function=os.link,
                            ignore=shutil.ignore_patterns("crashes"))
            damage(target(cache))
            case.env["NASBENCH_CACHE_DIR"] = str(cache)
            return ["data", "query", "--hash", INCEPTION]

        def check(folder: Path, out: str, err: str) -> str | None:
            if out != warm.query:
                return "an answer other than the reference"
            if culprit and culprit not in err:
                return f"used without a word on {culprit}"
            return None
        case = Case("caches", name, prepare, "ok", None, check=check, wrong="silently accepted",
                    timeout=timeout)
        return case

    rel = table.name
    cases += [
        damaged("table array byte flipped", lambda c: c / rel / "final_test_accuracy.npy",
                lambda p: flip(p, -5), "final_test_accuracy"),
        damaged("table array truncated", lambda c: c / rel / "hashes.npy",
                lambda p: truncate(p, 1000), "hashes"),
        damaged("table manifest not JSON", lambda c: c / rel / "manifest.json",
                lambda p: (p.unlink(), p.write_text("{")), "manifest"),
        damaged("table manifest missing", lambda c: c / rel / "manifest.json",
                lambda p: p.unlink(), None),
        damaged("table array missing", lambda c: c / rel / "labels.npy",
                lambda p: p.unlink(), "labels"),
        damaged("enumeration truncated", lambda c: c / "cells-v2.npz",
                lambda p: truncate(p, 1 << 20), None),
        damaged("enumeration byte flipped", lambda c: c / "cells-v2.npz",
                lambda p: flip(p, 5 << 20), None),
        damaged("verified stamps garbled", lambda c: c / "verified",
                lambda p: [(s.unlink(), s.write_text("{")) for s in p.glob("*.json")], None),
    ]

    def cache_is(name: str, make: Callable[[Path], Path], culprit: str) -> Case:
        def prepare(folder: Path) -> list[str]:
            case.env["NASBENCH_CACHE_DIR"] = str(make(folder))
            return ["data", "query", "--hash", INCEPTION]
        case = Case("caches", name, prepare, "fail", culprit)
        return case

    cases += [
        cache_is("NASBENCH_CACHE_DIR a file", lambda f: a_file(f / "c"), "c"),
        cache_is("NASBENCH_CACHE_DIR below a file", lambda f: a_file(f / "c") / "sub", "c/sub"),
        cache_is("NASBENCH_CACHE_DIR in /proc", lambda f: Path("/proc/sweep-cache"),
                 "/proc/sweep-cache"),
    ]
    return cases


def results_cases(warm: Warm) -> list[Case]:
    """Damaged results folders: resumed (identical runs after) and reported."""
    cases = []
    exp_multi = lambda f: write_yaml(f / "exp.yaml", MULTI)  # noqa: E731

    def folder_case(name: str, damage: Callable[[Path], None], cmd: str, expect: str,
                    culprit: str | None = None, check_same: bool = True, timeout=120,
                    report_check: Callable[[str], str | None] | None = None) -> Case:
        def prepare(folder: Path) -> list[str]:
            out = folder / "out"
            shutil.copytree(warm.results, out, ignore=shutil.ignore_patterns("report"))
            damage(out)
            if cmd == "run":
                return ["run", str(exp_multi(folder)), "--output", str(out), "--no-report"]
            return ["report", str(out), "--out", str(folder / "rep")]

        def check(folder: Path, out: str, err: str) -> str | None:
            if cmd == "run" and check_same and not same_runs(run_files(folder / "out"),
                                                             warm.files):
                return "the resumed folder's run files differ from the reference"
            if report_check:
                return report_check(err)
            return None
        return Case("results", f"{name}: {cmd}", prepare, expect, culprit, check=check,
                    timeout=timeout)

    first = sorted(warm.files)[0]
    seed0 = lambda o: o / first  # noqa: E731

    def unrelated_zip(o: Path) -> None:   # a zip file (as .npz files are) without a run's arrays
        with zipfile.ZipFile(seed0(o), "w") as archive:
            archive.writestr("notes.txt", "not a run")

    foreign = warm.foreign

    def names(word: str):
        return lambda err: None if word in err else f"no warning naming {word!r}"

    damages = [
        ("a run file truncated", lambda o: truncate(seed0(o), 200), "either", None),
        ("a run file emptied", lambda o: truncate(seed0(o), 0), "either", None),
        ("a run file byte flipped", lambda o: flip(seed0(o), -40), "either", None),
        ("a run file of another experiment", lambda o: (seed0(o).unlink(),
                                                        shutil.copy(foreign, seed0(o))),
         "either", None),
        ("a run file a folder", lambda o: (seed0(o).unlink(), seed0(o).mkdir()), "either",
         Path(first).name),
        ("a run folder a file", lambda o: (shutil.rmtree(seed0(o).parent),
                                           seed0(o).parent.write_text("x")), "fail",
         seed0(Path("")).parent.name),
        ("runs a file", lambda o: (shutil.rmtree(o / "runs"), (o / "runs").write_text("x")),
         "fail", "runs"),
        ("experiment.json not JSON", lambda o: (o / "experiment.json").write_text("{"), "fail",
         "experiment.json"),
        ("experiment.json a list", lambda o: (o / "experiment.json").write_text("[]"), "fail",
         "experiment.json"),
        ("experiment.json empty", lambda o: (o / "experiment.json").write_text(""), "fail",
         "experiment.json"),
        ("experiment.json a folder", lambda o: ((o / "experiment.json").unlink(),
                                                (o / "experiment.json").mkdir()), "fail",
         "experiment.json"),
        ("experiment.yaml a folder", lambda o: ((o / "experiment.yaml").unlink(),
                                                (o / "experiment.yaml").mkdir()), "either",
         "experiment.yaml"),
        ("experiment.yaml garbage", lambda o: (o / "experiment.yaml").write_bytes(b"\xff{"),
         "either", "experiment.yaml"),
        ("metadata.json not JSON", lambda o: (o / "metadata.json").write_text("{"), "either",
         "metadata.json"),
        ("metadata.json missing", lambda o: (o / "metadata.json").unlink(), "either",
         "metadata.json"),
        ("a stray file in runs", lambda o: (o / "runs" / "notes.txt").write_text("x"), "either",
         None),
        ("a stray .tmp file", lambda o: (seed0(o).parent / "seed-0.npz.tmp").write_text("x"),
         "either", None),
        ("a stray folder in runs", lambda o: (o / "runs" / "stranger").mkdir(), "either", None),
        ("a run file an unrelated zip", unrelated_zip, "either", None),
        ("the lock a folder", lambda o: (o / ".lock").mkdir(exist_ok=True)
         if not (o / ".lock").exists() else None, "either", None),
    ]
    reported = ("a run file truncated", "a run file of another experiment", "runs a file",
                "experiment.json not JSON", "experiment.yaml garbage", "a stray folder in runs")
    for name, damage, expect, culprit in damages:
        cases.append(folder_case(name, damage, "run", expect, culprit))
        if name in reported:   # a report takes ~20 s: a few damages only
            cases.append(folder_case(name, damage, "report", "either", culprit, timeout=180))
    # the report skips a foreign run file with a warning naming it
    cases[[c.name for c in cases].index("a run file of another experiment: report")].check = (
        lambda f, o, e: None if Path(first).name in e else "no warning naming the foreign file")
    cases[[c.name for c in cases].index("a run file of another experiment: report")].wrong = (
        "silently accepted")

    def other_experiment(folder: Path) -> list[str]:
        out = folder / "out"
        shutil.copytree(warm.results, out, ignore=shutil.ignore_patterns("report"))
        return ["run", str(write_yaml(folder / "exp.yaml", with_key(MULTI, ("budget", "time"),
                                                                     2e5))),
                "--output", str(out), "--no-report"]

    def untouched(folder: Path, out: str, err: str) -> str | None:
        return None if run_files(folder / "out") == warm.files else "the folder was changed"
    cases.append(Case("results", "another experiment into a folder", other_experiment, "fail",
                      "--force", check=untouched))
    cases.append(Case("results", "the same experiment again (nothing to do)", lambda f: (
        shutil.copytree(warm.results, f / "out", ignore=shutil.ignore_patterns("report")),
        ["run", str(exp_multi(f)), "--output", str(f / "out"), "--no-report"])[1], "ok",
        check=untouched))
    return cases


PLUGIN = '''
import math, os, sys, time
from optimizers import Optimizer, Trial
from optimizers.random_search import RandomSearch


class Late(RandomSearch):
    """Faults after a few good trials."""
    def ask(self):
        if self._next_id > 3:
            return self.fault()
        return super().ask()


class RaisesInAsk(Late):
    def fault(self):
        raise RuntimeError("plugin ask exploded")

class RaisesInTell(RandomSearch):
    def tell(self, trial, result):
        raise RuntimeError("plugin tell exploded")

class RaisesInInit(RandomSearch):
    def __init__(self, *a, **k):
        raise RuntimeError("plugin init exploded")

class ReturnsString(Late):
    def fault(self):
        return "not a trial"

class ReturnsTuple(Late):
    def fault(self):
        return (1, 2)

class ReturnsInt(Late):
    def fault(self):
        return 42

class ConfigNone(Late):
    def fault(self):
        return Trial(self._next_id, None, self.max_budget)

class ConfigMissingKeys(Late):
    def fault(self):
        return self.new_trial({})

class ConfigUnknownKey(Late):
    def fault(self):
        t = super(Late, self).ask()
        return self.new_trial({**t.config, "bogus": 1})

class ConfigBadValue(Late):
    def fault(self):
        t = super(Late, self).ask()
        return self.new_trial({k: "bogus-op" for k in t.config})

class BudgetNotOffered(Late):
    def fault(self):
        return self.new_trial(super(Late, self).ask().config, budget=5)

class BudgetNaN(Late):
    def fault(self):
        return self.new_trial(super(Late, self).ask().config, budget=math.nan)

class BudgetString(Late):
    def fault(self):
        return self.new_trial(super(Late, self).ask().config, budget="108")

class RepeatsId(RandomSearch):
    def ask(self):
        t = super().ask()
        return t._replace(id=0)

class NegativeId(RandomSearch):
    def ask(self):
        t = super().ask()
        return t._replace(id=-t.id - 1)

class IdNotInt(RandomSearch):
    def ask(self):
        return super().ask()._replace(id="zero")

class AlwaysNone(RandomSearch):
    def ask(self):
        return None

class SysExit(Late):
    def fault(self):
        sys.exit(3)

class OsExit(Late):
    def fault(self):
        os._exit(9)

class Interrupts(Late):
    def fault(self):
        raise KeyboardInterrupt

class RecursionDeep(Late):
    def fault(self):
        return self.fault()

class MemoryHog(Late):
    def fault(self):
        raise MemoryError("plugin wanted too much")

class BadClose(RandomSearch):
    def close(self):
        raise RuntimeError("plugin close exploded")

class PrintsLots(RandomSearch):
    def ask(self):
        print("noise " * 100)
        return super().ask()

class SleepsForever(Late):
    def fault(self):
        time.sleep(3600)

class NotAbstract(Optimizer):
    pass

class BadParams(RandomSearch):
    params = {"x": "not a Param"}
'''

#: Each plug-in's fault and the words its failed run must carry.
PLUGIN_FAULTS = {
    "RaisesInAsk": "plugin ask exploded", "RaisesInTell": "plugin tell exploded",
    "RaisesInInit": "plugin init exploded", "ReturnsString": "ReturnsString",
    "ReturnsTuple": "ReturnsTuple", "ReturnsInt": "ReturnsInt", "ConfigNone": "ConfigNone",
    "ConfigMissingKeys": "ConfigMissingKeys", "ConfigUnknownKey": "ConfigUnknownKey",
    "ConfigBadValue": "ConfigBadValue", "BudgetNotOffered": "BudgetNotOffered",
    "BudgetNaN": "BudgetNaN", "BudgetString": "BudgetString", "RepeatsId": "RepeatsId",
    "NegativeId": "NegativeId", "IdNotInt": "IdNotInt", "AlwaysNone": "AlwaysNone",
    "SysExit": "SysExit", "OsExit": "OsExit", "Interrupts": "Interrupts",
    "RecursionDeep": "RecursionDeep", "MemoryHog": "plugin wanted too much",
    "BadClose": "plugin close exploded", "NotAbstract": "NotAbstract", "BadParams": "BadParams",
}
#: Cases outside the loop over PLUGIN_FAULTS.
PLUGIN_OTHER = {"SleepsForever": "SleepsForever", "PrintsLots": ""}


def plugin_cases() -> list[Case]:
    """Optimizer plug-ins that raise, return garbage, repeat trial ids, exit or interrupt: the
    run of each fails with its reason (exit 1), the other runs' results are kept."""
    cases = []

    def make(cls: str, backend: str):
        def prepare(folder: Path) -> list[str]:
            (folder / "faulty.py").write_text(PLUGIN)
            data = with_key(with_key(BASE, ("optimizers",), [
                {"name": "random_search"}, {"name": f"faulty:{cls}"}]),
                ("execution",), {"backend": backend, "max_retries": 0, "cpus": 1})
            if cls == "SleepsForever":   # a call that never returns ends at the limit
                data = with_key(data, ("budget", "ask_timeout"), 2.0)
            return run_argv(write_yaml(folder / "exp.yaml", data), folder)

        def kept(folder: Path, out: str, err: str) -> str | None:   # only for exit 0
            return "a faulty plug-in's run succeeded"
        return Case("plug-ins", f"{cls} ({backend})", prepare, "fail",
                    {**PLUGIN_FAULTS, **PLUGIN_OTHER}[cls], check=kept, wrong="silently accepted",
                    timeout=90 if backend == "local" else 180)

    for cls in PLUGIN_FAULTS:
        cases.append(make(cls, "local"))
        if cls == "NegativeId":     # unique ids, if negative: nothing wrong with them
            cases[-1].expect, cases[-1].check = "either", no_marker_left
    for cls in ("RaisesInAsk", "ReturnsString", "RepeatsId", "OsExit", "Interrupts"):
        cases.append(make(cls, "ray"))
    cases.append(make("SleepsForever", "local"))
    cases[-1].timeout = 60
    cases.append(make("PrintsLots", "local"))      # a chatty plug-in is fine
    cases[-1].expect, cases[-1].check = "ok", no_marker_left
    for case in cases:
        case.env["__PLUGIN__"] = "1"
    return cases


def signal_cases(warm: Warm) -> list[Case]:
    """SIGINT or SIGTERM to a run at several moments, then a resume: one line, then the same
    run files as the reference run."""
    cases = []

    def driver(sig: int, delay: float, backend: str):
        def run(folder: Path, env: dict) -> tuple[int, str, str, bool]:
            exp = write_yaml(folder / "exp.yaml", with_key(MULTI, ("execution", "backend"),
                                                           backend))
            argv = [sys.executable, "-m", "harness.cli", "run", str(exp), "--output",
                    str(folder / "out"), "--no-report"]
            proc = subprocess.Popen(argv, cwd=folder, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, start_new_session=True,
                                    preexec_fn=default_signals)
            time.sleep(delay)
            proc.send_signal(sig)
            try:
                out, err = proc.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                return killed(proc)
            code = proc.returncode      # killed by the signal itself: the shell's 128 + N
            first = (128 - code if code < 0 else code, out.decode(errors="replace"),
                     err.decode(errors="replace"))
            if "Traceback" in first[2] or first[0] not in (0, 1, 2, 130, 143):
                return first[0], first[1], first[2], False
            if first[0] != 0 and len(message_lines(first[2])) > 1:
                return 2, first[1], "[interrupt] " + first[2], False
            code, out2, err2, timed_out = cli(argv[3:], folder, env, 240)
            return code, out2, f"[interrupt: exit {first[0]}] {first[2][-500:]}\n{err2}", \
                timed_out
        return run

    def same(folder: Path, out: str, err: str) -> str | None:
        got = run_files(folder / "out")
        return None if got == warm.files else (
            f"{len(got)} run files, {sum(got.get(k) == v for k, v in warm.files.items())} of "
            f"{len(warm.files)} identical to the reference")

    for sig in (signal.SIGINT, signal.SIGTERM):
        for delay in (0.2, 0.8, 1.5, 2.5, 4.0, 6.0):
            cases.append(Case("signals", f"{sig.name} after {delay} s, then resume (local)",
                              lambda f: [], "ok", check=same, run=driver(sig, delay, "local"),
                              timeout=300))
        for delay in (3.0, 8.0):
            cases.append(Case("signals", f"{sig.name} after {delay} s, then resume (ray)",
                              lambda f: [], "ok", check=same, run=driver(sig, delay, "ray"),
                              timeout=400))
    return cases


def disk_cases(warm: Warm) -> list[Case]:
    """A full disk (a small tmpfs) under a run, a conversion and a report; then more space and a
    resume with the same bytes.  Skipped where tmpfs cannot be mounted."""
    probe = Path(tempfile.mkdtemp(prefix="sweep-tmpfs-"))
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)],
                             capture_output=True).returncode == 0
    if mounted:
        subprocess.run(["umount", str(probe)], check=False)
    probe.rmdir()
    if not mounted:
        print("  disk: a small tmpfs cannot be mounted here; its cases are skipped")
        return []
    cases = []

    def mount(folder: Path, size: str) -> Path:
        disk = folder / "disk"
        disk.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(disk)],
                       check=True)
        return disk

    def unmount(folder: Path) -> None:
        if (folder / "disk").is_dir():
            subprocess.run(["umount", "-l", str(folder / "disk")], check=False)

    def run_then_resume(size: str):
        def run(folder: Path, env: dict) -> tuple[int, str, str, bool]:
            disk = mount(folder, size)
            exp = write_yaml(folder / "exp.yaml", MULTI)
            argv = ["run", str(exp), "--output", str(disk / "out"), "--no-report"]
            code, out, err, timed_out = cli(argv, folder, env, 120)
            if code == 0 or timed_out or "Traceback" in err:
                return code, out, err, timed_out
            if len(message_lines(err)) != 1 or "disk" not in err:
                return code, out, err, timed_out
            subprocess.run(["mount", "-o", "remount,size=16m", str(disk)], check=True)
            code, out2, err2, timed_out = cli(argv, folder, env, 120)
            if code == 0 and list(disk.rglob("*.tmp")):
                return 0, out2, err2 + "\nstray .tmp files", False
            return code, out2, f"[full disk] {err.strip()}\n{err2}", timed_out
        return run

    def same(folder: Path, out: str, err: str) -> str | None:
        if "stray .tmp" in err:
            return "stray .tmp files after the resume"
        return None if run_files(folder / "disk" / "out") == warm.files else (
            "the resumed run files differ from the reference")

    for size in ("8k", "24k", "60k", "120k"):
        cases.append(Case("disk", f"run on a full {size} disk, then resume", lambda f: [],
                          "ok", check=same, run=run_then_resume(size), after=unmount,
                          timeout=300))

    def full(size: str, argv: Callable[[Path, Path], list[str]], culprit: str):
        def prepare(folder: Path) -> list[str]:
            return argv(folder, mount(folder, size))
        return Case("disk", f"{culprit} on a full {size} disk", prepare, "fail", "disk",
                    after=unmount, timeout=180)
    for size in ("8k", "64k"):
        cases.append(full(size, lambda f, d: ["data", "convert", str(
            NB101 / "fixture_only108.tfrecord"), "--out", str(d / "store")], "convert"))
        cases.append(full(size, lambda f, d: ["report", str(warm.results), "--out",
                                              str(d / "rep")], "report"))
        cases.append(full(size, lambda f, d: ["space", "export", "--out", str(d / "cells.tsv")],
                          "space export"))
    return cases


# ---- fixtures built once -------------------------------------------------------------------------

@dataclasses.dataclass
class Warm:
    """What many cases share, built once: the warmed cache and its reference answer, a small
    store, a finished results folder and its run files, a run file of another experiment."""

    cache: Path
    query: str
    store: Path
    results: Path
    files: dict[str, bytes]
    foreign: Path


def warm_up(root: Path, cache: Path) -> Warm:
    env = environment(cache)

    def must(argv: list[str]) -> str:
        code, out, err, _ = cli(argv, root, env, 900)
        if code != 0:
            raise SystemExit(f"sweep set-up failed: nasbench {' '.join(argv)}\n{err}")
        return out
    query = must(["data", "query", "--hash", INCEPTION])
    store = root / "store"
    must(["data", "convert", str(NB101 / "fixture_only108.tfrecord"), "--out", str(store)])
    results = root / "results"
    must(["run", str(write_yaml(root / "multi.yaml", MULTI)), "--output", str(results),
          "--no-report"])
    must(["report", str(results)])
    other = root / "other"
    must(["run", str(write_yaml(root / "other.yaml", with_key(MULTI, ("budget", "time"), 2e5))),
          "--output", str(other), "--no-report"])
    files = run_files(results)
    return Warm(cache, query, store, results, files, other / sorted(files)[0])


def all_cases(warm: Warm) -> list[Case]:
    return [*schema_cases(), *semantic_cases(), *file_cases(), *flag_cases(warm),
            *tfrecord_cases(), *store_cases(warm), *cache_cases(warm), *results_cases(warm),
            *plugin_cases(), *signal_cases(warm), *disk_cases(warm)]


# ---- the sweep -----------------------------------------------------------------------------------

def sweep(root: Path, cache: Path, jobs: int = 2, only: set[str] | None = None,
          progress: bool = True, names: set[str] | None = None) -> list[Outcome]:
    """Build every case under ``root`` and run them, ``jobs`` at a time (``only`` these
    categories, ``names`` these cases, when given)."""
    warm = warm_up(root, cache)
    cases = [c for c in all_cases(warm) if (not only or c.category in only)
             and (not names or c.name in names)]
    done = Counter()
    lock = threading.Lock()
    started = time.perf_counter()

    def one(i_case):
        i, case = i_case
        folder = root / "cases" / f"{i:04d}"
        if case.env.pop("__PLUGIN__", None):     # the plug-in module is in the case's folder
            case.env["PYTHONPATH"] = os.pathsep.join([str(folder), str(ROOT)])
        outcome = run_case(case, folder, cache)
        with lock:
            done[outcome.kind] += 1
            if progress:
                n = sum(done.values())
                mark = "" if outcome.kind in GOOD else f"  <- {outcome.kind}: {case.name}"
                print(f"\r  {n}/{len(cases)} cases, {time.perf_counter() - started:.0f} s"
                      f"{mark}", end="\n" if mark else "", flush=True)
        if outcome.kind in GOOD:
            shutil.rmtree(folder, ignore_errors=True)
        return outcome

    # the slowest cases first, so the pool does not end on one long case
    order = sorted(enumerate(cases), key=lambda ic: -ic[1].timeout)
    with ThreadPoolExecutor(jobs) as pool:
        outcomes = list(pool.map(one, order))
    if progress:
        print()
    return outcomes


def summary(outcomes: list[Outcome]) -> str:
    """The table of outcomes per category, then every bad case with its output."""
    cats = list(dict.fromkeys(o.case.category for o in outcomes))
    head = ["category", "tried", *KINDS]
    rows = []
    for cat in [*cats, "all"]:
        sel = [o for o in outcomes if cat in ("all", o.case.category)]
        count = Counter(o.kind for o in sel)
        rows.append([cat, str(len(sel)), *(str(count[k]) for k in KINDS)])
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in [head, *rows]]
    bad = [o for o in outcomes if o.kind not in GOOD]
    lines.append(f"\n{len(bad)} bad case(s)" + (":" if bad else ""))
    for o in bad:
        lines.append(f"\n[{o.kind}] {o.case.category}: {o.case.name} (exit {o.code}; {o.why})")
        lines += [f"    {line}" for line in o.output.strip().splitlines()[-12:]]
    return "\n".join(lines)


def main() -> None:
    jobs = int(os.environ.get("SWEEP_JOBS", "2"))
    only = set(filter(None, os.environ.get("SWEEP_ONLY", "").split(","))) or None
    names = set(filter(None, os.environ.get("SWEEP_CASES", "").split("|"))) or None
    cache = Path(os.environ.get("NASBENCH_CACHE_DIR", ROOT / ".cache")).resolve()
    if not NB101.is_dir():
        raise SystemExit(f"the sweep needs the shared NAS-Bench-101 fixtures at {NB101}")
    with tempfile.TemporaryDirectory(prefix="nasbench-sweep-") as tmp:
        t0 = time.perf_counter()
        outcomes = sweep(Path(tmp), cache, jobs, only, names=names)
        print(summary(outcomes))
        print(f"\n{len(outcomes)} cases in {time.perf_counter() - t0:.0f} s with {jobs} jobs")


if __name__ == "__main__":
    main()
