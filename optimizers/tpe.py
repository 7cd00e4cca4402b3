"""TPE as the paper ran it: hyperopt's ``tpe.suggest`` with its defaults, one trial at a time.

automl/nas_benchmarks' ``experiment_scripts/run_tpe.py`` calls ``fmin(objective, space,
algo=tpe.suggest)`` over a hyperopt space made from the ConfigSpace: an ordinal hyperparameter
becomes ``hp.quniform(name, 0, len(sequence) - 1, 1)`` (its index, mapped back with
``sequence[int(x)]``), a categorical ``hp.choice``, an integer ``hp.quniform(lower, upper, 1)``, a
float ``hp.uniform``.  With ``engine: hyperopt`` this class drives the same ``tpe.suggest``
through ask/tell as ``fmin`` does (a ``Trials`` store, one ``suggest`` per new trial seeded with
``rstate.integers(2**31 - 1)`` from the run's Generator), so with the same Generator and losses
it proposes exactly what ``fmin(..., rstate=Generator)`` proposes; the default engine,
:class:`~optimizers.tpe_exact.RunningTPE`, takes the same seeds and proposes the same, faster.
Invalid cells are told a loss of 1, as the nas_benchmarks objective returns for them.  Optuna's
TPE is ``optuna_tpe``.
The defaults are hyperopt's (the paper's "TPE hyperopt defaults"); hyperopt 0.3's are the same
as those of the 0.1 releases the paper ran (20 start-up trials, 24 candidates, gamma 0.25).
"""
from __future__ import annotations

import functools
from typing import Any

import ConfigSpace as CS

from .base import Optimizer, Param, Result, Trial
from .space import SpaceSampler
from .tpe_exact import HyperoptParam, RunningTPE


def hyperopt_spec(space: CS.ConfigurationSpace) -> list[HyperoptParam]:
    """nas_benchmarks' mapping of a flat ConfigSpace onto hyperopt's distributions."""
    out = []
    for h in space.values():
        if isinstance(h, CS.OrdinalHyperparameter):
            out.append(HyperoptParam(h.name, "quniform", (0, len(h.sequence) - 1, 1)))
        elif isinstance(h, CS.CategoricalHyperparameter):
            out.append(HyperoptParam(h.name, "choice", tuple(h.choices)))
        elif isinstance(h, CS.UniformIntegerHyperparameter):
            out.append(HyperoptParam(h.name, "quniform", (h.lower, h.upper, 1)))
        else:
            assert isinstance(h, CS.hyperparameters.NumericalHyperparameter)   # a float
            out.append(HyperoptParam(h.name, "uniform", (h.lower, h.upper)))
    return out


def hyperopt_space(space: CS.ConfigurationSpace) -> dict[str, Any]:
    """:func:`hyperopt_spec` as hyperopt's ``hp`` expressions (what run_tpe.py passes to fmin)."""
    from hyperopt import hp

    out = {}
    for p in hyperopt_spec(space):
        if p.kind == "choice":
            out[p.label] = hp.choice(p.label, list(p.args))
        elif p.kind == "quniform":
            out[p.label] = hp.quniform(p.label, *p.args[:2], q=p.args[2])
        else:
            out[p.label] = hp.uniform(p.label, *p.args)
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


def hyperopt_trials(history: list[tuple[dict[str, Any], float | None]]):
    """A hyperopt ``Trials`` store holding ``history``: (values in hyperopt's terms, loss) per
    trial, documents as ``fmin`` stores them (a loss of None: a trial still running).  For
    calling ``tpe.suggest`` on a given history (the tests, the benchmark)."""
    from hyperopt import Trials, base

    trials = Trials()
    docs = []
    for tid, (values, loss) in enumerate(history):
        misc = {"tid": tid, "cmd": None, "workdir": None,
                "idxs": {k: [tid] for k in values}, "vals": {k: [v] for k, v in values.items()}}
        result = {"status": "new"} if loss is None else {"status": "ok", "loss": loss}
        doc = trials.new_trial_docs([tid], [None], [result], [misc])[0]
        doc["state"] = base.JOB_STATE_RUNNING if loss is None else base.JOB_STATE_DONE
        docs.append(doc)
    trials.insert_trial_docs(docs)
    trials.refresh()
    return trials


