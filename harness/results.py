"""The results folder: layout, atomic run files, and loading them as pandas DataFrames.

::

    OUTPUT/
      experiment.yaml        the resolved experiment (what the runs were made from)
      experiment.json        its identity hash, used to decide resume vs refuse
      metadata.json          versions, git commit, data checksum, start/end, wall time per run
      .nasbench.lock         the writer's advisory lock (who holds it: pid and host)
      runs/LABEL/seed-S.npz  one file per run (events + run facts), written atomically
      runs/LABEL/seed-S.failed.txt   the traceback of a run that raised (redone on resume)
      runs/LABEL/seed-S.overhead.npy the optimizer's own wall seconds (ask + tell) so far, at
                             each event of the run file: measured, so not reproducible
      report/                the reporter's figures and tables

Run files hold only what the seed determines, so the same experiment gives the same bytes;
what is measured (wall times) lives beside them.
"""
from __future__ import annotations

import contextlib
import fcntl
import io
import json
import logging
import os
import socket
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmark.fileutil import atomic_write_bytes

from .config import (
    SAVED,
    TRAJECTORY_MODES,
    Experiment,
    ExperimentError,
    SavedExperiment,
    read_saved,
)
from .events import COLUMNS

log = logging.getLogger(__name__)
RUNS = "runs"
LOCK = ".nasbench.lock"
_HELD: set[int] = set()   # descriptors of the locks this process holds


