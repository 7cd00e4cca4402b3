"""The ask/tell protocol, the built-in optimizers, the registry and plug-ins."""
from __future__ import annotations

import textwrap

import ConfigSpace as CS
import numpy as np
import pytest

from benchmark.objectives import Objective
from optimizers import Optimizer, Result, available, get_optimizer
from optimizers.hyperband import bracket_plan

ALL = ["random_search", "regularized_evolution", "hyperband", "bohb", "smac", "tpe", "reinforce",
       "optuna_tpe", "optuna:NSGAIISampler"]
MODEL_BASED = ("smac", "bohb", "tpe", "optuna_tpe", "optuna:NSGAIISampler")
#: Settings that only make the protocol tests cheaper: SMAC's default 10,000 acquisition
#: challengers per ask cost ~10x the time of 1,000 and test nothing more here.
QUICK = {"smac": {"challengers": 1000}}


@pytest.fixture(scope="module")
def objective(surrogate):
    return Objective(surrogate, "A")


def drive(objective, name, seed, steps, told_error=None, **params):
    """Sequentially ask/evaluate/tell; returns the asked configs and the results.  With
    ``told_error`` every valid result is told that validation error instead of its own."""
    cls = get_optimizer(name)
    budgets = cls.offered_budgets(objective.budgets)
    opt = cls(objective.config_space(seed=seed), budgets, np.random.default_rng(seed), **params)
    rng = np.random.default_rng(1000 + seed)
    asked, results = [], []
    try:
        for _ in range(steps):
            trial = opt.ask()
            assert trial is not None, f"{name} waits with nothing pending"
            r = objective.evaluate(trial.config, trial.budget, rng)
            error = r.validation_error if told_error is None or r.invalid else told_error
            opt.tell(trial, Result(error, r.cost, r.invalid, trial.budget))
            asked.append((trial.config, trial.budget))
            results.append(r)
    finally:
        opt.close()
    return asked, results


@pytest.mark.parametrize("name", ALL)
def test_same_seed_same_asks(objective, name):
    steps = 40 if name in MODEL_BASED else 300
    quick = QUICK.get(name, {})
    a, _ = drive(objective, name, 3, steps, **quick)
    b, _ = drive(objective, name, 3, steps, **quick)
    c, _ = drive(objective, name, 4, steps, **quick)
    assert a == b
    assert a != c


def test_optimizers_do_not_touch_numpy_global_rng(objective):
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    for name in ALL:
        drive(objective, name, 0, 30, **QUICK.get(name, {}))
    assert np.array_equal(np.random.get_state()[1], before)


def test_hyperband_brackets_match_hpbandster():
    plan = bracket_plan([4, 12, 36, 108], 3)
    assert plan == [([27, 9, 3, 1], [4, 12, 36, 108]), ([9, 3, 1], [12, 36, 108]),
                    ([6, 2], [36, 108]), ([4], [108])]
    assert sum(sum(c) for c, _ in plan) == 65


def test_hyperband_waits_for_a_stage_and_promotes_the_best(objective):
    cls = get_optimizer("hyperband")
    opt = cls(objective.config_space(seed=0), objective.budgets, np.random.default_rng(0))
    first = [opt.ask() for _ in range(27)]
    assert {t.budget for t in first} == {4} and opt.ask() is None  # the rung waits
    losses = np.linspace(0.5, 0.1, 27)
    for t, loss in zip(first, losses):
        opt.tell(t, Result(float(loss), 10.0, False, 4))
    promoted = [opt.ask() for _ in range(9)]
    assert {t.budget for t in promoted} == {12} and opt.ask() is None
    best = sorted(range(27), key=lambda i: losses[i])[:9]
    assert [p.config for p in promoted] == [first[i].config for i in best]


def test_regularized_evolution_mutates_exactly_one_hyperparameter(objective):
    cls = get_optimizer("regularized_evolution")
    opt = cls(objective.config_space(seed=0), [108], np.random.default_rng(0), population_size=5,
              sample_size=2)
    parents = [opt.ask() for _ in range(5)]
    for i, t in enumerate(parents):
        opt.tell(t, Result(0.1 * (i + 1), 1.0, False, 108))
    for i in range(30):
        before = [member for member, _ in opt.population]
        child = opt.ask()
        # a mutant of a member: exactly one hyperparameter changed
        assert any(sum(child.config[k] != m[k] for k in m) == 1 for m in before)
        opt.tell(child, Result(0.05 + 0.01 * (i % 3), 1.0, False, 108))
        after = [member for member, _ in opt.population]
        assert after[:-1] == before[1:] and after[-1] is child.config   # the oldest died
    # tournaments pick the fittest of the sample: a lone strong member is a parent from now on
    best = opt.population[-1][0]
    opt.population[-1] = (best, 0.0)
    opt.settings["sample_size"] = 200   # a sample that contains every member
    for _ in range(10):
        child = opt.ask().config
        assert sum(child[k] != best[k] for k in best) == 1


