"""BOHB's fast generator against hpbandster's own: the same proposals along a run and, through
the harness, byte-identical run files."""
from __future__ import annotations

import numpy as np
import pytest

from benchmark.objectives import Objective
from optimizers import Result, get_optimizer

from .helpers import files, run_per_engine

pytest.importorskip("hpbandster")


def lockstep(objective: Objective, evaluations: int) -> list[dict]:
    """Both engines asked and told along the same run; the configurations asked (checked equal
    at every step)."""
    space = objective.config_space(seed=0)
    opts = {e: get_optimizer("bohb")(space, [4, 12, 36, 108], np.random.default_rng(3), engine=e)
            for e in ("hpbandster", "fast")}
    rngs = {e: np.random.default_rng(4) for e in opts}
    np.random.seed(99)
    before = np.random.get_state()[1].copy()
    asked = []
    while len(asked) < evaluations:
        trials = {e: opt.ask() for e, opt in opts.items()}
        got = {e: (t.config, t.budget, t.info) for e, t in trials.items()}
        assert got["fast"] == got["hpbandster"], len(asked)
        asked.append(got["fast"][0])
        for e, opt in opts.items():
            r = objective.evaluate(trials[e].config, trials[e].budget, rngs[e])
            opt.tell(trials[e], Result(r.validation_error, r.cost, r.invalid, trials[e].budget))
    assert np.array_equal(np.random.get_state()[1], before)   # numpy's global state untouched
    assert sum(bool(t.info["model_based_pick"]) for t in trials.values()) == 2
    return asked


@pytest.mark.parametrize("encoding", ["A", "B"])
def test_proposals_are_hpbandsters(surrogate, encoding):
    from optimizers.bohb_fast import plain_categorical

    objective = Objective(surrogate, encoding)
    assert plain_categorical(objective.config_space(seed=0))
    asked = lockstep(objective, 1500)
    assert len({tuple(sorted(c.items())) for c in asked}) > 1000


def test_other_spaces_get_hpbandsters_own(surrogate):
    from optimizers.bohb_fast import plain_categorical

    assert not plain_categorical(Objective(surrogate, "C").config_space(seed=0))


def test_run_files_are_byte_identical_to_hpbandsters_path(tmp_path):
    folders = run_per_engine(tmp_path, "bohb", ("hpbandster", "fast"), "A", 3e5, 2)
    out = {engine: files(folder) for engine, folder in folders.items()}
    assert out["fast"] == out["hpbandster"] and len(out["fast"]) == 2
