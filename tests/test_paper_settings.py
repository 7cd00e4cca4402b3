"""The paper's benchmark section: its settings as defaults, folders made with the former ones,
grids of optimizers, NAS-Bench-Mini, non-regularized evolution, and the report's additions."""
from __future__ import annotations

import inspect
import itertools
import json

import numpy as np
import pandas as pd
import pytest
import yaml

from benchmark.objectives import Objective
from benchmark.objectives.encodings import OP_CHOICES, get_encoding
from benchmark.space import ModelSpec
from harness import speedup
from harness.config import load_experiment
from optimizers import Result, get_optimizer
from optimizers.settings import FORMER_DEFAULTS, LIBRARY, NAS_BENCHMARKS, PAPER

from .conftest import ROOT
from .helpers import cli, write_yaml

#: Cells of at most 6 vertices in the enumeration (the paper: "about 64.5k").
MINI_CELLS = 64_542


# ---- 1. the paper's settings --------------------------------------------------------------------

def test_the_optimizers_default_to_the_papers_settings():
    for name, settings in PAPER.items():
        params = get_optimizer(name).params
        assert {k: params[k].default for k in settings} == settings, name
    # what S2.2 states, spelled out once more against the table above
    assert PAPER["bohb"] == {"eta": 3, "random_fraction": 0.0, "num_samples": 4,
                             "min_bandwidth": 0.3, "bandwidth_factor": 3.0}
    assert PAPER["smac"] == {"n_trees": 5, "random_probability": 0.33, "max_config_calls": 1}
    assert PAPER["reinforce"] == {"learning_rate": 0.5}


def test_library_defaults_are_the_installed_libraries():
    from hpbandster.optimizers.config_generators.bohb import BOHB
    from hyperopt import tpe
    from smac import HyperparameterOptimizationFacade as HPO

    library = {name: defaults for name, (_, defaults) in LIBRARY.items()}
    for name, defaults in library.items():
        params = get_optimizer(name).params
        assert {k: params[k].default for k in defaults} == defaults, name
    assert library["tpe"] == {"n_startup_jobs": tpe._default_n_startup_jobs,
                              "n_EI_candidates": tpe._default_n_EI_candidates,
                              "gamma": tpe._default_gamma,
                              "prior_weight": tpe._default_prior_weight}
    assert library["bohb"]["top_n_percent"] == \
        inspect.signature(BOHB).parameters["top_n_percent"].default
    maximizer = inspect.signature(HPO.get_acquisition_maximizer).parameters
    assert library["smac"] == {"challengers": maximizer["challengers"].default,
                               "local_search_iterations":
                                   maximizer["local_search_iterations"].default}


def test_the_cli_names_the_source_of_each_default(capsys):
    from harness.cli import main

    assert main(["optimizers"]) == 0
    out = capsys.readouterr().out
    assert "    num_samples: int, default 4 in [1, None] (paper S2.2)" in out
    assert "    learning_rate: float, default 0.5 in [0.0, None] (paper S2.2)" in out
    assert "    challengers: int, default 10000 in [1, None] (SMAC3 2.x default)" in out
    assert "    gamma: float, default 0.25 in [0.0, 1.0] (hyperopt default)" in out
    assert "    resample_invalid: bool, default False (this project)" in out
    assert "non_regularized_evolution  (optimizers.regularized_evolution:" in out


def test_the_nas_benchmarks_settings_are_one_params_block_away():
    experiment = load_experiment(ROOT / "experiments" / "paper" / "nas_benchmarks.yaml")
    given = {o.name: o.params for o in experiment.optimizers if o.params}
    assert given == {name: {**NAS_BENCHMARKS[name]} for name in given}
    assert set(given) == set(NAS_BENCHMARKS)


# ---- folders made with the former defaults ------------------------------------------------------

#: Identities computed by the code before the paper's defaults (commit 42a1adb) for OLD with
#: these optimizers: a folder it made holds exactly this in experiment.json.
OLD = {"name": "old", "benchmark": {"name": "surrogate", "encoding": "A"},
       "budget": {"time": 2.0e4}, "seeds": 1, "execution": {"backend": "local"}}
BOHB_DEFAULT = "f9fbdb77ec3f50a674291b825e3d9dfd3f183efaef6fb2f199a5175bc286844c"
BOHB_FORMER_GIVEN = "4e2c8f2db2166f76e05fd14cbf99ca8d53b39a40492d973eb51d9c976af21c6b"
UNCHANGED = "fa4386c302d1cdbc44b5a34374067849aaaa7e2e5c089284698cdfc3a6568d9c"