@contextlib.contextmanager
def output_lock(output: Path) -> Iterator[None]:
    """Hold the output folder's writer lock, or refuse in one line if another process holds it.

    An advisory ``flock``: the kernel releases it when its holder exits in any way (a crash or
    SIGKILL included), so a lock is never stale; the file only says who held it last.
    """
    output.mkdir(parents=True, exist_ok=True)
    fd = os.open(output / LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    _HELD.add(fd)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            raise ExperimentError(f"{output}: another 'nasbench run' ({holder}) is writing "
                                  "here; wait for it to end or use another --output") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
        yield
    finally:
        _HELD.discard(fd)
        os.close(fd)


def writer(folder: str | Path) -> str | None:
    """Who holds the folder's writer lock (a 'nasbench run' still writing there), else None."""
    try:
        fd = os.open(Path(folder) / LOCK, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
    finally:
        os.close(fd)   # (a shared lock taken here goes with the descriptor)
    return None


def drop_inherited_locks() -> None:
    """In a forked child: close its copies of the parent's lock files, so that the lock goes
    with the parent (a flock lasts while any process holds the open file)."""
    for fd in list(_HELD):
        _HELD.discard(fd)
        os.close(fd)


@dataclass(frozen=True)
class RunKey:
    label: str
    seed: int

    def path(self, output: Path) -> Path:
        return Path(output) / RUNS / self.label / f"seed-{self.seed}.npz"

    def failed_path(self, output: Path) -> Path:
        return Path(output) / RUNS / self.label / f"seed-{self.seed}.failed.txt"

    def overhead_path(self, output: Path) -> Path:
        return Path(output) / RUNS / self.label / f"seed-{self.seed}.overhead.npy"


def encode_run(arrays: dict[str, np.ndarray], facts: dict[str, Any]) -> bytes:
    """Bytes of a run file: an npz (``np.load`` reads it) deflated at level 1 (the fastest:
    one file is written per run, as it ends); entries carry a fixed date, so the same run
    gives the same bytes."""
    buf = io.BytesIO()
    members = {"facts": np.frombuffer(json.dumps(facts, sort_keys=True).encode(), np.uint8),
               **arrays}
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, array in members.items():
            npy = io.BytesIO()
            np.lib.format.write_array(npy, np.asarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            zf.writestr(info, npy.getvalue(), zipfile.ZIP_DEFLATED, compresslevel=1)
    return buf.getvalue()


def write_run(output: Path, key: RunKey, data: bytes, overhead: np.ndarray | None = None) -> None:
    """The run file (and beside it the optimizer's measured overhead, written first: the run
    file is what marks the run done)."""
    if overhead is None:
        key.overhead_path(output).unlink(missing_ok=True)
    else:
        buf = io.BytesIO()
        np.lib.format.write_array(buf, np.asarray(overhead, np.float64), allow_pickle=False)
        atomic_write_bytes(key.overhead_path(output), buf.getvalue())
    atomic_write_bytes(key.path(output), data)
    key.failed_path(output).unlink(missing_ok=True)


def read_run(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """A run file's columns and facts.  Each member is read whole, so its CRC is checked (a
    read through ``np.load`` stops at the array's end, before zipfile compares the CRC)."""
    with zipfile.ZipFile(path) as zf:
        def member(name: str) -> np.ndarray:
            return np.lib.format.read_array(io.BytesIO(zf.read(f"{name}.npy")),
                                            allow_pickle=False)

        facts = json.loads(member("facts").tobytes().decode())
        arrays = {c: member(c) for c in COLUMNS}
    return arrays, facts


def expected_facts(experiment: Experiment) -> dict[tuple[str, int], dict[str, Any]]:
    """Per planned run (label, seed), the facts its run file must hold: what defines the run
    besides the table (optimizer, params, time budget, workers, encoding)."""
    from optimizers import get_optimizer

    budget, encoding = experiment.budget, experiment.benchmark.encoding
    return {(o.key, seed): {"optimizer": o.name,
                            "params": get_optimizer(o.name).defining_params(dict(o.params)),
                            "time_budget": budget.time, "workers": budget.workers,
                            "encoding": encoding}
            for o, seed in experiment.runs()}


def other_run(facts: dict[str, Any], expected: dict[str, Any]) -> str | None:
    """How a run file's ``facts`` show a run of another experiment (None: they agree with
    ``expected``, see :func:`expected_facts`)."""
    for name, want in expected.items():
        if facts.get(name) != want:
            return f"its {name} is {facts.get(name)!r}, not this experiment's {want!r}"
    return None


def incomplete(path: Path, key: RunKey, expected: dict[str, Any] | None = None) -> str | None:
    """Why the file at ``path`` does not count as ``key``'s finished run (None: it does): it
    is missing, damaged (every member's CRC is checked), or, with ``expected`` facts (see
    :func:`expected_facts`), a run of another experiment."""
    if not path.exists():
        return "missing"
    try:
        arrays, facts = read_run(path)
    except Exception as exc:  # noqa: BLE001 - whatever a damaged file raises, it is redone
        return f"unreadable ({type(exc).__name__}: {exc})"
    if facts.get("label") != key.label or facts.get("seed") != key.seed:
        return f"holds run {facts.get('label')!r} seed {facts.get('seed')!r}"
    if len({len(a) for a in arrays.values()}) > 1:
        return "columns of different lengths"
    why = other_run(facts, expected) if expected is not None else None
    return f"a run of another experiment ({why})" if why else None


def run_files(folder: str | Path) -> list[Path]:
    return sorted((Path(folder) / RUNS).glob("*/seed-*.npz"))


#: Run facts that loading relies on; a file without them is skipped with a warning.
REQUIRED_FACTS = ("label", "seed", "y_star_valid", "y_star_test")


def _readable_runs(folder: Path, planned: Planned):
    """(path, arrays, facts) of each run file that can be used; the others are named in a warning:
    unreadable ones, ones missing facts, ones whose facts name another run than their path
    (copied in from elsewhere: they would count a run twice), ones not in ``planned`` (the runs
    of the folder's experiment; None: no such check) or whose facts show a run of another
    experiment (another time budget, optimizer settings, ...)."""
    for path in run_files(folder):
        try:
            arrays, facts = read_run(path)
        except Exception as exc:  # noqa: BLE001 - a corrupt file is skipped, named, not fatal
            log.warning("skipping unreadable result file %s: %s", path, exc)
            continue
        missing = [k for k in REQUIRED_FACTS if k not in facts]
        if missing:
            log.warning("skipping result file %s: its facts lack %s", path, ", ".join(missing))
            continue
        if RunKey(str(facts["label"]), facts["seed"]).path(folder) != path:
            log.warning("skipping result file %s: it holds run %r seed %r (a foreign or "
                        "duplicate file)", path, facts["label"], facts["seed"])
            continue
        if planned is not None and (facts["label"], facts["seed"]) not in planned:
            log.warning("skipping result file %s: run %r seed %r is not part of the experiment "
                        "in %s", path, facts["label"], facts["seed"], folder / SAVED)
            continue
        expected = planned.get((facts["label"], facts["seed"])) if planned is not None else None
        why = other_run(facts, expected) if expected is not None else None
        if why:
            log.warning("skipping result file %s: a run of another experiment than the one in "
                        "%s (%s)", path, folder / SAVED, why)
            continue
        yield path, arrays, facts


#: (label, seed) of each run of a folder's experiment -> the facts its run file must hold
#: (None: not known), or None: the folder names no experiment.
Planned = dict[tuple[str, int], dict[str, Any] | None] | None


def _planned(saved: SavedExperiment | None) -> Planned:
    """Every run of the folder's experiment, with its expected facts where the experiment is
    valid today; None if it names none."""
    if saved is None:
        return None
    if saved.experiment is not None:
        try:
            return dict(expected_facts(saved.experiment))
        except (ValueError, TypeError, ImportError):   # an optimizer not importable here
            pass
    seeds, labels = saved.seeds, saved.labels
    if seeds is None or labels is None:
        return None
    return {(label, s): None for label in labels for s in seeds}


def planned_count(folder: str | Path) -> int | None:
    """How many runs the folder's experiment has (None: it names none)."""
    planned = _planned(read_saved(folder))
    return None if planned is None else len(planned)


def failed_runs(folder: str | Path) -> list[Path]:
    """The tracebacks of runs that failed and have not been redone."""
    return sorted((Path(folder) / RUNS).glob("*/seed-*.failed.txt"))


def error_line(traceback: str) -> str:
    """The line of a traceback that names the error (its last non-empty line)."""
    lines = [line.strip() for line in traceback.splitlines() if line.strip()]
    return lines[-1] if lines else "(empty traceback)"


def _failures(folder: Path, planned: Planned, done: set[tuple[str, int]]
              ) -> dict[str, dict[int, str]]:
    """Per label, seed -> the error line of each failed run of the experiment that has no run
    file (a redone run removes its traceback; one left beside a run file is stale)."""
    out: dict[str, dict[int, str]] = {}
    for path in failed_runs(folder):
        try:
            seed = int(path.name.removeprefix("seed-").removesuffix(".failed.txt"))
            text = path.read_text(errors="replace")
        except (ValueError, OSError):
            continue
        key = (path.parent.name, seed)
        if key in done or (planned is not None and key not in planned):
            continue
        out.setdefault(key[0], {})[seed] = error_line(text)
    return {label: dict(sorted(seeds.items())) for label, seeds in sorted(out.items())}


def read_overhead(path: Path, events: int) -> np.ndarray | None:
    """The optimizer overhead beside the run file at ``path`` (cumulative seconds per event), or
    None when it is missing (runs made before it was recorded) or does not fit the run file."""
    side = path.with_name(path.name.replace(".npz", ".overhead.npy"))
    try:
        overhead = np.load(side, allow_pickle=False)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable overhead file %s: %s", side, exc)
        return None
    if overhead.shape != (events,):
        log.warning("ignoring overhead file %s: %d values for %d events", side, overhead.size,
                    events)
        return None
    return overhead


@dataclass(frozen=True)
class Loaded:
    """A results folder read in one pass (each run file once)."""

    facts: list[dict[str, Any]]
    events: pd.DataFrame         #: see :func:`load_events`
    trajectories: pd.DataFrame   #: see :func:`load_trajectories`
    #: label -> seed -> the error line of each run that failed (and was not redone)
    failures: dict[str, dict[int, str]] = field(default_factory=dict)


EVENT_FRAME = ["optimizer", "seed", *COLUMNS, "overhead"]
TRAJECTORY_FRAME = ["optimizer", "seed", "time", "evaluation", "incumbent_validation_error",
                    "incumbent_test_error", "validation_regret", "test_regret"]


def load(folder: str | Path, mode: str | None = None) -> Loaded:
    """Facts, events and trajectories of every usable run file of ``folder``; ``mode`` as
    :func:`trajectory`, by default the folder's ``budget.trajectory`` (else each run's own)."""
    facts_list, events, trajectories = [], [], []
    saved = read_saved(folder)
    mode = mode or (saved.trajectory if saved else None)
    planned = _planned(saved)
    for path, arrays, facts in _readable_runs(Path(folder), planned):
        ident = {"optimizer": facts["label"], "seed": facts["seed"]}
        df = pd.DataFrame({c: arrays[c] for c in COLUMNS})
        df["hash"] = df["hash"].str.decode("ascii")
        overhead = read_overhead(path, len(df))
        df["overhead"] = np.nan if overhead is None else overhead
        events.append(df.assign(**ident)[EVENT_FRAME])
        traj = trajectory(arrays, facts["y_star_valid"], facts["y_star_test"],
                          mode or facts.get("trajectory", "pooled"))
        trajectories.append(traj.assign(**ident)[TRAJECTORY_FRAME])
        facts_list.append(facts)

    def frame(parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)

    done = {(f["label"], f["seed"]) for f in facts_list}
    return Loaded(facts_list, frame(events, EVENT_FRAME), frame(trajectories, TRAJECTORY_FRAME),
                  _failures(Path(folder), planned, done))


def load_events(folder: str | Path) -> pd.DataFrame:
    """Every evaluation of every run: optimizer, seed, trial, worker, budget, hash, start, end,
    validation_error, test_error, cost, invalid, and overhead (the optimizer's wall seconds in
    ask and tell so far; NaN where not recorded)."""
    return load(folder).events


def trajectory(arrays: dict[str, np.ndarray], y_star_valid: float, y_star_test: float,
               mode: str = "pooled") -> pd.DataFrame:
    """Incumbent (lowest validation error so far) after each completed evaluation.

    ``pooled``: over all budgets (the paper); ``highest_budget``: among evaluations at the
    highest budget seen so far (HPOBench).  Ties keep the earlier incumbent.  Invalid
    configurations (penalty loss, no training) never become the incumbent; before the first
    valid evaluation the incumbent is NaN.
    """
    if mode not in TRAJECTORY_MODES:
        raise ValueError(f"trajectory mode must be one of {list(TRAJECTORY_MODES)}, got {mode!r}")
    val = np.where(arrays["invalid"], np.inf, arrays["validation_error"])
    test, budget = arrays["test_error"], arrays["budget"]
    n = val.size
    if mode == "pooled":
        best = np.minimum.accumulate(val) if n else val
        previous = np.concatenate([[np.inf], best[:-1]]) if n else val
        where = np.maximum.accumulate(np.where(val < previous, np.arange(n), 0)) if n else \
            np.zeros(0, int)
        seen = np.isfinite(best)
        return _frame(arrays["end"], np.where(seen, val[where], np.nan),
                      np.where(seen, test[where], np.nan), y_star_valid, y_star_test)
    inc_val = np.empty(n)
    inc_test = np.empty(n)
    top = -1
    per_budget: dict[int, tuple[float, float]] = {}
    for i in range(n):
        b = int(budget[i])
        if val[i] < per_budget.get(b, (np.inf, np.nan))[0]:
            per_budget[b] = (val[i], test[i])
        top = max(top, b)
        inc_val[i], inc_test[i] = per_budget.get(top, (np.nan, np.nan))
    return _frame(arrays["end"], inc_val, inc_test, y_star_valid, y_star_test)


def _frame(end, inc_val, inc_test, y_star_valid, y_star_test) -> pd.DataFrame:
    return pd.DataFrame({"time": end, "evaluation": np.arange(1, len(end) + 1),
                         "incumbent_validation_error": inc_val, "incumbent_test_error": inc_test,
                         "validation_regret": inc_val - y_star_valid,
                         "test_regret": inc_test - y_star_test})


def load_trajectories(folder: str | Path, mode: str | None = None) -> pd.DataFrame:
    """Per run and evaluation: time, incumbent errors, validation and test regret."""
    return load(folder, mode).trajectories


def load_facts(folder: str | Path) -> list[dict[str, Any]]:
    return load(folder).facts
