"""BatchedConfigSelector: SMAC3's incumbent prediction in one model call, the same values."""
from __future__ import annotations

import numpy as np
import pytest

from benchmark.objectives import Objective
from optimizers import Result, get_optimizer

pytest.importorskip("smac")


def test_batched_incumbent_prediction_is_smacs(surrogate):
    from smac.main.config_selector import ConfigSelector
    from smac.utils.configspace import convert_configurations_to_array

    from optimizers.smac_selector import BatchedConfigSelector

    objective = Objective(surrogate, "A")
    opt = get_optimizer("smac")(objective.config_space(seed=0), [108], np.random.default_rng(2),
                                n_trees=5, random_probability=0.33, max_config_calls=1)
    rng = np.random.default_rng(3)
    try:
        for _ in range(20):
            trial = opt.ask()
            r = objective.evaluate(trial.config, trial.budget, rng)
            opt.tell(trial, Result(r.validation_error, r.cost, r.invalid, trial.budget))
        selector = opt._facade._config_selector
        X = convert_configurations_to_array(list(opt._facade.runhistory.get_configs()))
        model = selector._model
        one_by_one = [model.predict_marginalized(x.reshape((1, -1)))[0][0][0] for x in X]
        assert np.array_equal(model.predict_marginalized(X)[0][:, 0], one_by_one)
        want = ConfigSelector._get_x_best(selector, X)
        got = BatchedConfigSelector._get_x_best(selector, X)
        assert np.array_equal(got[0], want[0]) and got[1] == want[1]
        assert len(set(one_by_one)) > 1   # a fitted model, not a constant
    finally:
        opt.close()
