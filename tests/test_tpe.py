"""RunningTPE against hyperopt's own tpe.suggest: the same proposals, bit for bit.

Two checks per encoding: whole runs driven by hyperopt's ``fmin`` (as nas_benchmarks'
run_tpe.py) against our ``tpe`` on the same Generator and losses, and single suggestions after
long histories (thousands of trials, with tied losses and pending trials) against
``tpe.suggest`` called once on the same history.  The longest fmin comparison is in
``perf/bench_tpe.py`` and under ``-m slow``.
"""
from __future__ import annotations

import numpy as np
import pytest

from benchmark.objectives import Objective
from optimizers import Result
from optimizers.tpe import TPE, from_hyperopt, hyperopt_space, hyperopt_spec, hyperopt_trials
from optimizers.tpe_exact import RunningTPE

from .conftest import long_check

pytest.importorskip("hyperopt")


@pytest.fixture(scope="module")
def objectives(surrogate):
    return {e: Objective(surrogate, e) for e in "ABC"}


def fmin_configs(objective: Objective, trials: int, seed: int) -> list[dict]:
    """The configurations hyperopt's fmin proposes, losses from the objective (1 if invalid)."""
    from hyperopt import STATUS_OK, Trials, fmin, tpe

    space = objective.config_space(seed=0)
    bench_rng, seen = np.random.default_rng(seed + 1), []

    def loss(point):
        config = from_hyperopt(space, point)
        seen.append(config)
        r = objective.evaluate(config, objective.max_budget, bench_rng)
        return {"loss": 1.0 if r.invalid else float(r.validation_error), "status": STATUS_OK}

    fmin(loss, hyperopt_space(space), algo=tpe.suggest, max_evals=trials, trials=Trials(),
         rstate=np.random.default_rng(seed), show_progressbar=False)
    return seen


def our_configs(objective: Objective, trials: int, seed: int, engine: str = "running",
                workers: int = 1) -> list[dict]:
    """Our tpe's proposals on the same losses; ``workers`` > 1 keeps that many trials pending
    (asked, not yet told) as a parallel run does."""
    opt = TPE(objective.config_space(seed=0), [objective.max_budget],
              np.random.default_rng(seed), engine=engine)
    bench_rng, seen, pending = np.random.default_rng(seed + 1), [], []
    while len(seen) < trials or pending:
        while len(seen) < trials and len(pending) < workers:
            trial = opt.ask()
            seen.append(trial.config)
            pending.append(trial)
        trial = pending.pop(0)
        r = objective.evaluate(trial.config, trial.budget, bench_rng)
        opt.tell(trial, Result(r.validation_error, r.cost, r.invalid, trial.budget))
    return seen


@pytest.mark.parametrize("encoding, trials", [("A", 200), ("B", 200), ("C", 100)])
def test_runs_propose_what_hyperopts_fmin_proposes(objectives, encoding, trials):
    objective = objectives[encoding]
    ours = our_configs(objective, trials, seed=7)
    assert ours == fmin_configs(objective, trials, seed=7)
    assert len({str(sorted(c.items())) for c in ours[20:]}) > 1   # TPE's own proposals vary


def test_parallel_runs_propose_what_hyperopts_suggest_proposes(objectives):
    """Three trials pending at every ask (their loss infinite for the split): the library
    path and ours, both driven through ask/tell."""
    for encoding in "AC":
        objective = objectives[encoding]
        assert (our_configs(objective, 60, 3, workers=3)
                == our_configs(objective, 60, 3, engine="hyperopt", workers=3))


def random_history(spec, n: int, rng: np.random.Generator) -> list[tuple[dict, float | None]]:
    """``n`` trials in hyperopt's terms: values as tpe.suggest stores them, losses from a small
    set (ties across the good/bad boundary), one in 50 pending (no loss yet)."""
    history = []
    for _ in range(n):
        values = {}
        for p in spec:
            if p.kind == "choice":
                values[p.label] = int(rng.integers(len(p.args)))
            elif p.kind == "quniform":
                values[p.label] = float(np.round(rng.uniform(p.args[0], p.args[1])))
            else:
                values[p.label] = float(rng.uniform(p.args[0], p.args[1]))
        loss = None if rng.random() < 0.02 else float(rng.integers(40)) / 40
        history.append((values, loss))
    return history


def hyperopt_suggestion(space, history, seed: int) -> dict:
    """tpe.suggest called once on ``history``."""
    from hyperopt import Domain, tpe

    domain = Domain(lambda point: 0.0, hyperopt_space(space))
    doc = tpe.suggest([len(history)], domain, hyperopt_trials(history), seed)[0]
    return {k: v[0] for k, v in doc["misc"]["vals"].items()}


