"""The table as an objective: configuration + budget -> validation error, cost, test error."""
from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, NamedTuple

import ConfigSpace as CS
import numpy as np

from ..api import NASBench
from ..data.store import repeat_mean
from ..errors import CellNotInStoreError, InputError
from ..policies import AbsentPolicy, CellsPolicy, CostPolicy, RepeatPolicy, check_policy
from ..space.constants import MAX_VERTICES, NUM_REPEATS
from .encodings import ConfigError, Encoding, get_encoding
from .lookup import ABSENT, PicklesViews, RawCellIndex

#: The hyperparameter of the ``cells='store'`` space.
STORE_CELL = "cell"

#: Repeat indices drawn from a Generator at a time under the 'sample' policy.
_DRAW_BATCH = 1024


def _flat_view(array: np.ndarray) -> memoryview:
    return np.ascontiguousarray(array).reshape(-1).data


class EvalResult(NamedTuple):
    """One evaluation.  ``test_error`` is the 108-epoch mean over the 3 runs whatever the budget.

    A named tuple: immutable and cheap to make (one per simulated evaluation).
    """

    validation_error: float
    test_error: float
    cost: float
    budget: int
    invalid: bool
    hash: str | None = None
    repeat: int | None = None


class Objective(PicklesViews):
    """An encoding of ``nasbench`` as a ConfigSpace objective with fidelity ``budget`` (epochs).

    ``repeat``: ``'sample'`` a run per call from the caller's Generator, ``'mean'`` of the runs, or
    a fixed run 0/1/2.  ``cost``: ``'one'`` run's training time (nas_benchmarks) or the ``'sum'``
    of the 3 runs (HPOBench).  An invalid cell is a loss of 1 at cost 0 (as the paper; whether
    a run records it is the harness's ``benchmark.invalid``).
    ``absent``: what a valid cell that a partial store lacks is: an ``'error'``
    (:class:`CellNotInStoreError` naming it and the store), or ``'invalid'`` (with the
    harness's ``invalid: resample`` the runs then evaluate only the store's cells).
    ``cells``: ``'all'`` (the encoding's space) or ``'store'``: the space is one categorical
    hyperparameter ``cell`` over the store's module hashes, so every optimizer samples only
    the cells a partial store holds (the encoding's structure is not seen then).
    ``max_vertices`` below 7 searches encoding A over that many vertices (6: NAS-Bench-Mini);
    the regrets are then against the best cell of that smaller space.

    Args:
        nasbench: the table.
        encoding: ``'A'``, ``'B'``, ``'C'`` or an :class:`Encoding`.
        repeat, cost, absent, cells: the policies above (:mod:`benchmark.policies`).
        max_vertices: 7, or fewer for encoding A over a smaller space.

    Raises:
        InputError: an unknown encoding or policy, or ``max_vertices`` with another encoding
            or ``cells='store'``.
    """

    _views = ("_val_flat", "_time_flat", "_test_error")   # read per evaluation

    def __init__(self, nasbench: NASBench, encoding: str | Encoding = "A", *,
                 repeat: RepeatPolicy = "sample", cost: CostPolicy = "one",
                 absent: AbsentPolicy = "error", cells: CellsPolicy = "all",
                 max_vertices: int = MAX_VERTICES):
        self.nasbench = nasbench
        self.encoding = (get_encoding(encoding, max_vertices) if isinstance(encoding, str)
                         else encoding)
        for name, value, policy in (("repeat", repeat, RepeatPolicy), ("cost", cost, CostPolicy),
                                    ("absent", absent, AbsentPolicy),
                                    ("cells", cells, CellsPolicy)):
            check_policy(name, value, policy)
        self.repeat, self.cost_policy = repeat, cost
        self.absent_policy, self.cells_policy = absent, cells
        self.budgets: list[int] = list(nasbench.budgets)
        self._budget_index = {e: i for i, e in enumerate(self.budgets)}
        self._val = {e: nasbench.metric("final_validation_accuracy", e) for e in self.budgets}
        self._time = {e: nasbench.metric("final_training_time", e) for e in self.budgets}
        self._time_sum = {e: t.astype(np.float64).sum(axis=1) for e, t in self._time.items()}
        # flat memoryviews of the (cells, budgets, 3) arrays for the per-evaluation path: one
        # read at ((row * budgets) + budget index) * 3 + repeat gives a Python float (no numpy
        # scalar is made per evaluation); float32 -> float is exact either way
        self._val_flat = _flat_view(nasbench.runs("final_validation_accuracy"))
        self._time_flat = _flat_view(nasbench.runs("final_training_time"))
        self._stride = NUM_REPEATS * len(self.budgets)
        self._invalid = {e: EvalResult(1.0, 1.0, 0.0, e, True) for e in self.budgets}
        self._draw_rng: np.random.Generator | None = None
        self._draws: list[int] = []
        self._test_error = _flat_view(1 - repeat_mean(nasbench.metric("final_test_accuracy", 108)))
        self._hashes = nasbench.array("hashes")
        files = nasbench.manifest.get("files", {})
        numbering = [files.get(k, {}).get("sha256") for k in ("graph_offset", "graph_id")]
        self._index = RawCellIndex(nasbench.array("graph_offset"), nasbench.array("graph_id"),
                                   nasbench.array("cell_of"),
                                   "".join(numbering) if all(numbering) else None)
        self.y_star_valid = 1 - nasbench.best_mean_validation_accuracy
        self.y_star_test = 1 - nasbench.best_mean_test_accuracy
        vertices = getattr(self.encoding, "vertices", MAX_VERTICES)
        if vertices < MAX_VERTICES:   # the optimum of the smaller space
            if cells != "all":
                raise InputError(f"a space of at most {vertices} vertices is searched with "
                                 "cells='all'")
            self.y_star_valid, self.y_star_test = (
                1 - float(repeat_mean(nasbench.metric(f"final_{key}_accuracy", 108))[
                    nasbench.array("num_vertices") <= vertices].max())
                for key in ("validation", "test"))

    @property
    def max_budget(self) -> int:
        return max(self.budgets)

    def config_space(self, seed: int | None = None) -> CS.ConfigurationSpace:
        if self.cells_policy == "store":
            cs = CS.ConfigurationSpace(seed=seed)
            cs.add(CS.CategoricalHyperparameter(STORE_CELL, list(self._row_of_hash)))
            return cs
        return self.encoding.config_space(seed)

    @functools.cached_property
    def _row_of_hash(self) -> dict[str, int]:
        return {h.decode(): i for i, h in enumerate(self._hashes.tolist())}

    def fidelity_space(self, seed: int | None = None) -> CS.ConfigurationSpace:
        cs = CS.ConfigurationSpace(seed=seed)
        cs.add(CS.OrdinalHyperparameter("budget", self.budgets, default_value=self.max_budget))
        return cs

    def row(self, config: Mapping[str, Any]) -> int:
        """Store row of a configuration's cell: -1 if it is invalid, -2 if a partial store
        lacks it (see :meth:`RawCellIndex.row`)."""
        if self.cells_policy == "store":
            row = self._row_of_hash.get(config.get(STORE_CELL, "")) if len(config) == 1 else None
            if row is None:
                raise ConfigError(f"cells: store: a configuration is {{{STORE_CELL!r}: a module "
                                  f"hash of {self.nasbench.path}}}, got {dict(config)!r}"[:300])
            return row
        encoding = self.encoding
        fast = encoding.fast_raw(config)
        if fast is None:
            encoding.check(config)  # raises ConfigError naming the hyperparameter
            mask, ops = encoding.raw_mask(config), encoding.interior_ops(config)
        else:
            mask, ops = fast
        if mask.bit_count() > encoding.max_raw_edges:
            return -1
        return self._index.row(mask, ops)

    def evaluate(self, config: Mapping[str, Any], budget: int | None = None,
                 rng: np.random.Generator | None = None) -> EvalResult:
        """Look up one evaluation.

        Args:
            config: a configuration of :meth:`config_space` (any mapping of its names).
            budget: the epochs, one of ``budgets`` (None: the largest).
            rng: the Generator the run is drawn from under the 'sample' repeat policy.

        Returns:
            The :class:`EvalResult`; an invalid cell is a loss of 1 at cost 0.

        Raises:
            ConfigError: a configuration that does not fit the encoding (names the value).
            InputError: a budget the table does not have.
            CellNotInStoreError: a valid cell a partial store lacks, under ``absent='error'``.
            ValueError: the 'sample' policy without ``rng``.
        """
        if budget is None:
            budget = self.max_budget
        elif budget not in self._budget_index:
            raise InputError(f"budget {budget!r} is not one of this table's budgets "
                             f"{self.budgets}")
        row = self.row(config)
        if row < 0:
            if row == ABSENT and self.absent_policy == "error":
                raise CellNotInStoreError(
                    f"{self.nasbench.path}: cell {self.encoding.to_spec(config).hash()} is "
                    f"valid but not in this partial store ({len(self.nasbench)} cells); search "
                    "only its cells with cells='store' (YAML: benchmark.cells: store)")
            return self._invalid[budget]
        return self.evaluate_row(row, budget, rng)

    def _draw_repeat(self, rng: np.random.Generator) -> int:
        """A uniform repeat index from ``rng``, drawn ``_DRAW_BATCH`` at a time (a Generator
        call costs more than the rest of an evaluation); a different Generator starts afresh."""
        if rng is not self._draw_rng or not self._draws:
            self._draw_rng = rng
            self._draws = rng.integers(3, size=_DRAW_BATCH).tolist()[::-1]
        return self._draws.pop()

    def evaluate_row(self, row: int, budget: int, rng: np.random.Generator | None) -> EvalResult:
        if self.repeat == "mean":
            val, time = self._val[budget][row], self._time[budget][row]
            r = None
            v = float(val.astype(np.float64).sum() / NUM_REPEATS)
            t = float(time.astype(np.float64).sum() / NUM_REPEATS)
        else:
            if self.repeat != "sample":
                r = int(self.repeat)
            elif rng is None:
                raise ValueError("the 'sample' repeat policy needs rng, a numpy Generator")
            else:
                r = self._draw_repeat(rng)
            k = self._stride * row + NUM_REPEATS * self._budget_index[budget] + r
            v, t = self._val_flat[k], self._time_flat[k]
        if self.cost_policy == "sum":
            t = float(self._time_sum[budget][row])
        return EvalResult(1.0 - v, self._test_error[row], t, budget, False,
                          self._hashes[row].decode(), r)

    def test_regret(self, test_error: float) -> float:
        return test_error - self.y_star_test

    def validation_regret(self, validation_error: float) -> float:
        return validation_error - self.y_star_valid

