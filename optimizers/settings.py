"""Where each built-in optimizer's defaults come from: the paper, a library, or this project.

The built-ins that carry the NAS-Bench-101 paper's names default to the settings its
supplement S2.2 states (:data:`PAPER`); what the paper leaves open is the driving library's
default (:data:`LIBRARY`) or, where neither says, this project's choice (named in the
parameter's help).  :data:`NAS_BENCHMARKS` holds the automl/nas_benchmarks experiment scripts'
settings, which were this project's defaults before, and :data:`FORMER_DEFAULTS` every default
that changed, so that results folders made with the old ones keep their own identity
(``harness.config``) instead of mixing with runs made with the new ones.
"""
from __future__ import annotations

from typing import Any

#: Ying et al. (ICML 2019), supplement S2.2 ("final settings"), per registered name.
PAPER: dict[str, dict[str, Any]] = {
    "regularized_evolution": {"population_size": 100, "sample_size": 10},
    # Figure 8 runs non-regularized evolution beside RE at RE's settings
    "non_regularized_evolution": {"population_size": 100, "sample_size": 10},
    "hyperband": {"eta": 3},
    "bohb": {"eta": 3, "random_fraction": 0.0, "num_samples": 4, "min_bandwidth": 0.3,
             "bandwidth_factor": 3.0},
    "smac": {"n_trees": 5, "random_probability": 0.33, "max_config_calls": 1},
    "reinforce": {"learning_rate": 0.5},
}

#: Defaults taken from the library an optimizer drives: (library, {parameter: its default}).
LIBRARY: dict[str, tuple[str, dict[str, Any]]] = {
    "tpe": ("hyperopt", {"n_startup_jobs": 20, "n_EI_candidates": 24,
                                     "gamma": 0.25, "prior_weight": 1.0}),
    "bohb": ("hpbandster", {"top_n_percent": 15, "min_points_in_model": 0}),
    "optuna_tpe": ("hyperopt", {"n_startup_trials": 20, "n_ei_candidates": 24}),
    "smac": ("SMAC3 2.x", {"challengers": 10_000, "local_search_iterations": 10}),
}

#: automl/nas_benchmarks' experiment_scripts (run_bohb.py, run_smac.py, run_rl.py): what
#: ``params:`` restores them (experiments/paper/nas_benchmarks.yaml).
NAS_BENCHMARKS: dict[str, dict[str, Any]] = {
    "bohb": {"random_fraction": 1 / 3, "num_samples": 64},
    "smac": {"n_trees": 10, "max_config_calls": 4},
    "reinforce": {"learning_rate": 0.1},
}

#: Defaults this project had before it took the paper's (nas_benchmarks' settings, and SMAC
#: with 1,000 acquisition challengers).  A results folder's identity counts these parameters
#: at their current default when an experiment leaves them out, so a folder made before the
#: change is refused on resume rather than mixed (see ``harness.config.Experiment.identity``).
FORMER_DEFAULTS: dict[str, dict[str, Any]] = {
    "bohb": {"random_fraction": 1 / 3, "num_samples": 64},
    "smac": {"n_trees": 10, "max_config_calls": 4, "challengers": 1000},
    "reinforce": {"learning_rate": 0.1},
}


def source(optimizer: str, parameter: str) -> str:
    """Where ``optimizer``'s default for ``parameter`` comes from, in a few words."""
    if parameter in PAPER.get(optimizer, {}):
        return "paper S2.2"
    library, defaults = LIBRARY.get(optimizer, ("", {}))
    if parameter in defaults:
        return f"{library} default"
    return "this project"
