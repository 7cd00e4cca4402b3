"""Any Optuna sampler as an optimizer: ``optuna:GPSampler``, ``optuna:CmaEsSampler``, ...

:class:`OptunaOptimizer` maps the ConfigSpace onto Optuna distributions (categorical and ordinal
-> ``CategoricalDistribution``, integer -> ``IntDistribution``, float -> ``FloatDistribution``)
and drives a study through ``ask``/``tell``; the sampler is built with the experiment entry's
``params`` and ``seed`` drawn from the run's Generator, so a run depends only on its seed.
:func:`optuna_optimizer` makes the class for ``optuna:NAME``; ``optuna_tpe`` is Optuna's TPE with
hyperopt's settings (the built-in ``tpe`` is hyperopt's own).  Invalid cells are told a loss of 1.
"""
from __future__ import annotations

import abc
import functools
import inspect
import math
import warnings
from typing import Any, ClassVar

import ConfigSpace as CS

from .base import Optimizer, Param, Result, Trial, check_packages
from .space import SpaceSampler

#: Samplers that model numeric hyperparameters only (categoricals fall back to random sampling,
#: so on encodings A and B they would be random search under another name).
NUMERIC_ONLY = {"CmaEsSampler", "QMCSampler"}
#: Packages a sampler needs beyond Optuna, checked when it is built (else it fails mid-run).
REQUIRES = {"GPSampler": ("torch",), "CmaEsSampler": ("cmaes",)}


def distributions(space: CS.ConfigurationSpace) -> dict[str, Any]:
    import optuna

    out: dict[str, Any] = {}
    for hp in space.values():
        if isinstance(hp, CS.CategoricalHyperparameter):
            out[hp.name] = optuna.distributions.CategoricalDistribution(list(hp.choices))
        elif isinstance(hp, CS.OrdinalHyperparameter):
            out[hp.name] = optuna.distributions.CategoricalDistribution(list(hp.sequence))
        elif isinstance(hp, CS.UniformIntegerHyperparameter):
            out[hp.name] = optuna.distributions.IntDistribution(hp.lower, hp.upper, log=hp.log)
        else:
            assert isinstance(hp, CS.hyperparameters.NumericalHyperparameter)   # a float
            out[hp.name] = optuna.distributions.FloatDistribution(hp.lower, hp.upper, log=hp.log)
    return out


class OptunaOptimizer(Optimizer):
    """Base of the Optuna adapters: subclasses say how to build the sampler."""

    #: keyword arguments the sampler is built with, besides the optimizer's own ``params``
    sampler_kwargs: ClassVar[dict[str, Any]] = {}

    def __init__(self, space, budgets, rng=None, **hyperparameters):
        super().__init__(space, budgets, rng, **hyperparameters)
        import optuna

        SpaceSampler(space)  # same support checks as the other optimizers
        self.distributions = distributions(space)
        sampler = self.make_sampler(int(self.rng.integers(2**31)))
        self.study = optuna.create_study(sampler=sampler, direction="minimize")
        self._trials: dict[int, Any] = {}

    @abc.abstractmethod
    def make_sampler(self, seed: int):
        """The Optuna sampler, seeded with ``seed``."""

    def ask(self) -> Trial:
        trial = self.study.ask(self.distributions)
        params = trial.params
        config = {name: _plain(params[name]) for name in self.distributions}
        t = self.new_trial(config, optuna_number=trial.number)
        self._trials[t.id] = trial
        return t

    def tell(self, trial: Trial, result: Result) -> None:
        self.study.tell(self._trials.pop(trial.id), 1.0 if result.invalid
                        else result.validation_error)


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def hyperopt_gamma(n: int) -> int:
    """hyperopt's size of the good set: ``ceil(0.25 * sqrt(n))``, at most 25."""
    return min(math.ceil(0.25 * math.sqrt(n)), 25)