def _old_folder(tmp_path, identity: str, optimizers: list[dict]) -> tuple:
    """A folder as that code left it: its identity, and the experiment with its seeds."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "experiment.json").write_text(json.dumps({"identity": identity}))
    write_yaml(out / "experiment.yaml", {**OLD, "optimizers": optimizers})
    exp = write_yaml(tmp_path / "exp.yaml", {**OLD, "optimizers": optimizers})
    return exp, out


def test_a_folder_made_with_former_defaults_is_refused_not_mixed(tmp_path, capsys,
                                                                 unversioned_table):
    optimizers = [{"name": "random_search"}, {"name": "bohb"}]
    exp, out = _old_folder(tmp_path, BOHB_DEFAULT, optimizers)
    code, err = cli(capsys, "run", str(exp), "--output", str(out), "--no-report")
    assert code == 2 and err.count("\n") == 1
    assert "holds results of a different experiment (its runs used the former defaults of " \
           "bohb, which are now the paper's settings; to add to them, give the former values " \
           "as params: bohb: {'random_fraction': 0.3333333333333333, 'num_samples': 64})" in err
    assert not (out / "runs").exists()


def test_the_former_values_given_as_params_resume_the_old_folder(tmp_path, capsys,
                                                                unversioned_table):
    optimizers = [{"name": "random_search"},
                  {"name": "bohb", "params": dict(FORMER_DEFAULTS["bohb"])}]
    exp, out = _old_folder(tmp_path, BOHB_FORMER_GIVEN, optimizers)
    assert cli(capsys, "run", str(exp), "--output", str(out), "--no-report")[0] == 0
    experiment = load_experiment(exp)     # resumed, and marked with today's identity
    assert experiment.identity([0]) == BOHB_FORMER_GIVEN
    assert json.loads((out / "experiment.json").read_text())["identity"] == \
        experiment.identity()


def test_a_folder_of_the_version_1_surrogate_is_refused_with_the_reason(tmp_path, capsys):
    exp, out = _old_folder(tmp_path, UNCHANGED, [{"name": "random_search"},
                                                 {"name": "regularized_evolution", "label": "re"}])
    code, err = cli(capsys, "run", str(exp), "--output", str(out), "--no-report")
    assert code == 2 and err.count("\n") == 1
    assert "(its runs were made on the version-1 surrogate table; this version draws the table " \
           "from version 2, whose values differ)" in err
    assert not (out / "runs").exists()


def test_optimizers_whose_defaults_did_not_change_keep_their_identity(tmp_path,
                                                                   unversioned_table):
    experiment = load_experiment(write_yaml(tmp_path / "exp.yaml", {
        **OLD, "optimizers": [{"name": "random_search"},
                              {"name": "regularized_evolution", "label": "re"}]}))
    assert experiment.identity(experiment.seed_list) == UNCHANGED   # as such folders hold it


# ---- 2. grids -----------------------------------------------------------------------------------

def test_a_grid_expands_into_labelled_optimizers_everywhere(tmp_path):
    from harness.plan import plan

    experiment = load_experiment(write_yaml(tmp_path / "exp.yaml", {
        **OLD, "seeds": 2, "optimizers": [
            {"name": "random_search"},
            {"name": "bohb", "params": {"eta": 3},
             "grid": {"num_samples": [4, 64], "random_fraction": [0.0, 1 / 3]}}]}))
    labels = [o.key for o in experiment.optimizer_list()]
    assert labels == ["random_search", "bohb@num_samples=4,random_fraction=0",
                      "bohb@num_samples=4,random_fraction=0.3333333333333333",
                      "bohb@num_samples=64,random_fraction=0",
                      "bohb@num_samples=64,random_fraction=0.3333333333333333"]
    runs = plan(experiment)
    assert len(runs) == 10 and runs[2].label == labels[1] and runs[2].seed == 0
    assert runs[2].params == {"eta": 3, "num_samples": 4, "random_fraction": 0.0}
    # a member has the identity of the same optimizer written out by hand
    by_hand = load_experiment(write_yaml(tmp_path / "hand.yaml", {
        **OLD, "seeds": 2, "optimizers": [{"name": "random_search"}, *(
            {"name": "bohb", "label": o.key, "params": o.params}
            for o in experiment.optimizer_list()[1:])]}))
    assert by_hand.identity() == experiment.identity()


@pytest.mark.parametrize("grid, where, words", [
    ("{num_sample: [4, 16]}", 6, "optimizers.1.grid.num_sample: bohb: unknown hyperparameter "
                                 "'num_sample'"),
    ("{num_samples: []}", 6, "optimizers.1.grid: grid.num_samples is an empty list"),
    ("{random_fraction: [0.0, 2.5]}", 6, "optimizers.1.grid.random_fraction: bohb: "
                                         "hyperparameter random_fraction = 2.5 out of range"),
    ("\n      num_samples: [1, 2]\n      random_fraction:\n        - 0.5\n        - 1.5", 10,
     "optimizers.1.grid.random_fraction: bohb: hyperparameter random_fraction = 1.5 out of "
     "range [0.0, 1.0]"),
    ("{num_samples: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], top_n_percent: [1, 2, 3, 4, 5, 6, 7, "
     "8, 9, 10], min_bandwidth: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]}", 6,
     "optimizers.1.grid: grid expands into 1,100 optimizers, more than 1,000"),
    ("{num_samples: [4, 4]}", 6, "optimizers.1.grid: grid.num_samples lists 4 twice"),
    ("{eta: [3, 4]}", 6, "optimizers.1.grid: eta is given both in params and in grid"),
    ("{num_samples: 4}", 6, "optimizers.1.grid.num_samples: Input should be a valid list"),
])
def test_a_bad_grid_is_one_line_naming_file_line_and_value(tmp_path, capsys, grid, where, words):
    path = tmp_path / "exp.yaml"
    path.write_text("budget: {time: 1.0e+5}\noptimizers:\n  - name: random_search\n"
                    f"  - name: bohb\n    params: {{eta: 3}}\n    grid: {grid}\n")
    code, err = cli(capsys, "run", str(path), "--output", str(tmp_path / "out"))
    assert code == 2 and err.count("\n") == 1, err
    assert f"{path}:{where}: {words}" in err, err
    assert not (tmp_path / "out").exists()


# ---- 3. NAS-Bench-Mini and non-regularized evolution ---------------------------------------------

def test_nas_bench_mini_is_exactly_the_cells_of_at_most_6_vertices(surrogate):
    objective = Objective(surrogate, "A", max_vertices=6)
    encoding, index = objective.encoding, objective._index
    assert len(encoding.config_space()) == 4 + 15
    reached = set()
    for bits in itertools.product((0, 1), repeat=15):   # every configuration of the space
        config = {f"edge_{i}": b for i, b in enumerate(bits)}
        mask = encoding.raw_mask(config)
        if mask.bit_count() > 9 or index.row(mask, ("maxpool3x3",) * 5) == -1:
            continue                                   # invalid whatever the ops
        for ops in itertools.product(OP_CHOICES, repeat=4):
            reached.add(index.row(mask, ops + encoding._pad))
    small = np.flatnonzero(surrogate.array("num_vertices") <= 6)
    assert len(reached) == len(small) == MINI_CELLS and reached == set(small.tolist())
    # its optimum is the best small cell's, not the whole table's
    mean_test = np.asarray(surrogate.metric("final_test_accuracy", 108), float).mean(axis=1)
    assert objective.y_star_test == pytest.approx(1 - mean_test[small].max(), abs=1e-12)
    # (no better than the whole table's; on the version-2 table the best cell has 6 vertices)
    assert objective.y_star_test >= Objective(surrogate, "A").y_star_test


def test_a_small_encoding_round_trips_and_looks_up_as_the_full_one(surrogate):
    full, mini = Objective(surrogate, "A"), Objective(surrogate, "A", max_vertices=6)
    rng = np.random.default_rng(0)
    space = mini.config_space(seed=0)
    checked = 0
    for config in space.sample_configuration(300):
        config = dict(config)
        cell = mini.encoding.cell(config)
        fast = mini.evaluate(config, 108, np.random.default_rng(1))
        slow = mini.evaluate({k: (np.int64(v) if k.startswith("edge") else v)  # checked path
                              for k, v in config.items()}, 108, np.random.default_rng(1))
        assert fast == slow and fast.invalid == (cell is None)
        if cell is None:
            continue
        assert fast.hash == cell.hash_spec() if hasattr(cell, "hash_spec") else cell.hash()
        again = mini.encoding.from_spec(cell)           # a config of the same cell
        assert mini.evaluate(again, 108, np.random.default_rng(1)).hash == fast.hash
        seven = full.encoding.from_spec(cell)           # the full space holds it too
        assert full.evaluate(seven, 108, np.random.default_rng(1)).hash == fast.hash
        checked += 1
    assert checked > 50
    big = ModelSpec(np.triu(np.ones((7, 7), int), 1) * 0 + np.eye(7, k=1, dtype=int),
                    ["input", *["conv3x3-bn-relu"] * 5, "output"])
    with pytest.raises(ValueError, match="a cell of 7 vertices does not fit 6 vertices"):
        mini.encoding.from_spec(big)
    with pytest.raises(ValueError, match="restricts encoding A only, not C"):
        get_encoding("C", 6)
    assert rng is not None


@pytest.mark.parametrize("benchmark, words", [
    ("{max_vertices: 8}", ":1: benchmark.max_vertices: max_vertices must be from 2 to 7 "
                          "(6: NAS-Bench-Mini), got 8"),
    ("{max_vertices: 1}", ":1: benchmark.max_vertices: max_vertices must be from 2 to 7"),
    ("{max_vertices: 6, encoding: C}", ":1: benchmark: max_vertices 6 restricts encoding A"),
])
def test_a_bad_max_vertices_is_one_line(tmp_path, capsys, benchmark, words):
    path = tmp_path / "exp.yaml"
    path.write_text(f"benchmark: {benchmark}\nbudget: {{time: 1.0e+5}}\n"
                    "optimizers: [{name: random_search}]\n")
    code, err = cli(capsys, "run", str(path), "--output", str(tmp_path / "out"))
    assert code == 2 and err.count("\n") == 1 and f"{path}{words}" in err, err


def test_non_regularized_evolution_removes_the_worst(objective_a):
    opt = get_optimizer("non_regularized_evolution")(
        objective_a.config_space(seed=0), [108], np.random.default_rng(0), population_size=3)
    errors = [0.3, 0.1, 0.2, 0.05, 0.4, 0.1]
    for error in errors:
        opt.tell(opt.ask(), Result(error, 1.0, False, 108))
    assert [f for _, f in opt.population] == [0.1, 0.05, 0.1]   # 0.3, then 0.4, then 0.2 died
    opt.tell(opt.ask(), Result(1.0, 0.0, True, 108))             # an invalid child dies at once
    assert [f for _, f in opt.population] == [0.1, 0.05, 0.1]
    regularized = get_optimizer("regularized_evolution")(
        objective_a.config_space(seed=0), [108], np.random.default_rng(0), population_size=3)
    for error in errors:
        regularized.tell(regularized.ask(), Result(error, 1.0, False, 108))
    assert [f for _, f in regularized.population] == [0.05, 0.4, 0.1]   # the oldest died


@pytest.fixture(scope="module")
def objective_a(surrogate):
    return Objective(surrogate, "A")


# ---- 5. against random search -------------------------------------------------------------------

def _table(curves: dict[str, list[list[float]]], grid: list[float]) -> pd.DataFrame:
    rows = {(name, seed): values for name, runs in curves.items()
            for seed, values in enumerate(runs)}
    return pd.DataFrame(list(rows.values()), columns=grid,
                        index=pd.MultiIndex.from_tuples(list(rows), names=["optimizer", "seed"]))


def test_speedup_and_lead_against_random_search():
    grid = [1.0, 2.0, 4.0, 8.0, 16.0]
    table = _table({"random_search": [[0.9, 0.6, 0.5, 0.4, 0.3]] * 4,
                    "fast": [[1.0, 0.5, 0.3, 0.2, 0.1]] * 4,      # reaches 0.3 at 4 s
                    "slow": [[0.8, 0.7, 0.7, 0.7, 0.7]] * 4,      # never; ahead only at 1 s
                    "late": [[np.nan, 0.9, 0.45, 0.35, 0.25]] * 4}, grid)
    data = speedup.race(table, "random_search").set_index("optimizer")
    assert data.loc["fast", "reaches_at"] == 4.0 and data.loc["fast", "speedup"] == 4.0
    assert data.loc["fast", "ahead_from"] == 2.0 and data.loc["fast", "reach_share"] == 1.0
    assert np.isnan(data.loc["slow", "speedup"]) and np.isnan(data.loc["slow", "ahead_from"])
    assert data.loc["slow", "reach_share"] == 0.0
    assert data.loc["late", "speedup"] == 16.0 / 16.0 and data.loc["late", "ahead_from"] == 4.0
    facts = [{"label": "rs", "optimizer": "random_search"}, {"label": "x", "optimizer": "smac"}]
    assert speedup.baseline_label(facts) == "rs"
    assert speedup.baseline_label(facts + [{"label": "rs2", "optimizer": "random_search"}]) \
        is None


def test_a_folder_of_random_search_alone_has_no_race(tmp_path):
    """Nothing to race: no table (it printed a header without rows) and no note."""
    table = _table({"random_search": [[0.9, 0.6, 0.5]] * 3}, [1.0, 2.0, 4.0])
    facts = [{"label": "random_search", "optimizer": "random_search"}]
    assert speedup.section(table, facts, tmp_path) == ([], [])
    assert list(tmp_path.iterdir()) == []


def test_the_report_shows_grids_and_the_race_against_random_search(tmp_path, capsys):
    exp = write_yaml(tmp_path / "exp.yaml", {
        **OLD, "benchmark": {"name": "surrogate", "encoding": "A", "max_vertices": 6},
        "seeds": 4, "budget": {"time": 1.5e4},
        "optimizers": [{"name": "random_search"}, {"name": "non_regularized_evolution"},
                       {"name": "regularized_evolution", "label": "re",
                        "grid": {"population_size": [5, 20], "sample_size": [2, 5]}}]})
    out = tmp_path / "out"
    assert cli(capsys, "run", str(exp), "--output", str(out))[0] == 0
    report = out / "report"
    sens = pd.read_csv(report / "sensitivity.csv")
    assert len(sens) == 8 and set(sens["parameter"]) == {"population_size", "sample_size"}
    assert set(sens["optimizer"]) == {"re@population_size=5,sample_size=2",
                                      "re@population_size=5,sample_size=5",
                                      "re@population_size=20,sample_size=2",
                                      "re@population_size=20,sample_size=5"}
    assert (sens["runs"] == 4).all() and (sens["final_ci_low"] <= sens["final_mean"]).all()
    assert (report / "sensitivity_re.png").stat().st_size > 10_000
    race = pd.read_csv(report / "speedup.csv")
    assert set(race["optimizer"]) == {"non_regularized_evolution", *sens["optimizer"]}
    page = (report / "index.html").read_text()
    assert "Sensitivity to the grids" in page and "Against random_search" in page
    # the regrets are against NAS-Bench-Mini's own optimum
    final = pd.read_csv(report / "final_regret.csv")
    assert (final["mean"] > 0).all()
    facts = yaml.safe_load((out / "experiment.yaml").read_text())
    assert facts["benchmark"]["max_vertices"] == 6


# ---- 4. one experiment per figure ---------------------------------------------------------------

def test_one_experiment_per_figure_says_what_and_how_long():
    folder = ROOT / "experiments" / "paper"
    loaded = {p.stem: load_experiment(p) for p in sorted(folder.glob("*.yaml"))}
    for stem in loaded:
        text = (folder / f"{stem}.yaml").read_text()
        assert "Time here" in text and "NOT NAS-Bench-101 results" in text, stem
    fig7 = loaded["figure7"]
    assert [o.name for o in fig7.optimizers] == ["random_search", "regularized_evolution",
                                                  "hyperband", "bohb", "smac", "tpe",
                                                  "reinforce"]
    assert (len(fig7.seed_list), fig7.budget.time, fig7.benchmark.encoding) == (500, 1e7, "A")
    assert all(not o.params and not o.grid for o in fig7.optimizers)   # the paper's defaults
    paper = load_experiment(ROOT / "experiments" / "paper.yaml")
    assert [(o.name, o.params) for o in paper.optimizers] == \
        [(o.name, o.params) for o in fig7.optimizers]
    assert loaded["figure6_encoding_c"].benchmark.encoding == "C"
    mini = loaded["figure8_mini"]
    assert mini.benchmark.max_vertices == 6 and len(mini.seed_list) == 100
    assert {o.name for o in mini.optimizers} == {"random_search", "non_regularized_evolution",
                                                 "regularized_evolution"}
    studied = {stem: {(o.name, p) for o in e.optimizers for p in (o.grid or {})}
               for stem, e in loaded.items()}
    assert studied["figure8_mini"] == studied["supplement_fig4_re"] == {
        ("regularized_evolution", "sample_size"), ("regularized_evolution", "population_size")}
    assert studied["supplement_fig2_smac"] == {("smac", "random_probability"),
                                               ("smac", "max_config_calls"), ("smac", "n_trees")}
    assert studied["supplement_fig3_bohb"] == {("bohb", p) for p in (
        "random_fraction", "num_samples", "min_bandwidth", "bandwidth_factor")}
    assert studied["supplement_fig5_reinforce"] == {("reinforce", "learning_rate")}
