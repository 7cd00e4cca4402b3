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
    evaluation, and a tuple is the cheapest immutable record to build."""

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
    #: A setting of how fast, not of what: every value gives the same results, so it is left
    #: out of a run's identity and of its file (runs made either way are the same runs).
    speed_only: bool = False

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
        allowed = (f" in {list(self.choices)}" if self.choices is not None else
                   f" in [{self.low}, {self.high}]" if self.low is not None or self.high is not None
                   else "")
        return f"{self.type.__name__}, default {self.default!r}{allowed}"


class Optimizer(abc.ABC):
    """Base class of all optimizers (see the module docstring for the protocol).

    Args:
        space: the flat ConfigSpace to search.
        budgets: the fidelities it may ask for (only the largest unless ``multi_fidelity``).
        rng: its Generator (an int or None seeds a new one); its only source of randomness.
        **hyperparameters: its settings, checked by :meth:`resolve` and kept in
            ``self.settings``.

    Raises:
        ValueError: no budgets, a bad setting (:meth:`resolve`), or a space it cannot search
            (:meth:`check_space`).
    """

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
        self.rng = np.random.default_rng(rng)   # a Generator is used as given
        self.settings = self.resolve(hyperparameters)
        self.check_space(space)
        self._next_id = 0

    @classmethod
    def defining_params(cls, hyperparameters: dict[str, Any]) -> dict[str, Any]:
        """``hyperparameters`` without the :attr:`Param.speed_only` settings: what a run's
        identity and its run file record."""
        return {k: v for k, v in hyperparameters.items()
                if k not in cls.params or not cls.params[k].speed_only}

    @classmethod
    def resolve(cls, hyperparameters: dict[str, Any]) -> dict[str, Any]:
        """The optimizer's settings: its defaults overridden by ``hyperparameters``.

        Raises:
            ValueError: an unknown name, a wrong type or range, or a missing package (one
                line naming it).
        """
        check_packages(cls.name, cls.requires)
        unknown = set(hyperparameters) - set(cls.params)
        if unknown:
            raise ValueError(f"{cls.name}: unknown hyperparameter {sorted(unknown)[0]!r} "
                             f"(known: {', '.join(sorted(cls.params)) or 'none'})")
        return {k: p.check(cls.name, k, hyperparameters.get(k, p.default))
                for k, p in cls.params.items()}

    @classmethod
    def offered_budgets(cls, budgets: list[int]) -> list[int]:
        """The budgets this optimizer is built with: all of ``budgets`` if it is
        :attr:`multi_fidelity`, else the largest."""
        return list(budgets) if cls.multi_fidelity else [max(budgets)]

    @classmethod
    def budget_problem(cls, settings: dict[str, Any], budgets: list[int]
                       ) -> tuple[str, str] | None:
        """Why resolved ``settings`` can never work with these budgets, as (hyperparameter,
        reason); None when they can.  Checked before a run starts."""
        return None

    @classmethod
    def check_space(cls, space: CS.ConfigurationSpace) -> None:
        """Whether this optimizer can search ``space``: a ``ValueError`` naming what it needs
        (:attr:`requires_categorical`, :attr:`requires_numeric`) if not.

        Raises:
            ValueError: ``space`` has a hyperparameter the optimizer cannot model, or none it
                can.
        """
        if cls.requires_categorical:
            check_categorical(space, cls.name)
        if cls.requires_numeric:
            check_numeric(space, cls.name)

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
        """The next trial (made by :meth:`new_trial`).

        Returns:
            The trial, or None while it waits for pending results.

        Raises:
            SearchExhausted: it has nothing left to propose.
        """

    @abc.abstractmethod
    def tell(self, trial: Trial, result: Result) -> None:
        """A finished evaluation of ``trial`` (each trial asked is told once, in completion
        order)."""

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
