"""Experiment files: YAML validated strictly (pydantic) before anything runs.

Every error is one line ``FILE:LINE: KEY.PATH: message``; unknown keys, wrong types, impossible
values, unknown optimizers and missing data files are all caught here, so a run never starts on a
file that would fail later.
"""
from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import logging
import math
import reprlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from benchmark.errors import UserError
from benchmark.fileutil import atomic_write_text, read_bounded
from benchmark.policies import AbsentPolicy, CellsPolicy, CostPolicy, RepeatPolicy

if TYPE_CHECKING:
    from optimizers import Optimizer

#: Limits on what an experiment file may ask for (each error message names its limit).
MAX_TIME = 1e9            # simulated seconds per run (~32 years; the paper's plots end at 1e7)
MAX_SEEDS = 100_000       # seeds per experiment
MAX_SEED = 2**63 - 1
MAX_YAML_NODES = 100_000  # values in the file, counted with aliases expanded
MAX_YAML_DEPTH = 64       # levels of nesting
MAX_FILE_BYTES = 4 << 20  # bytes of an experiment file
MAX_GRID = 1_000          # optimizers one grid entry expands into

#: Settings added after results folders existed, left out of the identity at their default.
ADDED_LATER = {("benchmark", "absent"): "error", ("benchmark", "cells"): "all",
               ("benchmark", "max_vertices"): 7}
#: Settings that change only how runs execute, not what they compute: left out of the identity.
NOT_DEFINING = (("budget", "ask_timeout"),)
#: Settings that change only how results are read: hashed at these fixed values, so changing
#: them keeps a folder's identity (and folders made when they counted keep theirs at defaults).
READ_ONLY = {("budget", "trajectory"): "pooled"}


