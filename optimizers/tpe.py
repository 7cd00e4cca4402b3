"""TPE with hyperopt's defaults, driven step by step through Optuna's ask/tell.

The paper ran hyperopt's TPE (20 start-up configurations, gamma 0.25, 24 EI candidates).  We use
Optuna's ``TPESampler`` with those settings (``gamma=hyperopt_default_gamma`` is hyperopt's
``ceil(0.25 * sqrt(n))`` rule, capped at 25), because Optuna is maintained, samples from its own
seeded RandomState rather than numpy's global RNG, and has a clean ask/tell API; hyperopt's
``tpe.suggest`` needs its Trials store and domain objects to be driven one step at a time.
"""
from __future__ import annotations

import warnings

import ConfigSpace as CS

from .base import Optimizer, Param, Result, Trial
from .space import SpaceSampler


class TPE(Optimizer):
    name = "tpe"
    cost_hint = 30
    params = {"n_startup_trials": Param(20, int, 0, None),
              "n_ei_candidates": Param(24, int, 1, None),
              "multivariate": Param(False, bool, help="Optuna's multivariate TPE (off: hyperopt)")}

    def __init__(self, space, budgets, rng=None, **hyperparameters):
        super().__init__(space, budgets, rng, **hyperparameters)
        import optuna
        from optuna.samplers._tpe.sampler import hyperopt_default_gamma

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        SpaceSampler(space)  # same support checks as the other optimizers
        self.distributions = {}
        for hp in space.values():
            if isinstance(hp, CS.CategoricalHyperparameter):
                dist = optuna.distributions.CategoricalDistribution(list(hp.choices))
            elif isinstance(hp, CS.OrdinalHyperparameter):
                dist = optuna.distributions.CategoricalDistribution(list(hp.sequence))
            elif isinstance(hp, CS.UniformIntegerHyperparameter):
                dist = optuna.distributions.IntDistribution(hp.lower, hp.upper, log=hp.log)
            else:
                dist = optuna.distributions.FloatDistribution(hp.lower, hp.upper, log=hp.log)
            self.distributions[hp.name] = dist
        with warnings.catch_warnings():  # Optuna deprecates custom gamma; hyperopt needs it
            warnings.simplefilter("ignore", FutureWarning)
            sampler = optuna.samplers.TPESampler(
                n_startup_trials=self.hp["n_startup_trials"],
                n_ei_candidates=self.hp["n_ei_candidates"], gamma=hyperopt_default_gamma,
                multivariate=self.hp["multivariate"], seed=int(self.rng.integers(2**31)))
        self.study = optuna.create_study(sampler=sampler, direction="minimize")
        self._trials = {}

    def ask(self) -> Trial:
        trial = self.study.ask(self.distributions)
        config = {k: (v.item() if hasattr(v, "item") else v) for k, v in trial.params.items()}
        config = {name: config[name] for name in self.distributions}
        t = self.new_trial(config, optuna_number=trial.number)
        self._trials[t.id] = trial
        return t

    def tell(self, trial: Trial, result: Result) -> None:
        self.study.tell(self._trials.pop(trial.id), 1.0 if result.invalid
                        else result.validation_error)
