"""Lists of SMAC3 configurations whose ``in`` is a look-up instead of a scan: the same answers.

SMAC3 2.x keeps configurations in plain lists and tests membership with ``in``, which calls
``Configuration.__eq__`` on every member: the configuration selector's processed
configurations (the whole history) at every configuration it yields, and the intensifier's
rejected configurations (with one evaluation per configuration, nearly the whole history) at
every ask.  Both grow with the run: together a third of SMAC's time at 2,500 evaluations
(profiled, paper settings).  The lists here are the same lists (same members, same order) with
an index beside them:

* :class:`ConfigList` indexes its members' vectors: for configurations of the same space
  object the vectors determine the values one to one (``optimizers.smac``'s
  ``_fast_configuration_equality``), so a look-up of the vector's bytes answers as the scan
  does.
* :class:`RunHistoryConfigs` holds configurations of a run history by id: the run history maps
  each configuration to its id in a dict (hash and ``==`` of ConfigSpace, equal configurations
  sharing one id), so an ``item`` of the scenario's space (the space of every configuration
  SMAC puts in its run history; equal ones have equal text, hence equal hashes) is in the list
  exactly when the dict gives it one of the list's ids.

Whatever an index cannot answer (a member or item that is not a ``Configuration`` of the space,
a NaN in a vector, the list changed other than by ``append``) is answered by the scan itself.
Configurations are taken as immutable once listed, as ConfigSpace's own ``__hash__`` takes them.
"""
from __future__ import annotations

import operator
from collections.abc import Iterable
from typing import Any

import numpy as np
from ConfigSpace import Configuration
from smac.intensifier.intensifier import Intensifier


class ConfigList(list):
    """A list of configurations whose ``in`` looks up an index of vectors (same answers)."""

    def __init__(self, items: Iterable[Any] = ()) -> None:
        super().__init__(items)
        self._space: Any = None
        self._keys: set[bytes] | None = set()   # None: answer by scanning
        for item in self:
            self._index(item)

    def _key(self, item: Any) -> bytes | None:
        """The bytes of ``item``'s float64 vector (-0.0 made 0.0), or None if it cannot be
        indexed (a vector of another dtype is equal to its float64 copy, not of its bytes)."""
        if type(item) is not Configuration or item.config_space is not self._space:
            return None
        vector = item._vector
        if vector.dtype != np.float64 or vector.ndim != 1 or np.isnan(vector).any():
            return None
        return (vector + 0.0).tobytes()

    def _index(self, item: Any) -> None:
        if self._keys is None:
            return
        if self._space is None and type(item) is Configuration:
            self._space = item.config_space
        key = self._key(item)
        if key is None:
            self._keys = None
        else:
            self._keys.add(key)

    def _unindex(self) -> None:
        self._keys = None

    def append(self, item: Any) -> None:
        super().append(item)
        self._index(item)

    def __contains__(self, item: object) -> bool:
        key = self._key(item) if self._keys is not None else None
        if key is None:
            return super().__contains__(item)
        return key in self._keys   # type: ignore[operator]  # not None: checked above


class RunHistoryConfigs(list):
    """The configurations of ``runhistory`` with ids ``ids``, in that order, whose ``in`` asks
    the run history's configuration-to-id dict for configurations of ``space`` (same
    answers)."""

    def __init__(self, runhistory: Any, ids: list[int], space: Any) -> None:
        if len(ids) > 1:
            super().__init__(operator.itemgetter(*ids)(runhistory._ids_config))
        else:
            super().__init__(runhistory._ids_config[i] for i in ids)
        self._config_ids: dict | None = runhistory._config_ids   # None: answer by scanning
        self._ids = frozenset(ids)
        self._space = space

    def _unindex(self) -> None:
        self._config_ids = None

    def __contains__(self, item: object) -> bool:
        if (self._config_ids is None or type(item) is not Configuration
                or item.config_space is not self._space):
            return super().__contains__(item)
        return self._config_ids.get(item) in self._ids


def _unindexing(name: str) -> Any:
    """``list``'s method ``name``, after which the list answers ``in`` by scanning."""
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        self._unindex()
        return getattr(list, name)(self, *args, **kwargs)
    method.__name__ = name
    return method


for _cls in (ConfigList, RunHistoryConfigs):
    for _name in ("__setitem__", "__delitem__", "__iadd__", "__imul__", "extend", "insert",
                  "remove", "pop", "clear"):
        setattr(_cls, _name, _unindexing(_name))
RunHistoryConfigs.append = _unindexing("append")  # type: ignore[method-assign]


class FastIntensifier(Intensifier):
    """SMAC's ``Intensifier`` whose rejected configurations are a :class:`RunHistoryConfigs`."""

    def get_rejected_configs(self) -> list[Configuration]:
        return RunHistoryConfigs(self.runhistory, self._rejected_config_ids,
                                 self._scenario.configspace)
