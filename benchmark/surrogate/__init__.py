"""The embedded table: a NAS-Bench-101 surrogate learned from real cells.

``artifact`` reads the shipped fit (per-cell scores, noise, provenance), ``table`` draws the
table from it and caches it as a store, ``fit`` is the developer tool that makes the artifact from
the real sample, ``latent`` draws what the features do not explain (a deviation per cell, failed
trainings), ``realism`` and ``structure`` measure a table against real runs (ranking and
distributions; budgets among the best cells, neighbours, op effects), ``features`` and ``sample``
are what the fit reads.  Users call ``benchmark.NASBench.surrogate(seed)``.
"""
from .artifact import ARTIFACT_PATH, Artifact, load_artifact
from .table import generate, surrogate_store

__all__ = ["ARTIFACT_PATH", "Artifact", "generate", "load_artifact", "surrogate_store"]