class ExperimentError(UserError, ValueError):
    """A bad experiment file (one line naming file, line and key)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_numbers(cls, v, info):
        """``true`` is not a number (pydantic would read it as 1 for a float field, and as the
        choice 1 of a ``Literal`` with numbers, e.g. ``benchmark.repeat``)."""
        annotation = cls.model_fields[info.field_name].annotation
        numeric_choices = any(isinstance(c, int) and not isinstance(c, bool)
                              for c in get_args(annotation))
        if ("float" in str(annotation) or numeric_choices) and any(
                isinstance(x, bool) for x in (v if isinstance(v, list) else [v])):
            raise ValueError(f"must be a number, got {v}" if not numeric_choices
                             else f"must not be true or false, got {v}")
        return v


class LiveConfig(_Strict):
    """How ``nasbench101-live`` trains (the paper's pipeline unless changed here)."""

    epochs: list[Annotated[int, Field(gt=0, strict=True)]] = Field(
        [4, 12, 36, 108], min_length=1, description="the budgets (fidelities), in epochs")
    tiny: bool = Field(False, description="the tiny CPU network (16 channels, 1 cell/stack)")
    train_images: int | None = Field(None, ge=1, strict=True, description="None: all 40,000")
    eval_images: int | None = Field(None, ge=1, strict=True,
                                    description="per evaluated split; None: 10,000")
    mixed_precision: bool = False
    xla: bool = True
    steps_per_execution: int = Field(1, ge=1, strict=True)
    device: Literal["cpu", "gpu", "tpu"] | None = None
    data_parallel: bool = Field(False, description="split batches over a worker's devices")
    gpus_per_worker: float | None = Field(None, ge=0, allow_inf_nan=False,
                                          description="None: 1 if there are GPUs")

    @field_validator("epochs")
    @classmethod
    def _rising(cls, v):
        if sorted(set(v)) != v:
            raise ValueError("epochs must rise without repeats, e.g. [4, 12, 36, 108]")
        return v

    def train_config(self):
        """The trainer's ``TrainConfig`` (imports the trainer: only where training happens)."""
        from trainer.config import TrainConfig

        base = TrainConfig.tiny() if self.tiny else TrainConfig()
        changes = {k: getattr(self, k) for k in ("train_images", "eval_images")
                   if getattr(self, k) is not None}
        return base.replace(mixed_precision=self.mixed_precision, xla=self.xla,
                            steps_per_execution=self.steps_per_execution, device=self.device,
                            data_parallel=self.data_parallel, **changes)


class BenchmarkConfig(_Strict):
    name: Literal["surrogate", "nasbench101", "nasbench101-live"] = "surrogate"
    data: str | None = Field(None, description="store directory or .tfrecord (nasbench101); "
                             "CIFAR-10 tarball or folder (nasbench101-live)")
    table_seed: int = Field(0, ge=0, le=MAX_SEED, strict=True,
                            description="which draw of the surrogate table")
    encoding: Literal["A", "B", "C"] = "A"
    repeat: RepeatPolicy = "sample"
    cost: CostPolicy = "one"
    invalid: Literal["penalty", "resample"] = "penalty"
    absent: AbsentPolicy = Field(
        "error", description="a valid cell a partial store lacks: an error, or treated as "
        "invalid (with invalid: resample, runs evaluate only the store's cells)")
    cells: CellsPolicy = Field(
        "all", description="the encoding's space, or one categorical over the store's cells "
        "(what a partial store from build-table --sample can be searched with)")
    live: LiveConfig | None = Field(None, description="training settings (nasbench101-live)")
    max_vertices: int = Field(7, strict=True, description="7: the whole space; 6: "
                              "NAS-Bench-Mini (the paper's Figure 8), encoding A over 6 vertices")

    @field_validator("max_vertices")
    @classmethod
    def _vertices(cls, v):
        if not 2 <= v <= 7:
            raise ValueError(f"max_vertices must be from 2 to 7 (6: NAS-Bench-Mini), got {v}")
        return v

    @property
    def is_live(self) -> bool:
        return self.name == "nasbench101-live"

    @property
    def live_settings(self) -> LiveConfig:
        """``live``, or the paper's pipeline when it is not given."""
        return self.live or LiveConfig()

    @model_validator(mode="after")
    def _data_present(self):
        if self.name in ("nasbench101", "nasbench101-live"):
            if not self.data:
                what = ("a CIFAR-10 tarball or folder" if self.is_live
                        else "a store directory or .tfrecord")
                raise ValueError(f"{self.name} needs 'data': {what}")
        elif self.data is not None:
            raise ValueError("'data' is only for nasbench101 (the surrogate table is built in)")
        if self.live is not None and not self.is_live:
            raise ValueError("'live' is only for nasbench101-live")
        if self.is_live and (self.absent, self.cells) != ("error", "all"):
            raise ValueError("'absent' and 'cells' are for tables, not nasbench101-live")
        if self.max_vertices != 7 and (self.encoding != "A" or self.cells != "all"
                                       or self.is_live):
            raise ValueError(f"max_vertices {self.max_vertices} restricts encoding A of a "
                             "table (cells: all), not this benchmark")
        return self


#: How a run's incumbent is chosen (see :func:`harness.results.trajectory`).
TrajectoryMode = Literal["pooled", "highest_budget"]
TRAJECTORY_MODES: tuple[str, ...] = get_args(TrajectoryMode)


class BudgetConfig(_Strict):
    time: float = Field(..., gt=0, le=MAX_TIME, allow_inf_nan=False,
                        description="simulated seconds per run")
    workers: int = Field(1, ge=1, le=4096, strict=True)
    charge_optimizer_time: bool = Field(False, strict=True)
    max_evaluations: int | None = Field(None, ge=1, strict=True)
    trajectory: TrajectoryMode = "pooled"
    ask_timeout: float = Field(600.0, gt=0, le=MAX_TIME, allow_inf_nan=False,
                               description="wall seconds one ask or tell of an optimizer may "
                               "take; one that does not return in time fails its run")


class OptimizerConfig(_Strict):
    name: str
    label: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    grid: dict[str, list[Any]] | None = Field(
        None, description="values per parameter: one optimizer per combination, labelled "
        "KEY@param=value,...")

    @property
    def key(self) -> str:
        return self.label or self.name

    def members(self) -> list[OptimizerConfig]:
        """This entry, or the optimizers its grid expands into (in ``itertools.product``
        order), each with its own label and its grid values added to ``params``."""
        if self.grid is None:
            return [self]
        return [OptimizerConfig(name=self.name, label=label, params={**self.params, **values})
                for label, values in self.varied().items()]

    def varied(self) -> dict[str, dict[str, Any]]:
        """Label of each grid member -> its grid values (empty without a grid)."""
        names = list(self.grid or {})
        return {grid_label(self.key, dict(zip(names, v))): dict(zip(names, v))
                for v in itertools.product(*self.grid.values())} if self.grid else {}

    @field_validator("label")
    @classmethod
    def _label_is_a_name(cls, v):
        if v is not None and (not v or any(c in v for c in "/\\\0") or v.startswith(".")):
            raise ValueError(f"label {v!r} must be usable as a folder name")
        return v

    @field_validator("grid")
    @classmethod
    def _grid(cls, grid, info):
        if grid is None:
            return grid
        if not grid:
            raise ValueError("grid names no parameter")
        for name, values in grid.items():
            if not values:
                raise ValueError(f"grid.{name} is an empty list")
            if name in info.data.get("params", {}):
                raise ValueError(f"{name} is given both in params and in grid")
            shown = [_value_text(x) for x in values]
            twice = sorted({x for x in shown if shown.count(x) > 1})
            if twice:
                raise ValueError(f"grid.{name} lists {twice[0]} twice")
            bad = [x for x in shown if any(c in x for c in "/\\\0")]
            if bad:
                raise ValueError(f"grid.{name}: {bad[0]!r} cannot be part of a folder name")
        combinations = math.prod(len(v) for v in grid.values())
        if combinations > MAX_GRID:
            raise ValueError(f"grid expands into {combinations:,} optimizers, more than "
                             f"{MAX_GRID:,}")
        return grid


def grid_label(key: str, varied: dict[str, Any]) -> str:
    """The label of a grid member: ``KEY@param=value,...`` (a float as short as it reads back)."""
    return key + "@" + ",".join(f"{k}={_value_text(v)}" for k, v in varied.items())


def _value_text(value: Any) -> str:
    if isinstance(value, float) and float(f"{value:g}") == value:
        return f"{value:g}"
    return str(value)


class ExecutionConfig(_Strict):
    backend: Literal["ray", "local"] = "ray"
    address: str | None = Field(None, description="None: a local Ray; 'auto' or ray://host:port")
    cpus: int | None = Field(None, ge=1, strict=True)
    max_retries: int = Field(2, ge=0, le=100, strict=True)


class ReportConfig(_Strict):
    enabled: bool = Field(True, strict=True)
    times: list[Annotated[float, Field(gt=0, allow_inf_nan=False)]] | None = None
    aggregate: Literal["mean", "median", "iqm"] = "mean"
    baseline: str | None = Field(None, description="what each optimizer is tested against "
                                 "(default: random_search, when the experiment has it)")
    pairs: Literal["baseline", "all"] = Field("baseline", description="'all': every ordered "
                                              "pair instead, one-sided")

    def options(self) -> dict[str, Any]:
        """The keyword arguments of :func:`harness.report.report` these settings give."""
        return {"times": self.times, "aggregate": self.aggregate, "baseline": self.baseline,
                "all_pairs": self.pairs == "all"}


class Experiment(_Strict):
    name: str = "experiment"
    benchmark: BenchmarkConfig = BenchmarkConfig()
    budget: BudgetConfig
    seeds: Annotated[int, Field(strict=True)] | list[
        Annotated[int, Field(ge=0, le=MAX_SEED, strict=True)]] = Field(10)
    optimizers: list[OptimizerConfig] = Field(..., min_length=1)
    execution: ExecutionConfig = ExecutionConfig()
    output: str = Field("results/experiment", min_length=1)
    report: ReportConfig = ReportConfig()

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, v):
        if isinstance(v, int):
            if not 1 <= v <= MAX_SEEDS:
                raise ValueError(f"seeds must be a count from 1 to {MAX_SEEDS:,} or a list of "
                                 f"seeds, got {v}")
            return v
        if not v or len(set(v)) != len(v):
            raise ValueError("seeds must be a non-empty list without duplicates")
        if len(v) > MAX_SEEDS:
            raise ValueError(f"seeds must be at most {MAX_SEEDS:,}, got {len(v):,}")
        return v

    @model_validator(mode="after")
    def _unique_labels(self):
        keys = [o.key for o in self.optimizer_list()]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"optimizer {dupes[0]!r} appears twice; give each a distinct label")
        if self.report.baseline is not None and self.report.baseline not in keys:
            raise ValueError(f"report.baseline {self.report.baseline!r} is not one of the "
                             f"optimizers ({', '.join(keys)})")
        return self

    @property
    def seed_list(self) -> list[int]:
        return list(range(self.seeds)) if isinstance(self.seeds, int) else list(self.seeds)

    def optimizer_list(self) -> list[OptimizerConfig]:
        """The optimizers the runs are made with: each entry, its grid expanded."""
        return [m for o in self.optimizers for m in o.members()]

    def runs(self) -> list[tuple[OptimizerConfig, int]]:
        """Every planned run: (optimizer, seed), optimizer by optimizer."""
        return [(o, seed) for o in self.optimizer_list() for seed in self.seed_list]

    def identity(self, seeds: list[int] | None = None) -> str:
        """Hash of what defines the runs; a results folder is resumed only by an experiment
        with the same identity.

        Defining: ``benchmark`` (table, encoding, repeat, cost, invalid, absent, cells, live
        settings), ``budget.time``, ``budget.workers``, ``budget.charge_optimizer_time``,
        ``budget.max_evaluations``, each optimizer's name, label and params (a grid counted
        as the optimizers it expands into; a parameter whose default changed counted at its
        default when left out: a folder made with the former default is refused, not mixed),
        the experiment's ``name``, and for the surrogate the version of the table's artifact
        from version 2 on (a folder of the version-1 table is refused).  Not defining: the
        seeds (each run is one seed, so more seeds add runs to a folder; before they were part
        of it, see ``seeds``), and what only changes where runs execute or how results are
        read: ``output``, ``execution``, ``report``, ``budget.trajectory`` and
        ``budget.ask_timeout``.

        Args:
            seeds: the identity as folders made before seeds were left out have it, with
                this seed list in it.
        """
        return self._identity(former=False, seeds=seeds)

    def _identity(self, former: bool, seeds: list[int] | None = None,
                  table_version: bool = True) -> str:
        core = self.model_dump(mode="json", exclude={"output", "execution", "report", "seeds"})
        core["optimizers"] = [_optimizer_identity(o, former) for o in self.optimizer_list()]
        version = table_version and surrogate_version(self.benchmark)
        if version:
            core["benchmark"]["table_version"] = version
        if seeds is not None:
            core["seeds"] = list(seeds)
        for section, key in NOT_DEFINING:
            del core[section][key]
        for (section, key), value in READ_ONLY.items():
            core[section][key] = value
        for (section, key), default in ADDED_LATER.items():  # older folders keep their identity
            if core[section].get(key) == default:
                del core[section][key]
        return hashlib.sha256(json.dumps(core, sort_keys=True).encode()).hexdigest()

    def refusal_note(self, previous: str | None, seeds: list[int]) -> str:
        """Why a folder with identity ``previous``, made before this version (so with its
        ``seeds`` in its identity), is refused: its runs were made on the version-1 surrogate
        table, or with the optimizers' former defaults (see
        :data:`optimizers.settings.FORMER_DEFAULTS`); else ''."""
        if previous is None or previous != self._identity(former=True, seeds=seeds,
                                                          table_version=False):
            return ""
        from optimizers.settings import FORMER_DEFAULTS

        version = surrogate_version(self.benchmark)
        if version:
            return (" (its runs were made on the version-1 surrogate table; this version draws "
                    f"the table from version {version}, whose values differ)")
        changed = {o.name for o in self.optimizer_list()} & set(FORMER_DEFAULTS)
        give = "; ".join(f"{name}: {FORMER_DEFAULTS[name]}" for name in sorted(changed))
        return (f" (its runs used the former defaults of {', '.join(sorted(changed))}, which "
                "are now the paper's settings; to add to them, give the former values as "
                f"params: {give})")