def test_regularized_evolution_keeps_or_drops_invalid_children(objective):
    cls = get_optimizer("regularized_evolution")
    for resample, expected in ((False, 3), (True, 0)):
        opt = cls(objective.config_space(seed=0), [108], np.random.default_rng(0),
                  population_size=3, resample_invalid=resample)
        for _ in range(3):
            opt.tell(opt.ask(), Result(1.0, 0.0, True, 108))
        assert len(opt.population) == expected


def test_reinforce_learns_from_rewards(objective):
    cls = get_optimizer("reinforce")
    opt = cls(objective.config_space(seed=0), [108], np.random.default_rng(0))
    for _ in range(300):  # reward conv3x3 at op_node_0
        t = opt.ask()
        good = t.config["op_node_0"] == "conv3x3-bn-relu"
        opt.tell(t, Result(0.05 if good else 0.5, 1.0, False, 108))
    i = opt.names.index("op_node_0")
    probs = opt._probs[i]
    assert probs[opt.choices[i].index("conv3x3-bn-relu")] > 0.8
    before = [x.copy() for x in opt.logits]
    opt.tell(opt.ask(), Result(1.0, 0.0, True, 108))  # invalid: rejected, no update
    assert all(np.array_equal(a, b) for a, b in zip(before, opt.logits))


def test_reinforce_samples_as_the_one_row_per_ask_reference(objective):
    """The vectorised sampler (uniforms drawn in blocks, mapped several rows at a time and
    re-mapped after each update) asks exactly what a plain REINFORCE asks: one row of uniforms
    per ask, inverse-CDF of the softmax, update lr * advantage * (onehot - softmax)."""
    asked, _ = drive(objective, "reinforce", 3, 3000)
    cs = objective.config_space(seed=3)
    names = list(cs.keys())
    choices = [list(cs[n].choices) for n in names]
    logits = [np.zeros(len(c)) for c in choices]
    rng = np.random.default_rng(3)
    bench_rng = np.random.default_rng(1003)
    ema, steps = 0.0, 0
    for config, _ in asked:
        u = rng.random(len(names))
        probs = [np.exp(lg - lg.max()) / np.exp(lg - lg.max()).sum() for lg in logits]
        picks = [min(int(np.searchsorted(np.cumsum(p), x, side="right")), len(p) - 1)
                 for p, x in zip(probs, u)]
        assert config == {n: c[k] for n, c, k in zip(names, choices, picks)}
        r = objective.evaluate(config, 108, bench_rng)
        if r.invalid:
            continue
        reward = 1 - r.validation_error
        advantage = reward - (reward if steps == 0 else ema / (1 - 0.9 ** steps))
        for lg, p, k in zip(logits, probs, picks):
            lg += 0.5 * advantage * (np.eye(len(p))[k] - p)  # the default learning rate
        ema, steps = 0.9 * ema + 0.1 * reward, steps + 1
    assert steps > 300


@pytest.mark.parametrize("name", ALL)
def test_what_is_asked_depends_on_what_was_told(objective, name):
    """Told other validation errors, every optimizer but random search asks for other
    configurations (same seed, same draws otherwise); random search asks the same."""
    steps = {"smac": 60, "bohb": 150, "tpe": 60, "optuna_tpe": 60,
             "optuna:NSGAIISampler": 120}.get(name, 300)
    real, _ = drive(objective, name, 5, steps, **QUICK.get(name, {}))
    flat, _ = drive(objective, name, 5, steps, told_error=0.5, **QUICK.get(name, {}))
    if name == "random_search":
        assert real == flat
    else:
        assert real != flat


@pytest.mark.parametrize("name, params, words", [
    ("regularized_evolution", {"population": 5}, "unknown hyperparameter 'population'"),
    ("regularized_evolution", {"population_size": "big"}, "must be of type int"),
    ("regularized_evolution", {"population_size": 1}, "out of range"),
    ("bohb", {"random_fraction": 2.0}, "out of range"),
    ("optuna_tpe", {"multivariate": 1}, "must be of type bool"),
    ("tpe", {"gamma": 1.5}, "out of range"),
    ("optuna:TPESampler", {"bogus": 1}, "TPESampler() takes no parameter 'bogus'"),
    ("optuna:RandomSampler", {"seed": 3}, "takes no parameter 'seed'"),
    ("optuna:NSGAIISampler", {"population_size": 1},
     "NSGAIISampler(population_size=1) refused its params: ValueError"),
])
def test_bad_hyperparameters_are_one_clear_error(objective, name, params, words):
    with pytest.raises(ValueError) as info:
        get_optimizer(name).resolve(params)
    assert words in str(info.value) and name in str(info.value)