@pytest.mark.parametrize("encoding", "ABC")
def test_suggestions_after_thousands_of_trials_are_hyperopts(objectives, encoding):
    space = objectives[encoding].config_space(seed=0)
    spec = hyperopt_spec(space)
    history = random_history(spec, 3000, np.random.default_rng(5))
    engine = RunningTPE(spec)
    checkpoints = {0, 19, 20, 26, 300, 1200, 3000}
    for n, (values, loss) in enumerate([*history, (None, None)]):
        if n in checkpoints:
            for seed in (n, 2**31 - 2 - n):
                assert engine.suggest(seed) == hyperopt_suggestion(space, history[:n], seed), n
        if values is not None:
            tid = engine.add(values)
            if loss is not None:
                engine.set_loss(tid, loss)


def test_unsupported_distributions_are_refused():
    from optimizers.tpe_exact import HyperoptParam

    with pytest.raises(ValueError, match="x: loguniform is not supported"):
        RunningTPE([HyperoptParam("x", "loguniform", (0.0, 1.0))])


@long_check   # hyperopt's side is quadratic in the run's length: many minutes
@pytest.mark.parametrize("encoding", "ABC")
def test_long_runs_propose_what_hyperopts_fmin_proposes(objectives, encoding):
    objective = objectives[encoding]
    assert our_configs(objective, 2000, seed=1) == fmin_configs(objective, 2000, seed=1)


def test_log_densities_are_hyperopts_and_the_bounded_ones_within_their_bound(objectives):
    """gmm1_lpdf and gmm1_lpdf_quantized give GMM1_lpdf's floats; gmm1_lpdf_bounded (the bad
    trials' model scored without its negligible terms) stays within the bound it reports."""
    from hyperopt.tpe import GMM1_lpdf

    from optimizers.tpe_exact import (
        adaptive_parzen_normal,
        gmm1_lpdf,
        gmm1_lpdf_bounded,
        gmm1_lpdf_quantized,
        gmm1_sample,
    )

    spec = [p for p in hyperopt_spec(objectives["C"].config_space(seed=0)) if p.kind != "choice"]
    rng = np.random.default_rng(11)
    for n in (0, 1, 2, 30, 2500):
        for p in spec[::7] + spec[-1:]:   # uniform floats and the quantized integer
            low, high = p.args[:2]
            q = p.args[2] if p.kind == "quniform" else None
            obs = rng.uniform(low, high, n) if q is None else np.round(rng.uniform(low, high, n))
            w, mu, sigma = adaptive_parzen_normal(obs, 1.0, 0.5 * (low + high), high - low)
            samples = gmm1_sample(w, mu, sigma, low, high, q, rng, 24)
            exact = GMM1_lpdf(samples, w, mu, sigma, low, high, q)
            ours = (gmm1_lpdf if q is None else gmm1_lpdf_quantized)(samples, w, mu, sigma,
                                                                     low, high, q)
            assert np.array_equal(ours, exact), (p.label, n)
            if q is None:
                bounded, bound = gmm1_lpdf_bounded(samples, w, mu, sigma, low, high)
                assert np.max(np.abs(bounded - exact)) <= bound < 1e-6, (p.label, n)


def test_the_bounded_score_decides_only_what_the_exact_one_would():
    from optimizers.tpe_exact import certain_best

    samples = np.array([0.2, 0.5, 0.2, 0.7])
    assert certain_best(samples, np.array([3.0, 1.0, 3.0, 2.0]), 0.1)   # equal values tie
    assert not certain_best(samples, np.array([3.0, 2.9, 3.0, 2.0]), 0.1)   # within the bound
    assert certain_best(samples, np.array([3.0, 2.7, 3.0, 2.0]), 0.1)
    assert not certain_best(samples, np.array([3.0, np.nan, 3.0, 2.0]), 0.1)
    assert certain_best(np.array([0.4, 0.4]), np.array([1.0, 1.0]), 0.1)   # one value only


def test_suggestions_along_a_tpe_run_on_c_are_hyperopts(objectives):
    """Along a TPE run of 1,200 trials on encoding C (its proposals cluster, so candidates'
    scores come close), every 150 trials: our suggestion is tpe.suggest's on that history."""
    objective = objectives["C"]
    space = objective.config_space(seed=0)
    opt = TPE(space, [objective.max_budget], np.random.default_rng(4))
    bench_rng, history = np.random.default_rng(5), []
    for n in range(1201):
        if n >= 300 and n % 150 == 0:
            for seed in (n, 2**31 - 2 - n):
                assert opt.engine.suggest(seed) == hyperopt_suggestion(space, history, seed), n
        trial = opt.ask()
        r = objective.evaluate(trial.config, trial.budget, bench_rng)
        result = Result(r.validation_error, r.cost, r.invalid, trial.budget)
        opt.tell(trial, result)
        history.append((_hyperopt_values(opt.engine, trial.info["hyperopt_tid"]),
                        1.0 if r.invalid else float(r.validation_error)))


def _hyperopt_values(engine: RunningTPE, tid: int) -> dict:
    """A trial's values as tpe.suggest stores them (a choice's index, else the float)."""
    values = {p.label: int(engine._codes[i, tid]) for i, p in enumerate(engine._choices)}
    values.update({label: float(column[tid]) for label, column in engine._columns.items()})
    return values
