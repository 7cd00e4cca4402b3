"""NAS optimizers behind one ask/tell interface (see :mod:`optimizers.base`)."""
from .base import Optimizer, Param, Result, SearchExhausted, Trial
from .registry import available, get_optimizer
from .space import SpaceSampler

__all__ = ["Optimizer", "Param", "Result", "SearchExhausted", "SpaceSampler", "Trial", "available",
           "get_optimizer"]