class OptunaTPE(OptunaOptimizer):
    """Optuna's ``TPESampler`` with hyperopt's settings (20 start-up trials, 24 EI candidates,
    hyperopt's gamma rule); ``multivariate`` turns on Optuna's multivariate TPE."""

    name = "optuna_tpe"
    cost_hint = 30
    params = {"n_startup_trials": Param(20, int, 0, None),
              "n_ei_candidates": Param(24, int, 1, None),
              "multivariate": Param(False, bool, help="Optuna's multivariate TPE (off: hyperopt)")}

    def make_sampler(self, seed: int):
        import optuna

        with warnings.catch_warnings():  # Optuna deprecates a custom gamma; hyperopt's needs it
            warnings.simplefilter("ignore", FutureWarning)
            return optuna.samplers.TPESampler(seed=seed, gamma=hyperopt_gamma, **self.settings)


@functools.cache
def optuna_optimizer(sampler: str) -> type[OptunaOptimizer]:
    """The optimizer class for ``optuna:SAMPLER``; a ``ValueError`` in one line for a name that
    is not an Optuna sampler or one that cannot be seeded.  Its ``resolve`` builds the sampler
    once with the given params, so a constructor that refuses them is caught before any run."""
    import optuna

    cls: Any = getattr(optuna.samplers, sampler, None)   # checked to be a sampler class
    if not (isinstance(cls, type) and issubclass(cls, optuna.samplers.BaseSampler)):
        raise ValueError(f"optimizer 'optuna:{sampler}': Optuna {optuna.__version__} has no "
                         f"sampler {sampler!r} (samplers: {', '.join(optuna_samplers())})")
    accepted = inspect.signature(cls).parameters
    if "seed" not in accepted:
        raise ValueError(f"optimizer 'optuna:{sampler}': its constructor takes no seed, so its "
                         "runs could not be reproduced")
    defaults = {k: p.default for k, p in accepted.items()
                if k != "seed" and p.default is not inspect.Parameter.empty}
    summary = (cls.__doc__ or "").strip().splitlines()

    class Adapter(OptunaOptimizer):
        __doc__ = (f"Optuna's {sampler} (generic adapter; params go to its constructor): "
                   f"{summary[0] if summary else ''}")
        name = f"optuna:{sampler}"
        cost_hint = 30
        requires = REQUIRES.get(sampler, ())
        requires_numeric = sampler in NUMERIC_ONLY
        params = {k: Param(v, object, help="passed to the sampler") for k, v in defaults.items()}

        @classmethod
        def resolve(cls_, hyperparameters: dict[str, Any]) -> dict[str, Any]:
            check_packages(cls_.name, cls_.requires)
            unknown = set(hyperparameters) - set(defaults)
            if unknown:
                raise ValueError(f"{cls_.name}: {sampler}() takes no parameter "
                                 f"{sorted(unknown)[0]!r} (it takes: {', '.join(defaults)})")
            kwargs = dict(hyperparameters)
            if sampler in NUMERIC_ONLY:  # else a warning per trial for encoding C's operations
                kwargs.setdefault("warn_independent_sampling", False)
            _build(cls_.name, cls, 0, kwargs)
            return kwargs

        def make_sampler(self, seed: int):
            return _build(self.name, cls, seed, self.settings)

    Adapter.__name__ = Adapter.__qualname__ = f"Optuna{sampler}"
    return Adapter


def _build(owner: str, cls: type, seed: int, kwargs: dict[str, Any]):
    import reprlib

    try:
        return cls(seed=seed, **kwargs)
    except Exception as exc:  # noqa: BLE001 - whatever the constructor raises for bad params
        shown = ", ".join(f"{k}={reprlib.repr(v)}" for k, v in kwargs.items())
        raise ValueError(f"{owner}: {cls.__name__}({shown}) refused its params: "
                         f"{type(exc).__name__}: {exc}") from None


def optuna_samplers() -> list[str]:
    """The sampler names ``optuna:NAME`` accepts (those that take a seed)."""
    import optuna

    names = []
    for n in sorted(dir(optuna.samplers)):
        cls = getattr(optuna.samplers, n)
        if (n.endswith("Sampler") and isinstance(cls, type) and not n.startswith("Base")
                and issubclass(cls, optuna.samplers.BaseSampler)
                and "seed" in inspect.signature(cls).parameters):
            names.append(n)
    return names