def test_categorical_only_optimizers_refuse_encoding_c(surrogate):
    space = Objective(surrogate, "C").config_space()
    for name in ("regularized_evolution", "reinforce"):
        with pytest.raises(ValueError, match="categorical"):
            get_optimizer(name)(space, [108], 0)


def test_registry_and_bad_plugin_paths():
    assert {n for n in ALL if ":" not in n} <= set(available())
    with pytest.raises(ValueError, match="unknown optimizer 'nope'"):
        get_optimizer("nope")
    with pytest.raises(ValueError, match="importing 'no_such_module' failed"):
        get_optimizer("no_such_module:Thing")
    with pytest.raises(ValueError, match="not an optimizers.Optimizer subclass"):
        get_optimizer("numpy:ndarray")


README_EXAMPLE_START = "```python\n# my_optimizer.py"


def _readme_plugin() -> str:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    start = text.index(README_EXAMPLE_START) + len("```python\n")
    return text[start:text.index("```", start)]


def test_readme_plugin_example_runs(objective, tmp_path, monkeypatch):
    source = _readme_plugin()
    assert len(source.strip().splitlines()) <= 25
    (tmp_path / "my_optimizer.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    cls = get_optimizer("my_optimizer:LocalSearch")
    assert issubclass(cls, Optimizer)
    asked, results = drive(objective, "my_optimizer:LocalSearch", 0, 200)
    valid = [r.validation_error for r in results if not r.invalid]
    assert valid and min(valid) < valid[0]


def test_bohbs_categorical_kde_is_statsmodels_bit_for_bit():
    """The fast density BOHB installs equals statsmodels' at every point, single-level
    variables (statsmodels divides by zero there) and bandwidths clipped as hpbandster does."""
    import statsmodels.api as sm

    from optimizers.hyperband import CategoricalKDE

    rng = np.random.default_rng(0)
    for n in (7, 20, 150):
        data = np.column_stack([rng.integers(0, k, n) for k in (2, 3, 3, 2, 1, 2)]).astype(float)
        kde = sm.nonparametric.KDEMultivariate(data=data, var_type="u" * 6,
                                               bw="normal_reference")
        kde.bw = np.clip(kde.bw, 0.3, None)
        fast = CategoricalKDE(kde)
        assert CategoricalKDE.fits(kde) and not CategoricalKDE.fits(fast)
        points = [*data[:5], *np.column_stack([rng.integers(0, 3, 40) for _ in range(6)])]
        with np.errstate(divide="ignore", invalid="ignore"):
            for point in points:
                want, got = kde.pdf(point), fast.pdf(point)
                assert np.array_equal(want, got, equal_nan=True), (point, want, got)
    mixed = sm.nonparametric.KDEMultivariate(data=data, var_type="uuuuuc", bw="normal_reference")
    assert not CategoricalKDE.fits(mixed)


def test_tpe_proposes_what_hyperopts_fmin_proposes():
    """Ours, driven by ask/tell, against hyperopt's own fmin loop (as nas_benchmarks'
    run_tpe.py calls it) on the same Generator, space and losses: the same configurations."""
    import ConfigSpace as CS
    from hyperopt import STATUS_OK, Trials, fmin, tpe

    from optimizers.tpe import TPE, from_hyperopt, hyperopt_space

    space = CS.ConfigurationSpace(seed=0)
    space.add([CS.OrdinalHyperparameter("depth", [1, 2, 4, 8]),
               CS.CategoricalHyperparameter("op", ["conv1x1", "conv3x3", "maxpool"]),
               CS.UniformIntegerHyperparameter("width", 1, 9),
               CS.UniformFloatHyperparameter("rate", 0.0, 1.0)])

    def loss(c):
        return (abs(c["depth"] - 4) + (c["op"] != "conv3x3") + abs(c["width"] - 6) / 3
                + (c["rate"] - 0.3) ** 2)

    seen = []

    def objective(x):
        config = from_hyperopt(space, x)
        seen.append(config)
        return {"loss": loss(config), "status": STATUS_OK}

    fmin(objective, hyperopt_space(space), algo=tpe.suggest, max_evals=45, trials=Trials(),
         rstate=np.random.default_rng(11), show_progressbar=False)
    opt = TPE(space, [108], np.random.default_rng(11))
    ours = []
    for _ in range(45):
        trial = opt.ask()
        ours.append(trial.config)
        opt.tell(trial, Result(loss(trial.config), 1.0, False, 108))
    assert ours == seen   # past the 20 random start-up trials: TPE's own proposals too
    assert {type(c["depth"]) for c in ours} == {int} and {type(c["width"]) for c in ours} == {int}
    assert min(map(loss, ours[20:])) < min(map(loss, ours[:20]))


def test_any_optuna_sampler_by_name(objective, surrogate):
    a, _ = drive(objective, "optuna:RandomSampler", 2, 30)
    b, _ = drive(objective, "optuna:RandomSampler", 2, 30)
    assert a == b and len({str(c) for c, _ in a}) == 30
    cmaes = Objective(surrogate, "C")
    asked, _ = drive(cmaes, "optuna:CmaEsSampler", 0, 30, n_startup_trials=5)
    assert all(isinstance(c["edge_0"], float) for c, _ in asked)   # encoding C's edge weights
    with pytest.raises(ValueError, match="numeric hyperparameters only"):
        drive(objective, "optuna:CmaEsSampler", 0, 1)
    with pytest.raises(ValueError, match="has no sampler 'Nope'.*RandomSampler"):
        get_optimizer("optuna:Nope")


def test_optuna_and_hyperopt_errors_name_the_experiment_entry(tmp_path, monkeypatch):
    import importlib.util

    from harness.config import ExperimentError, load_experiment

    def entry(name, params="{}", encoding="A"):
        path = tmp_path / "exp.yaml"
        path.write_text(f"name: x\nbenchmark: {{name: surrogate, encoding: {encoding}}}\n"
                        f"budget: {{time: 1.0e+4}}\nseeds: 1\noptimizers:\n"
                        f"  - name: random_search\n  - name: {name}\n    params: {params}\n")
        with pytest.raises(ExperimentError) as info:
            load_experiment(path)
        return str(info.value)

    assert entry("optuna:Nope").startswith(f"{tmp_path / 'exp.yaml'}:7: optimizers.1: ")
    assert "refused its params" in entry("optuna:NSGAIISampler", "{population_size: 1}")
    assert "all categorical (encodings A and B): use encoding C" in entry("optuna:CmaEsSampler")
    if importlib.util.find_spec("torch") is None:
        assert "optuna:GPSampler needs the package 'torch'" in entry("optuna:GPSampler")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda n, *a: None if n == "hyperopt" else real(n, *a))
    assert "tpe needs the package 'hyperopt' (pip install hyperopt)" in entry("tpe")