class TPE(Optimizer):
    """Tree-structured Parzen Estimator (Bergstra et al., 2011), hyperopt's ``tpe.suggest``:
    20 random start-up trials, then the best of 24 candidates by expected improvement, the good
    set being the best ceil(gamma * sqrt(n)) trials, gamma 0.25 (hyperopt's defaults, the
    paper's).  ``engine: hyperopt`` calls hyperopt's own ``tpe.suggest`` through a ``Trials``
    store; the default, ``running``, is :class:`~optimizers.tpe_exact.RunningTPE`: the same
    proposals from the same Generator, without re-reading the whole history at every ask."""

    name = "tpe"
    cost_hint = 30
    requires = ("hyperopt",)
    params = {"n_startup_jobs": Param(20, int, 0, None, help="random trials before TPE"),
              "n_EI_candidates": Param(24, int, 1, None, help="candidates per suggestion"),
              "gamma": Param(0.25, float, 0.0, 1.0, help="share of trials in the good set"),
              "prior_weight": Param(1.0, float, 0.0, None, help="weight of the prior"),
              # (not speed_only, unlike SMAC's engine: results folders made before that
              # flag existed hold it in their identity, which must not change under them)
              "engine": Param("running", str, choices=("running", "hyperopt"),
                              help="running state (ours) or hyperopt's tpe.suggest: the "
                                   "same proposals")}

    def __init__(self, space, budgets, rng=None, **hyperparameters):
        super().__init__(space, budgets, rng, **hyperparameters)
        SpaceSampler(space)  # same support checks as the other optimizers
        settings = {k: v for k, v in self.settings.items() if k != "engine"}
        self.spec = hyperopt_spec(space)
        if self.settings["engine"] == "running":
            self.engine: RunningTPE | None = RunningTPE(self.spec, **settings)
            return
        self.engine = None
        from hyperopt import Domain, Trials, tpe

        self.expression = hyperopt_space(space)
        self.domain = Domain(lambda config: 0.0, self.expression)
        self.trials = Trials()
        self.suggest = functools.partial(tpe.suggest, **settings)
        self._docs: dict[int, dict] = {}   # our trial id -> hyperopt's trial document

    def ask(self) -> Trial:
        return self._ask_hyperopt() if self.engine is None else self._ask_running()

    def tell(self, trial: Trial, result: Result) -> None:
        if self.engine is None:
            self._tell_hyperopt(trial, result)
        else:
            self.engine.set_loss(trial.info["hyperopt_tid"], _loss(result))

    def _ask_hyperopt(self) -> Trial:
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

    def _tell_hyperopt(self, trial: Trial, result: Result) -> None:
        from hyperopt import STATUS_OK, base

        doc = self._docs.pop(trial.id)
        doc["state"] = base.JOB_STATE_DONE
        doc["result"] = {"loss": _loss(result), "status": STATUS_OK}
        self.trials.refresh()

    def _ask_running(self) -> Trial:
        assert self.engine is not None
        values = self.engine.suggest(int(self.rng.integers(2**31 - 1)))
        tid = self.engine.add(values)
        point = {p.label: p.args[values[p.label]] if p.kind == "choice" else float(values[p.label])
                 for p in self.spec}   # what space_eval makes of them
        return self.new_trial(from_hyperopt(self.space, point), hyperopt_tid=tid)


def _loss(result: Result) -> float:
    """The loss hyperopt is told: nas_benchmarks' 1 for an invalid cell."""
    return 1.0 if result.invalid else float(result.validation_error)