#: A results folder's copy of the experiment its runs were made from.
SAVED = "experiment.yaml"


def save_experiment(experiment: Experiment, folder: Path, seeds: int | list[int]) -> None:
    """Write ``experiment`` into the results folder (atomically), with ``seeds`` as the seeds
    (every seed the folder holds runs for)."""
    atomic_write_text(folder / SAVED, yaml.safe_dump(
        {**experiment.model_dump(mode="json"), "seeds": seeds}, sort_keys=False))


@dataclass(frozen=True)
class SavedExperiment:
    """A results folder's ``experiment.yaml`` read back: the mapping as saved, and the
    :class:`Experiment` it still is (None where it no longer validates, e.g. written by an older
    version: then each setting is read on its own, and one that is unusable is left out)."""

    data: dict[str, Any]
    experiment: Experiment | None

    @property
    def seeds(self) -> list[int] | None:
        """Every seed the folder holds runs for (None: not readable)."""
        if self.experiment is not None:
            return self.experiment.seed_list
        seeds = self.data.get("seeds")
        if isinstance(seeds, int) and not isinstance(seeds, bool):
            return list(range(seeds))
        if isinstance(seeds, list) and all(isinstance(s, int) for s in seeds):
            return seeds
        return None

    @property
    def labels(self) -> list[str] | None:
        """The key (label or name) of each optimizer (None: not readable)."""
        if self.experiment is not None:
            return [o.key for o in self.experiment.optimizer_list()]
        try:
            return [o.get("label") or o["name"] for o in self.data["optimizers"]]
        except (KeyError, TypeError, AttributeError):
            return None

    @property
    def trajectory(self) -> str | None:
        """``budget.trajectory`` (None: not readable)."""
        if self.experiment is not None:
            return self.experiment.budget.trajectory
        budget = self.data.get("budget")
        mode = budget.get("trajectory") if isinstance(budget, dict) else None
        return mode if mode in TRAJECTORY_MODES else None

    @property
    def report(self) -> ReportConfig:
        """The ``report`` settings (each unreadable one at its default)."""
        if self.experiment is not None:
            return self.experiment.report
        section = self.data.get("report")
        usable = {}
        for key, value in (section.items() if isinstance(section, dict) else ()):
            with contextlib.suppress(ValueError, TypeError):
                usable[key] = getattr(ReportConfig.model_validate({key: value}), key)
        return ReportConfig.model_validate(usable)


