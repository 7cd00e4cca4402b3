"""Experiment files: YAML validated strictly (pydantic) before anything runs.

Every error is one line ``FILE:LINE: KEY.PATH: message``; unknown keys, wrong types, impossible
values, unknown optimizers and missing data files are all caught here, so a run never starts on a
file that would fail later.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (BaseModel, ConfigDict, Field, ValidationError, field_validator,
                      model_validator)


#: Settings added after results folders existed, left out of the identity at their default.
ADDED_LATER = {("benchmark", "absent"): "error"}


class ExperimentError(ValueError):
    """A bad experiment file (one line naming file, line and key)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LiveConfig(_Strict):
    """How ``nasbench101-live`` trains (the paper's pipeline unless changed here)."""

    epochs: list[Annotated[int, Field(gt=0)]] = Field(
        [4, 12, 36, 108], min_length=1, description="the budgets (fidelities), in epochs")
    tiny: bool = Field(False, description="the tiny CPU network (16 channels, 1 cell/stack)")
    train_images: int | None = Field(None, ge=1, description="None: all 40,000")
    eval_images: int | None = Field(None, ge=1, description="per evaluated split; None: 10,000")
    mixed_precision: bool = False
    xla: bool = True
    steps_per_execution: int = Field(1, ge=1)
    device: Literal["cpu", "gpu", "tpu"] | None = None
    data_parallel: bool = Field(False, description="split batches over a worker's devices")
    gpus_per_worker: float | None = Field(None, ge=0, description="None: 1 if there are GPUs")

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
    table_seed: int = Field(0, ge=0, description="which draw of the surrogate table")
    encoding: Literal["A", "B", "C"] = "A"
    repeat: Literal["sample", "mean", 0, 1, 2] = "sample"
    cost: Literal["one", "sum"] = "one"
    invalid: Literal["penalty", "resample"] = "penalty"
    absent: Literal["error", "invalid"] = Field(
        "error", description="a valid cell a partial store lacks: an error, or treated as "
        "invalid (with invalid: resample, runs evaluate only the store's cells)")
    live: LiveConfig | None = Field(None, description="training settings (nasbench101-live)")

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
            if not Path(self.data).expanduser().exists():
                raise ValueError(f"data file {self.data!r} does not exist")
        elif self.data is not None:
            raise ValueError("'data' is only for nasbench101 (the surrogate table is built in)")
        if self.live is not None and not self.is_live:
            raise ValueError("'live' is only for nasbench101-live")
        return self


class BudgetConfig(_Strict):
    time: float = Field(..., gt=0, description="simulated seconds per run")
    workers: int = Field(1, ge=1, le=4096)
    charge_optimizer_time: bool = False
    max_evaluations: int | None = Field(None, ge=1)
    trajectory: Literal["pooled", "highest_budget"] = "pooled"


class OptimizerConfig(_Strict):
    name: str
    label: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.label or self.name

    @field_validator("label")
    @classmethod
    def _label_is_a_name(cls, v):
        if v is not None and (not v or any(c in v for c in "/\\\0") or v.startswith(".")):
            raise ValueError(f"label {v!r} must be usable as a folder name")
        return v


class ExecutionConfig(_Strict):
    backend: Literal["ray", "local"] = "ray"
    address: str | None = Field(None, description="None: a local Ray; 'auto' or ray://host:port")
    cpus: int | None = Field(None, ge=1)
    max_retries: int = Field(2, ge=0)


class ReportConfig(_Strict):
    enabled: bool = True
    times: list[Annotated[float, Field(gt=0)]] | None = None
    aggregate: Literal["mean", "median", "iqm"] = "mean"


class Experiment(_Strict):
    name: str = "experiment"
    benchmark: BenchmarkConfig = BenchmarkConfig()
    budget: BudgetConfig
    seeds: int | list[Annotated[int, Field(ge=0)]] = Field(10)
    optimizers: list[OptimizerConfig] = Field(..., min_length=1)
    execution: ExecutionConfig = ExecutionConfig()
    output: str = "results/experiment"
    report: ReportConfig = ReportConfig()

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, v):
        if isinstance(v, int):
            if v < 1:
                raise ValueError("seeds must be a positive count or a list of seeds")
            return v
        if not v or len(set(v)) != len(v):
            raise ValueError("seeds must be a non-empty list without duplicates")
        return v

    @model_validator(mode="after")
    def _unique_labels(self):
        keys = [o.key for o in self.optimizers]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"optimizer {dupes[0]!r} appears twice; give each a distinct label")
        return self

    @property
    def seed_list(self) -> list[int]:
        return list(range(self.seeds)) if isinstance(self.seeds, int) else list(self.seeds)

    def identity(self) -> str:
        """Hash of what determines the results (not output, execution or report settings)."""
        core = self.model_dump(mode="json", exclude={"output", "execution", "report"})
        core["seeds"] = self.seed_list
        for (section, key), default in ADDED_LATER.items():  # older folders keep their identity
            if core[section].get(key) == default:
                del core[section][key]
        return hashlib.sha256(json.dumps(core, sort_keys=True).encode()).hexdigest()


def load_experiment(path: str | Path, overrides: dict[str, Any] | None = None) -> Experiment:
    """Read and validate an experiment file; :class:`ExperimentError` names file, line and key."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ExperimentError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ExperimentError(f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise ExperimentError(f"{path}:1: an experiment is a mapping of keys (benchmark, budget, "
                              "seeds, optimizers, ...)")
    data = {**data, **(overrides or {})}
    try:
        experiment = Experiment.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith(("int", "list[",
                                                                                    "literal")))]
        key = ".".join(str(p) for p in loc) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        raise ExperimentError(f"{path}:{_line_of(node, loc)}: {key}: {msg}") from None
    _check_optimizers(experiment, path, node)
    return experiment


def _check_optimizers(experiment: Experiment, path: Path, node) -> None:
    """Optimizer names, hyperparameters and encoding support, before anything runs."""
    from optimizers import get_optimizer

    for i, opt in enumerate(experiment.optimizers):
        try:
            cls = get_optimizer(opt.name)
            cls.resolve(opt.params)
            if cls.requires_categorical and experiment.benchmark.encoding == "C":
                raise ValueError(f"{opt.name} needs a categorical encoding (A or B), not C")
        except ValueError as exc:
            raise ExperimentError(f"{path}:{_line_of(node, ['optimizers', i])}: "
                                  f"optimizers.{i}: {exc}") from None


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
