"""The ask/tell protocol every optimizer implements.

The call sequence, as the harness drives it::

    opt = MyOptimizer(space, budgets, rng, **params)  # params checked by MyOptimizer.resolve
    trial = opt.ask()             # a Trial(id, config, budget), or None: waiting for results
    ...                           # more asks while earlier trials run (parallel workers)
    opt.tell(trial, result)       # each trial told once, in completion order
    opt.close()                   # always, also after an error

``space`` is a flat ConfigSpace (no conditions); ``budgets`` the fidelities the optimizer may
ask for (only the largest unless ``multi_fidelity``); ``rng`` a ``numpy.random.Generator``
derived from the run's seed.  ``ask`` returns ``None`` only while trials are pending (with none
pending the run stops with an error); it raises :class:`SearchExhausted` when it has nothing
left to propose (a tiny space fully explored): the run then ends there, the trials already
running finish, and what was evaluated is kept.  ``tell`` receives a :class:`Result`: for an
invalid cell (disconnected, or more than 9 edges) ``invalid`` is True, ``validation_error`` is
the penalty (1.0) and ``cost`` 0; with ``benchmark.invalid: resample`` such results are told
but not recorded.  An optimizer may draw random numbers only from ``self.rng`` (a library it drives
may be seeded from it), keep state only on itself, and may not change anything process-wide
(global RNGs, logging configuration, other classes) or start threads or processes; the
harness sets the libraries' log levels.  Whatever it raises fails its own run only.
"""
from __future__ import annotations

import abc
import math
import reprlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, NamedTuple

import ConfigSpace as CS
import numpy as np

_NO_INFO: Mapping[str, Any] = MappingProxyType({})


class SearchExhausted(Exception):
    """Raised by ``ask`` when the optimizer can propose nothing more (not an error: its run
    ends early, its results kept, and the run file records when)."""


class Trial(NamedTuple):
    """A configuration to evaluate at a budget; ``info`` is the optimizer's own bookkeeping.

    Immutable, and a named tuple rather than a frozen dataclass: one is made per simulated
    evaluation, and a tuple is built ~3x faster."""

    id: int
    config: dict[str, Any]
    budget: int
    info: Mapping[str, Any] = _NO_INFO


class Result(NamedTuple):
    """What the optimizer learns from an evaluation (immutable; one per evaluation)."""

    validation_error: float
    cost: float
    invalid: bool
    budget: int


@dataclass(frozen=True)
class Param:
    """A hyperparameter of an optimizer: default, type and allowed range or choices."""

    default: Any
    type: type
    low: float | None = None
    high: float | None = None
    choices: tuple | None = None
    help: str = ""

    def check(self, owner: str, name: str, value: Any) -> Any:
        """``value`` as this parameter's type, or a ``ValueError`` naming owner, name and a
        bounded repr of the value (a YAML alias bomb stays unexpanded)."""
        shown = reprlib.repr(value)
        ok_type = (isinstance(value, self.type) and not isinstance(value, bool)) or (
            self.type is float and isinstance(value, int) and not isinstance(value, bool)) or (
            self.type is bool and isinstance(value, bool))
        if not ok_type:
            raise ValueError(f"{owner}: hyperparameter {name} = {shown} must be of type "
                             f"{self.type.__name__}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{owner}: hyperparameter {name} = {shown} must be a finite number")
        if self.choices is not None and value not in self.choices:
            raise ValueError(f"{owner}: hyperparameter {name} = {shown} must be one of "
                             f"{list(self.choices)}")
        if self.low is not None and value < self.low or self.high is not None and value > self.high:
            raise ValueError(f"{owner}: hyperparameter {name} = {shown} out of range "
                             f"[{self.low}, {self.high}]")
        return self.type(value)

    def describe(self) -> str:
        rng = (f" in {list(self.choices)}" if self.choices is not None else
               f" in [{self.low}, {self.high}]" if self.low is not None or self.high is not None
               else "")
        return f"{self.type.__name__}, default {self.default!r}{rng}"


