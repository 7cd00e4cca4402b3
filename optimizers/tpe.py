"""TPE as the paper ran it: hyperopt's ``tpe.suggest`` with its defaults, one trial at a time.

automl/nas_benchmarks' ``experiment_scripts/run_tpe.py`` calls ``fmin(objective, space,
algo=tpe.suggest)`` over a hyperopt space made from the ConfigSpace: an ordinal hyperparameter
becomes ``hp.quniform(name, 0, len(sequence) - 1, 1)`` (its index, mapped back with
``sequence[int(x)]``), a categorical ``hp.choice``, an integer ``hp.quniform(lower, upper, 1)``, a
float ``hp.uniform``.  This class drives the same ``tpe.suggest`` through ask/tell as ``fmin``
does (a ``Trials`` store, one ``suggest`` per new trial seeded with ``rstate.integers(2**31 - 1)``
from the run's Generator), so with the same Generator and losses it proposes exactly what
``fmin(..., rstate=Generator)`` proposes.  Invalid cells are told a loss of 1, as the
nas_benchmarks objective returns for them.  Optuna's TPE is ``optuna_tpe``.
The defaults are hyperopt's (the paper's "TPE hyperopt defaults"); hyperopt 0.3's are the same
as those of the 0.1 releases the paper ran (20 start-up trials, 24 candidates, gamma 0.25).
"""
from __future__ import annotations

import functools
from typing import Any

import ConfigSpace as CS

from .base import Optimizer, Param, Result, Trial
from .space import SpaceSampler


def hyperopt_space(space: CS.ConfigurationSpace) -> dict[str, Any]:
    """nas_benchmarks' mapping of a flat ConfigSpace onto hyperopt's ``hp`` expressions."""
    from hyperopt import hp

    out = {}
    for h in space.values():
        if isinstance(h, CS.OrdinalHyperparameter):
            out[h.name] = hp.quniform(h.name, 0, len(h.sequence) - 1, q=1)
        elif isinstance(h, CS.CategoricalHyperparameter):
            out[h.name] = hp.choice(h.name, list(h.choices))
        elif isinstance(h, CS.UniformIntegerHyperparameter):
            out[h.name] = hp.quniform(h.name, h.lower, h.upper, q=1)
        else:
            out[h.name] = hp.uniform(h.name, h.lower, h.upper)
    return out


def from_hyperopt(space: CS.ConfigurationSpace, values: dict[str, Any]) -> dict[str, Any]:
    """A point of :func:`hyperopt_space` as a configuration of ``space`` (plain Python values)."""
    config = {}
    for h in space.values():
        x = values[h.name]
        if isinstance(h, CS.OrdinalHyperparameter):
            x = h.sequence[int(x)]
        elif isinstance(h, CS.UniformIntegerHyperparameter):
            x = int(x)
        config[h.name] = x.item() if hasattr(x, "item") else x
    return config


class TPE(Optimizer):
    """Tree-structured Parzen Estimator (Bergstra et al., 2011), hyperopt's ``tpe.suggest``:
    20 random start-up trials, then the best of 24 candidates by expected improvement, the good
    set being the best ceil(gamma * sqrt(n)) trials, gamma 0.25 (hyperopt's defaults, the
    paper's)."""

    name = "tpe"
    cost_hint = 30
    requires = ("hyperopt",)
    params = {"n_startup_jobs": Param(20, int, 0, None, help="random trials before TPE"),
              "n_EI_candidates": Param(24, int, 1, None, help="candidates per suggestion"),
              "gamma": Param(0.25, float, 0.0, 1.0, help="share of trials in the good set"),
              "prior_weight": Param(1.0, float, 0.0, None, help="weight of the prior")}

    def __init__(self, space, budgets, rng=None, **hyperparameters):
        super().__init__(space, budgets, rng, **hyperparameters)
        from hyperopt import Domain, Trials, tpe

        SpaceSampler(space)  # same support checks as the other optimizers
        self.expression = hyperopt_space(space)
        self.domain = Domain(lambda config: 0.0, self.expression)
        self.trials = Trials()
        self.suggest = functools.partial(tpe.suggest, **self.hp)
        self._docs: dict[int, dict] = {}   # our trial id -> hyperopt's trial document

    def ask(self) -> Trial:
        from hyperopt import base, space_eval

        ids = self.trials.new_trial_ids(1)
        self.trials.refresh()
        doc = self.suggest(ids, self.domain, self.trials, int(self.rng.integers(2**31 - 1)))[0]
        self.trials.insert_trial_docs([doc])
        self.trials.refresh()
        doc = self.trials.trials[-1]   # the stored copy (insert_trial_docs copies)
        doc["state"] = base.JOB_STATE_RUNNING
        point = space_eval(self.expression, {k: v[0] for k, v in doc["misc"]["vals"].items()
                                             if v})
        trial = self.new_trial(from_hyperopt(self.space, point), hyperopt_tid=doc["tid"])
        self._docs[trial.id] = doc
        return trial

    def tell(self, trial: Trial, result: Result) -> None:
        from hyperopt import STATUS_OK, base

        doc = self._docs.pop(trial.id)
        doc["state"] = base.JOB_STATE_DONE
        doc["result"] = {"loss": 1.0 if result.invalid else float(result.validation_error),
                         "status": STATUS_OK}
        self.trials.refresh()