#: saved experiments already warned about (one command reads a folder's several times)
_WARNED: set[Path] = set()


def _warn_once(path: Path, message: str, *args: object) -> None:
    if path not in _WARNED:
        _WARNED.add(path)
        logging.getLogger(__name__).warning(message, path, *args)


def read_saved(folder: str | Path) -> SavedExperiment | None:
    """The experiment saved in a results folder (None: it has none, or it cannot be read)."""
    path = Path(folder) / SAVED
    try:
        data = yaml.safe_load(path.read_text())
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        _warn_once(path, "%s cannot be read (%s): the folder's runs are read without their "
                   "plan", getattr(exc, "strerror", None) or type(exc).__name__)
        return None
    if not isinstance(data, dict):
        _warn_once(path, "%s is not an experiment: the folder's runs are read without their "
                   "plan")
        return None
    try:
        experiment = Experiment.model_validate(data)
    except (ValueError, TypeError):   # not valid as an experiment now
        experiment = None
    return SavedExperiment(data, experiment)


def surrogate_version(bench: BenchmarkConfig) -> int | None:
    """The surrogate's artifact version, from 2 on (a surrogate run's identity holds it;
    version-1 folders were hashed without it); None for other tables."""
    if bench.name != "surrogate":
        return None
    from benchmark.surrogate.artifact import ARTIFACT_VERSION

    return ARTIFACT_VERSION if ARTIFACT_VERSION > 1 else None


