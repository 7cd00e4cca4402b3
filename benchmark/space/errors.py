"""Errors of the search space."""
from __future__ import annotations


class OutOfDomainError(ValueError):
    """A spec outside the NAS-Bench-101 space (the original API's ``OutOfDomainError``).

    It subclasses ``ValueError`` so that bad input to ``ModelSpec`` is one kind of error for
    callers, while code written for the original API can still catch ``OutOfDomainError``.
    """
