"""How a table answers a query: the objective's policies, each stated once (the objective checks
them, the harness's experiment file offers them)."""
from __future__ import annotations

from typing import Any, Literal, get_args

from .errors import InputError

#: Which of a cell's 3 training runs an evaluation reads: one drawn per call, their mean, or a
#: fixed one.
RepeatPolicy = Literal["sample", "mean", 0, 1, 2]
#: The cost of an evaluation: one run's training time (nas_benchmarks) or the 3 runs' sum
#: (HPOBench).
CostPolicy = Literal["one", "sum"]
#: A valid cell that a partial store lacks: an error, or treated as invalid.
AbsentPolicy = Literal["error", "invalid"]
#: The space searched: the encoding's, or one categorical over the store's cells.
CellsPolicy = Literal["all", "store"]


def check_policy(name: str, value: Any, policy: Any) -> None:
    """Raises :class:`InputError` unless ``value`` is one of ``policy``'s values (a bool is not
    the repeat 0 or 1)."""
    allowed = get_args(policy)
    if value not in allowed or isinstance(value, bool):
        raise InputError(f"{name} policy must be one of {list(allowed)}, got {value!r}")