def _optimizer_identity(optimizer: OptimizerConfig, former: bool) -> dict[str, Any]:
    """What of an optimizer defines its runs: name, label and params, plus the current default
    of each parameter whose default changed (:data:`optimizers.settings.FORMER_DEFAULTS`) that
    the params leave out, so that a folder made with the former default is not resumed with
    the new one; settings of speed only (``Param.speed_only``) left out.  ``former``: the
    identity as it was computed before the change."""
    from optimizers import get_optimizer
    from optimizers.registry import BUILTIN
    from optimizers.settings import FORMER_DEFAULTS

    params = get_optimizer(optimizer.name).defining_params(dict(optimizer.params))
    if not former and optimizer.name in BUILTIN and optimizer.name in FORMER_DEFAULTS:
        defaults = get_optimizer(optimizer.name).params
        params = {**{k: defaults[k].default for k in FORMER_DEFAULTS[optimizer.name]}, **params}
    return {"name": optimizer.name, "label": optimizer.label, "params": params}


def load_experiment(path: str | Path, overrides: dict[str, Any] | None = None) -> Experiment:
    """Read and validate an experiment file.

    Args:
        path: the YAML file.
        overrides: top-level keys replaced from the command line (e.g. ``seeds``).

    Returns:
        The :class:`Experiment`, its optimizers' names, settings and encodings checked.

    Raises:
        ExperimentError: one line naming file, line and key (or the command-line flag, for a
            bad value in ``overrides``).
    """
    path = Path(path)
    text, node = _compose(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:  # composed, but not constructible (e.g. a python/ tag)
        raise ExperimentError(_yaml_error(path, exc)) from None
    if not isinstance(data, dict):
        raise ExperimentError(f"{path}:1: an experiment is a mapping of keys (benchmark, budget, "
                              "seeds, optimizers, ...)")
    overrides = overrides or {}
    try:
        experiment = Experiment.model_validate({**data, **overrides})
    except ValidationError as exc:
        errors = exc.errors()   # an unknown key first: 'budgets:' explains a missing 'budget:'
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith(("int", "list[",
                                                                                    "literal")))]
        key = ".".join(str(p) for p in loc) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        if loc and loc[0] in overrides:
            raise ExperimentError(f"--{loc[0]} {reprlib.repr(overrides[loc[0]])}: {msg}") from None
        raise ExperimentError(f"{path}:{_line_of(node, loc)}: {key}: {msg}") from None
    _check_optimizers(experiment, path, node)
    return experiment