class Optimizer(abc.ABC):
    """Base class of all optimizers (see the module docstring for the protocol)."""

    #: registry name
    name: ClassVar[str] = ""
    #: hyperparameters with defaults (the paper's settings for the built-ins)
    params: ClassVar[dict[str, Param]] = {}
    #: only categorical/ordinal spaces (encodings A and B) when True
    requires_categorical: ClassVar[bool] = False
    #: needs a numeric hyperparameter (encoding C) when True
    requires_numeric: ClassVar[bool] = False
    #: packages it imports beyond the dependencies every optimizer has (checked by ``resolve``)
    requires: ClassVar[tuple[str, ...]] = ()
    #: evaluates several budgets when True, else only the largest
    multi_fidelity: ClassVar[bool] = False
    #: rough wall time of a run relative to random search; the longest runs are started first
    cost_hint: ClassVar[float] = 1.0

    def __init__(self, space: CS.ConfigurationSpace, budgets: Sequence[int],
                 rng: np.random.Generator | int | None = None, **hyperparameters: Any):
        self.space = space
        self.budgets = sorted(int(b) for b in budgets)
        if not self.budgets:
            raise ValueError(f"{self.name}: no budgets")
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self.hp = self.resolve(hyperparameters)
        if self.requires_categorical:
            check_categorical(space, self.name)
        if self.requires_numeric:
            check_numeric(space, self.name)
        self._next_id = 0

    @classmethod
    def resolve(cls, hyperparameters: dict[str, Any]) -> dict[str, Any]:
        """Defaults overridden by ``hyperparameters``; unknown names, types, ranges and missing
        packages are errors."""
        check_packages(cls.name, cls.requires)
        unknown = set(hyperparameters) - set(cls.params)
        if unknown:
            raise ValueError(f"{cls.name}: unknown hyperparameter {sorted(unknown)[0]!r} "
                             f"(known: {', '.join(sorted(cls.params)) or 'none'})")
        return {k: p.check(cls.name, k, hyperparameters.get(k, p.default))
                for k, p in cls.params.items()}

    @property
    def max_budget(self) -> int:
        return self.budgets[-1]

    def new_trial(self, config: dict[str, Any], budget: int | None = None, **info: Any) -> Trial:
        trial = Trial(self._next_id, config, self.budgets[-1] if budget is None else budget,
                      info or _NO_INFO)
        self._next_id += 1
        return trial

    @abc.abstractmethod
    def ask(self) -> Trial | None:
        """The next trial, or ``None`` while waiting for pending results."""

    @abc.abstractmethod
    def tell(self, trial: Trial, result: Result) -> None:
        """A finished evaluation of ``trial``."""

    def close(self) -> None:  # noqa: B027 - an optional hook, a no-op by default
        """Release what the optimizer opened (files, libraries' state)."""


def check_categorical(space: CS.ConfigurationSpace, owner: str) -> None:
    for hp in space.values():
        if not isinstance(hp, (CS.CategoricalHyperparameter, CS.OrdinalHyperparameter)):
            raise ValueError(f"{owner} needs a categorical search space (encodings A or B); "
                             f"{hp.name} is {type(hp).__name__}")


def check_numeric(space: CS.ConfigurationSpace, owner: str) -> None:
    if not any(isinstance(hp, (CS.UniformIntegerHyperparameter, CS.UniformFloatHyperparameter))
               for hp in space.values()):
        raise ValueError(f"{owner} models numeric hyperparameters only and this space is all "
                         "categorical (encodings A and B): use encoding C")


def check_packages(owner: str, packages: Sequence[str]) -> None:
    import importlib.util

    for package in packages:
        if importlib.util.find_spec(package) is None:
            raise ValueError(f"{owner} needs the package {package!r} (pip install {package})")
