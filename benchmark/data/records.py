"""The official NAS-Bench-101 record: ``[hash, epochs, adjacency, ops, base64(ModelMetrics)]``."""
from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass

from .proto import EvaluationData, ModelMetrics

#: Per-run metrics the original API exposes, in store order.
RUN_FIELDS: tuple[str, ...] = tuple(
    f"{when}_{what}" for when in ("halfway", "final")
    for what in ("training_time", "train_accuracy", "validation_accuracy", "test_accuracy"))
_EVAL_ATTRS = ("training_time", "train_accuracy", "validation_accuracy", "test_accuracy")


@dataclass(frozen=True)
class Run:
    """One training run of one cell at one budget."""

    module_hash: str
    epochs: int
    adjacency: str          # row-major '0'/'1'
    ops: str                # comma-joined, with input and output
    trainable_parameters: int
    values: tuple[float, ...]   # RUN_FIELDS order
    total_time: float | None = None


class RecordError(ValueError):
    """A payload that is not a NAS-Bench-101 record (the caller adds file and index)."""


def decode(payload: bytes) -> Run:
    """Parse one record payload."""
    try:
        fields = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise RecordError("payload is not a NAS-Bench-101 JSON record") from None
    if (not isinstance(fields, list) or len(fields) != 5 or not isinstance(fields[0], str)
            or type(fields[1]) is not int or not all(isinstance(f, str) for f in fields[2:])):
        raise RecordError("payload is not [hash, epochs, adjacency, ops, metrics]")
    module_hash, epochs, adjacency, ops, raw = fields
    try:
        metrics = ModelMetrics.FromString(base64.b64decode(raw, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise RecordError(f"metrics of {module_hash} are not a ModelMetrics proto: {exc}") from None
    evals = metrics.evaluation_data
    if len(evals) != 3:
        raise RecordError(f"{module_hash} at {epochs} epochs has {len(evals)} evaluations, not 3")
    half, final = evals[1], evals[2]
    values = (half.training_time, half.train_accuracy, half.validation_accuracy,
              half.test_accuracy, final.training_time, final.train_accuracy,
              final.validation_accuracy, final.test_accuracy)
    return Run(module_hash, epochs, adjacency, ops, metrics.trainable_parameters, values,
               metrics.total_time if metrics.HasField("total_time") else None)


def encode(run: Run) -> bytes:
    """The payload of a run, in the official layout (step-0 entry with epoch and time 0)."""
    metrics = ModelMetrics(trainable_parameters=run.trainable_parameters)
    if run.total_time is not None:
        metrics.total_time = run.total_time
    metrics.evaluation_data.append(EvaluationData(current_epoch=0.0, training_time=0.0))
    for k, epoch in enumerate((run.epochs / 2, float(run.epochs))):
        values = run.values[4 * k:4 * k + 4]
        metrics.evaluation_data.append(EvaluationData(
            current_epoch=epoch, **dict(zip(_EVAL_ATTRS, values))))
    raw = base64.b64encode(metrics.SerializeToString()).decode()
    return json.dumps([run.module_hash, run.epochs, run.adjacency, run.ops, raw]).encode()


def adjacency_string(matrix: Sequence[Sequence[int]]) -> str:
    """Row-major '0'/'1' string of a square matrix."""
    return "".join("1" if x else "0" for row in matrix for x in row)