def _compose(path: Path) -> tuple[str, yaml.Node | None]:
    """The file's text and YAML node tree, checked: UTF-8, valid YAML, no duplicate keys,
    bounded depth and size (aliases counted expanded: an alias bomb is refused unexpanded)."""
    try:
        text = read_bounded(path, MAX_FILE_BYTES).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ExperimentError(f"{path}: not UTF-8 text (byte {exc.start}: "
                              f"{exc.object[exc.start:exc.start + 1]!r})") from None
    except ValueError as exc:   # not a regular file, or too large
        raise ExperimentError(f"{path}: {exc}; an experiment is a YAML file") from None
    except OSError as exc:
        raise ExperimentError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:
        raise ExperimentError(f"{path}: nested deeper than {MAX_YAML_DEPTH} levels") from None
    except yaml.YAMLError as exc:
        raise ExperimentError(_yaml_error(path, exc)) from None
    if node is not None:
        _check_tree(node, path)
    return text, node


def _yaml_error(path: Path, exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f"{path}:{mark.line + 1}" if mark else str(path)
    return f"{where}: invalid YAML: {getattr(exc, 'problem', None) or exc}"


def _check_tree(root: yaml.Node, path: Path) -> None:
    """Duplicate keys, depth and expanded size of a composed tree, without recursion."""
    size: dict[int, int] = {}        # id(node) -> values below it, aliases expanded
    stack = [(root, 1, False)]
    open_nodes: set[int] = set()
    while stack:
        node, depth, done = stack.pop()
        children = _children(node)
        if done:
            open_nodes.discard(id(node))
            size[id(node)] = 1 + sum(size[id(c)] for c in children)
            if size[id(node)] > MAX_YAML_NODES:
                raise ExperimentError(f"{path}:{node.start_mark.line + 1}: more than "
                                      f"{MAX_YAML_NODES:,} values (aliases expanded)")
            continue
        if id(node) in size:
            continue
        if id(node) in open_nodes:
            raise ExperimentError(f"{path}:{node.start_mark.line + 1}: a recursive alias")
        if depth > MAX_YAML_DEPTH:
            raise ExperimentError(f"{path}:{node.start_mark.line + 1}: nested deeper than "
                                  f"{MAX_YAML_DEPTH} levels")
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key in (k for k, _ in node.value if isinstance(k, yaml.ScalarNode)):
                line = key.start_mark.line + 1
                if key.value in seen:
                    raise ExperimentError(f"{path}:{line}: key {key.value!r} repeats the one on "
                                          f"line {seen[key.value]}")
                seen[key.value] = line
        open_nodes.add(id(node))
        stack.append((node, depth, True))
        stack.extend((c, depth + 1, False) for c in children)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_optimizers(experiment: Experiment, path: Path, node) -> None:
    """Optimizer names, hyperparameters and encoding support, before anything runs."""
    from optimizers import get_optimizer

    for i, opt in enumerate(experiment.optimizers):
        where = f"{path}:{_line_of(node, ['optimizers', i])}: optimizers.{i}"
        try:
            cls = get_optimizer(opt.name)
        except ValueError as exc:
            raise ExperimentError(f"{where}: {exc}") from None
        _check_grid(cls, opt, i, path, node)
        try:
            for member in opt.members():
                cls.resolve(member.params)
            bench = experiment.benchmark   # cells: store is one categorical, as encoding A
            check_encoding(cls, "A" if bench.cells == "store" else bench.encoding,
                           bench.max_vertices)
        except ValueError as exc:
            raise ExperimentError(f"{where}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - a plug-in's own params or resolve() failed
            raise ExperimentError(f"{where}: {opt.name}: checking its hyperparameters failed "
                                  f"({type(exc).__name__}: {exc})") from None


def check_encoding(cls: type[Optimizer], encoding: str, max_vertices: int = 7) -> None:
    """Whether optimizer class ``cls`` can search an encoding (its :meth:`Optimizer.check_space`
    on the encoding's space: the one statement of which optimizer fits which encoding).

    Raises:
        ValueError: it cannot, in one line naming what it needs.
    """
    from benchmark.objectives import get_encoding

    cls.check_space(get_encoding(encoding, max_vertices).config_space())


def _check_grid(cls, opt: OptimizerConfig, i: int, path: Path, node) -> None:
    """Each grid value with the entry's params, so that an error names its line and value."""
    for name, values in (opt.grid or {}).items():
        for j, value in enumerate(values):
            try:
                cls.resolve({**opt.params, name: value})
            except ValueError as exc:
                where = _line_of(node, ["optimizers", i, "grid", name, j])
                raise ExperimentError(f"{path}:{where}: optimizers.{i}.grid.{name}: "
                                      f"{exc}") from None


def line_of(path: Path, loc: list) -> int:
    """1-based line of key ``loc`` in the experiment file ``path`` (1 if it cannot be read)."""
    try:
        return _line_of(_compose(Path(path))[1], loc)
    except ExperimentError:
        return 1


def _line_of(node, loc: list) -> int:
    """1-based line of the deepest node along ``loc`` in the composed YAML tree."""
    line = node.start_mark.line + 1 if node is not None else 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = [(k, v) for k, v in node.value if k.value == str(part)]
            if not match:
                return line
            key, node = match[0]
            line = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) \
                and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line