def test_smac_leaves_configspace_as_it_found_it(objective):
    """SMAC's faster configuration equality is in force only inside its own calls."""
    from ConfigSpace.configuration import Configuration

    original = Configuration.__dict__["__eq__"]
    drive(objective, "smac", 0, 15, challengers=50)
    assert Configuration.__dict__["__eq__"] is original


def test_smac_says_when_a_tiny_space_is_exhausted():
    """SMAC's ConfigurationSpaceExhaustedException becomes SearchExhausted (the run ends,
    results kept) instead of failing the run."""
    from optimizers import SearchExhausted

    space = CS.ConfigurationSpace(seed=0)
    space.add(CS.CategoricalHyperparameter("x", ["a", "b", "c"]))
    opt = get_optimizer("smac")(space, [108], np.random.default_rng(0), initial_configs=2)
    seen = []
    try:
        with pytest.raises(SearchExhausted, match="smac: no new configuration left"):
            for _ in range(200):
                trial = opt.ask()
                seen.append(trial.config["x"])
                opt.tell(trial, Result({"a": 0.3, "b": 0.2, "c": 0.4}[trial.config["x"]], 1.0,
                                       False, 108))
    finally:
        opt.close()
    assert set(seen) == {"a", "b", "c"}


def test_bohbs_imputation_is_hpbandsters(objective, monkeypatch):
    """BOHB's shortcut for hpbandster's impute_conditional_data: the same array where nothing
    is inactive, the library itself (and its draws) where something is; and a BOHB run with
    the library's own imputation proposes the same configurations."""
    from hpbandster.optimizers.config_generators.bohb import BOHB as KDEGenerator

    from optimizers.hyperband import _impute

    library = KDEGenerator(objective.config_space(seed=0)).impute_conditional_data
    rng = np.random.default_rng(3)
    full = rng.integers(0, 3, (40, 6)).astype(float)
    assert np.array_equal(_impute(library, full), library(full))
    holes = full.copy()
    holes[rng.random(holes.shape) < 0.2] = np.nan
    holes[:, 0] = 1.0
    np.random.seed(5)
    want = library(holes)
    np.random.seed(5)
    assert np.array_equal(_impute(library, holes), want, equal_nan=True)
    ours = drive(objective, "bohb", 2, 400)[0]
    monkeypatch.setattr("optimizers.hyperband._impute", lambda lib, array: lib(array))
    assert drive(objective, "bohb", 2, 400)[0] == ours
